import { Type, type TSchema } from 'typebox';

/**
 * Text PostgreSQL can store: no NUL, no unpaired UTF-16 surrogate (ajv matches with the `u` flag,
 * so a proper pair, an emoji, is one code point and passes).
 */
export const STORABLE_TEXT = '^[^\\u0000\\uD800-\\uDFFF]*$';
const STORABLE_MESSAGE = 'must be text without NUL or unpaired surrogate characters';

/**
 * A string field: `maxLength`/`minLength` count code points (ajv), the pattern keeps it storable.
 * `x-error-message` (ours, read by plugins/validation.ts) names the rule in words.
 */
export function Text(options: { minLength?: number; maxLength: number; description: string; examples?: string[] }): TSchema {
  return Type.String({ ...options, pattern: STORABLE_TEXT, 'x-error-message': { pattern: STORABLE_MESSAGE } });
}

/** The same, or null. `Unsafe` keeps the plain `type: [...]` form, which serializes fastest. */
export function NullableText(options: { maxLength: number; description: string; examples?: (string | null)[] }) {
  return Type.Unsafe<string | null>({
    type: ['string', 'null'],
    ...options,
    pattern: STORABLE_TEXT,
    'x-error-message': { pattern: STORABLE_MESSAGE },
  });
}

/** A timestamp as the API sends it: UTC, milliseconds, `Z`. */
export function Timestamp(description: string, examples = ['2026-01-12T10:00:00.123Z']) {
  return Type.Unsafe<Date | string>({ type: 'string', format: 'date-time', description, examples });
}
