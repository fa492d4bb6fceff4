/**
 * Member sets with deltas (migration 0036): a fold adds a small bitmap beside a set's big one
 * instead of rewriting it, every read ORs them in, and the deltas are merged into the bitmap once
 * they weigh a quarter of it or number sixteen.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Db } from '../../src/store/database.js';
import { addDeltas, addToSet, emptySet, MemberNumbers, readSets, type MemberSet } from '../../src/store/member-sets.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const setOf = (numbers: Iterable<number>) => {
  const set = emptySet();
  set.addMany([...numbers]);
  return set;
};

/** One set's addition, as a batch adds to each of its sets. */
const addDelta = (trx: Db, kind: 'exposure', period: string, key: string, members: MemberSet) => addDeltas(trx, [{ kind, period, key, members }]);

/** The numbers of the ids in their order, as the appender learns them. */
async function numbersOf(numbers: MemberNumbers, db: Db, ids: readonly string[]): Promise<number[]> {
  await numbers.learn(db, ids);
  return ids.map((id) => numbers.number(id));
}

async function stored(db: Db) {
  const { rows: [base] } = await sql<{ bytes: number | string }>`select length(members) as bytes from member_sets where kind = 'exposure'`.execute(db);
  const { rows: [deltas] } = await sql<{ n: number | string }>`select count(*) as n from member_set_deltas`.execute(db);
  const [set] = await readSets(db, 'exposure', '2026-06', '2026-06');
  return { baseBytes: Number(base!.bytes), deltas: Number(deltas!.n), members: set!.members.size, has: (n: number) => set!.members.has(n) };
}

for (const dialect of DIALECTS) {
  describe(`member sets on ${dialect}`, () => {
    test('a small addition is a delta beside the bitmap, read with it; sixteen are merged into it', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await db.transaction().execute((trx) => addToSet(trx, 'exposure', '2026-06', 'agr * f', setOf(Array.from({ length: 100_000 }, (_, i) => i * 3))));
      const before = await stored(db);
      await db.transaction().execute((trx) => addDelta(trx, 'exposure', '2026-06', 'agr * f', setOf([1, 300_001])));
      const after = await stored(db);
      assert.deepEqual([after.baseBytes, after.deltas, after.members], [before.baseBytes, 1, 100_002], 'the bitmap untouched, the delta beside it');
      assert.deepEqual([after.has(1), after.has(300_001), after.has(299_997)], [true, true, true]);
      for (let i = 2; i <= 15; i++) await db.transaction().execute((trx) => addDelta(trx, 'exposure', '2026-06', 'agr * f', setOf([300_000 + i * 3 + 1]))); // 300_001 again at i = 0 only
      assert.equal((await stored(db)).deltas, 15);
      await db.transaction().execute((trx) => addDelta(trx, 'exposure', '2026-06', 'agr * f', setOf([1, 7])));
      const merged = await stored(db);
      assert.deepEqual([merged.deltas, merged.members], [0, 100_000 + 2 + 14 + 1], 'the sixteenth merges them all into the bitmap (no delta left to read)');
    });

    test('a set with no bitmap yet, or deltas half of it, is written whole', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await db.transaction().execute((trx) => addDelta(trx, 'exposure', '2026-06', 'agr * f', setOf([5, 6])));
      assert.deepEqual([(await stored(db)).deltas, (await stored(db)).members], [0, 2]);
      await db.transaction().execute((trx) => addDelta(trx, 'exposure', '2026-06', 'agr * f', setOf(Array.from({ length: 1000 }, (_, i) => 1_000_000 + i * 70))));
      assert.deepEqual([(await stored(db)).deltas, (await stored(db)).members], [0, 1002], 'as large as the bitmap: merged at once');
    });

    test('the appender\'s member numbers: as stored, members not numbered yet numbered once, at most `limit` held, the oldest forgotten first', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await db.insertInto('member_numbers').values(['a', 'b', 'c', 'd'].map((member_id) => ({ member_id }))).execute();
      const stored = new Map((await db.selectFrom('member_numbers').select(['member_id', 'number']).execute()).map((row) => [row.member_id, Number(row.number)]));
      const numbers = new MemberNumbers(3);
      assert.deepEqual(await numbersOf(numbers, db, ['b', 'c', 'd']), ['b', 'c', 'd'].map((id) => stored.get(id)));
      numbers.keep();
      const batch = ['a', 'd', 'new', 'b', 'new'];
      const numbered = await db.transaction().execute((trx) => numbersOf(numbers, trx, batch));
      numbers.keep();
      const after = new Map((await db.selectFrom('member_numbers').select(['member_id', 'number']).execute()).map((row) => [row.member_id, Number(row.number)]));
      assert.deepEqual(numbered, batch.map((id) => after.get(id)));
      assert.equal(after.get('a'), stored.get('a'));
      assert.equal(after.size, 5, '`new` numbered once');
      // Held past the limit, the batch's own members kept: the next batch still numbers every member as stored.
      assert.deepEqual(await numbersOf(numbers, db, ['c', 'a', 'new']), ['c', 'a', 'new'].map((id) => after.get(id)));
    });
  });
}
