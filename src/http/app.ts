import { randomBytes, randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { OPENAPI_TAGS, openApiDescription, openApiSecuritySchemes } from './openapi.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type onRequestAsyncHookHandler, type preHandlerAsyncHookHandler } from 'fastify';
import { AuditLog, type AuditLogOptions } from '../audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../audit/blinding.js';
import { savedHeadPath } from '../audit/saved-head.js';
import { CheckpointSubmitter, type PostText, type WitnessEndpoint } from '../audit/checkpoint-witnessing.js';
import { defaultLogOrigin } from '../audit/checkpoint.js';
import { LogCheckpoints } from '../audit/log-checkpoints.js';
import { DEFAULT_CHROMIUM } from '../reports/pack-pdf.js';
import { SimulationRuns } from '../reports/simulation-runs.js';
import { loadOrCreateAuditSigningKey } from '../audit/signing-key.js';
import { DEFAULT_TIMEOUTS, type Environment, type ServerTimeouts } from '../config.js';
import { DEMO_CONTROLLER, type Controller } from '../domain/controller.js';
import { DatabaseUnavailable, HttpsRequired } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import { oauthPlugin } from '../oauth/oauth-plugin.js';
import { databaseFault } from '../store/database-faults.js';
import { probeWrite } from '../store/readiness-probe.js';
import type { Store } from '../store/store.js';
import { LOW_LEVEL_ERRORS, registerErrorHandling } from './error-handler.js';
import { GraphReader } from './graph/graph-reader.js';
import { GRAPH_RATE_LIMIT, graphRateLimit, type GraphRateLimit } from './graph/request-limit.js';
import { loadOrCreateTotpBox, type SecretBox } from '../store/secret-box.js';
import { createMemberLoginThrottle, databaseCounterStore, type LoginThrottle } from './login-throttle.js';
import { adminRoutes } from './routes/admin-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { docsRoutes } from './routes/docs-routes.js';
import { graphRoutes } from './routes/graph-routes.js';
import { partnerRoutes } from './routes/partner-routes.js';
import { privacyRoutes } from './routes/privacy-routes.js';
import { consoleRoutes } from './console.js';
import { ErrorResponse, MemberObject } from './schemas.js';
import { sharedSerializerFactory } from './shared-compilers.js';
import { parseWellFormedJson, validatorCompiler } from './validation.js';

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
  /** How long the server waits on a client once listening (DEFAULT_TIMEOUTS unless given); `inject` ignores them. */
  readonly timeouts?: ServerTimeouts;
  /** The checkpoints' origin line, naming this log (default `<host of publicUrl>/audit`). */
  readonly logOrigin?: string;
  /** Witnesses asked to cosign checkpoints, and how many cosignatures a head needs (default all). */
  readonly witnesses?: readonly WitnessEndpoint[];
  readonly witnessQuorum?: number;
  /** How the submitter reaches witnesses (tests route it in-process); default fetch. */
  readonly witnessPost?: PostText;
  /** The platform as the records of processing name it; default the demo world's (DEMO_CONTROLLER). */
  readonly controller?: Controller;
  /** The Chromium binary that prints the regulator's pack to PDF (default /usr/bin/chromium). */
  readonly chromium?: string;
  /** Where the built staff console is (default dist/console of the project, made by `npm run build`). */
  readonly consoleDir?: string;
  /** Graph API requests allowed per access token and window, counted by each server (default GRAPH_RATE_LIMIT). */
  readonly graphRateLimit?: GraphRateLimit;
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
  /** Members' login throttle, shared by the OAuth login page and the privacy center. */
  readonly loginThrottle: LoginThrottle;
  /** Seals staff TOTP secrets under a key in the data directory, never in the database. */
  readonly totpBox: SecretBox;
  /** The log's checkpoints (C2SP notes) with their cosignatures. */
  readonly checkpoints: LogCheckpoints;
  readonly controller: Controller;
  /** The Chromium binary that prints PDFs. */
  readonly chromium: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Sends new checkpoints to the witnesses: `datapact serve` steps it on a timer, tests call `step()`. */
    witnessing: CheckpointSubmitter;
    /** Simulations running off their requests (issue 15): tests await `settled()`. */
    simulations: SimulationRuns;
  }
}

/**
 * Node's and Fastify's timeouts. Node checks the header and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default, longer than a short timeout itself): a quarter of
 * the shorter timeout cuts a slow client off within 125% of it.
 */
function serverTimeouts(timeouts: ServerTimeouts) {
  return {
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: {
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(Math.min(timeouts.headersMs, timeouts.requestMs) / 4))),
    },
  };
}

/**
 * With an https public URL, Datapact (plain HTTP) sits behind a TLS-terminating proxy that says so
 * with `X-Forwarded-Proto: https`. A request without it did not come that way (or the proxy is not
 * set up to say so): it gets a clear 421 instead of secure cookies that cannot be set (a 500, before).
 * `/health`, `/health/live` and `/health/ready` stay answerable for load balancers that probe the server directly.
 */
function refuseUnlessThroughTls(publicUrl: string): onRequestAsyncHookHandler {
  return async (request) => {
    if (request.url === '/health' || request.url.startsWith('/health/')) return;
    const forwarded = request.headers['x-forwarded-proto'];
    const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
    if (proto !== 'https') {
      throw new HttpsRequired(`This server answers at ${publicUrl} only: the request did not come through its https proxy `
        + '(no X-Forwarded-Proto: https). Use the https URL; operators: have the proxy in front set X-Forwarded-Proto.');
    }
  };
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
    // Longer than any valid id, so that an overlong one meets the schema's clear 400; longer still, a 414.
    routerOptions: { maxParamLength: 1000 },
    schemaController: { compilersFactory: { buildSerializer: sharedSerializerFactory() } },
    ...LOW_LEVEL_ERRORS,
    ...serverTimeouts(options.timeouts ?? DEFAULT_TIMEOUTS),
  }).withTypeProvider<TypeBoxTypeProvider>();
  const clock = options.clock ?? Date.now;
  const publicUrl = options.publicUrl ?? 'http://localhost:8080';
  const signingKey = loadOrCreateAuditSigningKey(options.dataDir);
  const logOrigin = options.logOrigin ?? defaultLogOrigin(publicUrl);
  const witnesses = options.witnesses ?? [];
  const blinding = loadOrCreateAuditBlinding(options.dataDir);
  // Consistency proofs fold the tree's lowest subtrees from their (blinded) leaves: they are not stored.
  const checkpoints = new LogCheckpoints(options.store.audit.withBlinding(blinding), options.store.cosignatures, logOrigin, signingKey,
    witnesses.map((w) => w.vkey), options.witnessQuorum ?? witnesses.length);
  const base = {
    store: options.store,
    clock,
    checkpoints,
    controller: options.controller ?? DEMO_CONTROLLER,
    chromium: options.chromium ?? DEFAULT_CHROMIUM,
    audit: new AuditLog({
      ...options.audit,
      db: options.store.db,
      clock,
      signingKey,
      origin: logOrigin,
      blinding,
      ...(options.dataDir === undefined ? {} : { savedHeadFile: savedHeadPath(options.dataDir) }),
      onError: (error) => app.log.error({ err: error }, 'signing an audit tree head failed'),
    }),
    totpBox: loadOrCreateTotpBox(options.dataDir),
    environment,
    publicUrl,
    secureCookies: environment === 'production',
    dataDir: options.dataDir,
  };
  app.setValidatorCompiler(validatorCompiler());
  parseWellFormedJson(app);
  app.decorate('witnessing', new CheckpointSubmitter({
    log: checkpoints, cosignatures: options.store.cosignatures, witnesses, clock, ...(options.witnessPost ? { post: options.witnessPost } : {}),
  }));
  app.addHook('onClose', async () => app.witnessing.stop());
  app.decorate('simulations', new SimulationRuns(options.store, (error, id) => app.log.error({ err: error, simulation_id: id }, 'simulation failed')));
  app.addHook('onClose', async () => app.simulations.settled());

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  if (new URL(base.publicUrl).protocol === 'https:') app.addHook('onRequest', refuseUnlessThroughTls(base.publicUrl));
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
  const context: AppContext = { ...base, loginThrottle: createMemberLoginThrottle(app, options.store.rateLimits, clock) };

  await app.register(swagger, {
    openapi: {
      info: { title: 'Datapact API', version: '1', description: openApiDescription() },
      components: { securitySchemes: openApiSecuritySchemes(base.publicUrl) as never },
      tags: OPENAPI_TAGS,
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(docsRoutes, { publicUrl: base.publicUrl });

  const reader = new GraphReader(context.store, context.audit, context.clock, environment !== 'production');
  await app.register(graphRoutes, { prefix: '/v1', reader, rateLimit: graphRateLimit(options.graphRateLimit ?? GRAPH_RATE_LIMIT, clock) });
  await app.register(oauthPlugin, context);
  await app.register(privacyRoutes, { context });
  await app.register(partnerRoutes, { prefix: '/v1/partner', context });
  await app.register(adminRoutes, { prefix: '/admin/v1', context });
  await app.register(auditRoutes, { prefix: '/v1/audit', context });
  await app.register(consoleRoutes, { ...(options.consoleDir === undefined ? {} : { dir: options.consoleDir }) });
  registerHealth(app, options.store);
  return app;
}

/**
 * Liveness and readiness, for load balancers and orchestrators. `/health` (and `/health/live`): the
 * process answers; it reads nothing, so a database fault never gets a working server restarted.
 * `/health/ready`: the database takes a write now (probeWrite; nothing audited); otherwise 503
 * `database_unavailable` with Retry-After, the fault logged by name, until it passes.
 */
function registerHealth(app: FastifyInstance, store: Store): void {
  const live = async () => ({ ok: true });
  app.get('/health', { schema: { hide: true } }, live);
  app.get('/health/live', { schema: { hide: true } }, live);
  app.get('/health/ready', { schema: { hide: true } }, async () => {
    try {
      await probeWrite(store.db);
    } catch (error) {
      // Whatever else stops a write (a damaged file, say) makes the server just as unready.
      throw databaseFault(error) ?? new DatabaseUnavailable(faultName(error), 5, error);
    }
    return { ok: true };
  });
}

function faultName(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
}
