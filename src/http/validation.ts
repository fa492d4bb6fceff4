import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { BadRequest } from '../domain/errors.js';
import { MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN } from './schemas.js';

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
  return ({ schema, httpPart }) => {
    const body = httpPart === 'body';
    const key = `${body ? 'body' : 'text'}\0${JSON.stringify(schema)}`;
    let validate = VALIDATORS.get(key);
    if (validate === undefined) {
      validate = body ? STRICT.compile(schema) : decimalNumbersOnly(COERCING.compile(schema), schema);
      VALIDATORS.set(key, validate);
    }
    return validate;
  };
}

// Compiled once per process and schema, as the serializers are (shared-compilers.ts): the tests
// build hundreds of apps, and a schema's validator is the same function each time.
const COERCING = ajv({ coerceTypes: 'array' });
const STRICT = ajv({ coerceTypes: false });
const VALIDATORS = new Map<string, ValidateFunction>();

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

const TEXT_PATTERNS: ReadonlyMap<string, string> = new Map([
  [SINGLE_LINE_PATTERN, 'must be one line of visible text, without control characters or bidi controls (U+202A–U+202E, U+2066–U+2069)'],
  [MULTI_LINE_PATTERN, 'must be visible text, without control characters (line breaks and tabs aside) or bidi controls (U+202A–U+202E, U+2066–U+2069)'],
]);

/**
 * The message of a request its schema refused: the formatter's, except for the text patterns,
 * whose regular expressions say nothing to a person (`body/name must be one line of visible text…`).
 */
export function describeValidation(errors: readonly FastifySchemaValidationError[], context: string | undefined, message: string): string {
  const first = errors[0];
  const text = first?.keyword === 'pattern' ? TEXT_PATTERNS.get(String((first.params as { pattern?: unknown }).pattern)) : undefined;
  return text === undefined ? message : `${context ?? 'body'}${first?.instancePath ?? ''} ${text}.`;
}

/** A `\u` escape of a UTF-16 surrogate: the only way a lone one gets into a string decoded from UTF-8. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** With the `u` flag, a surrogate class matches only a surrogate that is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Where a parsed JSON value holds a string (or a property name) that is not well-formed Unicode:
 * a lone surrogate escaped as `\ud800`, which would be stored as invalid UTF-8 and read back
 * altered. Iterative, so that a deeply nested body cannot overflow the stack.
 */
function illFormedText(value: unknown): string | undefined {
  const pending: Array<[unknown, string]> = [[value, 'body']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return path;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) return path;
        pending.push([child, `${path}/${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * Fastify's JSON parser (prototype poisoning refused, the body limit kept), and then text that is
 * not well-formed refused: `400 invalid_request`, naming where.
 */
export function parseWellFormedJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      const where = SURROGATE_ESCAPE.test(text) ? illFormedText(value) : undefined;
      if (where === undefined) return done(null, value);
      const path = where.length <= 100 ? where : `${where.slice(0, 100)}…`;
      return done(new BadRequest('invalid_request', `${path} is not well-formed Unicode text: it holds a lone surrogate (an escape from \\ud800 to \\udfff without its pair).`));
    });
  });
}

/**
 * For the APIs that take JSON only (admin, partner): a form-encoded or plain-text body is 415,
 * never parsed into an object the schema then accepts (the app parses forms for its web pages).
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/x-www-form-urlencoded', 'text/plain']);
}
