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

/** What a client sends for an instant, in words (a date alone, `2026-12-24`, is the common mistake). */
const INSTANT_WORDS =
  'must be an RFC 3339 date-time with an offset, such as 2026-12-24T17:00:00Z or 2026-12-24T18:00:00+01:00 (a date alone is not enough)';

/** Why a well-formed date-time is still refused (lib/instant.ts, readInstant), in words. */
export const INSTANT_LIMITS = {
  'leap-second': 'must not be a leap second (:60)',
  offset: 'must have an offset of at most ±15:59',
  range: 'must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC',
} as const;

/** Ours, read by plugins/validation.ts: a valid value is rewritten in UTC before the handler sees it. */
export const INSTANT_KEYWORD = 'x-instant';

/**
 * An instant the API takes (`due_at`, `due_before`, `due_after`, and any later one): RFC 3339 with
 * an offset, between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in UTC, an offset of at most
 * ±15:59, no leap second. The `date-time` format of every request schema checks all of it
 * (plugins/validation.ts: lib/instant.ts, isInstant); a failure is a 400 naming the field. A valid
 * one reaches the handler in UTC (`x-instant`), so PostgreSQL always reads it as the API did.
 */
export function Instant<T = string>(options: { description: string; examples: unknown[]; nullable?: boolean }) {
  return Type.Unsafe<T>({
    type: options.nullable ? ['string', 'null'] : 'string',
    format: 'date-time',
    description: `${options.description}. Between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, offset at most ±15:59, no leap second`,
    examples: options.examples,
    'x-error-message': { format: INSTANT_WORDS },
    [INSTANT_KEYWORD]: true,
  });
}
