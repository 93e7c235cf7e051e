import { Type, type Static, type TSchema } from 'typebox';

/**
 * A reference to a named schema (one added to the app by plugins/validation.ts `installSchemas`),
 * typed as the schema itself: the document gets `$ref: '#/components/schemas/<Name>'`, the
 * handler gets the static type.
 */
export function ref<T extends TSchema>(schema: T): ReturnType<typeof Type.Unsafe<Static<T>>> {
  const id = (schema as { $id?: string }).$id;
  if (id === undefined) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${id}#` });
}
