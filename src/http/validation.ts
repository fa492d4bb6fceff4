import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

function ajv(options: Options): Ajv {
  const instance = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, ...options });
  addFormats.default(instance);
  return instance;
}

/**
 * Query strings and path parameters arrive as text, so their numbers are coerced (`limit=25`);
 * JSON bodies are typed already, so a wrong type there is an error, never silently converted.
 */
export function validatorCompiler(): FastifySchemaCompiler<any> {
  const coercing = ajv({ coerceTypes: 'array' });
  const strict = ajv({ coerceTypes: false });
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict.compile(schema) : decimalNumbersOnly(coercing.compile(schema), schema));
}

const DECIMAL_INTEGER = /^-?[0-9]{1,16}$/;
const DECIMAL_NUMBER = /^-?[0-9]{1,16}(\.[0-9]{1,16})?$/;

/**
 * Coercion takes whatever `Number()` takes: `0x10`, ` 5`, `1e3`, and `Infinity` or `1e400`,
 * which Ajv's integer and `maximum` checks let through (it skips them for non-finite numbers).
 * So a numeric parameter must be written in plain decimal digits before it is coerced.
 */
function decimalNumbersOnly(validate: ValidateFunction, schema: unknown): ValidateFunction {
  const numeric = numericProperties(schema);
  if (numeric.length === 0) return validate;
  const checked = ((data: Record<string, unknown> | undefined) => {
    for (const [name, type] of numeric) {
      const value = data?.[name];
      if (typeof value !== 'string' || (type === 'integer' ? DECIMAL_INTEGER : DECIMAL_NUMBER).test(value)) continue;
      const message = type === 'integer' ? 'must be a whole number in decimal digits' : 'must be a number in decimal digits';
      checked.errors = [{ instancePath: `/${name}`, schemaPath: '#/type', keyword: 'type', params: { type }, message }];
      return false;
    }
    const valid = validate(data);
    checked.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return checked;
}

function numericProperties(schema: unknown): Array<[string, 'integer' | 'number']> {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  return Object.entries(properties).flatMap(([name, property]): Array<[string, 'integer' | 'number']> =>
    property.type === 'integer' || property.type === 'number' ? [[name, property.type]] : []);
}
