/**
 * The Graph API's entries carry their members' numbers, read with the members' rows (migration
 * 0037), so that counting them (the reports' member sets) looks up no number by id in the append
 * (issue 14: the counts within 10% of append throughput), and the sets hold exactly the members
 * released, never a friend passed over.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext } from 'node:test';
import { MemberNumbers, readSets } from '../../src/store/member-sets.js';
import type { Store } from '../../src/store/store.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/** Member `me` with friends f00..f11 (inserted in reverse, so numbers do not follow ids); every third one visible through friends. */
async function world(t: TestContext, dialect: Dialect) {
  const built = await build(t, NOW, { dialect });
  const friends = Array.from({ length: 12 }, (_, i) => ({ id: `f${String(i).padStart(2, '0')}`, shareViaFriends: i % 3 === 0 })).reverse();
  await addMembers(built.store, [...friends, { id: 'stranger', shareViaFriends: true }, { id: 'me' }], NOW);
  await addFriendships(built.store, friends.map((f) => ['me', f.id] as const), NOW);
  const partner = await addPartner(built.store, 'dev', { agreement: { friendFields: ['name', 'birthday'] } }, NOW);
  const { token } = await grantToken(built.store, {
    memberId: 'me', appId: partner.appId, agreementId: partner.agreementId,
    memberFields: ['id', 'name', 'friends'], friendFields: ['name', 'birthday'], tokenTtlMs: 365 * 86_400_000,
  }, NOW);
  const get = (url: string) => built.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { ...built, ...partner, get };
}

/** The members (by id) of each stored set of `kind` in June 2026, through `member_numbers`. */
async function setMembers(store: Store, kind: 'exposure' | 'release_day' | 'token'): Promise<Record<string, string[]>> {
  const ids = new Map((await store.db.selectFrom('member_numbers').select(['member_id', 'number']).execute()).map((row) => [Number(row.number), row.member_id]));
  const out: Record<string, string[]> = {};
  for (const set of await readSets(store.db, kind, '2026-06', '2026-06-30')) out[set.key] = set.members.toArray().map((n) => ids.get(n) ?? `#${n}`).sort();
  return out;
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`the Graph API's entries are counted by the numbers read with the members, on ${dialect}`, () => {
    test.both('migrations', 'a member\'s row holds its number from member_numbers, new members included', async (t) => {
      const { store } = await world(t, dialect);
      await addMembers(store, [{ id: 'newcomer' }], NOW);
      const rows = await store.db.selectFrom('members').innerJoin('member_numbers', 'member_numbers.member_id', 'members.id')
        .select(['members.id', 'members.number as onRow', 'member_numbers.number as numbered']).execute();
      assert.equal(rows.length, 15);
      for (const row of rows) assert.equal(Number(row.onRow), Number(row.numbered), row.id);
    });

    test.both('the audit append', 'the append looks up no member by id, and the sets hold exactly the members released', async (t) => {
      const { get, store, agreementId, partnerId } = await world(t, dialect);
      const looked: string[] = [];
      const learn = MemberNumbers.prototype.learn;
      MemberNumbers.prototype.learn = function (this: MemberNumbers, db, ids) {
        looked.push(...ids);
        return learn.call(this, db, ids);
      };
      t.after(() => { MemberNumbers.prototype.learn = learn; });
      assert.equal((await get('/v1/me?fields=id,name')).statusCode, 200);
      assert.equal((await get('/v1/me/friends?fields=id,name,birthday&limit=3')).statusCode, 200);
      assert.equal((await get('/v1/members/f06?fields=id,name')).statusCode, 200);
      assert.equal((await get('/v1/members/f01?fields=id,name')).statusCode, 404, 'a friend passed over');
      assert.deepEqual(looked, []);
      const shown = ['f00', 'f03', 'f06'];
      assert.deepEqual(await setMembers(store, 'release_day'), { [agreementId]: [...shown, 'me'] });
      assert.deepEqual(await setMembers(store, 'token'), { [partnerId]: ['me'] });
      assert.deepEqual(await setMembers(store, 'exposure'), {
        [`${agreementId} * d`]: ['me'], [`${agreementId} id d`]: ['me'], [`${agreementId} name d`]: ['me'],
        [`${agreementId} * f`]: shown, [`${agreementId} id f`]: shown, [`${agreementId} name f`]: shown, [`${agreementId} birthday f`]: shown,
      });
    });
  });
}
