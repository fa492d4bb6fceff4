/**
 * The privacy center's JSON API (member session cookie, CSRF header): GET and PATCH
 * /v1/me/privacy, GET /v1/me/apps, DELETE /v1/me/apps/:appId, and what a change does to the
 * Graph API's next answer.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { OBJECT_FIELDS } from '../../src/domain/field-catalog.js';
import { addDays } from '../../src/domain/time.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, onOneDialect, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser } from '../helpers/member-browser.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/**
 * `viewer` uses a device partner's app with the friend list; `friend` (sharing via friends) is
 * their friend, uses the app too, and manages their settings in the privacy center.
 */
async function world(t: TestContext, dialect: Dialect) {
  const built = await build(t, NOW, { dialect });
  const { store, app } = built;
  await addMembers(store, [{ id: 'viewer' }, { id: 'friend', shareViaFriends: true }, { id: 'other' }], NOW);
  await addFriendships(store, [['viewer', 'friend']], NOW);
  await store.credentials.setPassword('friend', 'friend password', NOW);
  await store.credentials.setPassword('other', 'other password', NOW);
  const partner = await addPartner(store, 'dev', { agreement: { friendFields: ['name', 'birthday', 'location'] } }, NOW);
  const viewer = await grantToken(store, {
    memberId: 'viewer', appId: partner.appId, agreementId: partner.agreementId,
    memberFields: ['id', 'name', 'friends'], friendFields: ['name', 'birthday', 'location'], tokenTtlMs: 30 * 86_400_000,
  }, NOW);
  const own = await grantToken(store, {
    memberId: 'friend', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name', 'email'],
    tokenTtlMs: 30 * 86_400_000,
  }, NOW);
  const friend = new MemberBrowser(app);
  assert.equal((await friend.login('friend', 'friend password')).statusCode, 303);
  const graph = (url: string, token: string) => app.inject({ url, headers: { authorization: `Bearer ${token}` } });
  const fieldAudienceRows = () => store.db.selectFrom('field_audiences').selectAll().where('member_id', '=', 'friend').orderBy('field').execute();
  return { ...built, ...partner, viewer, own, friend, graph, fieldAudienceRows };
}

function assertError(response: { statusCode: number; body: string; json(): any; headers: Record<string, unknown> }, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body);
  const { error } = response.json();
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'request_id']);
  assert.equal(error.code, code);
  assert.equal(typeof error.message, 'string');
  assert.equal(error.request_id, response.headers['x-request-id']);
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`privacy API on ${dialect}`, () => {
    describe('without a member session', () => {
      test('every endpoint is 401 login_required, a partner token included', async (t) => {
        const { app, viewer } = await world(t, dialect);
        const requests = [
          { method: 'GET' as const, url: '/v1/me/privacy' },
          { method: 'PATCH' as const, url: '/v1/me/privacy', payload: { platform_enabled: false } },
          { method: 'GET' as const, url: '/v1/me/apps' },
          { method: 'DELETE' as const, url: '/v1/me/apps/app_dev' },
        ];
        for (const request of requests) {
          for (const headers of [{}, { authorization: `Bearer ${viewer.token}` }, { cookie: 'datapact_session=abc.def' }]) {
            assertError(await app.inject({ ...request, headers }), 401, 'login_required');
          }
        }
      });
    });

    describe('GET /v1/me/privacy', () => {
      test('returns both switches, every object field\'s audience (defaults filled in) and a CSRF token', async (t) => {
        const { friend } = await world(t, dialect);
        const response = await friend.get('/v1/me/privacy');
        assert.equal(response.statusCode, 200);
        const body = response.json();
        assert.deepEqual(Object.keys(body).sort(), ['audiences', 'csrf_token', 'platform_enabled', 'share_via_friends']);
        assert.equal(body.platform_enabled, true);
        assert.equal(body.share_via_friends, true);
        assert.deepEqual(Object.keys(body.audiences), [...OBJECT_FIELDS]);
        assert.equal(body.audiences.id, 'public');
        assert.equal(body.audiences.name, 'public');
        assert.equal(body.audiences.email, 'only_me');
        assert.equal(body.audiences.religion, 'only_me');
        assert.equal(body.audiences.birthday, 'friends');
        assert.equal(typeof body.csrf_token, 'string');
      });
    });

    describe('PATCH /v1/me/privacy', () => {
      test('needs the CSRF token in x-csrf-token: refused without, with a wrong one or another browser\'s, nothing changed', async (t) => {
        const { app, friend, store } = await world(t, dialect);
        const other = new MemberBrowser(app);
        assert.equal((await other.login('other', 'other password')).statusCode, 303);
        const othersToken = await other.apiCsrf();
        const before = await store.members.privacy('friend');
        const attempts: Array<Record<string, string>> = [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': '' }, { 'x-csrf-token': othersToken }];
        for (const headers of attempts) {
          assertError(await friend.json('PATCH', '/v1/me/privacy', { platform_enabled: false }, headers), 403, 'invalid_csrf_token');
        }
        const inBody = await friend.json('PATCH', '/v1/me/privacy', { platform_enabled: false, _csrf: await friend.apiCsrf() });
        assertError(inBody, 403, 'invalid_csrf_token');
        assert.deepEqual(await store.members.privacy('friend'), before);
      });

      test.both('upserts', 'changes switches and audiences; a field set back to its default is no longer stored', async (t) => {
        const { friend, store, fieldAudienceRows } = await world(t, dialect);
        const csrf = await friend.apiCsrf();
        const response = await friend.json('PATCH', '/v1/me/privacy', {
          share_via_friends: false, audiences: { email: 'friends', birthday: 'only_me', location: 'public' },
        }, { 'x-csrf-token': csrf });
        assert.equal(response.statusCode, 200);
        const body = response.json();
        assert.equal(body.platform_enabled, true, 'what is absent stays');
        assert.equal(body.share_via_friends, false);
        assert.equal(body.audiences.email, 'friends');
        assert.equal(body.audiences.birthday, 'only_me');
        assert.equal(body.audiences.location, 'public');
        assert.equal(body.audiences.gender, 'friends');
        assert.deepEqual((await fieldAudienceRows()).map((r) => [r.field, r.audience]), [['birthday', 'only_me'], ['email', 'friends'], ['location', 'public']]);

        const back = await friend.json('PATCH', '/v1/me/privacy', { audiences: { email: 'only_me', birthday: 'friends' } }, { 'x-csrf-token': csrf });
        assert.equal(back.statusCode, 200);
        assert.deepEqual((await fieldAudienceRows()).map((r) => r.field), ['location'], 'defaults are not stored');
        assert.equal((await store.members.privacy('friend'))!.shareViaFriends, false);
      });

      test('a field set to only_me is withheld from a device partner\'s friend read at once', async (t) => {
        const { friend, viewer, graph } = await world(t, dialect);
        const before = (await graph('/v1/me/friends?fields=name,birthday', viewer.token)).json();
        assert.deepEqual(before.data, [{ id: 'friend', name: 'Name friend', birthday: '1990-01-02', withheld: {} }]);
        const patch = await friend.json('PATCH', '/v1/me/privacy', { audiences: { birthday: 'only_me' } }, { 'x-csrf-token': await friend.apiCsrf() });
        assert.equal(patch.statusCode, 200);
        const after = (await graph('/v1/me/friends?fields=name,birthday', viewer.token)).json();
        assert.deepEqual(after.data, [{ id: 'friend', name: 'Name friend', withheld: { birthday: 'audience_restricted' } }]);
        const direct = (await graph('/v1/members/friend?fields=birthday', viewer.token)).json();
        assert.deepEqual(direct, { id: 'friend', withheld: { birthday: 'audience_restricted' } });
      });

      test('share_via_friends off: the member disappears from a friend\'s list, and a direct lookup is 404', async (t) => {
        const { friend, viewer, graph } = await world(t, dialect);
        assert.equal((await graph('/v1/me/friends', viewer.token)).json().data.length, 1);
        const patch = await friend.json('PATCH', '/v1/me/privacy', { share_via_friends: false }, { 'x-csrf-token': await friend.apiCsrf() });
        assert.equal(patch.statusCode, 200);
        assert.deepEqual((await graph('/v1/me/friends', viewer.token)).json(), { data: [], paging: {} });
        assertError(await graph('/v1/members/friend', viewer.token), 404, 'not_found');
      });

      test('platform off: even the member\'s own token is 403 platform_disabled, and friends no longer see them', async (t) => {
        const { friend, viewer, own, graph } = await world(t, dialect);
        assert.equal((await graph('/v1/me', own.token)).statusCode, 200);
        const patch = await friend.json('PATCH', '/v1/me/privacy', { platform_enabled: false }, { 'x-csrf-token': await friend.apiCsrf() });
        assert.equal(patch.statusCode, 200);
        assert.equal(patch.json().platform_enabled, false);
        assertError(await graph('/v1/me', own.token), 403, 'platform_disabled');
        assert.deepEqual((await graph('/v1/me/friends', viewer.token)).json().data, []);
        const on = await friend.json('PATCH', '/v1/me/privacy', { platform_enabled: true }, { 'x-csrf-token': await friend.apiCsrf() });
        assert.equal(on.statusCode, 200);
        assert.equal((await graph('/v1/me', own.token)).statusCode, 200, 'and back on');
      });

      describe('bad input is 400 in the documented shape, and nothing changes', () => {
        const cases: Array<[string, unknown, string]> = [
          ['an unknown field', { audiences: { shoe_size: 'public' } }, 'unknown_field'],
          ['friends, which is not an object field', { audiences: { friends: 'public' } }, 'unknown_field'],
          ['a wrong audience', { audiences: { email: 'everyone' } }, 'invalid_parameter'],
          ['an audience in capitals', { audiences: { email: 'Public' } }, 'invalid_parameter'],
          ['a basic field', { audiences: { name: 'only_me' } }, 'field_not_editable'],
          ['a basic field set to public', { audiences: { id: 'public' } }, 'field_not_editable'],
          ['a basic field next to a valid change', { audiences: { birthday: 'only_me', picture: 'friends' } }, 'field_not_editable'],
          ['a string for a boolean', { platform_enabled: 'false' }, 'invalid_parameter'],
          ['a number for a boolean', { share_via_friends: 0 }, 'invalid_parameter'],
          ['null for a boolean', { platform_enabled: null }, 'invalid_parameter'],
          ['a list for audiences', { audiences: ['email'] }, 'invalid_parameter'],
          ['a number for an audience', { audiences: { email: 1 } }, 'invalid_parameter'],
          ['an unknown top-level property', { platform_enabled: false, admin: true }, 'invalid_parameter'],
          ['a list for the body', [{ platform_enabled: false }], 'invalid_parameter'],
          ['a string for the body', 'platform_enabled=false', 'invalid_parameter'],
        ];
        for (const [name, body, code] of onOneDialect(dialect, cases)) {
          test(name, async (t) => {
            const { friend, store, fieldAudienceRows } = await world(t, dialect);
            const before = [await store.members.privacy('friend'), await fieldAudienceRows()];
            const response = await friend.json('PATCH', '/v1/me/privacy', body, { 'x-csrf-token': await friend.apiCsrf() });
            assertError(response, 400, code);
            assert.deepEqual([await store.members.privacy('friend'), await fieldAudienceRows()], before);
          });
        }

        test('malformed JSON', async (t) => {
          const { friend, store } = await world(t, dialect);
          const before = await store.members.privacy('friend');
          const csrf = await friend.apiCsrf();
          const response = await friend.request({
            method: 'PATCH', url: '/v1/me/privacy', payload: '{"platform_enabled": fal', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          });
          assertError(response, 400, 'invalid_request');
          assert.deepEqual(await store.members.privacy('friend'), before);
        });

        test('an oversized body is 413, the status HTTP has for it', async (t) => {
          const { friend, store } = await world(t, dialect);
          const before = await store.members.privacy('friend');
          const csrf = await friend.apiCsrf();
          const response = await friend.json('PATCH', '/v1/me/privacy', { platform_enabled: false, padding: 'x'.repeat(20_000) }, { 'x-csrf-token': csrf });
          assertError(response, 413, 'invalid_request');
          assert.deepEqual(await store.members.privacy('friend'), before);
        });
      });
    });

    describe('GET /v1/me/apps', () => {
      test.both('JSON and blob columns', 'lists the member\'s own grants with app, partner, purpose, fields, dates and status', async (t) => {
        const { friend, store, appId, agreementId, setNow } = await world(t, dialect);
        const third = await addPartner(store, 'games', { appClass: 'third_party', agreement: { purposes: ['login'] } }, NOW);
        await grantToken(store, {
          memberId: 'friend', appId: third.appId, agreementId: third.agreementId, purpose: 'login', memberFields: ['id', 'name'],
          grantedAt: addDays(NOW, -200),
        }, NOW);
        await grantToken(store, {
          memberId: 'friend', appId, agreementId, memberFields: ['id'], grantedAt: addDays(NOW, -10), revokedAt: addDays(NOW, -5),
        }, NOW);
        setNow(addDays(NOW, 1));
        const response = await friend.get('/v1/me/apps');
        assert.equal(response.statusCode, 200);
        const { data } = response.json();
        assert.equal(data.length, 3, 'the viewer\'s grant is not listed');
        assert.deepEqual(data[0], {
          grant_id: data[0].grant_id,
          app: { id: 'app_dev', name: 'dev app' },
          partner: { name: 'dev Ltd', country: 'CN' },
          purpose: 'device_experience',
          member_fields: ['id', 'name', 'email'],
          friend_fields: [],
          granted_at: '2026-06-01T00:00:00.000Z',
          last_used_at: null,
          revoked_at: null,
          status: 'active',
          ended_at: null,
          end_reason: null,
        });
        assert.deepEqual(data.map((g: { app: { id: string }; status: string }) => [g.app.id, g.status]), [
          ['app_dev', 'active'], ['app_dev', 'revoked'], ['app_games', 'expired'],
        ]);
        assert.equal(data[1].revoked_at, '2026-05-27T00:00:00.000Z');
        assert.deepEqual([data[1].ended_at, data[1].end_reason], ['2026-05-27T00:00:00.000Z', 'member_revoked']);
        // Granted 200 days before and never used: it lapsed 90 days after it was given.
        assert.deepEqual([data[2].revoked_at, data[2].ended_at, data[2].end_reason], [null, '2026-02-11T00:00:00.000Z', 'unused_90_days']);
      });

      test('shows the last use the Graph API recorded', async (t) => {
        const { friend, own, graph, setNow } = await world(t, dialect);
        setNow(addDays(NOW, 2));
        assert.equal((await graph('/v1/me', own.token)).statusCode, 200);
        const { data } = (await friend.get('/v1/me/apps')).json();
        assert.equal(data[0].last_used_at, '2026-06-03T00:00:00.000Z');
      });
    });

    describe('DELETE /v1/me/apps/:appId', () => {
      test('needs the CSRF token: refused without or with a wrong one, and the app keeps working', async (t) => {
        const { friend, own, graph, store } = await world(t, dialect);
        for (const headers of [{}, { 'x-csrf-token': 'wrong' }] as Array<Record<string, string>>) {
          assertError(await friend.json('DELETE', '/v1/me/apps/app_dev', undefined, headers), 403, 'invalid_csrf_token');
        }
        assert.equal((await store.grants.get(own.grantId))!.revokedAt, null);
        assert.equal((await graph('/v1/me', own.token)).statusCode, 200);
      });

      test.both('transactions and locking', 'revokes every grant with the app and kills its tokens at once: the next Graph request is 401 invalid_token', async (t) => {
        const { friend, own, viewer, graph, store, appId, agreementId, setNow } = await world(t, dialect);
        const second = await grantToken(store, { memberId: 'friend', appId, agreementId, memberFields: ['id'], tokenTtlMs: 30 * 86_400_000 }, NOW);
        const later = addDays(NOW, 1);
        setNow(later);
        const response = await friend.json('DELETE', '/v1/me/apps/app_dev', undefined, { 'x-csrf-token': await friend.apiCsrf() });
        assert.equal(response.statusCode, 204);
        assert.equal(response.body, '');
        for (const { grantId, token } of [own, second]) {
          assert.equal((await store.grants.get(grantId))!.revokedAt, later);
          // Rule 1 (token unrevoked) comes before rule 4 (grant unrevoked): the revoked token answers first.
          const refused = await graph('/v1/me', token);
          assertError(refused, 401, 'invalid_token');
          const [entry] = await store.audit.byRequest(refused.json().error.request_id);
          assert.equal(entry?.code, 'invalid_token', 'the refusal is audited');
        }
        // A token minted for the revoked grant afterwards (say, by a refresh) meets rule 4.
        const { token: fresh } = await store.tokens.issue(own.grantId, later, 3_600_000);
        assertError(await graph('/v1/me', fresh), 401, 'grant_expired');
        assert.equal((await graph('/v1/me', viewer.token)).statusCode, 200, 'another member\'s grant with the app is untouched');
        const { data } = (await friend.get('/v1/me/apps')).json();
        assert.ok(data.every((g: { status: string }) => g.status === 'revoked'));
      });

      test('again is harmless (204); an app the member never consented to is 404', async (t) => {
        const { friend, store } = await world(t, dialect);
        const csrf = await friend.apiCsrf();
        assert.equal((await friend.json('DELETE', '/v1/me/apps/app_dev', undefined, { 'x-csrf-token': csrf })).statusCode, 204);
        assert.equal((await friend.json('DELETE', '/v1/me/apps/app_dev', undefined, { 'x-csrf-token': csrf })).statusCode, 204);
        await addPartner(store, 'unused', {}, NOW);
        for (const appId of ['app_unused', 'app_nothing', encodeURIComponent('../privacy')]) {
          assertError(await friend.json('DELETE', `/v1/me/apps/${appId}`, undefined, { 'x-csrf-token': csrf }), 404, 'not_found');
        }
        assertError(await friend.json('DELETE', `/v1/me/apps/${'x'.repeat(101)}`, undefined, { 'x-csrf-token': csrf }), 400, 'invalid_parameter');
      });

      test('one member cannot revoke another\'s grant', async (t) => {
        const { app, viewer, graph, store } = await world(t, dialect);
        const other = new MemberBrowser(app);
        assert.equal((await other.login('other', 'other password')).statusCode, 303);
        const response = await other.json('DELETE', '/v1/me/apps/app_dev', undefined, { 'x-csrf-token': await other.apiCsrf() });
        assertError(response, 404, 'not_found');
        assert.equal((await store.grants.get(viewer.grantId))!.revokedAt, null);
        assert.equal((await graph('/v1/me', viewer.token)).statusCode, 200);
      });
    });
  });
}
