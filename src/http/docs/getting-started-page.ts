import { PURPOSES } from '../../domain/purposes.js';
import { NOTICE_TYPES } from '../../domain/notice.js';
import { TOKEN_LIFETIMES, OAUTH_ROUTES } from '../../oauth/provider-configuration.js';
import { DEFAULT_BACKOFF_MS, DEFAULT_TIMEOUT_MS, NOTICE_ID_HEADER, SIGNATURE_HEADER } from '../../notices/webhook-dispatcher.js';
import { html, type Html } from '../../web/html.js';
import { page, PLATFORM_NAME } from '../../web/page-layout.js';
import { GRAPH_RATE_LIMIT, RATE_LIMIT_HEADERS } from '../graph/request-limit.js';

/**
 * The partner engineers' guide at /docs/getting-started: from registration to the first Graph API
 * call, the errors, webhooks and rate limits. Its facts come from the code's constants wherever
 * there is one (endpoints, lifetimes, header names, limits); test/http/getting-started.test.ts
 * checks the rest against what the server answers, the webhook verifier included.
 */

/** The webhook verifier the guide shows; the test runs this very text against signed notices. */
export const WEBHOOK_VERIFIER = `import { createHmac, timingSafeEqual } from 'node:crypto';

// rawBody: the request body exactly as received (a string), before any JSON parsing.
function verifyDatapact(secret, rawBody, header, toleranceSeconds = 300) {
  const parts = Object.fromEntries(String(header).split(',').map((kv) => kv.split('=', 2)));
  const expected = createHmac('sha256', secret).update(\`\${parts.t}.\${rawBody}\`).digest('hex');
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return Math.abs(Date.now() / 1000 - Number(parts.t)) <= toleranceSeconds // refuses replays
    && given.length === 32 && timingSafeEqual(given, Buffer.from(expected, 'hex'));
}`;

function code(text: string): Html {
  // Focusable: a long line scrolls sideways, and a keyboard user must be able to scroll it too.
  return html`<pre tabindex="0"><code>${text}</code></pre>`;
}

function section(id: string, title: string, body: Html): Html {
  return html`<section aria-labelledby="${id}">
<h2 id="${id}">${title}</h2>
${body}
</section>`;
}

const minutes = (ms: number) => (ms >= 3_600_000 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`);

function register(): Html {
  return section('register', '1. Register', html`
<p>The platform's staff register your company and each of your apps (admin API, <code>POST /admin/v1/partners</code> and <code>…/apps</code>) and hand you:</p>
<ul>
<li>a <strong>client id</strong> (your app's id, <code>app_…</code>) and a <strong>client secret</strong> (<code>dpcs_…</code>, shown once);</li>
<li>your <strong>redirect URIs</strong>, registered exactly (https; plain http only to localhost in development);</li>
<li>a <strong>webhook secret</strong> (<code>whsec_…</code>) for the notices sent to your webhook URL (section 6).</li>
</ul>
<p>Your company must give a privacy policy URL (the consent page links to it). No member data flows until an <strong>agreement</strong> covering your app is approved and in effect: it names the purposes and the fields you may ask for. Read it yourself with <code>GET /v1/partner/agreement</code> (section 3).</p>`);
}

function consent(base: string): Html {
  const issuer = `${base}/oauth`;
  return section('consent', '2. Ask the member for consent', html`
<p>OAuth 2.0 and OpenID Connect; the issuer is <code>${issuer}</code> (discovery at <code>${issuer}/.well-known/openid-configuration</code>). Members consent through the <strong>authorization code flow with PKCE</strong>: <code>code_challenge_method=S256</code> is required. Add <code>purpose</code>, one of your agreement's purposes (${PURPOSES.map((p, i) => html`${i > 0 ? ', ' : ''}<code>${p}</code>`)}).</p>
<p>Scopes are fields: <code>name</code>, <code>email</code>, <code>birthday</code>, … (<code>friends</code> for the friend list), and <code>friends.&lt;field&gt;</code> for a field about the member's friends (device partners only); <code>openid</code> adds an ID token; <code>id</code> needs no scope. The member sees who you are, why, where the data is kept and for how long, and ticks each field: nothing is ticked for them. The token response's <code>scope</code> says what they granted.</p>
${code(`# PKCE: keep VERIFIER, send its SHA-256 (base64url) as the challenge.
VERIFIER=$(openssl rand -base64 60 | tr -d '\\n=+/' | cut -c1-64)
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')

# Send the member's browser to:
${issuer}${OAUTH_ROUTES.authorization}?client_id=$CLIENT_ID&response_type=code&redirect_uri=$REDIRECT_URI\\
&scope=openid+name+birthday+friends&purpose=device_experience&state=$STATE&code_challenge=$CHALLENGE&code_challenge_method=S256

# It comes back to  $REDIRECT_URI?code=…&state=$STATE&iss=…  (check state and iss),
# or with  error=…&error_description=…  when the request is refused or the member denies.`)}
<p>Refusals come back to your redirect URI as OAuth errors: <code>invalid_request</code> (no PKCE, <code>purpose</code> missing or not one of the agreement's), <code>invalid_scope</code> (a field outside your agreement), <code>unauthorized_client</code> (your agreement is not in effect; the cause is in <code>error_description</code>), <code>access_denied</code> (the member said no).</p>`);
}

function tokens(base: string): Html {
  const token = `${base}/oauth${OAUTH_ROUTES.token}`;
  return section('tokens', '3. Tokens', html`
<p>Exchange the code within ${TOKEN_LIFETIMES.AuthorizationCode} seconds, once, authenticating with HTTP Basic (<code>client_secret_basic</code>) or in the form (<code>client_secret_post</code>). An access token lasts ${TOKEN_LIFETIMES.AccessToken / 60} minutes; the refresh token rotates at every refresh (the old one is spent). A grant unused for 90 days, or revoked by the member in their privacy center, ends: its tokens are then refused (<code>401 grant_expired</code> when unused, <code>invalid_token</code> when revoked) and you must ask for consent again.</p>
${code(`curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code -d "code=$CODE" \\
  -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER" ${token}
# {"access_token":"…","expires_in":${TOKEN_LIFETIMES.AccessToken},"id_token":"…","refresh_token":"…","scope":"openid name birthday friends","token_type":"Bearer"}

curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token -d "refresh_token=$REFRESH" ${token}
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$REFRESH" ${base}/oauth${OAUTH_ROUTES.revocation}     # ends the grant

# Then the Graph API, with the member's access token:
curl -s -H "Authorization: Bearer $ACCESS" "${base}/v1/me?fields=id,name,birthday,email"
# {"id":"m_…","withheld":{"email":"not_consented"},"name":"…","birthday":"…"}`)}
<p><strong>Client credentials</strong> give your own server a token for the partner endpoints (never member data), while your app has an agreement in force:</p>
${code(`PARTNER=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials ${token} | jq -r .access_token)
curl -s -H "Authorization: Bearer $PARTNER" ${base}/v1/partner/agreement          # your agreement, in effect or why not
curl -s -H "Authorization: Bearer $PARTNER" ${base}/v1/partner/deletion-requests  # members asking you to delete their data
curl -s -X POST -H "Authorization: Bearer $PARTNER" ${base}/v1/partner/deletion-requests/del_…/confirm`)}`);
}

function paging(base: string): Html {
  return section('paging', '4. Paging', html`
<p>Lists come a page at a time: <code>limit</code> is 1 to 100 (default 25), and the answer's <code>paging.after</code> is an opaque cursor for the next page, absent on the last one. Pass it back unchanged with the same query; a cursor from another list or member is <code>400 invalid_cursor</code>, a <code>limit</code> out of range <code>400 invalid_parameter</code>.</p>
${code(`curl -s -H "Authorization: Bearer $ACCESS" "${base}/v1/me/friends?fields=name,birthday&limit=2"
# {"data":[{"id":"m_…","withheld":{},"name":"…","birthday":"…"},…],"paging":{"after":"eyJv…"}}
curl -s -H "Authorization: Bearer $ACCESS" "${base}/v1/me/friends?fields=name,birthday&limit=2&after=eyJv…"`)}
<p>Only friends who turned on sharing through friends are listed; friends of friends never are (<code>403 friends_of_friends_forbidden</code>).</p>`);
}

const PARTNER_ERRORS: ReadonlyArray<readonly [number, string, string]> = [
  [400, 'invalid_parameter', 'a parameter or body its schema refuses (where and why in the message)'],
  [400, 'unknown_field', 'a name outside the field catalog in fields'],
  [400, 'invalid_cursor', 'an after cursor that is not this list\'s'],
  [401, 'invalid_token', 'no token, an unknown one, or one expired or revoked'],
  [401, 'grant_expired', 'the grant went unused for 90 days (a revoked grant\'s tokens are invalid_token)'],
  [403, 'app_disabled', 'your app is disabled'],
  [403, 'agreement_not_in_effect', 'with cause: no_agreement, expired, suspended, access_ended, …'],
  [403, 'purpose_not_allowed', 'the grant\'s purpose is not one of the agreement\'s'],
  [403, 'platform_disabled', 'the member turned apps and devices off'],
  [403, 'not_consented', 'the friend list without friends in the agreement and the grant'],
  [403, 'friends_of_friends_forbidden', 'another member\'s friend list'],
  [404, 'not_found', 'a member you may not see (always the same answer), or an unknown route'],
  [409, 'access_not_ended', 'a deletion attestation while access lasts'],
  [429, 'rate_limited', 'over the rate limit (section 7); wait Retry-After seconds'],
  [503, 'overloaded', 'the server is at capacity; retry after Retry-After seconds'],
];

function errors(base: string): Html {
  return section('errors', '5. Errors', html`
<p>Every error of the API has one shape; <code>request_id</code> is also in the <code>x-request-id</code> header (quote it when you ask the platform about a request):</p>
${code(`curl -s ${base}/v1/me
# {"error":{"code":"invalid_token","message":"…","request_id":"…"}}
# agreement_not_in_effect adds "cause": {"error":{"code":"agreement_not_in_effect","message":"…","request_id":"…","cause":"expired"}}`)}
<table>
<caption>The codes the Graph API and the partner endpoints answer with (every code: the <a href="/docs">OpenAPI document</a>)</caption>
<thead><tr><th scope="col">status</th><th scope="col">code</th><th scope="col">when</th></tr></thead>
<tbody>
${PARTNER_ERRORS.map(([status, errorCode, when]) => html`<tr><td>${status}</td><td><code>${errorCode}</code></td><td>${when}</td></tr>\n`)}</tbody>
</table>
<p>The OAuth endpoints answer as OAuth does: <code>{"error":"invalid_grant","error_description":"…"}</code>.</p>`);
}

function webhooks(): Html {
  return section('webhooks', '6. Webhooks', html`
<p>The platform posts notices to your webhook URL: changes to your agreement (<code>agreement.activated</code>, <code>agreement.suspended</code>, <code>wind_down.phase_upcoming</code>, …) and members' deletion requests (<code>member.deletion_requested</code>: delete the member's data, then confirm). Every type: ${NOTICE_TYPES.map((type, i) => html`${i > 0 ? ', ' : ''}<code>${type}</code>`)}; accept (with a 2xx) and ignore a type you do not know.</p>
${code(`POST <your webhook URL>
content-type: application/json
${NOTICE_ID_HEADER}: ntc_…                      (delivery is at least once: ignore an id you already have)
${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>   (HMAC-SHA256, keyed with your whsec_ secret, of "<t>.<raw body>")

{"id":"ntc_…","type":"member.deletion_requested","created_at":"…","partner_id":"p_…","agreement_id":null,
 "data":{"id":"del_…","member_id":"m_…","requested_at":"…","confirm_by":"…","confirmed_at":null}}`)}
<p>Verify the signature over the raw bytes before parsing them (Node.js):</p>
${code(WEBHOOK_VERIFIER)}
<p>Answer with a 2xx within ${DEFAULT_TIMEOUT_MS / 1000} seconds. Anything else (another status, a redirect, a timeout) is retried after ${DEFAULT_BACKOFF_MS.map(minutes).join(', ')}; after the sixth failed attempt the notice is abandoned.</p>`);
}

function rateLimits(base: string): Html {
  return section('rate-limits', '7. Rate limits', html`
<p>Each access token may make ${GRAPH_RATE_LIMIT.max.toLocaleString('en')} Graph API requests every ${GRAPH_RATE_LIMIT.windowMs / 1000} seconds (a window that starts at its first request). Every Graph API answer says where it stands:</p>
${code(`curl -s -D - -o /dev/null -H "Authorization: Bearer $ACCESS" ${base}/v1/me
# ${RATE_LIMIT_HEADERS.limit}: ${GRAPH_RATE_LIMIT.max}          requests allowed in the window
# ${RATE_LIMIT_HEADERS.remaining}: 1187      left in it
# ${RATE_LIMIT_HEADERS.reset}: 42            seconds until it starts over`)}
<p>Past the limit: <code>429 rate_limited</code> with <code>Retry-After</code> (seconds). Spread your requests, and page with the largest <code>limit</code> you need rather than many small pages.</p>`);
}

export function gettingStartedPage(publicUrl: string): string {
  return page('Getting started for partner engineers', html`
<h1>Getting started for partner engineers</h1>
<p>How your app reads member data through ${PLATFORM_NAME}: every field under a member's consent and your agreement, every release in an audit log the member can read. The reference is the <a href="/docs">OpenAPI document</a> (<a href="/docs/json">JSON</a>).</p>
<nav aria-label="Sections"><ol>
<li><a href="#register">Register</a></li><li><a href="#consent">Ask the member for consent</a></li><li><a href="#tokens">Tokens</a></li>
<li><a href="#paging">Paging</a></li><li><a href="#errors">Errors</a></li><li><a href="#webhooks">Webhooks</a></li><li><a href="#rate-limits">Rate limits</a></li>
</ol></nav>
${register()}
${consent(publicUrl)}
${tokens(publicUrl)}
${paging(publicUrl)}
${errors(publicUrl)}
${webhooks()}
${rateLimits(publicUrl)}
`, { wide: true, header: { site: `${PLATFORM_NAME} for partners` } });
}
