import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays } from '../../src/domain/time.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, onOneDialect, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, fullProfile, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/** Member `me` with friends f00..f29; every third friend lets apps see them through friends. */
async function friendsWorld(t: TestContext, dialect: Dialect, spec: Parameters<typeof addPartner>[2] = {}) {
  const built = await build(t, NOW, { dialect });
  const friends = Array.from({ length: 30 }, (_, i) => ({ id: `f${String(i).padStart(2, '0')}`, shareViaFriends: i % 3 === 0 }));
  await addMembers(built.store, [{ id: 'me' }, { id: 'fof', shareViaFriends: true }, { id: 'stranger', shareViaFriends: true }, ...friends], NOW);
  await addFriendships(built.store, [...friends.map((f) => ['me', f.id] as const), ['f00', 'fof']], NOW);
  const partner = await addPartner(built.store, 'dev', {
    agreement: { friendFields: ['name', 'birthday', 'location', 'religion'] },
    ...spec,
  }, NOW);
  const { token, grantId } = await grantToken(built.store, {
    memberId: 'me', appId: partner.appId, agreementId: partner.agreementId,
    memberFields: ['id', 'name', 'email', 'friends'], friendFields: ['name', 'birthday', 'location', 'religion'],
    tokenTtlMs: 365 * 86_400_000,
  }, NOW);
  const get = (url: string, bearer: string | null = token) =>
    built.app.inject({ method: 'GET', url, headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  return { ...built, ...partner, token, grantId, get };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`Graph API on ${dialect}`, () => {
    describe('GET /v1/me', () => {
      test('releases what agreement and grant both allow and names why the rest is withheld', async (t) => {
        const { get, store } = await friendsWorld(t, dialect);
        const response = await get('/v1/me?fields=id,name,email,phone,birthday');
        assert.equal(response.statusCode, 200);
        const body = response.json();
        assert.deepEqual(body, {
          id: 'me', name: 'Name me', email: 'me@mail.example',
          withheld: { phone: 'not_in_agreement', birthday: 'not_consented' },
        });
        const entries = await store.audit.byRequest(response.headers['x-request-id'] as string);
        assert.deepEqual(entries.map((e) => e.outcome), ['served', 'released'], 'one entry for the request, one for the subject');
        assert.deepEqual(entries[1]!.released, ['id', 'name', 'email']);
        assert.deepEqual(entries[1]!.withheld, { phone: 'not_in_agreement', birthday: 'not_consented' });
      });

      test('defaults to id and name', async (t) => {
        const { get } = await friendsWorld(t, dialect);
        assert.deepEqual((await get('/v1/me')).json(), { id: 'me', name: 'Name me', withheld: {} });
      });

      test.both('date math', 'records the use of the grant, and a grant idle for 90 days stops working', async (t) => {
        const { get, store, grantId, setNow } = await friendsWorld(t, dialect);
        assert.equal((await store.grants.get(grantId))!.lastUsedAt, null);
        setNow(addDays(NOW, 1));
        assert.equal((await get('/v1/me')).statusCode, 200);
        assert.equal((await store.grants.get(grantId))!.lastUsedAt, addDays(NOW, 1));
        setNow(addDays(NOW, 91));
        const response = await get('/v1/me');
        assert.equal(response.statusCode, 401);
        assert.equal(response.json().error.code, 'grant_expired');
      });
    });

    describe('GET /v1/me/friends', () => {
      test.both('pagination and ordering', 'pages through exactly the friends who opted in, each once, with no trace of the others', async (t) => {
        const { get, store } = await friendsWorld(t, dialect);
        const seen: string[] = [];
        let url = '/v1/me/friends?limit=3&fields=name,birthday';
        let hiddenAudited = 0;
        for (let pages = 0; ; pages++) {
          assert.ok(pages < 10, 'paging must end');
          const response = await get(url);
          assert.equal(response.statusCode, 200);
          const body = response.json();
          seen.push(...body.data.map((friend: { id: string }) => friend.id));
          const entries = await store.audit.byRequest(response.headers['x-request-id'] as string);
          assert.equal(entries.filter((e) => e.outcome === 'released').length, body.data.length);
          assert.equal(entries.length, 1 + body.data.length, 'the log grows by the request and the friends shown, nothing else');
          assert.equal(entries[0]!.passedOver?.reason, 'friend_opted_out');
          hiddenAudited += entries[0]!.passedOver!.count;
          if (body.paging.after === undefined) break;
          assert.equal(body.data.length, 3, 'a page before the last is full');
          url = `/v1/me/friends?limit=3&fields=name,birthday&after=${body.paging.after}`;
        }
        const optedIn = Array.from({ length: 10 }, (_, i) => `f${String(i * 3).padStart(2, '0')}`);
        assert.deepEqual(seen, optedIn);
        assert.equal(hiddenAudited, 20, 'every opted-out friend is counted once, in the request entry of the page that passed them');
      });

      test.both('the audit append', 'writes one entry for the request, counting the friends passed over, one per friend shown, and reads settings changed since the last request', async (t) => {
        const { get, store, appId, partnerId, agreementId } = await friendsWorld(t, dialect);
        await store.members.updatePrivacy('f03', { audiences: { birthday: 'only_me' } });
        const page = async () => {
          const response = await get('/v1/me/friends?fields=name,birthday,religion&limit=2');
          assert.equal(response.statusCode, 200);
          const requestId = response.headers['x-request-id'] as string;
          const entries = (await store.audit.byRequest(requestId)).map(({ seq: _seq, ...entry }) => entry);
          return { body: response.json(), requestId, entries };
        };
        const first = await page();
        assert.deepEqual(first.body.data.map((friend: { id: string }) => friend.id), ['f00', 'f03']);
        assert.deepEqual(first.body.data[1], { id: 'f03', name: 'Name f03', withheld: { birthday: 'audience_restricted', religion: 'audience_restricted' } });
        const entry = (
          subject: string | null, outcome: 'released' | 'served', code: string | null, released: string[], withheld: object,
          passedOver: { count: number; reason: string } | null = null,
        ) => ({
          at: NOW, requestId: first.requestId, appId, partnerId, agreementId, agreementVersion: 1, rulesVersion: RULES_VERSION,
          tokenMemberId: 'me', subjectMemberId: subject, purpose: 'device_experience', outcome, code, released, withheld,
          actor: null, action: null, detail: null, passedOver, format: 2,
        });
        // The request's entry counts the two friends passed over (f01, f02), not those only looked ahead at (f04, f05).
        assert.deepEqual(first.entries, [
          entry(null, 'served', null, [], {}, { count: 2, reason: 'friend_opted_out' }),
          entry('f00', 'released', 'through_friend', ['id', 'name', 'birthday'], { religion: 'audience_restricted' }),
          entry('f03', 'released', 'through_friend', ['id', 'name'], { birthday: 'audience_restricted', religion: 'audience_restricted' }),
        ]);
        await store.members.updatePrivacy('f03', { shareViaFriends: false });
        await store.members.updatePrivacy('f01', { shareViaFriends: true, audiences: { religion: 'friends' } });
        const second = await page();
        assert.deepEqual(second.body.data.map((friend: { id: string }) => friend.id), ['f00', 'f01']);
        assert.deepEqual(second.body.data[1].withheld, { religion: 'sensitive_field' });
        assert.deepEqual(second.entries.map((e) => [e.subjectMemberId, e.code]), [[null, null], ['f00', 'through_friend'], ['f01', 'through_friend']]);
      });

      test('withholds friend fields by audience and sensitivity, with reasons', async (t) => {
        const { get } = await friendsWorld(t, dialect);
        const body = (await get('/v1/me/friends?fields=name,birthday,religion,email&limit=1')).json();
        assert.deepEqual(body.data[0], {
          id: 'f00', name: 'Name f00', birthday: '1990-01-02',
          withheld: { religion: 'audience_restricted', email: 'not_in_agreement' },
        });
      });

      test('a friend list needs `friends` in the grant', async (t) => {
        const { store, appId, agreementId, app } = await friendsWorld(t, dialect);
        const { token } = await grantToken(store, { memberId: 'me', appId, agreementId, memberFields: ['id', 'name'] }, NOW);
        const response = await app.inject({ url: '/v1/me/friends', headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.code, 'not_consented');
        const member = await app.inject({ url: '/v1/members/f00', headers: { authorization: `Bearer ${token}` } });
        assert.equal(member.statusCode, 404, 'without the friend list, friends are strangers');
      });

      test('another member\'s friends are friends of friends: 403, audited', async (t) => {
        const { get, store } = await friendsWorld(t, dialect);
        const response = await get('/v1/members/f00/friends');
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.code, 'friends_of_friends_forbidden');
        const [entry] = await store.audit.byRequest(response.headers['x-request-id'] as string);
        assert.equal(entry?.outcome, 'denied');
        assert.equal(entry?.code, 'friends_of_friends_forbidden');
        assert.equal((await get('/v1/members/me/friends?limit=2')).json().data.length, 2, 'the own id reads the own list');
      });

      test('after no_friend_data friend fields are withheld for wind_down, after access_ended every request is 403', async (t) => {
        const windDown = { noNewGrants: addDays(NOW, -5), noFriendData: addDays(NOW, 10), accessEnded: addDays(NOW, 20) };
        const { get, setNow } = await friendsWorld(t, dialect, {
          agreement: { status: 'winding_down', windDown, friendFields: ['name', 'birthday'] },
        });
        assert.deepEqual((await get('/v1/me/friends?fields=birthday&limit=1')).json().data[0].withheld, {});
        setNow(windDown.noFriendData);
        assert.deepEqual((await get('/v1/me/friends?fields=birthday&limit=1')).json().data[0].withheld, { birthday: 'wind_down' });
        setNow(windDown.accessEnded);
        const ended = (await get('/v1/me')).json();
        assert.equal(ended.error.code, 'agreement_not_in_effect');
        assert.equal(ended.error.cause, 'access_ended');
      });
    });

    describe('GET /v1/members/:id', () => {
      test('an opted-out friend, a friend of a friend, a stranger and an absent id all get the same 404', async (t) => {
        const { get, store } = await friendsWorld(t, dialect);
        assert.equal((await get('/v1/members/f03?fields=name')).json().name, 'Name f03');
        for (const id of ['f01', 'fof', 'stranger', 'nobody']) {
          const response = await get(`/v1/members/${id}`);
          assert.equal(response.statusCode, 404, id);
          const { error } = response.json();
          assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'request_id']);
          assert.equal(error.code, 'not_found');
          assert.equal(error.message, `No member ${id} is visible to this app.`);
          const entries = await store.audit.byRequest(error.request_id);
          assert.equal(entries.length, 1, `${id} is audited`);
          assert.deepEqual(entries[0]!.released, []);
        }
      });
    });

    describe('third-party apps', () => {
      test('a field a friend left empty is not released: neither the audit entry nor their access history lists it', async (t) => {
        const built = await build(t, NOW, { dialect });
        const { birthday: _none, ...withoutBirthday } = fullProfile('f_empty');
        await addMembers(built.store, [
          { id: 'me' }, { id: 'f_empty', shareViaFriends: true, profile: withoutBirthday }, { id: 'f_full', shareViaFriends: true },
        ], NOW);
        await addFriendships(built.store, [['me', 'f_empty'], ['me', 'f_full']], NOW);
        const partner = await addPartner(built.store, 'dev', { agreement: { friendFields: ['name', 'birthday'] } }, NOW);
        const { token } = await grantToken(built.store, {
          memberId: 'me', appId: partner.appId, agreementId: partner.agreementId,
          memberFields: ['id', 'name', 'friends'], friendFields: ['name', 'birthday'],
        }, NOW);
        const response = await built.app.inject({ url: '/v1/me/friends?fields=name,birthday', headers: { authorization: `Bearer ${token}` } });
        assert.deepEqual(response.json().data, [
          { id: 'f_empty', name: 'Name f_empty', withheld: {} },
          { id: 'f_full', name: 'Name f_full', birthday: '1990-01-02', withheld: {} },
        ]);
        const entries = await built.store.audit.byRequest(response.headers['x-request-id'] as string);
        assert.deepEqual(entries.map((e) => [e.subjectMemberId, e.released]), [
          [null, []], ['f_empty', ['id', 'name']], ['f_full', ['id', 'name', 'birthday']],
        ]);
        const history = await built.store.accessHistory.page('f_empty', 10, null);
        assert.deepEqual(history.entries.map((e) => e.released), [['id', 'name']]);
      });

      test('see only friends who use the app themselves, and only their id, name and picture', async (t) => {
        const { get, store, appId, agreementId } = await friendsWorld(t, dialect, {
          appClass: 'third_party',
          agreement: { purposes: ['login'], memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: [] },
        });
        await grantToken(store, { memberId: 'f05', appId, agreementId, purpose: 'login', memberFields: ['id', 'name'] }, NOW);
        const { token } = await grantToken(store, {
          memberId: 'me', appId, agreementId, purpose: 'login', memberFields: ['id', 'name', 'picture', 'birthday', 'friends'],
        }, NOW);
        const body = (await get('/v1/me/friends?fields=name,picture,birthday', token)).json();
        assert.deepEqual(body.data, [{
          id: 'f05', name: 'Name f05', picture: 'https://pictures.example/f05.jpg', withheld: { birthday: 'third_party_friend_data' },
        }]);
        const response = await get('/v1/me/friends?fields=name', token);
        const [served] = await store.audit.byRequest(response.headers['x-request-id'] as string);
        assert.deepEqual(served!.passedOver, { count: 29, reason: 'friend_not_app_user' }, 'the other 29 are counted as not using the app, whatever their settings');
      });
    });

    describe('request-level refusals are audited', () => {
      const cases = [
        { name: 'disabled app', spec: { appStatus: 'disabled' as const }, status: 403, code: 'app_disabled' },
        { name: 'expired agreement', spec: { agreement: { endsAt: NOW } }, status: 403, code: 'agreement_not_in_effect', cause: 'expired' },
        { name: 'suspended agreement', spec: { agreement: { status: 'suspended' as const } }, status: 403, code: 'agreement_not_in_effect', cause: 'suspended' },
        { name: 'purpose outside the agreement', spec: { agreement: { purposes: ['messaging' as const] } }, status: 403, code: 'purpose_not_allowed' },
      ];
      for (const { name, spec, status, code, cause } of cases) {
        test(name, async (t) => {
          const { get, store } = await friendsWorld(t, dialect, spec);
          const response = await get('/v1/me');
          assert.equal(response.statusCode, status);
          const { error } = response.json();
          assert.equal(error.code, code);
          assert.equal(error.cause, cause);
          const entries = await store.audit.byRequest(error.request_id);
          assert.deepEqual(entries.map((e) => [e.outcome, e.code]), [['denied', code]]);
        });
      }

      test('a member who turned the platform off', async (t) => {
        const { get, store } = await friendsWorld(t, dialect);
        await store.members.setPlatformSettings('me', { platformEnabled: false });
        const response = await get('/v1/me');
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.code, 'platform_disabled');
      });

      test('a partner with no agreement is refused every request', async (t) => {
        const { store, app } = await friendsWorld(t, dialect);
        const zte = await addPartner(store, 'zte', { withoutAgreement: true }, NOW);
        const { token } = await grantToken(store, { memberId: 'me', appId: zte.appId, agreementId: null, memberFields: ['id', 'name'] }, NOW);
        const response = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.cause, 'no_agreement');
      });
    });

    describe('bad input gets its documented 4xx', () => {
      const badRequests: Array<[string, number, string]> = [
        ['/v1/me?fields=name,shoe_size', 400, 'unknown_field'],
        ['/v1/me?fields=friends', 400, 'unknown_field'],
        ['/v1/me?fields=', 400, 'unknown_field'],
        ['/v1/me/friends?limit=0', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=-1', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=1000000000', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=abc', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=2.5', 400, 'invalid_parameter'],
        // What Number() would take but a reader would not call a limit: all refused, none coerced.
        ['/v1/me/friends?limit=Infinity', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=1e400', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=0x2', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=1e1', 400, 'invalid_parameter'],
        ['/v1/me/friends?limit=%205', 400, 'invalid_parameter'],
        ['/v1/me/friends?after=not-a-cursor', 400, 'invalid_cursor'],
        ['/v1/me/friends?after=' + Buffer.from('{"o":1}').toString('base64url'), 400, 'invalid_cursor'],
        ['/v1/me/friends?after=' + Buffer.from('{"o":"f00","a":"f03"}').toString('base64url'), 400, 'invalid_cursor'],
        ['/v1/me?unexpected=1', 400, 'invalid_parameter'],
        ['/v1/members/' + 'x'.repeat(101), 400, 'invalid_parameter'],
        ['/v1/nothing-here', 404, 'not_found'],
      ];
      for (const [url, status, code] of onOneDialect(dialect, badRequests)) {
        test(`${url.slice(0, 70)} → ${status} ${code}`, async (t) => {
          const { get } = await friendsWorld(t, dialect);
          const response = await get(url);
          assert.equal(response.statusCode, status);
          const { error } = response.json();
          assert.equal(error.code, code);
          assert.equal(typeof error.message, 'string');
          assert.equal(error.request_id, response.headers['x-request-id']);
        });
      }

      test('missing and garbled tokens are 401 and, never reaching the rules, not audited', async (t) => {
        const { get, store, app } = await friendsWorld(t, dialect);
        for (const bearer of [null, 'garbage', 'dp_' + 'A'.repeat(43), '']) {
          const response = await get('/v1/me', bearer);
          assert.equal(response.statusCode, 401, String(bearer));
          assert.equal(response.json().error.code, 'invalid_token');
        }
        const basic = await app.inject({ url: '/v1/me', headers: { authorization: 'Basic abc' } });
        assert.equal(basic.statusCode, 401);
        assert.equal(await store.audit.count(), 0);
      });

      test('expired and revoked tokens are 401 and audited; a revoked grant is grant_expired', async (t) => {
        const { get: getWith, store, grantId, setNow } = await friendsWorld(t, dialect);
        const { token } = await store.tokens.issue(grantId, NOW, 3_600_000);
        const get = (url: string, bearer: string = token) => getWith(url, bearer);
        setNow(NOW + 3_600_000);
        const expired = await get('/v1/me');
        assert.equal(expired.statusCode, 401);
        assert.equal(expired.json().error.code, 'invalid_token');
        assert.equal((await store.audit.byRequest(expired.json().error.request_id)).length, 1);

        setNow(NOW + 1000);
        await store.tokens.revoke(token, NOW + 500);
        const revoked = await get('/v1/me');
        assert.equal(revoked.json().error.code, 'invalid_token');
        assert.equal((await store.audit.byRequest(revoked.json().error.request_id))[0]?.code, 'invalid_token');

        const fresh = await store.tokens.issue(grantId, NOW, 3_600_000);
        await store.grants.revoke(grantId, NOW + 600);
        const revokedGrant = await get('/v1/me', fresh.token);
        assert.equal(revokedGrant.statusCode, 401);
        assert.equal(revokedGrant.json().error.code, 'grant_expired');
      });
    });
  });
}
