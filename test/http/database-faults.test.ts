/**
 * Issue 13, point 4: faults of the database under a running server. A full disk, a read-only
 * database and a lock held by another connection each answer 503 `database_unavailable` with
 * Retry-After, are logged by their SQLite code (not "cannot rollback - no transaction is active"),
 * make `/health/ready` say not ready while `/health` stays live, and pass without a restart; the
 * audit log verifies after, with an entry for every 200 and nothing of the refused requests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { verifyStoredLog } from '../../src/audit/stored-log-verifier.js';
import { buildApp } from '../../src/http/app.js';
import { migrateToLatest, openReadDatabase, openSqlite } from '../../src/store/database.js';
import { createStore } from '../../src/store/store.js';
import { build } from '../helpers/build.js';
import { adminPool, POSTGRES_SERVER_URL } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/** A server on a SQLite file, its log lines kept, a member's token, and a second connection to the file. */
async function faultWorld(t: TestContext) {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-faults-'));
  const path = join(folder, 'datapact.db');
  const db = openSqlite(path);
  await migrateToLatest(db);
  const store = createStore(db, openReadDatabase(path, db));
  const logLines: Record<string, unknown>[] = [];
  const stream = { write: (line: string) => { logLines.push(JSON.parse(line)); } };
  const app = await buildApp({ store, clock: () => NOW, dataDir: folder, logger: { level: 'warn', stream } });
  const other = new BetterSqlite3(path);
  t.after(async () => {
    other.close();
    await app.close();
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  });
  await addMembers(store, [{ id: 'me' }], NOW);
  const partner = await addPartner(store, 'dev', {}, NOW);
  const { token } = await grantToken(store, { memberId: 'me', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'] }, NOW);
  const me = () => app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
  const served: number[] = [];
  /** Each 200 of /v1/me must have left its entries in the log: counted here, checked by `verified`. */
  const ask = async () => {
    const before = await store.audit.treeSize();
    const response = await me();
    if (response.statusCode === 200) served.push((await store.audit.treeSize()) - before);
    return response;
  };
  return {
    app, store, other, logLines, ask,
    ready: () => app.inject({ url: '/health/ready' }),
    live: () => app.inject({ url: '/health' }),
    /** The log verifies (after a last head), and every 200 added the same entries, none missing. */
    async verified() {
      await app.close();
      const result = await verifyStoredLog(store.audit, { key: loadOrCreateAuditSigningKey(folder), blinding: loadOrCreateAuditBlinding(folder) });
      assert.ok(result.ok, result.ok ? '' : result.problem.message);
      assert.ok(served.length >= 2 && served.every((added) => added === served[0] && added > 0), `entries added per 200: ${served.join(', ')}`);
    },
  };
}

type World = Awaited<ReturnType<typeof faultWorld>>;

function assertUnavailable(response: Awaited<ReturnType<World['ask']>>, retryAfter: string): void {
  assert.equal(response.statusCode, 503, response.body);
  assert.equal(response.headers['retry-after'], retryAfter);
  const { error } = response.json();
  assert.equal(error.code, 'database_unavailable');
  assert.equal(error.request_id, response.headers['x-request-id']);
  assert.doesNotMatch(response.body, /SQLITE|disk|readonly|locked/i, 'no internals in the answer');
}

/** The fault was logged by its code and SQLite's message, and the rollback failure never stood in for it. */
function assertLogged(world: World, fault: RegExp, message: RegExp): void {
  const lines = world.logLines.filter((line) => typeof line.fault === 'string' && fault.test(line.fault));
  assert.ok(lines.some((line) => message.test(String(line.msg))), JSON.stringify(world.logLines, null, 1));
  assert.ok(!world.logLines.some((line) => /cannot rollback/.test(JSON.stringify(line))), 'the cause, not the failed rollback');
}

async function assertRecovered(world: World): Promise<void> {
  assert.equal((await world.ask()).statusCode, 200);
  assert.equal((await world.ready()).statusCode, 200);
  await world.verified();
}

test('a full disk: 503 with Retry-After, SQLITE_FULL logged, not ready; writes resume once there is room', async (t) => {
  const world = await faultWorld(t);
  assert.equal((await world.ask()).statusCode, 200);
  assert.equal((await world.ready()).statusCode, 200);
  // The file may not grow past the pages it has: SQLite's own SQLITE_FULL, as on a full disk.
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(world.store.db);
  await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(world.store.db);
  let refused: Awaited<ReturnType<World['ask']>> | undefined;
  for (let i = 0; i < 500 && refused === undefined; i++) {
    const response = await world.ask();
    if (response.statusCode !== 200) refused = response;
  }
  assert.ok(refused, 'the log filled the pages it had');
  assertUnavailable(refused, '5');
  assertUnavailable(await world.ask(), '5');
  assertUnavailable(await world.ready(), '5');
  assert.equal((await world.live()).statusCode, 200, 'live all the same');
  assertLogged(world, /^SQLITE_FULL$/, /database or disk is full/);
  await sql`pragma max_page_count = 1073741823`.execute(world.store.db);
  await assertRecovered(world);
});

test('a read-only database: 503 with Retry-After, SQLITE_READONLY logged; writes resume once it is writable again', async (t) => {
  const world = await faultWorld(t);
  assert.equal((await world.ask()).statusCode, 200);
  await sql`pragma query_only = 1`.execute(world.store.db);
  assertUnavailable(await world.ask(), '5');
  assertUnavailable(await world.ready(), '5');
  assert.equal((await world.live()).statusCode, 200);
  assertLogged(world, /^SQLITE_READONLY/, /readonly database/);
  await sql`pragma query_only = 0`.execute(world.store.db);
  await assertRecovered(world);
});

test('a lock held by another connection: 503 with Retry-After 1, SQLITE_BUSY logged; writes resume once it is let go', async (t) => {
  const world = await faultWorld(t);
  assert.equal((await world.ask()).statusCode, 200);
  await sql`pragma busy_timeout = 20`.execute(world.store.db);
  world.other.exec('begin immediate'); // another process's write transaction, left open
  assertUnavailable(await world.ask(), '1');
  assertUnavailable(await world.ready(), '1');
  assert.equal((await world.live()).statusCode, 200);
  assertLogged(world, /^SQLITE_BUSY/, /database is locked/);
  world.other.exec('rollback');
  await assertRecovered(world);
});

test('PostgreSQL gone read-only (25006) and its connections ended (57P01): 503 with Retry-After, logged; back without a restart', {
  skip: POSTGRES_SERVER_URL === undefined && 'no PostgreSQL server (DATAPACT_TEST_DATABASE_URL)',
}, async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-faults-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const logLines: Record<string, unknown>[] = [];
  const stream = { write: (line: string) => { logLines.push(JSON.parse(line)); } };
  const { app, store, databaseUrl } = await build(t, NOW, { dialect: 'postgres', dataDir: folder, logger: { level: 'warn', stream } });
  const name = new URL(databaseUrl!).pathname.slice(1);
  await addMembers(store, [{ id: 'me' }], NOW);
  const partner = await addPartner(store, 'dev', {}, NOW);
  const { token } = await grantToken(store, { memberId: 'me', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'] }, NOW);
  const me = () => app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
  /** The setting applies to new connections: the pool's are ended, as a failover or a restart ends them. */
  const switchTo = async (setting: string) => {
    await adminPool().query(`alter database "${name}" ${setting}`);
    await adminPool().query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
  };
  assert.equal((await me()).statusCode, 200);
  await switchTo('set default_transaction_read_only = on');
  // Connections the pool holds fail first (57P01, ECONNRESET: 503 as well) until it opens read-only ones.
  const readOnlyLogged = () => logLines.some((line) => line.fault === '25006');
  const during = [];
  for (let i = 0; i < 10 && !readOnlyLogged(); i++) during.push(await me());
  during.push(await me(), await app.inject({ url: '/health/ready' }));
  for (const response of during) {
    assert.equal(response.statusCode, 503, response.body);
    assert.equal(response.json().error.code, 'database_unavailable');
    assert.equal(response.headers['retry-after'], '5');
  }
  assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200);
  assert.ok(logLines.some((line) => line.fault === '25006' && /read-only transaction/.test(String(line.msg))), JSON.stringify(logLines, null, 1));
  await switchTo('reset default_transaction_read_only');
  // A connection the pool still held when it was ended fails once (57P01 or a lost connection: 503 too), then writes resume.
  const after = [await me()];
  while (after.at(-1)!.statusCode !== 200 && after.length < 10) after.push(await me());
  assert.ok(after.every((response) => response.statusCode === 200 || response.statusCode === 503), after.map((r) => r.body).join('\n'));
  assert.equal(after.at(-1)!.statusCode, 200, after.at(-1)!.body);
  assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 200);
  await app.close();
  const result = await verifyStoredLog(store.audit, { key: loadOrCreateAuditSigningKey(folder), blinding: loadOrCreateAuditBlinding(folder) });
  assert.ok(result.ok, result.ok ? '' : result.problem.message);
  assert.equal(logLines.some((line) => /cannot rollback|no transaction is active/.test(JSON.stringify(line))), false);
});
