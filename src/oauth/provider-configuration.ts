import { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { DAY_MS, type Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { judgeAuthorizationRequest, judgeClientCredentials, loadDoorFacts, type DoorRefusal } from './door-rules.js';
import { datapactAdapter } from './model-adapter.js';
import { errorPage } from './notice-pages.js';
import { loggedOutPage, renderLogout, sendProviderPage } from './provider-pages.js';
import { SUPPORTED_SCOPES } from './scopes.js';
import { SIGNING_ALGORITHM, type PrivateJwks } from './signing-keys.js';

export interface ProviderSettings {
  readonly store: Store;
  /** The rules' `now`: every Datapact rule decided here reads it (the library keeps its own expiries on the wall clock). */
  readonly clock: () => Instant;
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  readonly jwks: PrivateJwks;
  readonly cookieKeys: string[];
}

/** Lifetimes, in seconds. */
export const TOKEN_LIFETIMES = {
  AccessToken: 60 * 60,
  AuthorizationCode: 60,
  ClientCredentials: 60 * 60,
  IdToken: 60 * 60,
  Interaction: 60 * 60,
  /** The member's login at the authorization server. */
  Session: 24 * 60 * 60,
  /** Refresh tokens rotate; each lives as long as the idle window of a grant. */
  RefreshToken: 90 * DAY_MS / 1000,
  /** Agreements last at most 24 months, and a grant never outlives its agreement's terms. */
  Grant: 2 * 366 * DAY_MS / 1000,
} as const;

/** Paths under the issuer (`${publicUrl}/oauth`). */
export const OAUTH_ROUTES = {
  authorization: '/authorize',
  token: '/token',
  revocation: '/revoke',
  introspection: '/introspect',
  jwks: '/jwks',
  userinfo: '/userinfo',
  end_session: '/logout',
} as const;

function oauthError(refusal: DoorRefusal): Error {
  switch (refusal.error) {
    case 'unauthorized_client':
      return new errors.UnauthorizedClient(refusal.description);
    case 'invalid_request':
      return new errors.InvalidRequest(refusal.description);
    case 'invalid_scope':
      return new errors.InvalidScope(refusal.description, refusal.scope);
  }
}

/** Every authorization asks for consent on its own page, so each consent makes its own Datapact grant. */
function interactionPolicyWithConsentEveryTime(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy.get('consent')!.checks.add(new interactionPolicy.Check(
    'datapact_consent',
    'every authorization is consented to by the member',
    (ctx) => (ctx.oidc.result?.consent ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  ));
  return policy;
}

/**
 * The whole oidc-provider configuration: clients are the apps, PKCE is required, access tokens
 * are opaque and recorded for the Graph API, refresh tokens rotate and stop with the grant, and
 * the rules at the door run on every authorization request (as the validator of the required
 * `purpose` parameter, after the library has checked the client, redirect URI, scope syntax and PKCE).
 */
export function providerConfiguration(settings: ProviderSettings): Configuration {
  const { store, clock } = settings;
  // Secure is left to the library outside production: it sets it whenever the request came over HTTPS.
  const cookie = { httpOnly: true, sameSite: 'lax', signed: true, ...(settings.secureCookies ? { secure: true } : {}) } as const;

  return {
    adapter: datapactAdapter(store, clock),
    jwks: { keys: settings.jwks.keys as never },
    async findAccount(_ctx, id) {
      if (!(await store.members.exists(id))) return undefined;
      return { accountId: id, claims: async () => ({ sub: id }) };
    },
    scopes: [...SUPPORTED_SCOPES],
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALGORITHM,
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx) => renderLogout(ctx),
        postLogoutSuccessSource: (ctx) => sendProviderPage(ctx, 200, loggedOutPage()),
      },
      // A client may introspect and revoke only its own tokens.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    },
    extraParams: {
      async purpose(ctx: KoaContextWithOIDC, value: string | undefined, client) {
        const now = clock();
        const facts = await loadDoorFacts(store, client.clientId, now);
        if (!facts) throw new errors.UnauthorizedClient(`${client.clientId} is not a registered app`);
        const scope = typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope : undefined;
        const decision = judgeAuthorizationRequest(facts, { purpose: value, scope }, now);
        if (!decision.ok) throw oauthError(decision.refusal);
      },
    },
    interactions: {
      policy: interactionPolicyWithConsentEveryTime(),
      // Relative, so the member stays on the host the request came to (its cookies are there).
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // A grant is found only when this very authorization's consent made it: never reused silently.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    // The last step before a token is issued. A client-credentials token (a partner server's) is
    // issued only while its app has an agreement in force, and only for field scopes within that
    // agreement; a refusal here is the token endpoint's answer, and nothing is stored.
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'ClientCredentials') return undefined;
      const facts = token.clientId === undefined ? undefined : await loadDoorFacts(store, token.clientId, clock());
      if (!facts) throw new errors.UnauthorizedClient('the client is not a registered app');
      const refusal = judgeClientCredentials(facts, token.scope);
      if (refusal !== null) throw oauthError(refusal);
      return undefined;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Tokens belong to the grant, not to the member's login at this server.
    expiresWithSession: async () => false,
    // A refresh of an ended grant never gets here: the library finds no such grant (model-adapter.ts).
    rotateRefreshToken: true,
    // Revoking any token of a member's grant ends the grant (and the Datapact grant with it).
    revokeGrantPolicy: () => true,
    ttl: { ...TOKEN_LIFETIMES },
    cookies: {
      names: { session: 'dp_oauth_session', interaction: 'dp_oauth_interaction', resume: 'dp_oauth_resume' },
      keys: settings.cookieKeys,
      long: cookie,
      short: cookie,
    },
    routes: { ...OAUTH_ROUTES },
    discovery: { service_documentation: `${settings.publicUrl}/docs` },
    async renderError(ctx, out) {
      sendProviderPage(ctx, ctx.status, errorPage(
        'This request cannot go on',
        out.error_description ?? 'The authorization request is not valid.',
        `Error: ${out.error}. Go back to the app and start again; if it keeps happening, tell the app's developer.`,
      ));
    },
  };
}
