/**
 * Response serializers compiled on a route's first answer of each status, not when the app starts.
 * Fastify compiles a fast-json-stringify function for every response schema of every route while
 * the app gets ready: about 0.8 s of CPU here, most of a start (and of every test's app). Each
 * route's serializer is the one Fastify would have built, from the same shared schemas and
 * options, built once and kept.
 */
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Build = ReturnType<typeof SerializerSelector>;
type RouteSchema = Parameters<ReturnType<Build>>[0];

export function lazySerializers(): Build {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route: RouteSchema) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data: unknown) => (serialize ??= compile(route))(data);
    };
  };
}
