/**
 * `datapact seed` at scale (issue 6): the bulk loaders write exactly the world the generator
 * describes, on SQLite and on PostgreSQL alike; the load's shortcuts (foreign keys off, keys built
 * afterwards, worker threads) leave nothing behind; migration 0012 keeps every friendship.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Migrator, sql } from 'kysely';
import { seedDatabase } from '../../src/seed/seed-database.js';
import { isoInstant } from '../../src/seed/iso-instant.js';
import { seedMembers } from '../../src/seed/world-generator.js';
import { migrateToLatest, openDatabase, openSqlite, type Db } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createStore } from '../../src/store/store.js';
import { addMembers } from '../helpers/fixtures.js';
import { POSTGRES_SERVER_URL, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-11-15T12:00:00Z');
const SHAPE = { members: 500, avgFriends: 16, seed: 11, now: NOW } as const;

/** Every row of the four seeded tables, sorted here (not by the database's collation), numbers as numbers. */
async function snapshot(db: Db) {
  const sorted = <T extends Record<string, unknown>>(rows: T[]) =>
    rows.map((row) => JSON.stringify(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))).sort();
  return {
    members: sorted(await db.selectFrom('members').selectAll().execute()),
    profiles: sorted(await db.selectFrom('profile_values').selectAll().execute()),
    audiences: sorted(await db.selectFrom('field_audiences').selectAll().execute()),
    friendships: sorted(await db.selectFrom('friendships').selectAll().execute()),
  };
}

/** The world as the Kysely loader writes it into a fresh in-memory database (the reference). */
async function referenceWorld(workers?: number) {
  const db = openSqlite(':memory:');
  try {
    await migrateToLatest(db);
    await seedMembers(createStore(db), { ...SHAPE, ...(workers === undefined ? {} : { workers }) });
    return await snapshot(db);
  } finally {
    await db.destroy();
  }
}

function tempFile(t: TestContext, name: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-seed-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  return join(folder, name);
}

const reference = referenceWorld();

test('isoInstant writes exactly what toISOString writes', () => {
  const instants = fc.integer({ min: Date.parse('1971-01-01T00:00:00Z'), max: Date.parse('2099-12-31T23:59:59.999Z') });
  fc.assert(fc.property(instants, (instant) => isoInstant(instant) === new Date(instant).toISOString()), { numRuns: 20_000 });
  for (const edge of [0, 86_399_999, 86_400_000, Date.parse('2024-02-29T23:59:59.999Z')]) assert.equal(isoInstant(edge), new Date(edge).toISOString());
});

test('members drawn on worker threads are the members drawn on this one', async () => {
  assert.deepEqual(await referenceWorld(2), await reference);
});

describe('SQLite: the bulk loader', () => {
  test('writes the same world as the Kysely loader, and leaves WAL, foreign keys and the clustered table as they were', async (t) => {
    const file = tempFile(t, 'world.db');
    const report = await seedDatabase(file, { ...SHAPE, partners: true });
    assert.equal(report.members, SHAPE.members);
    assert.ok(report.bytes > 0);
    const db = openSqlite(file);
    t.after(() => db.destroy());
    assert.deepEqual(await snapshot(db), await reference);
    assert.deepEqual((await sql`pragma foreign_key_check`.execute(db)).rows, [], 'every row names members that exist');
    assert.deepEqual((await sql`pragma journal_mode`.execute(db)).rows, [{ journal_mode: 'wal' }]);
    const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = 'friendships'`.execute(db);
    assert.match(rows[0]!.sql, /without rowid$/);
    assert.equal(await createStore(db).partners.app('app_blackberry').then((app) => app?.id), 'app_blackberry');
  });

  test('refuses a database that already has members', async (t) => {
    const file = tempFile(t, 'twice.db');
    await seedDatabase(file, { ...SHAPE, members: 20, partners: false });
    await assert.rejects(seedDatabase(file, { ...SHAPE, members: 20, partners: false }), /already holds 20 members/);
  });
});

describe('PostgreSQL: COPY', () => {
  test('the same seed writes the same members, profile values, audiences and friendships as on SQLite, and the schema is the migrations\' again', {
    skip: POSTGRES_SERVER_URL === undefined && 'no PostgreSQL server (DATAPACT_TEST_DATABASE_URL is unset)',
  }, async (t) => {
    const fresh = await testDatabase(t, 'postgres');
    const before = await postgresSchema(fresh.db);
    await seedDatabase(fresh.url!, { ...SHAPE, partners: true });
    const db = openDatabase(fresh.url!);
    t.after(() => db.destroy());
    assert.deepEqual(await snapshot(db), await reference);
    assert.deepEqual(await postgresSchema(db), before, 'keys, foreign keys and indexes are back, as the migrations made them');
  });
});

/** Constraints and indexes of the tables the COPY loader takes keys off. */
async function postgresSchema(db: Db) {
  const { rows } = await sql<{ kind: string; name: string; definition: string }>`
    select 'constraint' as kind, conname as name, pg_get_constraintdef(oid) || ' valid=' || convalidated as definition
      from pg_constraint where conrelid in ('members'::regclass, 'profile_values'::regclass, 'field_audiences'::regclass, 'friendships'::regclass)
    union all
    select 'index', indexname, indexdef from pg_indexes where tablename in ('members', 'profile_values', 'field_audiences', 'friendships')
    order by 1, 2`.execute(db);
  return rows;
}

test('migration 0012 carries every friendship over to the clustered table, and back down', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.destroy());
  const migrator = new Migrator({ db, provider: migrationProvider });
  await migrator.migrateTo('0011-lean-audit-indexes');
  const store = createStore(db);
  await addMembers(store, ['m_a', 'm_b', 'm_c'].map((id) => ({ id })), NOW);
  // The rows as that schema had them (today's repository also keeps what later migrations add).
  const since = isoInstant(NOW);
  await db.insertInto('friendships').values([['m_a', 'm_b'], ['m_b', 'm_a'], ['m_c', 'm_a'], ['m_a', 'm_c']]
    .map(([member_id, friend_id]) => ({ member_id: member_id!, friend_id: friend_id!, since }))).execute();
  const rows = () => db.selectFrom('friendships').selectAll().orderBy('member_id').orderBy('friend_id').execute();
  const tableSql = async () => (await sql<{ sql: string }>`select sql from sqlite_master where name = 'friendships'`.execute(db)).rows[0]!.sql;
  const before = await rows();
  assert.equal(before.length, 4);

  await migrator.migrateTo('0012-clustered-friendships');
  assert.deepEqual(await rows(), before);
  assert.match(await tableSql(), /without rowid$/);
  assert.deepEqual(await store.friendships.page('m_a', null, 10), ['m_b', 'm_c']);

  await migrator.migrateDown();
  assert.deepEqual(await rows(), before);
  assert.doesNotMatch(await tableSql(), /without rowid/);
});
