/**
 * The Graph API's rate limit: every answer says where its token stands (x-ratelimit-limit,
 * -remaining, -reset); past the limit 429 `rate_limited` with Retry-After, counted per token, and a
 * new window (by the app's clock) starts over.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRAPH_RATE_LIMIT, RATE_LIMIT_HEADERS } from '../../src/http/graph/request-limit.js';
import { build } from '../helpers/build.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

async function world(t: Parameters<typeof build>[0], max = 3) {
  const built = await build(t, NOW, { graphRateLimit: { max, windowMs: 60_000 } });
  await addMembers(built.store, [{ id: 'ann' }, { id: 'bob' }], NOW);
  const partner = await addPartner(built.store, 'dev', {}, NOW);
  const token = async (memberId: string) =>
    (await grantToken(built.store, { memberId, appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'] }, NOW)).token;
  const read = (bearer: string, url = '/v1/me') => built.app.inject({ url, headers: { authorization: `Bearer ${bearer}` } });
  return { ...built, token, read };
}

test('every answer carries the limit, what remains and when the window resets; past it, 429 with Retry-After', async (t) => {
  const { token, read, setNow } = await world(t);
  const ann = await token('ann');
  const remaining: string[] = [];
  for (let i = 0; i < 3; i++) {
    // The friend list is refused (no `friends` in the grant): it counts all the same.
    const response = await read(ann, i === 1 ? '/v1/me/friends' : '/v1/me');
    assert.equal(response.statusCode, i === 1 ? 403 : 200);
    assert.equal(response.headers[RATE_LIMIT_HEADERS.limit], '3');
    assert.equal(response.headers[RATE_LIMIT_HEADERS.reset], '60');
    remaining.push(String(response.headers[RATE_LIMIT_HEADERS.remaining]));
  }
  assert.deepEqual(remaining, ['2', '1', '0'], 'every Graph API route counts against the same token');

  setNow(NOW + 20_000);
  const refused = await read(ann);
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.json().error.code, 'rate_limited');
  assert.equal(refused.json().error.request_id, refused.headers['x-request-id']);
  assert.equal(refused.headers['retry-after'], '40');
  assert.equal(refused.headers[RATE_LIMIT_HEADERS.remaining], '0');
  assert.equal(refused.headers[RATE_LIMIT_HEADERS.reset], '40');

  setNow(NOW + 60_000);
  const again = await read(ann);
  assert.equal(again.statusCode, 200, 'a new window starts over');
  assert.equal(again.headers[RATE_LIMIT_HEADERS.remaining], '2');
});

test('counted per token: another member\'s token is not refused; a refusal and an error count as requests', async (t) => {
  const { token, read } = await world(t, 1);
  const ann = await token('ann');
  assert.equal((await read(ann, '/v1/me?fields=nonsense')).statusCode, 400);
  assert.equal((await read(ann)).statusCode, 429);
  const bob = await read(await token('bob'));
  assert.equal(bob.statusCode, 200);
  assert.equal(bob.headers[RATE_LIMIT_HEADERS.remaining], '0');
  // Without a token, by address: still the headers, and the 401.
  const anonymous = await read('');
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.headers[RATE_LIMIT_HEADERS.limit], '1');
});

test('the default is GRAPH_RATE_LIMIT, and the OpenAPI document lists 429 on the Graph API', async (t) => {
  const built = await build(t, NOW);
  const response = await built.app.inject({ url: '/v1/me' });
  assert.equal(response.headers[RATE_LIMIT_HEADERS.limit], String(GRAPH_RATE_LIMIT.max));
  const spec = (await built.app.inject({ url: '/docs/json' })).json();
  for (const path of ['/v1/me', '/v1/members/{id}', '/v1/me/friends', '/v1/members/{id}/friends']) {
    assert.ok(spec.paths[path].get.responses['429'], `${path} documents 429`);
  }
});
