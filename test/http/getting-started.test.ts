/**
 * The partner engineers' guide at /docs/getting-started says what the server does: its endpoints,
 * error shape and codes, paging bounds, rate-limit headers and webhook verifier are checked here
 * against the server's own answers.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { before, after, test } from 'node:test';
import { ERROR_CODES } from '../../src/http/error-codes.js';
import { WEBHOOK_VERIFIER } from '../../src/http/docs/getting-started-page.js';
import { GETTING_STARTED_PATH } from '../../src/http/routes/docs-routes.js';
import { requestDeletion } from '../../src/http/privacy/deletion-requests.js';
import { signatureHeader, webhookBody } from '../../src/notices/webhook-dispatcher.js';
import { build, type Built } from '../helpers/build.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const PUBLIC_URL = 'http://127.0.0.1:8080';

let world: Built;
let guide: string;
let token: string;

before(async () => {
  world = await build(undefined, NOW, { publicUrl: PUBLIC_URL });
  await addMembers(world.store, [{ id: 'ann' }], NOW);
  const dev = await addPartner(world.store, 'dev', {}, NOW);
  ({ token } = await grantToken(world.store, { memberId: 'ann', appId: dev.appId, agreementId: dev.agreementId, memberFields: ['id', 'name', 'friends'] }, NOW));
  const response = await world.app.inject({ url: GETTING_STARTED_PATH });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /text\/html/);
  assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
  guide = response.body;
});

after(async () => {
  await world.app.close();
  await world.store.db.destroy();
});

/** The shape of a JSON value: its keys, recursively, with `null` kept apart from other values. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === null ? null : typeof value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, inner]) => [key, shape(inner)]));
}

/** The text of the guide without markup, entities decoded, as a reader sees it. */
const text = () => guide.replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

test('linked from the OpenAPI document\'s description, which Swagger UI shows first', async () => {
  const spec = (await world.app.inject({ url: '/docs/json' })).json();
  assert.ok(spec.info.description.includes(`(${GETTING_STARTED_PATH})`));
});

test('the OAuth endpoints, PKCE method and grant types are the ones discovery announces', async () => {
  const discovery = (await world.app.inject({ url: '/oauth/.well-known/openid-configuration' })).json();
  assert.ok(text().includes(discovery.authorization_endpoint), 'the authorization endpoint');
  assert.ok(text().includes(discovery.token_endpoint), 'the token endpoint');
  assert.ok(text().includes(discovery.revocation_endpoint), 'the revocation endpoint');
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok(text().includes('code_challenge_method=S256'));
  for (const grant of ['authorization_code', 'refresh_token', 'client_credentials']) {
    assert.ok(discovery.grant_types_supported.includes(grant), grant);
    assert.ok(text().includes(`grant_type=${grant}`), `the guide shows ${grant}`);
  }
});

test('the error shape is the server\'s, and every code in the guide\'s table has the status it names', async () => {
  const response = await world.app.inject({ url: '/v1/me' });
  assert.equal(response.statusCode, 401);
  const { error } = response.json();
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'request_id']);
  assert.equal(error.code, 'invalid_token');
  assert.equal(error.request_id, response.headers['x-request-id']);
  assert.ok(text().includes('{"error":{"code":"invalid_token","message":"…","request_id":"…"}}'));
  const rows = [...guide.matchAll(/<tr><td>(\d{3})<\/td><td><code>([a-z_]+)<\/code><\/td>/g)];
  assert.ok(rows.length >= 10);
  for (const [, status, code] of rows) {
    const documented = ERROR_CODES.find((entry) => entry.code === code);
    assert.ok(documented?.statuses.includes(Number(status)), `${code} is ${status}`);
  }
});

test('paging: limit 1 to 100 and a foreign cursor are refused with the codes the guide names', async () => {
  const read = (query: string) => world.app.inject({ url: `/v1/me/friends?${query}`, headers: { authorization: `Bearer ${token}` } });
  assert.ok(text().includes('limit is 1 to 100 (default 25)'));
  assert.equal((await read('limit=100')).statusCode, 200);
  assert.deepEqual((await read('limit=100')).json().paging, {}, 'no paging.after on the last page');
  assert.equal((await read('limit=101')).json().error.code, 'invalid_parameter');
  assert.equal((await read('limit=0')).json().error.code, 'invalid_parameter');
  assert.equal((await read('after=eyJvIjoieCJ9')).json().error.code, 'invalid_cursor');
});

test('the rate-limit headers the guide names are the ones a Graph API answer carries', async () => {
  const documented = new Set([...text().matchAll(/x-ratelimit-[a-z]+/g)].map((match) => match[0]));
  const response = await world.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
  const sent = new Set(Object.keys(response.headers).filter((name) => name.startsWith('x-ratelimit-')));
  assert.deepEqual(documented, sent);
  assert.ok(text().includes(`x-ratelimit-limit: ${response.headers['x-ratelimit-limit']}`));
});

test('the webhook verifier the guide shows accepts what the dispatcher signs, and nothing else', () => {
  assert.ok(text().includes(WEBHOOK_VERIFIER), 'the guide shows the verifier as tested here');
  const body = WEBHOOK_VERIFIER.replace(/^import .*$/m, '');
  const verify = new Function('createHmac', 'timingSafeEqual', `${body}\nreturn verifyDatapact;`)(createHmac, timingSafeEqual) as
    (secret: string, rawBody: string, header: string) => boolean;
  const raw = '{"id":"ntc_1","type":"member.deletion_requested"}';
  const header = signatureHeader('whsec_test', raw, Date.now());
  assert.equal(verify('whsec_test', raw, header), true);
  assert.equal(verify('whsec_test', raw.replace('ntc_1', 'ntc_2'), header), false, 'a changed body');
  assert.equal(verify('whsec_other', raw, header), false, 'another secret');
  assert.equal(verify('whsec_test', raw, signatureHeader('whsec_test', raw, Date.now() - 600_000)), false, 'a replay 10 minutes old');
});

test('the webhook body the guide shows has the shape of a member.deletion_requested notice as sent', async () => {
  const example = /(\{"id":"ntc_…","type":"member\.deletion_requested"[\s\S]*?\}\})/.exec(text())?.[1];
  assert.ok(example, 'the guide shows a deletion notice');
  await requestDeletion(world.store, 'ann', 'p_dev', NOW);
  const [notice] = await world.store.notices.list({ partnerId: 'p_dev', limit: 1 });
  assert.equal(notice?.type, 'member.deletion_requested');
  assert.deepEqual(shape(JSON.parse(example)), shape(JSON.parse(JSON.stringify(webhookBody(notice!)))));
});
