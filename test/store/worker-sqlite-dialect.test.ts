/**
 * The SQLite read worker (src/store/worker-sqlite-dialect.ts): the staff's long reads run on a
 * thread of their own over a read-only connection to the same file. It must answer what the main
 * connection answers, see what the main connection committed, and fail cleanly, never hang.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Kysely, sql } from 'kysely';
import { ReadGate, ReadWorkerStopped, WorkerSqliteDialect } from '../../src/store/worker-sqlite-dialect.js';
import { sqliteFileDatabase } from '../helpers/dialects.js';

async function fileDatabase(t: TestContext, gate?: ReadGate) {
  const database = await sqliteFileDatabase(gate);
  t.after(() => database.drop());
  await sql`create table sample (id integer primary key, label text, score real, payload blob, note text)`.execute(database.db);
  return database;
}

const SAMPLE = [
  { id: 1, label: 'plain', score: 1.5, payload: Buffer.from([0, 1, 2, 255]), note: null },
  { id: 2, label: 'ünïcode ✓', score: -0.25, payload: null, note: 'a note' },
  { id: 3, label: '', score: null, payload: Buffer.alloc(0), note: null },
  { id: 9_007_199_254_740_991, label: 'largest safe integer', score: 0, payload: Buffer.from('bytes'), note: '' },
];

test('the worker answers the same rows as the main connection: integers, reals, text, blobs, nulls', async (t) => {
  const { db, readDb } = await fileDatabase(t);
  await db.insertInto('sample' as never).values(SAMPLE as never).execute();
  const queries = [
    sql`select * from sample order by id`,
    sql`select count(*) as n, sum(score) as total, max(length(payload)) as longest from sample`,
    sql`select id, payload from sample where payload = ${Buffer.from([0, 1, 2, 255])}`,
    sql`select id from sample where id = ${9_007_199_254_740_991n}`,
    sql`select id, label from sample where note is null and label like ${'%a%'} order by id desc`,
  ];
  for (const query of queries) {
    const expected = await query.execute(db);
    const actual = await query.execute(readDb);
    assert.deepEqual(actual.rows, expected.rows);
  }
  const [first] = (await sql<{ payload: Buffer }>`select payload from sample where id = 1`.execute(readDb)).rows;
  assert.ok(Buffer.isBuffer(first!.payload), 'a blob comes back as a Buffer, as from the main connection');
});

test('a write committed on the main connection is seen by the next read of the worker', async (t) => {
  const { db, readDb } = await fileDatabase(t);
  const count = async () => (await sql<{ n: number }>`select count(*) as n from sample`.execute(readDb)).rows[0]!.n;
  assert.equal(await count(), 0);
  await db.insertInto('sample' as never).values(SAMPLE[0] as never).execute();
  assert.equal(await count(), 1);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('sample' as never).values(SAMPLE.slice(1) as never).execute();
  });
  assert.equal(await count(), SAMPLE.length);
});

test('the worker only reads, and its errors come back with their message and code', async (t) => {
  const { readDb } = await fileDatabase(t);
  await assert.rejects(sql`insert into sample (id) values (1)`.execute(readDb), { code: 'SQLITE_READONLY' });
  await assert.rejects(sql`select * from no_such_table`.execute(readDb), { code: 'SQLITE_ERROR', message: /no such table: no_such_table/ });
  // A value SQLite cannot bind is refused as the main connection refuses it.
  await assert.rejects(sql`select ${new Date(0)} as at`.execute(readDb), /can only bind/);
  assert.deepEqual((await sql`select 1 as one`.execute(readDb)).rows, [{ one: 1 }]);
});

test('a worker that dies in the middle of a query fails that query cleanly, and the next query runs on a new one', async (t) => {
  const gate = new ReadGate();
  const { db, readDb } = await fileDatabase(t, gate);
  await db.insertInto('sample' as never).values(SAMPLE as never).execute();
  gate.hold();
  const doomed = sql`select * from sample`.execute(readDb);
  await gate.waiting(1);
  gate.stop();
  await assert.rejects(doomed, (error: Error) => {
    assert.ok(error instanceof ReadWorkerStopped);
    assert.match(error.message, /read worker of .*datapact\.db stopped before answering \(exit code 1\)/);
    return true;
  });
  gate.open();
  assert.equal((await sql<{ n: number }>`select count(*) as n from sample`.execute(readDb)).rows[0]!.n, SAMPLE.length);
});

test('a worker that cannot open its database fails its queries, it does not hang them', async (t) => {
  const missing = new Kysely({ dialect: new WorkerSqliteDialect({ path: '/nonexistent/folder/datapact.db' }) });
  t.after(() => missing.destroy());
  await assert.rejects(sql`select 1`.execute(missing), (error: Error) => {
    assert.ok(error instanceof ReadWorkerStopped);
    assert.match(error.cause instanceof Error ? error.cause.message : '', /directory does not exist/);
    return true;
  });
});

test('closing answers the queries already asked, then refuses new ones', async (t) => {
  const gate = new ReadGate();
  const { db, readDb } = await fileDatabase(t, gate);
  await db.insertInto('sample' as never).values(SAMPLE[0] as never).execute();
  gate.hold();
  const asked = sql<{ id: number }>`select id from sample`.execute(readDb);
  await gate.waiting(1);
  const closed = readDb.destroy();
  gate.open();
  assert.deepEqual((await asked).rows, [{ id: 1 }]);
  await closed;
  await assert.rejects(sql`select 1`.execute(readDb));
});
