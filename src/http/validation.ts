import { Ajv, type Options } from 'ajv';
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
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema);
}
