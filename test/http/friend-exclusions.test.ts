/**
 * Keep one app out (PRODUCT.md §4, §9; issue 17 point 3): a member keeps an app, or every app of a
 * partner, from seeing them through friends while other apps still do; set and unset in the
 * privacy center (page and JSON API), enforced by the Graph API as the same answer as opting out.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser, csrfFieldOf } from '../helpers/member-browser.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const PASSWORD = 'correct horse battery staple';

/** `me` uses two device partners' apps; friends `ann` and `bob` both share through friends. */
async function world(t: TestContext, dialect: Dialect) {
  const built = await build(t, NOW, { dialect });
  await addMembers(built.store, [{ id: 'me' }, { id: 'ann', shareViaFriends: true }, { id: 'bob', shareViaFriends: true }], NOW);
  await addFriendships(built.store, [['me', 'ann'], ['me', 'bob']], NOW);
  await built.store.credentials.setPassword('ann', PASSWORD, NOW);
  const tokens: Record<string, string> = {};
  for (const key of ['watch', 'tv']) {
    const partner = await addPartner(built.store, key, { agreement: { memberFields: ['id', 'name', 'friends'], friendFields: ['name'] } }, NOW);
    tokens[key] = (await grantToken(built.store, {
      memberId: 'me', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name', 'friends'], friendFields: ['name'],
    }, NOW)).token;
  }
  const graph = (token: string, url: string) => built.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const friendIds = async (token: string) => {
    const response = await graph(token, '/v1/me/friends?fields=name');
    assert.equal(response.statusCode, 200, response.body);
    return response.json().data.map((friend: { id: string }) => friend.id);
  };
  const ann = new MemberBrowser(built.app);
  assert.equal((await ann.login('ann', PASSWORD)).statusCode, 303);
  return { ...built, tokens, graph, friendIds, ann };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`keep one app out, on ${dialect}`, () => {
    test('in the privacy center: the app kept out no longer sees ann through friends, the other still does; letting it back in undoes it', async (t) => {
      const w = await world(t, dialect);
      assert.deepEqual(await w.friendIds(w.tokens.watch!), ['ann', 'bob']);

      const settings = (await w.ann.get('/privacy')).body;
      assert.match(settings, /<h2 id="keep-out">Keep an app out<\/h2>/);
      assert.match(settings, /<label for="keep_out_target">App or partner to keep out<\/label>/);
      assert.match(settings, /<option value="app:app_watch">watch app \(watch Ltd\)<\/option>/);
      assert.match(settings, /<option value="partner:p_tv">tv Ltd<\/option>/);
      const kept = await w.ann.postForm('/privacy/exclusions', { _csrf: csrfFieldOf(settings), target: 'app:app_watch' });
      assert.equal(kept.statusCode, 303);
      assert.equal(kept.headers.location, '/privacy?done=kept_out#keep-out');

      // The same answer as a friend who opted out: absent from the list, 404 on a direct look-up.
      assert.deepEqual(await w.friendIds(w.tokens.watch!), ['bob']);
      const direct = await w.graph(w.tokens.watch!, '/v1/members/ann?fields=name');
      const stranger = await w.graph(w.tokens.watch!, '/v1/members/nobody?fields=name');
      assert.equal(direct.statusCode, 404);
      assert.equal(direct.json().error.code, stranger.json().error.code);
      assert.deepEqual(await w.friendIds(w.tokens.tv!), ['ann', 'bob'], 'every other app still sees ann');

      const after = (await w.ann.get('/privacy?done=kept_out')).body;
      assert.match(after, /Kept out: it no longer sees you through your friends\./);
      assert.match(after, /<li>watch app \(watch Ltd\)/);
      assert.doesNotMatch(after, /<option value="app:app_watch">/, 'an app kept out is not offered again');
      const letIn = await w.ann.postForm('/privacy/exclusions/remove', { _csrf: csrfFieldOf(after), target: 'app:app_watch' });
      assert.equal(letIn.statusCode, 303);
      assert.deepEqual(await w.friendIds(w.tokens.watch!), ['ann', 'bob']);
    });

    test.both('upserts', 'the JSON API: keep a whole partner out, list, let it back in; CSRF needed, unknown targets 404', async (t) => {
      const w = await world(t, dialect);
      const csrf = await w.ann.apiCsrf();
      const noCsrf = await w.ann.json('PUT', '/v1/me/friend-exclusions/partners/p_tv');
      assert.equal(noCsrf.statusCode, 403);
      assert.deepEqual(await w.friendIds(w.tokens.tv!), ['ann', 'bob']);

      const put = await w.ann.json('PUT', '/v1/me/friend-exclusions/partners/p_tv', undefined, { 'x-csrf-token': csrf });
      assert.equal(put.statusCode, 204);
      assert.equal((await w.ann.json('PUT', '/v1/me/friend-exclusions/partners/p_tv', undefined, { 'x-csrf-token': csrf })).statusCode, 204, 'again: no change');
      assert.deepEqual(await w.friendIds(w.tokens.tv!), ['bob']);
      assert.deepEqual(await w.friendIds(w.tokens.watch!), ['ann', 'bob']);
      const listed = await w.ann.json('GET', '/v1/me/friend-exclusions');
      assert.deepEqual(listed.json(), { apps: [], partners: [{ id: 'p_tv', name: 'tv Ltd' }] });

      const unknown = await w.ann.json('PUT', '/v1/me/friend-exclusions/apps/app_nobody', undefined, { 'x-csrf-token': csrf });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'not_found');
      const badKind = await w.ann.json('PUT', '/v1/me/friend-exclusions/friends/bob', undefined, { 'x-csrf-token': csrf });
      assert.equal(badKind.statusCode, 400);

      const removed = await w.ann.json('DELETE', '/v1/me/friend-exclusions/partners/p_tv', undefined, { 'x-csrf-token': csrf });
      assert.equal(removed.statusCode, 204);
      assert.deepEqual(await w.friendIds(w.tokens.tv!), ['ann', 'bob']);
      assert.deepEqual((await w.ann.json('GET', '/v1/me/friend-exclusions')).json(), { apps: [], partners: [] });
    });

    test('without a session the JSON API answers 401 and the forms send the member to log in', async (t) => {
      const w = await world(t, dialect);
      const anonymous = new MemberBrowser(w.app);
      assert.equal((await anonymous.json('GET', '/v1/me/friend-exclusions')).statusCode, 401);
      const page = await anonymous.postForm('/privacy/exclusions', { target: 'app:app_watch' });
      assert.ok(page.statusCode === 303 || page.statusCode === 403, String(page.statusCode));
      assert.deepEqual(await w.friendIds(w.tokens.watch!), ['ann', 'bob']);
    });
  });
}
