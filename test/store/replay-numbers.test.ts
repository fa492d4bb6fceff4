/**
 * Today's members by number as the replay reads them on SQLite (src/store/replay-numbers.ts): ids
 * found where they lie in a longer string (non-ASCII ones and one holding the friend lists'
 * separator included), each member's facts as MemberRepository reads them, and friendships as
 * the friendships table holds them, whatever order and batches they are read in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prng } from '../../bench/prng.js';
import { maskOf } from '../../src/domain/field-catalog.js';
import { sqliteReaderOf } from '../../src/store/database.js';
import { loadFriendGraph } from '../../src/store/friend-graph.js';
import { memberNumbers } from '../../src/store/member-sets.js';
import { ANOTHER_MEMBER, ReplayNumbers } from '../../src/store/replay-numbers.js';
import { createStore } from '../../src/store/store.js';
import { testDatabase } from '../helpers/dialects.js';
import { ReplayLogRepository } from '../../src/store/replay-log-repository.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');

test('members by number: ids in place, facts as the member repository reads them, friendships as stored', async (t) => {
  const store = createStore((await testDatabase(t, 'sqlite')).db);
  const next = prng(15);
  // Ids of 16 bytes and fewer are kept in their hash slot, longer ones beside: both, at the boundary and past it.
  const long = ['sixteen-bytes-id', 'seventeen-bytes-i', 'a-member-id-of-thirty-bytes-xy', 'long-ü-id-of-18-b'];
  const members = ['', ...Array.from({ length: 30 }, (_, i) => `m${(i * 7) % 30}`), 'm_é', 'm_\u00fcber', 'odd\x1eid', ...long];
  assert.deepEqual(long.map((id) => Buffer.byteLength(id)), [16, 17, 30, 18]);
  await addMembers(store, members.map((id, i) => ({
    id, platformEnabled: i % 5 !== 0, shareViaFriends: i % 3 === 0, audiences: i % 4 === 0 ? { birthday: 'only_me', work: 'public' } : {},
  })), NOW);
  await store.members.exclude(members[2]!, 'partner', 'p_x', NOW);
  await store.members.exclude(members[2]!, 'app', 'app_y', NOW);
  const pairs: Array<[string, string]> = [['odd\x1eid', 'm_é'], ['m1', 'odd\x1eid']];
  for (let i = 0; i < 90; i++) {
    const [a, b] = [members[Math.floor(next() * members.length)]!, members[Math.floor(next() * members.length)]!];
    if (a !== b && !pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) pairs.push([a, b]);
  }
  await addFriendships(store, pairs, NOW);
  const numbers = await memberNumbers(store.db, members);
  const settings = await store.members.settings(members);
  const exclusions = await store.members.friendExclusions(members);
  const all = members.map((id) => numbers.get(id)!);
  // Read in two batches, tokens and subjects apart; or everyone at once, with the whole friend graph.
  const byBatch = new ReplayNumbers(sqliteReaderOf(store.db)!);
  byBatch.load(all.slice(0, 20), all.slice(10));
  byBatch.load([-1, ...all], all);
  const everyone = new ReplayNumbers(sqliteReaderOf(store.db)!);
  everyone.everyone(await loadFriendGraph(store.db));
  // Some read by batch, then every member's facts at once.
  const thenAll = new ReplayNumbers(sqliteReaderOf(store.db)!);
  thenAll.load(all, all);
  thenAll.readAllFacts();
  // Every member's facts first, four members a statement (chunks with the id holding a separator read a row at a time, the others in one string).
  const chunked = new ReplayNumbers(sqliteReaderOf(store.db)!, undefined, 4);
  chunked.readAllFacts();
  chunked.load([], all);
  // Past its friend budget (one number here), a call that reads lists drops the lists read before it, and
  // reads again those of its own tokens read before; a call with no tokens drops none.
  const overBudget = new ReplayNumbers(sqliteReaderOf(store.db)!, 1);
  overBudget.load([], all.slice(0, 10));
  overBudget.load(all, all);
  overBudget.load(all, []);
  for (const world of [byBatch, everyone, thenAll, chunked, overBudget]) {
    const text = `x\x1e${members.join('\x1e')}\x1enobody`;
    let at = 2;
    for (const id of members) {
      assert.equal(world.numberIn(text, at, at + id.length), numbers.get(id), id);
      at += id.length + 1;
    }
    assert.equal(world.numberIn(text, at, text.length), -1, 'no member');
    assert.equal(world.numberOf('m'), -1);
    for (const id of members) {
      const n = numbers.get(id)!;
      const expected = settings.get(id)!;
      for (const isFriend of [true, false]) {
        assert.deepEqual(world.facts(n, isFriend), {
          id: ANOTHER_MEMBER, isFriend, usesApp: false, platformEnabled: expected.platformEnabled, shareViaFriends: expected.shareViaFriends,
          friendsAudience: expected.friendsAudience, exclusions: exclusions.get(id) ?? { apps: [], partners: [] },
        }, id);
      }
      assert.equal(world.platformEnabled(n), expected.platformEnabled);
      for (const other of members) {
        const friends = pairs.some(([a, b]) => (a === id && b === other) || (a === other && b === id));
        assert.equal(world.isFriend(n, numbers.get(other)!), friends, `${id} and ${other}`);
      }
    }
    assert.equal(world.facts(-1, true), undefined);
    assert.equal(world.isFriend(-1, all[0]!), false);
  }
});

test("today's world, read once for a connection's replays: kept across the log's writes and grants' use, read again after any change a replay reads", async (t) => {
  const store = createStore((await testDatabase(t, 'sqlite')).db);
  await addMembers(store, [{ id: 'm_a' }, { id: 'm_b' }, { id: 'm_c' }], NOW);
  await addFriendships(store, [['m_a', 'm_b']], NOW);
  const { appId, agreementId } = await addPartner(store, 'acme', {}, NOW);
  const { grantId } = await grantToken(store, { memberId: 'm_a', appId, agreementId, memberFields: ['id', 'friends'], friendFields: ['id'] }, NOW);
  const world = () => new ReplayLogRepository(store.readDb).replayNumbers({ from: 0, to: NOW });
  let last = await world();
  assert.ok(last !== undefined);
  const changes: Array<[string, boolean, () => Promise<unknown>]> = [
    ['a grant used', false, () => store.db.updateTable('grants').set({ last_used_at: new Date(NOW).toISOString() }).where('id', '=', grantId).execute()],
    ['the log written', false, () => store.db.insertInto('audit_field_sets').values({ id: 90_001, json: '[]' }).execute()],
    ['a platform setting', true, () => store.members.setPlatformSettings('m_a', { platformEnabled: false })],
    ['an audience', true, () => store.db.insertInto('field_audiences').values({ member_id: 'm_b', field: 'birthday', audience: 'only_me' }).execute()],
    ['an exclusion', true, () => store.members.exclude('m_b', 'partner', 'p_x', NOW)],
    ['a friendship ended', true, () => store.friendships.unfriend('m_a', 'm_b')],
    ['a friendship made', true, () => addFriendships(store, [['m_a', 'm_c']], NOW)],
    ['a member', true, () => addMembers(store, [{ id: 'm_d' }], NOW)],
    ["a grant's consent", true, () => store.db.updateTable('grants').set({ friend_fields: '["id","name"]' }).where('id', '=', grantId).execute()],
    ['a grant', true, () => grantToken(store, { memberId: 'm_b', appId, agreementId, memberFields: ['id'] }, NOW)],
    ['a grant revoked', true, () => store.grants.revoke(grantId, NOW)],
  ];
  for (const [change, readAgain, make] of changes) {
    await make();
    const next = await world();
    assert.equal(next !== last, readAgain, `${change}: ${readAgain ? 'read again' : 'kept'}`);
    last = next;
  }
});

/**
 * What each way of reading a world says of these members: their numbers, facts as a friend and
 * not (through a view too), platform settings and friendships.
 */
function worldSays(world: ReplayNumbers, ids: readonly string[]): unknown[] {
  const numbers = ids.map((id) => world.numberOf(id));
  world.load(numbers, numbers);
  const view = world.within(maskOf(['birthday', 'work']));
  return ids.map((id, index) => {
    const n = numbers[index]!;
    return {
      id, n, platform: world.platformEnabled(n), facts: [true, false].map((isFriend) => [world.facts(n, isFriend), world.facts(n, isFriend, view)]),
      friends: numbers.filter((other) => world.isFriend(n, other)),
    };
  });
}

for (const graph of [false, true]) {
  test(`a world refreshed after a few members changed says what a world read whole says, and the one it was refreshed from what it said (${graph ? 'the whole friend graph' : 'lists read as met'})`, async (t) => {
    const store = createStore((await testDatabase(t, 'sqlite')).db);
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await addMembers(store, ids.map((id, i) => ({ id, platformEnabled: i % 5 !== 0, audiences: i % 4 === 0 ? { birthday: 'only_me' as const } : {} })), NOW);
    await addFriendships(store, ids.map((id, i) => [id, ids[(i + 1) % ids.length]!] as [string, string]), NOW);
    const { appId, agreementId } = await addPartner(store, 'acme', {}, NOW);
    const sqlite = sqliteReaderOf(store.db)!;
    const kept = async () => (await new ReplayLogRepository(store.readDb).replayNumbers({ from: 0, to: NOW }))!;
    const wholeWorld = async () => {
      const world = new ReplayNumbers(sqlite);
      if (graph) world.everyone(await loadFriendGraph(store.db));
      return world;
    };
    let world = await kept();
    if (graph) world.everyone(await loadFriendGraph(store.db));
    const all = [...ids, 'm_new'];
    let said = worldSays(world, all);
    const changes: Array<[string, () => Promise<unknown>]> = [
      ['a platform setting', () => store.members.setPlatformSettings('m1', { platformEnabled: false })],
      ['an audience', () => store.db.insertInto('field_audiences').values({ member_id: 'm2', field: 'work', audience: 'only_me' }).execute()],
      ['an exclusion', () => store.members.exclude('m3', 'partner', 'p_x', NOW)],
      ['a friendship ended', () => store.friendships.unfriend('m0', 'm1')],
      ['a friendship made', () => addFriendships(store, [['m5', 'm9']], NOW)],
      ['a member and their friendship', async () => { await addMembers(store, [{ id: 'm_new', audiences: { work: 'only_me' } }], NOW); await addFriendships(store, [['m_new', 'm7']], NOW); }],
      ['their last friendship ended', () => store.friendships.unfriend('m_new', 'm7')],
      ['a grant', () => grantToken(store, { memberId: 'm8', appId, agreementId, memberFields: ['id'] }, NOW)],
    ];
    for (const [change, make] of changes) {
      await make();
      const next = await kept();
      assert.ok(next !== world && next.membersReread !== undefined && next.membersReread >= 1 && next.membersReread <= 4, `${change}: refreshed (${next.membersReread})`);
      const says = worldSays(next, all);
      assert.deepEqual(says, worldSays(await wholeWorld(), all), `${change}: as read whole`);
      // A grant changes the consents kept with the world (its consent table), not what it says of members.
      if (change !== 'a grant') assert.notDeepEqual(says, said, `${change}: changes what the world says`);
      assert.deepEqual(worldSays(world, all), said, `${change}: the world before unchanged`);
      [world, said] = [next, says];
    }
    // Many members changed: read whole; and after the journal was pruned past the world kept.
    await store.db.updateTable('members').set({ share_via_friends: 0 }).execute();
    assert.equal((await kept()).membersReread, undefined, 'many changes: read whole');
    await store.members.setPlatformSettings('m1', { platformEnabled: true });
    await store.db.deleteFrom('world_changes').execute();
    const afterPrune = await kept();
    assert.equal(afterPrune.membersReread, undefined, 'journal pruned: read whole');
    assert.deepEqual(worldSays(afterPrune, all), worldSays(await wholeWorld(), all));
  });
}

test("every grant read as columns (its kind told apart in SQL) says what reading its rows says, ids holding the chunks' separators included", async (t) => {
  const store = createStore((await testDatabase(t, 'sqlite')).db);
  const ids = ['m_a', 'odd\x1eid', 'm\x1fb', 'm_c', 'm_d'];
  await addMembers(store, ids.map((id) => ({ id })), NOW);
  const { appId, agreementId } = await addPartner(store, 'acme', {}, NOW);
  for (const [index, memberId] of ids.entries()) {
    await grantToken(store, { memberId, appId, agreementId, memberFields: ['id'], friendFields: index % 2 === 0 ? ['id'] : ['id', 'name'], grantedAt: NOW - index * 1_000 }, NOW);
  }
  // Two grants a chunk: a chunk of ordinary ids read as one string, the others as rows, a kind met in a later chunk.
  const log = new ReplayLogRepository(store.readDb, 2);
  const world = (await log.replayNumbers({ from: 0, to: NOW }))!;
  const read = log.consentColumns(world)!;
  const asColumns = Array.from({ length: read.columns.length }, (_, i) => {
    const { appId: app, agreementId: agreement, purpose, memberFields, friendFields } = read.kinds[read.columns.kindOf[i]!]!;
    return [read.columns.members[i], read.columns.grantedAt[i], app, agreement, purpose, memberFields, friendFields];
  });
  const asRows = [...log.numberedConsents((id) => world.numberOf(id))!].map(([member, c]) => [member, c.grantedAt, c.appId, c.agreementId, c.purpose, c.memberFields, c.friendFields]);
  assert.equal(asRows.length, ids.length);
  assert.equal(read.kinds.length, 2);
  assert.deepEqual(asColumns, asRows);
});
