import { Type, type TSchema } from 'typebox';

/** A success body: `{data, message}`, `message` being one fixed sentence per route. */
export function Envelope<T extends TSchema>(data: T, message: string, options: { $id?: string; description?: string } = {}) {
  return Type.Object(
    { data, message: Type.String({ description: 'What was done, for people', examples: [message] }) },
    { ...options, ...(options.$id ? { title: options.$id } : {}) },
  );
}
