import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { TSchema } from 'typebox';
import { INSTANT_KEYWORD, INSTANT_LIMITS } from '../http/text.js';
import { instantUtc, isInstant, readInstant } from '../lib/instant.js';

const common: Options = {
  allErrors: false,
  strict: true,
  allowUnionTypes: true,
  useDefaults: true,
  // The failing schema travels with each error: its `x-error-message` words the rule.
  verbose: true,
};

/** Our annotation: the words for a failed rule, a string (any rule) or per keyword. */
const MESSAGE_KEYWORD = 'x-error-message';

function newAjv(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  addFormats.default(ajv, ['date']);
  // Every date-time a request holds is an instant the API can store and read back: a real date, in
  // years 0001-9999 in UTC, an offset of at most ±15:59, no leap second (ajv-formats' own
  // date-time takes year 0000, offsets up to ±23:59 and :60, which PostgreSQL or Date refuse).
  ajv.addFormat('date-time', { type: 'string', validate: isInstant });
  ajv.addKeyword({ keyword: MESSAGE_KEYWORD, schemaType: ['string', 'object'] });
  // An instant the format took goes on in UTC (lib/instant.ts, readInstant's `utc`).
  ajv.addKeyword({
    keyword: INSTANT_KEYWORD,
    schemaType: 'boolean',
    modifying: true,
    validate: (_schema: boolean, data: unknown, _parent?: unknown, cxt?: DataValidationCxt) => {
      const utc = typeof data === 'string' ? instantUtc(data) : undefined;
      if (utc !== undefined && cxt !== undefined) (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] = utc;
      return true;
    },
  });
  return ajv;
}

/** An integer in a path or query string, as text: canonical decimal only (no 0x, 1e3, +1, 01, 1.0, spaces). */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/**
 * Path and query parameters arrive as text and are coerced (`"42"` -> 42), but only from the one
 * spelling a number has: ajv's coercion (`Number()`) would also take `0x2a`, `4.2e1`, `+42`,
 * `042`, `42.0` and ` 42`, each an alias of 42. The raw text of every integer parameter is
 * checked first.
 */
function canonicalIntegers(schema: object, validate: ValidateFunction): ValidateFunction {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const integers = Object.entries(properties).filter(([, s]) => s.type === 'integer');
  if (integers.length === 0) return validate;
  const checked = ((data: Record<string, unknown> | null, ctx?: unknown) => {
    for (const [name, propertySchema] of integers) {
      const raw = data?.[name];
      if (typeof raw === 'string' && !CANONICAL_INTEGER.test(raw)) {
        checked.errors = [
          {
            instancePath: `/${name}`,
            schemaPath: `#/properties/${name}/type`,
            keyword: 'type',
            params: { type: 'integer' },
            message: 'must be integer',
            schema: 'integer',
            parentSchema: propertySchema,
            data: raw,
          },
        ];
        return false;
      }
    }
    const ok = (validate as (d: unknown, c?: unknown) => boolean)(data, ctx);
    checked.errors = validate.errors;
    return ok;
  }) as ValidateFunction;
  Object.assign(checked, { schemaEnv: validate.schemaEnv, schema: validate.schema });
  return checked;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A body validator of the app's own (the one every route's body goes through: no coercion,
     * unknown fields removed, instants to UTC), for a part of a body that a route checks by itself
     * (a batch's operations, each as its own route would): validates and normalizes `data` in
     * place, and answers undefined, or the 400's message naming the field as the route would.
     */
    bodyCheck(schema: TSchema): (data: unknown) => string | undefined;
  }
}

/**
 * Two validators. Path and query parameters arrive as strings and are coerced ("42" -> 42), from
 * canonical text only. Bodies are JSON and are NOT coerced: `completed: "yes"` or `title: 123` are
 * errors, not guesses; fields a body schema does not name are removed before the handler runs
 * (the documents say they are ignored), so a handler may pass a validated body on as it is.
 * Formats are enforced; `date-time` is lib/instant.ts's isInstant (what the API can store).
 */
export function installValidators(app: FastifyInstance, schemas: readonly TSchema[]): void {
  const params = newAjv({ coerceTypes: 'array', removeAdditional: true });
  const body = newAjv({ coerceTypes: false, removeAdditional: 'all' });
  for (const schema of schemas) {
    app.addSchema(schema);
    params.addSchema(schema as object);
    body.addSchema(schema as object);
  }
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    httpPart === 'body' ? body.compile(schema as object) : canonicalIntegers(schema as object, params.compile(schema as object)),
  );
  app.decorate('bodyCheck', (schema: TSchema) => {
    const validate = body.compile(schema as object);
    return (data: unknown) => (validate(data) ? undefined : validationMessage(validate.errors ?? [], 'body'));
  });
}

/**
 * The field a path names: `title`, `tags[1]` in a body. In a query string a repeatable parameter
 * is an array even when sent once, so its name alone: `priority`.
 */
function fieldName(instancePath: string, part: string | undefined): string {
  const segments = instancePath.split('/').filter(Boolean);
  if (segments.length === 0) return part === 'body' ? 'body' : (part ?? 'request');
  if (part !== 'body') return segments.filter((s) => !/^\d+$/.test(s)).join('.');
  return segments.map((s, i) => (i > 0 && /^\d+$/.test(s) ? `[${s}]` : `${i > 0 ? '.' : ''}${s}`)).join('');
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** The words a schema gives for a failed keyword, if any. */
function schemaMessage(error: ErrorObject): string | undefined {
  const words = (error.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD];
  if (typeof words === 'string') return words;
  if (words !== null && typeof words === 'object') {
    const forKeyword = (words as Record<string, unknown>)[error.keyword];
    if (typeof forKeyword === 'string') return forKeyword;
  }
  return undefined;
}

/** One readable sentence naming the field, from the most specific of ajv's errors. */
export function validationMessage(errors: readonly ErrorObject[], part: string | undefined): string {
  // In an anyOf, the branch error with the deepest path is the one that explains the failure.
  const error =
    [...errors].filter((e) => e.keyword !== 'anyOf').sort((a, b) => b.instancePath.length - a.instancePath.length)[0] ?? errors[0];
  if (error === undefined) return 'Invalid request';
  const field = fieldName(error.instancePath, part);
  const p = error.params as Record<string, unknown>;
  // A well-formed date-time beyond the limits: which limit (the schema's words say what to send).
  if (error.keyword === 'format' && p.format === 'date-time' && typeof error.data === 'string') {
    const read = readInstant(error.data);
    if ('problem' in read && read.problem !== 'syntax') return `${field} ${INSTANT_LIMITS[read.problem]}`;
  }
  const words = schemaMessage(error);
  if (words !== undefined) return `${field} ${words}`;
  switch (error.keyword) {
    case 'required':
      return `${String(p.missingProperty)} is required`;
    case 'type': {
      const type = String(p.type).split(',')[0] ?? 'value';
      return field === 'body' ? 'body must be a JSON object' : `${field} must be ${article(type)}`;
    }
    case 'minLength':
      return Number(p.limit) === 1 ? `${field} must not be empty` : `${field} must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `${field} must be at most ${String(p.limit)} characters`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minimum':
    case 'maximum':
      return `${field} must be ${error.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}`;
    case 'format':
      return `${field} must be ${article(String(p.format))}`;
    case 'minItems':
      return `${field} must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `${field} must have at most ${String(p.limit)} items`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}
