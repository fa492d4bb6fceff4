import SerializerSelector from '@fastify/fast-json-stringify-compiler';

/**
 * Response serializers compiled once per process and schema, however many apps are built in it.
 * Generating fast-json-stringify's code is most of what building the app costs (with the request
 * validators, src/http/validation.ts): a server builds one app, the tests build hundreds, and a
 * schema's serializer is the same function each time. Keyed by the schema's JSON together with
 * the shared schemas ($ref targets) and options it was compiled with.
 */
const serializers = new Map<string, SerializerSelector.Serializer>();

export function sharedSerializerFactory(): SerializerSelector.SerializerFactory {
  const factory = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = factory(externalSchemas, options);
    const context = JSON.stringify([externalSchemas ?? null, options ?? null]);
    return (route) => {
      const key = `${context}\0${route.httpStatus}\0${JSON.stringify(route.schema)}`;
      let serializer = serializers.get(key);
      if (serializer === undefined) serializers.set(key, (serializer = compile(route)));
      return serializer;
    };
  };
}
