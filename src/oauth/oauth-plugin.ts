import type { IncomingMessage, ServerResponse } from 'node:http';
import middie from '@fastify/middie';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Provider from 'oidc-provider';
import type { AuditLog } from '../audit/audit-log.js';
import type { Instant } from '../domain/time.js';
import { OidcAdapter } from '../store/oidc-adapter.js';
import type { Store } from '../store/store.js';
import { interactionRoutes, type MemberLoginThrottle } from './interaction-routes.js';
import { providerConfiguration } from './provider-configuration.js';
import { answerInOwnShapes, requestIdOf } from './provider-errors.js';
import { logoutWithoutScript } from './provider-pages.js';
import { loadCookieKeys, loadSigningKeys } from './signing-keys.js';

/** What the OAuth server needs from the app that mounts it. */
export interface OAuthOptions {
  readonly store: Store;
  readonly clock: () => Instant;
  readonly audit: AuditLog;
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  /** Where signing keys are kept; undefined: fresh keys in memory (tests). */
  readonly dataDir: string | undefined;
  /** preHandlers for the login form: attempts limited per address and per account (`member_id`). */
  readonly loginThrottle: MemberLoginThrottle;
}

/** The mount point of the authorization server: the issuer is `${publicUrl}/oauth`. */
export const OAUTH_PATH = '/oauth';

export function issuerOf(publicUrl: string): string {
  return `${publicUrl}${OAUTH_PATH}`;
}

/** An oidc-provider instance configured for Datapact. */
export function createProvider(options: OAuthOptions, log: () => FastifyBaseLogger): Provider {
  const provider = new Provider(issuerOf(options.publicUrl), providerConfiguration({
    store: options.store,
    clock: options.clock,
    publicUrl: options.publicUrl,
    secureCookies: options.secureCookies,
    jwks: loadSigningKeys(options.dataDir),
    cookieKeys: loadCookieKeys(options.dataDir),
  }));
  // The provider builds its URLs (discovery, redirects) from the request's forwarded protocol and
  // host, which pinToPublicUrl sets from the public URL before every request it sees.
  provider.proxy = true;
  provider.use(answerInOwnShapes(log));
  provider.use(logoutWithoutScript);
  return provider;
}

/**
 * Overwrites what the provider reads to build absolute URLs (Host, X-Forwarded-Host and -Proto)
 * with the public URL's, so that no request header can point the issuer's endpoints, redirects or
 * cookies elsewhere. An https deployment reaches here only with X-Forwarded-Proto: https (app.ts).
 * Sets `x-request-id` too: the provider answers itself, past the app's onSend hook.
 */
function pinToPublicUrl(publicUrl: string) {
  const { host, protocol } = new URL(publicUrl);
  return (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    response.setHeader('x-request-id', requestIdOf(request));
    request.headers.host = host;
    request.headers['x-forwarded-host'] = host;
    request.headers['x-forwarded-proto'] = protocol.slice(0, -1);
    next();
  };
}

/**
 * The OAuth 2.0 / OpenID Connect server (PRODUCT.md §7): oidc-provider mounted at `/oauth` through
 * @fastify/middie, and the member's login and consent pages at `/interaction/:uid`.
 */
export const oauthPlugin: FastifyPluginAsync<OAuthOptions> = async (app, options) => {
  const provider = createProvider(options, () => app.log);
  provider.on('server_error', (_ctx, error) => app.log.error({ err: error }, 'oauth server error'));

  // Sessions, interactions and tokens the library let expire are deleted at each start.
  app.addHook('onReady', async () => {
    const purged = await new OidcAdapter(options.store.db, 'any').purgeExpired();
    if (purged > 0) app.log.info({ purged }, 'expired OAuth records deleted');
  });

  await app.register(middie);
  app.use(OAUTH_PATH, pinToPublicUrl(options.publicUrl));
  app.use(OAUTH_PATH, provider.callback());
  // Routes for the paths the provider serves, so that Fastify runs this plugin's hooks (and with
  // them the provider) for those requests; the handler only answers what the provider passed on.
  const passedOn = (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
  app.all(OAUTH_PATH, { schema: { hide: true } }, passedOn);
  app.all(`${OAUTH_PATH}/*`, { schema: { hide: true } }, passedOn);

  await app.register(interactionRoutes, {
    provider,
    store: options.store,
    clock: options.clock,
    loginThrottle: options.loginThrottle,
  });
};
