import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Migrator, sql } from 'kysely';
import { openSqlite, type Db } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createStore, type Store } from '../../src/store/store.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { DIALECTS, emptyPostgresDatabase, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DEVICE = { appId: 'a_tv', partnerId: 'p_tv', appClass: 'device_partner' } as const;

const ids = async (store: Store, reader: Parameters<Store['friendships']['visiblePage']>[3], after: string | null = null, limit = 10) =>
  (await store.friendships.visiblePage('me', after, limit, reader)).map((friend) => friend.id);

for (const dialect of DIALECTS) {
  describe(`FriendshipRepository on ${dialect}`, () => {
    test("a device app's scan reads each sharing friend's settings and the exclusions naming the reader, none other", async (t) => {
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

      const page = await store.friendships.visiblePage('me', null, 10, DEVICE);
      assert.deepEqual(page.map((f) => [f.id, f.settings?.platformEnabled, f.exclusions.apps, f.exclusions.partners]), [
        ['f1', true, ['a_tv'], []],
        ['f2', true, [], ['p_tv']],
        ['f3', true, ['a_tv'], ['p_tv']],
        ['f4', true, [], []],
        ['f5', true, [], []],
      ], 'f6 has the platform off: a device app never reads them');
      assert.deepEqual(await ids(store, DEVICE, 'f2', 2), ['f3', 'f4']);
    });

    test("a device app's scan follows its friends' settings as they change, and counts every friend in a range", async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      await addMembers(store, [{ id: 'me' }, { id: 'f1', shareViaFriends: true }, { id: 'f2' }, { id: 'f3', shareViaFriends: true, platformEnabled: false }], NOW);
      await addFriendships(store, [['me', 'f1'], ['me', 'f2'], ['me', 'f3']], NOW);
      assert.deepEqual(await ids(store, DEVICE), ['f1']);

      await store.members.setPlatformSettings('f2', { shareViaFriends: true });
      await store.members.updatePrivacy('f3', { platformEnabled: true });
      assert.deepEqual(await ids(store, DEVICE), ['f1', 'f2', 'f3']);
      await store.members.updatePrivacy('f1', { shareViaFriends: false });
      await store.members.setPlatformSettings('f3', { platformEnabled: false });
      assert.deepEqual(await ids(store, DEVICE), ['f2']);
      // Other members' lists that name the same friend follow too.
      await addMembers(store, [{ id: 'other' }], NOW);
      await addFriendships(store, [['other', 'f2']], NOW);
      assert.deepEqual((await store.friendships.visiblePage('other', null, 10, DEVICE)).map((f) => f.id), ['f2']);

      assert.equal(await store.friendships.countInRange('me', null, null), 3);
      assert.equal(await store.friendships.countInRange('me', 'f1', null), 2);
      assert.equal(await store.friendships.countInRange('me', null, 'f2'), 2);
      assert.equal(await store.friendships.countInRange('me', 'f1', 'f2'), 1);
      // A friend added between the others: the ordinals after it move up; bounds need not be friends.
      await addMembers(store, [{ id: 'f10' }], NOW);
      await addFriendships(store, [['f10', 'me']], NOW);
      assert.equal(await store.friendships.countInRange('me', 'f1', 'f2'), 2);
      assert.equal(await store.friendships.countInRange('me', null, null), 4);
      assert.equal(await store.friendships.countInRange('me', 'f0', 'f15'), 2);
      assert.equal(await store.friendships.countInRange('me', 'f2', 'f9'), 1);
      assert.equal(await store.friendships.countInRange('me', 'f9', null), 0);
    });

    test("a third-party app's scan reads only friends with the platform on who use it, as grants, friendships and settings change", async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      const { appId, partnerId, agreementId } = await addPartner(store, 'game', { appClass: 'third_party' }, NOW);
      const other = await addPartner(store, 'chat', { appClass: 'third_party' }, NOW);
      const device = await addPartner(store, 'tv', {}, NOW);
      const reader = { appId, partnerId, appClass: 'third_party' } as const;
      await addMembers(store, ['me', 'u1', 'u2', 'u3', 'n1', 'd1'].map((id) => ({ id, shareViaFriends: true })), NOW);
      await addFriendships(store, [['me', 'u1'], ['me', 'u2'], ['me', 'n1'], ['me', 'd1']], NOW);
      const use = (memberId: string, app = { appId, agreementId }) => grantToken(store, { memberId, ...app, memberFields: ['id'] }, NOW);
      await use('me');
      const u1 = await use('u1');
      await use('u2');
      await use('u3');
      await use('n1', other);
      await use('d1', device);
      assert.deepEqual(await ids(store, reader), ['u1', 'u2'], 'friends using another app, or a device app, are not read');

      await addFriendships(store, [['me', 'u3']], NOW);
      assert.deepEqual(await ids(store, reader), ['u1', 'u2', 'u3'], 'a new friend who uses the app');
      await store.grants.revoke(u1.grantId, NOW);
      await store.members.updatePrivacy('u2', { platformEnabled: false });
      assert.deepEqual(await ids(store, reader), ['u3'], 'a revoked grant, the platform turned off');
      await store.members.setPlatformSettings('u2', { platformEnabled: true });
      assert.deepEqual(await ids(store, reader), ['u2', 'u3']);
      assert.deepEqual(await ids(store, reader, 'u2', 1), ['u3']);
      assert.deepEqual(await ids(store, DEVICE), ['d1', 'n1', 'u1', 'u2', 'u3'], 'a device app reads by sharing, not app use');

      await store.friendships.unfriend('u2', 'me');
      assert.deepEqual(await ids(store, reader), ['u3'], 'a friendship ended');
      assert.deepEqual(await ids(store, DEVICE), ['d1', 'n1', 'u1', 'u3']);
      assert.equal(await store.friendships.countInRange('me', 'n1', null), 2, 'the ordinals after it move down');
    });

    test('an ended friendship is kept by number in both directions for the replay, and forgotten when the two are friends again', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      await addMembers(store, [{ id: 'me' }, { id: 'f1' }, { id: 'f2' }, { id: 'f3' }], NOW);
      await addFriendships(store, [['me', 'f1'], ['me', 'f2'], ['f1', 'f2']], NOW);
      const number = async (id: string) => (await store.db.selectFrom('member_numbers').select('number').where('member_id', '=', id).executeTakeFirstOrThrow()).number;
      const ends = async () => (await store.db.selectFrom('ended_friendships').select(['member_number', 'friend_number'])
        .orderBy('member_number').orderBy('friend_number').execute()).map((row) => [Number(row.member_number), Number(row.friend_number)]);
      const [me, f1, f2] = [await number('me'), await number('f1'), await number('f2')];
      const pair = (a: number, b: number) => [[Math.min(a, b), Math.max(a, b)], [Math.max(a, b), Math.min(a, b)]].sort((x, y) => x[0]! - y[0]!);

      await store.friendships.unfriend('me', 'f1');
      assert.deepEqual(await ends(), pair(me, f1));
      await store.friendships.unfriend('f2', 'me');
      await store.friendships.unfriend('f2', 'me');
      assert.deepEqual(await ends(), [...pair(me, f1), ...pair(me, f2)].sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!), 'ended twice: kept once');
      await addFriendships(store, [['f1', 'me'], ['f3', 'f2']], NOW);
      assert.deepEqual(await ends(), pair(me, f2), 'friends again: no longer ended, in either direction; the others kept');
    });
  });
}

/** A world written at migration 0037 (rows as that schema had them), then migrated to 0038. */
async function migratedWorld(t: TestContext, dialect: Dialect): Promise<Store> {
  let db: Db;
  if (dialect === 'postgres') db = (await emptyPostgresDatabase(t)).db;
  else {
    db = openSqlite(':memory:');
    t.after(() => db.destroy());
  }
  const migrator = new Migrator({ db, provider: migrationProvider });
  const step = async (name: string) => {
    const { error } = await migrator.migrateTo(name);
    if (error !== undefined) throw error;
  };
  await step('0037-member-numbers-on-members');
  const store = createStore(db);
  await addMembers(store, [
    { id: 'me' }, { id: 'sharer', shareViaFriends: true }, { id: 'quiet' }, { id: 'off', shareViaFriends: true, platformEnabled: false },
    { id: 'player', shareViaFriends: false }, { id: 'quitter' },
  ], NOW);
  const since = new Date(NOW).toISOString();
  const pairs = ['sharer', 'quiet', 'off', 'player', 'quitter'].flatMap((id) => [['me', id], [id, 'me']]);
  await db.insertInto('friendships').values(pairs.map(([member_id, friend_id]) => ({ member_id: member_id!, friend_id: friend_id!, since }))).execute();
  const { appId, agreementId } = await addPartner(store, 'game', { appClass: 'third_party' }, NOW);
  const grant = (id: string, memberId: string, revoked: boolean) => sql`insert into grants
    (id, member_id, app_id, agreement_id, agreement_version, purpose, member_fields, friend_fields, granted_at, last_used_at, revoked_at, end_reason)
    values (${id}, ${memberId}, ${appId}, ${agreementId}, 1, 'device_experience', '["id"]', '[]', ${since}, null, ${revoked ? since : null}, null)`.execute(db);
  await grant('g1', 'player', false);
  await grant('g2', 'quitter', true);
  await grant('g3', 'off', false);
  await step('0038-visible-friends');
  return store;
}

for (const dialect of DIALECTS) {
  test(`migration 0038 reads a ${dialect} database's friendships, settings and grants as the live code keeps them`, async (t) => {
    const store = await migratedWorld(t, dialect);
    const page = async (appClass: 'device_partner' | 'third_party') =>
      (await store.friendships.visiblePage('me', null, 10, { appId: 'app_game', partnerId: 'p_game', appClass })).map((f) => f.id);
    assert.deepEqual(await page('device_partner'), ['sharer'], 'sharing on, platform on');
    assert.deepEqual(await page('third_party'), ['player'], 'an unrevoked grant, platform on');
    assert.equal(await store.friendships.countInRange('me', null, null), 5);
    assert.equal(await store.friendships.countInRange('me', 'player', 'quitter'), 2, 'ordinals numbered by the migration');
  });
}
