/**
 * Each member's friends by number (`friend_number_lists`, migration 0040), what a replay reads for
 * today's friendships: equal to the friendships table, read by number through its two joins, after
 * the repository adds friendships and ends them, after a world loader's bulk load (through Kysely;
 * SQLite's own loader), and after the migration on a database that had friendships before it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Migrator, sql } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { prng } from '../../bench/prng.js';
import { seedDatabase } from '../../src/seed/seed-database.js';
import { seedMembers } from '../../src/seed/world-generator.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/store/database.js';
import { loadFriendGraph } from '../../src/store/friend-graph.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';
import { addFriendships, addMembers } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');

/** Each member's friends' numbers as the friendships table says (members without friends left out), as text to compare. */
async function fromFriendships(db: Db): Promise<string[]> {
  const { rows } = await sql<{ member: number; friend: number }>`select mn.number as member, fn.number as friend from friendships f
    join member_numbers mn on mn.member_id = f.member_id join member_numbers fn on fn.member_id = f.friend_id`.execute(db);
  const lists = new Map<number, number[]>();
  for (const { member, friend } of rows) {
    const list = lists.get(Number(member)) ?? [];
    list.push(Number(friend));
    lists.set(Number(member), list);
  }
  return [...lists].sort(([a], [b]) => a - b).map(([member, friends]) => `${member}: ${friends.sort((x, y) => x - y).join(' ')}`);
}

/** The same as friend_number_lists holds it (through loadFriendGraph, which reads it). */
async function fromLists(db: Db): Promise<string[]> {
  const graph = await loadFriendGraph(db);
  const lists: string[] = [];
  for (let n = 0; n <= graph.maxNumber; n++) if (graph.friendsOf(n).length > 0) lists.push(`${n}: ${[...graph.friendsOf(n)].join(' ')}`);
  return lists;
}

function randomPairs(members: readonly string[], count: number, seed: number): Array<[string, string]> {
  const next = prng(seed);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const [a, b] = [members[Math.floor(next() * members.length)]!, members[Math.floor(next() * members.length)]!];
    if (a !== b && !pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) pairs.push([a, b]);
  }
  return pairs;
}

for (const dialect of DIALECTS) {
  describe(`friends by number on ${dialect}`, () => {
    test('the repository keeps them with the friendships it adds and ends', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      // Numbers past 255 and 65,535 would show a byte order or width wrong: more members than that are not needed, high numbers are.
      const members = Array.from({ length: 60 }, (_, i) => `m${(i * 37) % 60}`);
      await addMembers(store, members.map((id) => ({ id })), NOW);
      await sql`update member_numbers set number = number + 70000 where member_id like 'm1%'`.execute(store.db);
      const pairs = randomPairs(members, 150, 3);
      await addFriendships(store, pairs.slice(0, 100), NOW);
      await addFriendships(store, pairs.slice(100), NOW);
      const expected = await fromFriendships(store.db);
      assert.ok(expected.length > 40 && expected.some((line) => /\b7\d{4}\b/.test(line)), 'high numbers among them');
      assert.deepEqual(await fromLists(store.db), expected);
      // Ended in either order of the two members; a member left with no friend has no list.
      const [a, b] = pairs[0]!;
      await store.friendships.unfriend(b, a);
      const lonely = members.find((id) => pairs.filter(([x, y]) => x === id || y === id).length === 1)!;
      const [only] = pairs.filter(([x, y]) => x === lonely || y === lonely);
      await store.friendships.unfriend(only![0], only![1]);
      assert.equal(await store.friendships.areFriends(a, b), false);
      assert.deepEqual(await fromLists(store.db), await fromFriendships(store.db));
      assert.notDeepEqual(await fromFriendships(store.db), expected);
    });

    test('a world loaded in bulk through Kysely gets them', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      await seedMembers(store, { members: 400, avgFriends: 12, seed: 40, now: NOW, workers: 0 });
      const expected = await fromFriendships(store.db);
      assert.ok(expected.length > 300);
      assert.deepEqual(await fromLists(store.db), expected);
    });

    test('migration 0040 makes them for the friendships already there', async (t) => {
      const db = (await testDatabase(t, dialect)).db;
      for (const table of ['friend_number_lists', 'friendships', 'member_numbers', 'members']) await sql`delete from ${sql.table(table)}`.execute(db);
      const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0037-member-numbers-on-members');
      if (error) throw error;
      const members = Array.from({ length: 50 }, (_, i) => `m${(i * 13) % 50}`);
      await db.insertInto('members').values(members.map((id) => ({ id, platform_enabled: 1, share_via_friends: 1, created_at: new Date(NOW).toISOString() }))).execute();
      const rows = randomPairs(members, 120, 9).flatMap(([a, b]) => [{ member_id: a, friend_id: b, since: '2026-01-01T00:00:00.000Z' }, { member_id: b, friend_id: a, since: '2026-01-01T00:00:00.000Z' }]);
      await db.insertInto('friendships').values(rows).execute();
      await migrateToLatest(db);
      const expected = await fromFriendships(db);
      assert.ok(expected.length > 40);
      assert.deepEqual(await fromLists(db), expected);
    });
  });
}

test('a world loaded by SQLite\'s own bulk loader gets them', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-friend-numbers-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const path = join(folder, 'world.db');
  await seedDatabase(path, { members: 500, avgFriends: 15, seed: 41, now: NOW, partners: false, workers: 0 });
  const db = openDatabase(path);
  t.after(() => db.destroy());
  const expected = await fromFriendships(db);
  assert.ok(expected.length > 400);
  assert.deepEqual(await fromLists(db), expected);
  // Read as a replay reads a token's list (one row, big-endian numbers).
  const sqlite = new BetterSqlite3(path, { readonly: true });
  t.after(() => sqlite.close());
  const [first] = expected;
  const [member, friends] = first!.split(': ');
  const bytes = sqlite.prepare('select friends from friend_number_lists where member_number = ?').pluck().get(Number(member)) as Buffer;
  assert.deepEqual(Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readUInt32BE(i * 4)).join(' '), friends);
});
