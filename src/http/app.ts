import { randomBytes, randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type preHandlerAsyncHookHandler } from 'fastify';
import { AuditLog, type AuditLogOptions } from '../audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../audit/blinding.js';
import { savedHeadPath } from '../audit/saved-head.js';
import { loadOrCreateAuditSigningKey } from '../audit/signing-key.js';
import type { Environment } from '../config.js';
import type { Instant } from '../domain/time.js';
import { oauthPlugin } from '../oauth/oauth-plugin.js';
import type { Store } from '../store/store.js';
import { registerErrorHandling } from './error-handler.js';
import { GraphReader } from './graph/graph-reader.js';
import { createLoginThrottle, databaseCounterStore } from './login-throttle.js';
import { adminRoutes } from './routes/admin-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { graphRoutes } from './routes/graph-routes.js';
import { partnerRoutes } from './routes/partner-routes.js';
import { privacyRoutes } from './routes/privacy-routes.js';
import { ErrorResponse, MemberObject } from './schemas.js';
import { validatorCompiler } from './validation.js';

export interface AppOptions {
  readonly store: Store;
  /** The rules' `now`; injected so that tests and replays control time. */
  readonly clock?: () => Instant;
  readonly logger?: FastifyServerOptions['logger'];
  /** `production` refuses development tokens and sends cookies only over HTTPS. Default `development`. */
  readonly environment?: Environment;
  /** The base URL clients see; the OAuth issuer is `${publicUrl}/oauth`. */
  readonly publicUrl?: string;
  /** Signs cookies (sessions, CSRF). Default: random per process, so sessions end at restart. */
  readonly cookieSecret?: string;
  /** Where the OAuth and audit signing keys are kept; default: fresh keys in memory (tests). */
  readonly dataDir?: string;
  /** Group commit of the audit log (tests and benchmarks tune it); see AuditLogOptions. */
  readonly audit?: Pick<AuditLogOptions, 'maxBatchEntries' | 'maxDelayMs' | 'headIntervalMs' | 'maxQueuedEntries'>;
  /**
   * The proxies in front (addresses, CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`): a
   * request that comes through them has the client's address of their X-Forwarded-For, which the
   * login throttle counts by. Default none: the socket's address, whatever the headers say.
   */
  readonly trustedProxies?: readonly string[];
}

/** Everything a plugin of this app may need, resolved from AppOptions with their defaults. */
export interface AppContext {
  readonly store: Store;
  readonly clock: () => Instant;
  readonly audit: AuditLog;
  readonly environment: Environment;
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  readonly dataDir: string | undefined;
  /** preHandlers for every login form: attempts limited per address and per account. */
  readonly loginThrottle: preHandlerAsyncHookHandler[];
}

/** The whole HTTP surface as one Fastify instance; `server.ts` only starts it listening. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const environment = options.environment ?? 'development';
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: () => randomUUID(),
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
    requestIdHeader: false,
    bodyLimit: 64 * 1024,
    // Longer than any valid id, so that an overlong one meets the schema's clear 400, not a bare 414.
    routerOptions: { maxParamLength: 1000 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const clock = options.clock ?? Date.now;
  const base = {
    store: options.store,
    clock,
    audit: new AuditLog({
      ...options.audit,
      db: options.store.db,
      clock,
      signingKey: loadOrCreateAuditSigningKey(options.dataDir),
      blinding: loadOrCreateAuditBlinding(options.dataDir),
      ...(options.dataDir === undefined ? {} : { savedHeadFile: savedHeadPath(options.dataDir) }),
      onError: (error) => app.log.error({ err: error }, 'signing an audit tree head failed'),
    }),
    environment,
    publicUrl: options.publicUrl ?? 'http://localhost:8080',
    secureCookies: environment === 'production',
    dataDir: options.dataDir,
  };
  app.setValidatorCompiler(validatorCompiler());

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  app.addHook('onReady', async () => base.audit.start());
  // Entries still queued are committed, and a last head signed, before the database closes.
  app.addHook('onClose', async () => base.audit.close());
  app.addSchema(ErrorResponse);
  app.addSchema(MemberObject);

  await app.register(cookie, { secret: options.cookieSecret ?? randomBytes(32).toString('base64url') });
  await app.register(formbody);
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', secure: base.secureCookies, path: '/' },
  });
  await app.register(rateLimit, { global: false, store: databaseCounterStore(options.store.rateLimits, clock) });
  const context: AppContext = { ...base, loginThrottle: createLoginThrottle(app) };

  await app.register(swagger, {
    openapi: {
      info: { title: 'Datapact API', version: '1', description: 'Member data shared under agreements, every release audited.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const reader = new GraphReader(context.store, context.audit, context.clock, environment !== 'production');
  await app.register(graphRoutes, { prefix: '/v1', reader });
  await app.register(oauthPlugin, context);
  await app.register(privacyRoutes, { context });
  await app.register(partnerRoutes, { prefix: '/v1/partner', context });
  await app.register(adminRoutes, { prefix: '/admin/v1', context });
  await app.register(auditRoutes, { prefix: '/v1/audit', context });
  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));
  return app;
}
