/**
 * Issue 11, point 5 (PRODUCT.md §7): the audit log's append queue is bounded. A request that would
 * overfill it gets 503 `overloaded` with `Retry-After` at once, and releases nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../helpers/build.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

test('a full audit queue answers 503 overloaded with Retry-After, and nothing leaves', async (t) => {
  // One entry may wait; the batch holding it is committed only when the app closes (a commit held open).
  const { app, store } = await build(t, NOW, { audit: { maxQueuedEntries: 1, maxDelayMs: 3_600_000, maxBatchEntries: 1000 } });
  await addMembers(store, [{ id: 'me' }], NOW);
  const partner = await addPartner(store, 'dev', {}, NOW);
  const { token } = await grantToken(store, { memberId: 'me', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'] }, NOW);
  const headers = { authorization: `Bearer ${token}` };
  // Two requests at once: whichever reaches the queue first waits there, the other is refused.
  const requests = [app.inject({ url: '/v1/me', headers }), app.inject({ url: '/v1/me', headers })];
  const second = await Promise.race(requests); // the refused one: the other waits for its batch
  assert.equal(second.statusCode, 503, second.body);
  assert.equal(second.headers['retry-after'], '1');
  const { error } = second.json();
  assert.equal(error.code, 'overloaded');
  assert.equal(error.request_id, second.headers['x-request-id']);
  assert.equal(second.json().name, undefined, 'nothing was released');
  await app.close(); // commits the waiting batch
  assert.deepEqual((await Promise.all(requests)).map((r) => r.statusCode).sort(), [200, 503]);
});
