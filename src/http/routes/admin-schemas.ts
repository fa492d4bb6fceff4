import { Type, type TStringOptions } from 'typebox';
import type { FastifySchemaValidationError } from 'fastify';
import type { Instant } from '../../domain/time.js';

export { StringEnum } from '../schemas.js';

/** Shared pieces of the admin API's schemas. Response schemas whitelist what leaves, as everywhere. */

export const iso = (instant: Instant): string => new Date(instant).toISOString();
export const isoOrNull = (instant: Instant | null): string | null => (instant === null ? null : iso(instant));

export const DateTime = Type.String({ format: 'date-time' });

/** A string or null. */
export function NullableString(options: TStringOptions = {}) {
  return Type.Union([Type.String(options), Type.Null()]);
}

export const security = [{ bearer: [] }];

export const ADMIN_ERRORS = {
  400: Type.Ref('ErrorResponse'),
  401: Type.Ref('ErrorResponse'),
  403: Type.Ref('ErrorResponse'),
  404: Type.Ref('ErrorResponse'),
  409: Type.Ref('ErrorResponse'),
  413: Type.Ref('ErrorResponse'),
} as const;

/**
 * The admin API's message for a body or parameter its schema refuses: where, what was wrong, and
 * for a value outside a list the list itself (`body/roles/0 must be one of: viewer, …`).
 */
export function adminSchemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0];
  if (!first) return new Error(`${dataVar} is not valid.`);
  // A union (a list of values, or a type or null): ajv reports each branch, then `anyOf`.
  const union = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === first.instancePath);
  const error = union ?? first;
  const where = `${dataVar}${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  if (union) {
    const branches = errors.filter((e) => e.instancePath === union.instancePath && e !== union);
    const values = branches.filter((e) => e.keyword === 'const').map((e) => String((e.params as { allowedValue: unknown }).allowedValue));
    const types = branches.filter((e) => e.keyword === 'type').map((e) => String((e.params as { type: unknown }).type));
    if (values.length > 0 && values.length === branches.length) return new Error(`${where} must be one of: ${values.join(', ')}.`);
    if (types.length > 0 && types.length === branches.length) return new Error(`${where} must be ${types.join(' or ')}.`);
    const other = branches.find((e) => e.keyword !== 'type' && e.keyword !== 'const') ?? first;
    return new Error(`${dataVar}${other.instancePath} ${other.message ?? 'is not valid'}.`);
  }
  switch (error.keyword) {
    case 'enum':
      return new Error(`${where} must be one of: ${(params.allowedValues as unknown[]).join(', ')}.`);
    case 'additionalProperties':
      return new Error(`${where} has an unknown property \`${String(params.additionalProperty)}\`.`);
    case 'required':
      return new Error(`${where} lacks the required property \`${String(params.missingProperty)}\`.`);
    default:
      return new Error(`${where} ${error.message ?? 'is not valid'}.`);
  }
}
