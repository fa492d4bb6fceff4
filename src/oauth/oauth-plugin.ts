import middie from '@fastify/middie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import Provider from 'oidc-provider';
import type { AuditLog } from '../audit/audit-log.js';
import type { Instant } from '../domain/time.js';
import { OidcAdapter } from '../store/oidc-adapter.js';
import type { Store } from '../store/store.js';
import { interactionRoutes } from './interaction-routes.js';
import { providerConfiguration } from './provider-configuration.js';
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
  readonly loginThrottle: preHandlerAsyncHookHandler[];
}

/** The mount point of the authorization server: the issuer is `${publicUrl}/oauth`. */
export const OAUTH_PATH = '/oauth';

export function issuerOf(publicUrl: string): string {
  return `${publicUrl}${OAUTH_PATH}`;
}

/** An oidc-provider instance configured for Datapact. */
export function createProvider(options: OAuthOptions): Provider {
  const provider = new Provider(issuerOf(options.publicUrl), providerConfiguration({
    store: options.store,
    clock: options.clock,
    publicUrl: options.publicUrl,
    secureCookies: options.secureCookies,
    jwks: loadSigningKeys(options.dataDir),
    cookieKeys: loadCookieKeys(options.dataDir),
  }));
  // Datapact serves plain HTTP; an https public URL means a TLS-terminating proxy stands in front,
  // whose X-Forwarded-Proto and -Host the provider must trust to build its URLs and Secure cookies.
  provider.proxy = new URL(options.publicUrl).protocol === 'https:';
  provider.use(logoutWithoutScript);
  return provider;
}

/**
 * The OAuth 2.0 / OpenID Connect server (PRODUCT.md §7): oidc-provider mounted at `/oauth` through
 * @fastify/middie, and the member's login and consent pages at `/interaction/:uid`.
 */
export const oauthPlugin: FastifyPluginAsync<OAuthOptions> = async (app, options) => {
  const provider = createProvider(options);
  provider.on('server_error', (_ctx, error) => app.log.error({ err: error }, 'oauth server error'));

  // Sessions, interactions and tokens the library let expire are deleted at each start.
  app.addHook('onReady', async () => {
    const purged = await new OidcAdapter(options.store.db, 'any').purgeExpired();
    if (purged > 0) app.log.info({ purged }, 'expired OAuth records deleted');
  });

  await app.register(middie);
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
