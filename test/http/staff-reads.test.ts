/**
 * Reads never stall the gateway (issue 11): on a SQLite file, the inventory and the staff's audit
 * queries read on a worker thread (src/store/worker-sqlite-dialect.ts), so that while one of them
 * reads, /health and the Graph API still answer.
 *
 * Deterministic: a ReadGate blocks the worker thread inside the staff query (as a long SQLite query
 * would block it) until the test opens it. Were the query run on the main connection, it would never
 * reach the gate and would be answered at once: the test fails, it does not wait for a timer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ReadGate } from '../../src/store/worker-sqlite-dialect.js';
import { ADMIN_NOW, adminWorld } from '../helpers/admin.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const STAFF_READS = [
  ['the inventory', '/admin/v1/reports/inventory'],
  ['an audit query', '/admin/v1/audit/entries?partner_id=p_reads'],
  ['the daily counts', '/admin/v1/audit/daily-counts?partner_id=p_reads'],
] as const;

async function readsWorld(t: Parameters<typeof adminWorld>[0]) {
  const gate = new ReadGate();
  const world = await adminWorld(t, ADMIN_NOW, { readGate: gate });
  await addMembers(world.store, [{ id: 'm_reader' }], ADMIN_NOW);
  const { appId, agreementId } = await addPartner(world.store, 'reads', {}, ADMIN_NOW);
  const { token } = await grantToken(world.store, { memberId: 'm_reader', appId, agreementId, memberFields: ['id', 'name'] }, ADMIN_NOW);
  const graph = () => world.app.inject({ url: '/v1/me?fields=id,name', headers: { authorization: `Bearer ${token}` } });
  const staffRead = (url: string) => world.call(world.staff.viewer.token, 'GET', url);
  return { ...world, gate, graph, staffRead };
}

/** Resolves once the staff request's query waits at the gate; fails if the request was answered without reaching it. */
async function blockedInWorker(gate: ReadGate, queriesSoFar: number, request: Promise<LightMyRequestResponse>): Promise<void> {
  await Promise.race([
    gate.waiting(queriesSoFar + 1),
    request.then((response) => {
      throw new Error(`answered (${response.statusCode}) without reading on the worker thread: it ran on the request thread`);
    }),
  ]);
}

test('while a staff report or audit query is reading, /health and the Graph API are answered', async (t) => {
  const { gate, graph, staffRead, app } = await readsWorld(t);
  let held = 0;
  for (const [name, url] of STAFF_READS) {
    gate.hold();
    let answered = false;
    const report = staffRead(url).finally(() => { answered = true; });
    await blockedInWorker(gate, held++, report);

    const health = await app.inject('/health');
    assert.equal(health.statusCode, 200, `${name}: /health`);
    const me = await graph();
    assert.equal(me.statusCode, 200, `${name}: the Graph API, ${me.body}`);
    assert.deepEqual(me.json(), { id: 'm_reader', name: 'Name m_reader', withheld: {} });
    assert.equal(answered, false, `${name} is still reading`);

    gate.open();
    const response = await report;
    assert.equal(response.statusCode, 200, `${name}: ${response.body}`);
  }
});

test('the staff reads answer what the log holds: the Graph API request is in the audit query and the counts', async (t) => {
  const { graph, staffRead } = await readsWorld(t);
  const me = await graph();
  assert.equal(me.statusCode, 200);
  const entries = (await staffRead('/admin/v1/audit/entries?partner_id=p_reads')).json().data;
  assert.deepEqual(entries.map((entry: { request_id: string; outcome: string }) => [entry.request_id, entry.outcome]), [[me.headers['x-request-id'], 'released'], [me.headers['x-request-id'], 'served']]);
  const counts = (await staffRead('/admin/v1/audit/daily-counts?partner_id=p_reads')).json();
  assert.equal(counts.totals.released, 1);
  const inventory = (await staffRead('/admin/v1/reports/inventory')).json().data;
  assert.equal(inventory.find((row: { partner_id: string }) => row.partner_id === 'p_reads').last_access_at, new Date(ADMIN_NOW).toISOString());
});

test('a read worker that dies mid-query: that staff request fails with a 500, the next one is answered', async (t) => {
  const { gate, staffRead, graph } = await readsWorld(t);
  gate.hold();
  const doomed = staffRead('/admin/v1/reports/inventory');
  await blockedInWorker(gate, 0, doomed);
  gate.stop();
  const failed = await doomed;
  assert.equal(failed.statusCode, 500, failed.body);
  assert.equal(failed.json().error.code, 'internal_error');
  gate.open();
  assert.equal((await staffRead('/admin/v1/reports/inventory')).statusCode, 200);
  assert.equal((await graph()).statusCode, 200);
});
