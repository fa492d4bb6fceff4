import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AuditLog } from '../audit/audit-log.js';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { registerErrorHandling } from './error-handler.js';
import { GraphReader } from './graph/graph-reader.js';
import { graphRoutes } from './routes/graph-routes.js';
import { ErrorResponse, MemberObject } from './schemas.js';

export interface AppOptions {
  readonly store: Store;
  /** The rules' `now`; injected so that tests and replays control time. */
  readonly clock?: () => Instant;
  readonly logger?: FastifyServerOptions['logger'];
}

/** The whole HTTP surface as one Fastify instance; `server.ts` only starts it listening. */
export async function buildApp({ store, clock = Date.now, logger = false }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: 64 * 1024,
    // Longer than any valid id, so that an overlong one meets the schema's clear 400, not a bare 414.
    routerOptions: { maxParamLength: 1000 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  app.addSchema(ErrorResponse);
  app.addSchema(MemberObject);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Datapact Graph API', version: '1', description: 'Member data shared under agreements, every release audited.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const reader = new GraphReader(store, new AuditLog(store.audit), clock);
  await app.register(graphRoutes, { prefix: '/v1', reader });
  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));
  return app;
}
