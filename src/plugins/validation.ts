import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';

const common: Options = { allErrors: false, strict: false, useDefaults: true, removeAdditional: true };

/**
 * Two validators. Path and query parameters arrive as strings and are coerced ("42" -> 42). Bodies
 * are JSON and are NOT coerced: `completed: "yes"` or `title: 123` are errors, not guesses.
 */
export function installValidators(app: FastifyInstance): void {
  const params = new Ajv({ ...common, coerceTypes: true });
  const body = new Ajv({ ...common, coerceTypes: false });
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    (httpPart === 'body' ? body : params).compile(schema as object),
  );
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** One readable sentence naming the field, from the most specific of ajv's errors. */
export function validationMessage(errors: readonly ErrorObject[], part: string | undefined): string {
  // In an anyOf, the branch error with the deepest path is the one that explains the failure.
  const error = [...errors]
    .filter((e) => e.keyword !== 'anyOf')
    .sort((a, b) => b.instancePath.length - a.instancePath.length)[0] ?? errors[0];
  if (error === undefined) return 'Invalid request';
  const segments = error.instancePath.split('/').filter(Boolean);
  const field = segments.at(-1) ?? (part === 'body' ? 'body' : (part ?? 'request'));
  const p = error.params as Record<string, unknown>;
  if (part === 'params' && field === 'id') return 'id must be a positive integer no larger than 2147483647';
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
    case 'pattern':
      return `${field} must be text without NUL or unpaired surrogate characters`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minimum':
    case 'maximum':
      return `${field} must be ${error.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}
