import { Type, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';

export const TagCountSchema = Type.Object(
  {
    name: Type.String({ description: 'The tag, as most of its tasks spell it', examples: ['errands'] }),
    count: Type.Integer({ minimum: 1, description: 'How many of the user\'s tasks carry it', examples: [3] }),
  },
  { $id: 'TagCount', title: 'TagCount' },
);
export const TagListEnvelopeSchema = Envelope(Type.Array(ref(TagCountSchema)), 'Tags retrieved successfully');


export const tagSchemas: TSchema[] = [TagCountSchema];
