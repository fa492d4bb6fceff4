/**
 * The friend graph read whole by member number (src/store/friend-graph.ts): each member's friends
 * sorted ascending by number, members with none given empty lists, and a number past the highest
 * one read giving no friends; on a random graph, equal to the pairs it was made from, and the reach's expansion
 * from it (forwards or backwards) equal to reading the lists.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../../bench/prng.js';
import { loadFriendGraph } from '../../src/store/friend-graph.js';
import { emptySet, memberNumbers } from '../../src/store/member-sets.js';
import { FriendLists, GraphFriends } from '../../src/store/reach.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';
import { addFriendships, addMembers } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');

for (const dialect of DIALECTS) {
  describe(`the friend graph on ${dialect}`, () => {
    test('every member\'s friends by number, ascending, as the friendships say', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      const next = prng(7);
      // Ids whose text order is not their number order: lists must come out sorted by number all the same.
      const members = Array.from({ length: 40 }, (_, i) => `m${(i * 17) % 40}`).concat(['lonely']);
      await addMembers(store, members.map((id) => ({ id })), NOW);
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < 120; i++) {
        const [a, b] = [members[Math.floor(next() * 40)]!, members[Math.floor(next() * 40)]!];
        if (a !== b && !pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) pairs.push([a, b]);
      }
      await addFriendships(store, pairs, NOW);
      const numbers = await memberNumbers(store.db, members);
      const graph = await loadFriendGraph(store.db);
      assert.equal(graph.maxNumber, Math.max(...numbers.values()));
      assert.equal(graph.offsets.length, graph.maxNumber + 2);
      assert.equal(graph.friends.length, pairs.length * 2, 'both directions of every friendship');
      for (const member of members) {
        const expected = pairs.flatMap(([a, b]) => (a === member ? [b] : b === member ? [a] : []))
          .map((id) => numbers.get(id)!).sort((x, y) => x - y);
        assert.deepEqual([...graph.friendsOf(numbers.get(member)!)], expected, member);
      }
      assert.deepEqual([...graph.friendsOf(numbers.get('lonely')!)], []);
      assert.deepEqual([...graph.friendsOf(graph.maxNumber + 1)], [], 'numbered after the graph was read: no friends here');

      // The reach's expansion from the graph (forwards for a sparse set, backwards for a dense one) is the lists' own.
      const lists = new FriendLists(store.db);
      const fromGraph = new GraphFriends(graph);
      const all = [...numbers.values()];
      for (let size = 1; size <= all.length; size += 3) {
        const set = emptySet();
        for (const number of all) if (next() < size / all.length) set.add(number);
        set.add(2 ** 31 + size); // a stand-in number (ReadNumbers) for a member without one: no friends
        assert.deepEqual((await fromGraph.friendsOf(set)).toArray(), (await lists.friendsOf(set)).toArray(), `a set of ${set.size}`);
      }
    });
  });
}
