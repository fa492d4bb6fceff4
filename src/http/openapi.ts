import { PURPOSES } from '../domain/purposes.js';
import { OAUTH_ROUTES } from '../oauth/provider-configuration.js';
import { FRIEND_SCOPE_PREFIX, SUPPORTED_SCOPES } from '../oauth/scopes.js';
import { errorCodesMarkdown } from './error-codes.js';
import { GETTING_STARTED_PATH } from './routes/docs-routes.js';

/**
 * What the OpenAPI document at /docs says beyond the routes themselves: the OAuth 2.0 security
 * scheme partners obtain tokens by (authorization code with PKCE, client credentials), the tags
 * that set the Graph API, partner, privacy and admin routes apart, and the description: where partner
 * engineers start, and every error code (error-codes.ts). The field catalog is on `fields`, in schemas.ts.
 */

export function openApiDescription(): string {
  return 'Member data shared under agreements, every release audited.\n\n'
    + `**Partner engineers: start with the [getting-started guide](${GETTING_STARTED_PATH})** (register, consent, tokens, paging, `
    + 'errors, webhooks and their signatures, rate limits).\n\n'
    + '## Errors\n\nEvery error has the shape `{"error": {"code", "message", "request_id"}}` (plus `cause` for '
    + '`agreement_not_in_effect`); `request_id` is also the `x-request-id` header. The codes:\n\n'
    + errorCodesMarkdown();
}

function scopes(): Record<string, string> {
  const described = (scope: string) => {
    if (scope === 'openid') return 'OpenID Connect: an ID token naming the member';
    if (scope === 'friends') return 'the member\'s friend list';
    if (scope.startsWith(FRIEND_SCOPE_PREFIX)) return `${scope.slice(FRIEND_SCOPE_PREFIX.length)} of friends who allow it (device partners only; sensitive ones never leave)`;
    return `the member's ${scope}`;
  };
  return Object.fromEntries(SUPPORTED_SCOPES.map((scope) => [scope, described(scope)]));
}

export function openApiSecuritySchemes(publicUrl: string) {
  const issuer = `${publicUrl}/oauth`;
  return {
    oauth2: {
      type: 'oauth2',
      description: 'Authorization code with PKCE (S256, required) for member data: add `purpose` (one of '
        + `${PURPOSES.map((p) => `\`${p}\``).join(', ')}) to the authorization request; the member consents field by field. `
        + 'Client credentials for the partner endpoints (your own server, never member data). Discovery: '
        + `${issuer}/.well-known/openid-configuration. README, "OAuth for partners".`,
      flows: {
        authorizationCode: { authorizationUrl: `${issuer}${OAUTH_ROUTES.authorization}`, tokenUrl: `${issuer}${OAUTH_ROUTES.token}`, refreshUrl: `${issuer}${OAUTH_ROUTES.token}`, scopes: scopes() },
        clientCredentials: { tokenUrl: `${issuer}${OAUTH_ROUTES.token}`, scopes: {} },
      },
    },
    bearer: { type: 'http', scheme: 'bearer', description: 'Staff session tokens and API keys (admin API).' },
  };
}

export const OPENAPI_TAGS = [
  { name: 'Graph API', description: 'Member data, under a member\'s OAuth token (authorization code with PKCE).' },
  { name: 'partner', description: 'A partner\'s own agreement, filings and members\' deletion requests, under a client-credentials token.' },
  { name: 'privacy center', description: 'The member\'s own settings, apps and history, under the privacy center\'s session cookie.' },
  { name: 'Audit log (public)', description: 'Signed tree heads, proofs and checkpoints: anyone may check the log.' },
  { name: 'admin: staff', description: 'Admin API (staff): accounts and roles.' },
  { name: 'admin: staff credentials', description: 'Admin API (staff): sessions, API keys, two-factor.' },
  { name: 'admin: partners', description: 'Admin API (staff): partners.' },
  { name: 'admin: apps', description: 'Admin API (staff): apps.' },
  { name: 'admin: agreements', description: 'Admin API (staff): the agreement lifecycle.' },
  { name: 'admin: notices', description: 'Admin API (staff): notices to partners and their deliveries.' },
  { name: 'admin: reports', description: 'Admin API (staff): reports.' },
  { name: 'admin: audit', description: 'Admin API (staff): audit search and checkpoints.' },
  { name: 'admin: privacy', description: 'Admin API (staff): members\' deletion requests left unconfirmed.' },
];
