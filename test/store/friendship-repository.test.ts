import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const READER = { appId: 'a_tv', partnerId: 'p_tv' };

for (const dialect of DIALECTS) {
  describe(`FriendshipRepository on ${dialect}`, () => {
    test("a friend list's scan reads each friend's settings and the exclusions naming the reader, none other", async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      const member = (id: string, platformEnabled = true) => ({ id, platformEnabled, shareViaFriends: true, createdAt: NOW, profile: {}, audiences: {} });
      await store.members.insertMany([member('me'), member('f1'), member('f2'), member('f3'), member('f4'), member('f5'), member('f6', false)]);
      await store.friendships.insertMany(['f1', 'f2', 'f3', 'f4', 'f5', 'f6'].map((b) => ({ a: 'me', b, since: NOW })));
      await store.members.exclude('f1', 'app', 'a_tv', NOW);
      await store.members.exclude('f2', 'partner', 'p_tv', NOW);
      await store.members.exclude('f3', 'app', 'a_tv', NOW);
      await store.members.exclude('f3', 'partner', 'p_tv', NOW);
      await store.members.exclude('f4', 'app', 'a_other', NOW);
      await store.members.exclude('f4', 'partner', 'a_tv', NOW); // an id of the reader's app, kept as a partner: not this app
      await store.members.exclude('f6', 'app', 'a_tv', NOW); // platform off: left out whatever it excludes

      const page = await store.friendships.pageWithSettings('me', null, 10, READER);
      assert.deepEqual(page.map((f) => [f.id, f.settings?.platformEnabled, f.exclusions.apps, f.exclusions.partners]), [
        ['f1', true, ['a_tv'], []],
        ['f2', true, [], ['p_tv']],
        ['f3', true, ['a_tv'], ['p_tv']],
        ['f4', true, [], []],
        ['f5', true, [], []],
        ['f6', false, [], []],
      ]);
      const after = await store.friendships.pageWithSettings('me', 'f2', 2, READER);
      assert.deepEqual(after.map((f) => f.id), ['f3', 'f4']);
    });
  });
}
