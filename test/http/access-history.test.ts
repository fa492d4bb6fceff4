/**
 * A member's access history (PRODUCT.md §6, issue 5): GET /v1/me/access-history and the page
 * /privacy/history, over audit entries the real Graph API wrote.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays } from '../../src/domain/time.js';
import { createPublicKey } from 'node:crypto';
import { tokenMemberCommitment } from '../../src/audit/blinding.js';
import { decodeBlindedLeaf } from '../../src/audit/canonical-entry-v2.js';
import { leafHash } from '../../src/audit/merkle-hash.js';
import { verifyInclusion } from '../../src/audit/merkle-verify.js';
import { treeHeadFromJson, verifyTreeHead } from '../../src/audit/tree-head.js';
import { build, type BuildOptions } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser } from '../helpers/member-browser.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const MINUTE = 60_000;

/**
 * `alice` (sharing via friends) uses the device partner's app herself; her friend `bobfriend`
 * uses it too, with the friend list; `carol` uses it and is nobody's friend.
 */
async function world(t: TestContext, dialect: Dialect, options: BuildOptions = {}) {
  const built = await build(t, NOW, { ...options, dialect });
  const { store, app, setNow } = built;
  await addMembers(store, [{ id: 'alice', shareViaFriends: true }, { id: 'bobfriend' }, { id: 'carol' }], NOW);
  await addFriendships(store, [['alice', 'bobfriend']], NOW);
  for (const id of ['alice', 'bobfriend', 'carol']) await store.credentials.setPassword(id, `${id} password`, NOW);
  const partner = await addPartner(store, 'dev', {
    agreement: { memberFields: ['id', 'name', 'email', 'friends'], friendFields: ['name', 'birthday'] },
  }, NOW);
  const ttl = 30 * 86_400_000;
  const grant = (memberId: string, memberFields: Parameters<typeof grantToken>[1]['memberFields'], friendFields: Parameters<typeof grantToken>[1]['friendFields'] = []) =>
    grantToken(store, { memberId, appId: partner.appId, agreementId: partner.agreementId, memberFields, friendFields, tokenTtlMs: ttl }, NOW);
  const tokens = {
    alice: (await grant('alice', ['id', 'name', 'email'])).token,
    bobfriend: (await grant('bobfriend', ['id', 'name', 'friends'], ['name', 'birthday'])).token,
    carol: (await grant('carol', ['id', 'name'])).token,
  };
  const graph = async (url: string, member: keyof typeof tokens) => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${tokens[member]}` } });
    assert.equal(response.statusCode, 200, response.body);
    return response;
  };
  const login = async (memberId: string) => {
    const browser = new MemberBrowser(app);
    assert.equal((await browser.login(memberId, `${memberId} password`)).statusCode, 303);
    return browser;
  };
  /** Alice's own token reads her (direct), then Bob's reads his friends (Alice through a friend). */
  const readAlice = async () => {
    setNow(NOW + MINUTE);
    await graph('/v1/me?fields=id,name,email', 'alice');
    setNow(NOW + 2 * MINUTE);
    await graph('/v1/me/friends?fields=name,birthday', 'bobfriend');
  };
  return { ...built, ...partner, tokens, graph, login, readAlice };
}

function entry(subject: string, outcome: AuditEntry['outcome'], at: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at, requestId: `req-${outcome}-${at}`, appId: 'app_dev', partnerId: 'p_dev', agreementId: 'agr_dev', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'bobfriend', subjectMemberId: subject, purpose: 'device_experience', outcome,
    code: null, released: [], withheld: {}, ...extra,
  };
}

function assertError(response: { statusCode: number; body: string; json(): any }, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.json().error.code, code);
  assert.equal(typeof response.json().error.message, 'string');
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`access history on ${dialect}`, () => {
    describe('GET /v1/me/access-history', () => {
      test.both('pagination and ordering', 'shows the direct release and the one through a friend, newest first, without naming the friend', async (t) => {
        const { readAlice, login } = await world(t, dialect);
        await readAlice();
        const alice = await login('alice');
        const response = await alice.get('/v1/me/access-history');
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.headers['cache-control'], 'no-store');
        const body = response.json();
        const common = {
          app: { id: 'app_dev', name: 'dev app' },
          partner: { id: 'p_dev', legal_name: 'dev Ltd', country: 'CN' },
          agreement: { id: 'agr_dev', version: 1 },
          purpose: 'device_experience',
        };
        assert.deepEqual(body, {
          data: [
            { at: new Date(NOW + 2 * MINUTE).toISOString(), ...common, fields: ['id', 'name', 'birthday'], via: 'friend' },
            { at: new Date(NOW + MINUTE).toISOString(), ...common, fields: ['id', 'name', 'email'], via: 'direct' },
          ],
          paging: {},
        });
        assert.ok(!response.body.includes('bobfriend'), 'the friend is named nowhere in the body');
      });

      test('another member\'s releases, and withheld, denied and staff entries, never appear', async (t) => {
        const { readAlice, login, graph, store } = await world(t, dialect);
        await readAlice();
        await graph('/v1/me', 'carol');
        await graph('/v1/me', 'bobfriend');
        await store.audit.append([
          entry('alice', 'withheld', NOW + 3 * MINUTE, { code: 'friend_opted_out' }),
          entry('alice', 'denied', NOW + 4 * MINUTE, { code: 'not_consented' }),
          entry('alice', 'staff_action', NOW + 5 * MINUTE, { actor: 'staff_1', action: 'member.look' }),
          entry('carol', 'released', NOW + 6 * MINUTE, { released: ['name'] }),
        ]);
        const body = (await (await login('alice')).get('/v1/me/access-history')).json();
        assert.deepEqual(body.data.map((e: any) => [e.at, e.via]), [
          [new Date(NOW + 2 * MINUTE).toISOString(), 'friend'],
          [new Date(NOW + MINUTE).toISOString(), 'direct'],
        ]);
        const carol = (await (await login('carol')).get('/v1/me/access-history')).json();
        assert.equal(carol.data.length, 2, 'carol sees only her own two releases');
        assert.ok(carol.data.every((e: any) => e.via === 'direct' || e.fields[0] === 'name'));
        assert.ok(!JSON.stringify(carol).includes('alice'));
      });

      test.both('pagination and ordering', 'limit 1 walks every entry exactly once, in the order of the full list', async (t) => {
        const { readAlice, login, graph, setNow } = await world(t, dialect);
        await readAlice();
        for (let i = 3; i < 6; i++) {
          setNow(NOW + i * MINUTE);
          await graph(i % 2 === 0 ? '/v1/me/friends?fields=name' : '/v1/me', i % 2 === 0 ? 'bobfriend' : 'alice');
        }
        const alice = await login('alice');
        const full = (await alice.get('/v1/me/access-history?limit=100')).json();
        assert.equal(full.data.length, 5);
        assert.deepEqual(full.paging, {});
        const walked: unknown[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const response = await alice.get(`/v1/me/access-history?limit=1${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`);
          assert.equal(response.statusCode, 200, response.body);
          const page = response.json();
          assert.equal(page.data.length, 1);
          walked.push(page.data[0]);
          after = page.paging.after;
          if (after === undefined) break;
        }
        assert.deepEqual(walked, full.data);
      });

      test('a cursor given to another member, or a malformed one, is 400 invalid_cursor; limit out of range is 400', async (t) => {
        const { readAlice, login, graph } = await world(t, dialect);
        await readAlice();
        await graph('/v1/me', 'bobfriend');
        await graph('/v1/me', 'bobfriend');
        const bob = await login('bobfriend');
        const bobsCursor = (await bob.get('/v1/me/access-history?limit=1')).json().paging.after;
        assert.equal(typeof bobsCursor, 'string');
        const alice = await login('alice');
        assertError(await alice.get(`/v1/me/access-history?after=${encodeURIComponent(bobsCursor)}`), 400, 'invalid_cursor');
        for (const bad of ['garbage', Buffer.from('{"o":"alice","a":"1"}').toString('base64url'), Buffer.from('[]').toString('base64url')]) {
          assertError(await alice.get(`/v1/me/access-history?after=${bad}`), 400, 'invalid_cursor');
        }
        assert.equal((await alice.get('/v1/me/access-history?limit=0')).statusCode, 400);
        assert.equal((await alice.get('/v1/me/access-history?limit=101')).statusCode, 400);
      });

      test.both('JSON and blob columns', 'proof=true: every entry proven against the latest signed head, with the blinded bytes its leaf hash covers, a friend entry naming no friend', async (t) => {
        const { app, readAlice, login } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await readAlice();
        const alice = await login('alice');
        const response = await alice.get('/v1/me/access-history?proof=true');
        assert.equal(response.statusCode, 200, response.body);
        const body = response.json();
        const publicKey = createPublicKey((await app.inject({ url: '/v1/audit/public-key' })).body);
        const { key_id: keyId, ...signed } = body.tree_head;
        assert.match(keyId, /^[0-9a-f]{64}$/);
        const head = treeHeadFromJson(signed);
        assert.ok(verifyTreeHead(head, publicKey), 'the head is signed by the published key');
        assert.equal(head.size, 4, "alice's read and bob's friend list: an entry for each request and one for each subject");
        const [friend, direct] = body.data;
        for (const item of body.data) {
          const { leaf_index, leaf_hash, audit_path } = item.proof;
          const path = audit_path.map((h: string) => Buffer.from(h, 'base64'));
          assert.ok(verifyInclusion(Buffer.from(leaf_hash, 'base64'), leaf_index, head.size, path, head.root), `entry ${leaf_index} is in the log`);
        }
        for (const item of [direct, friend]) {
          const bytes = Buffer.from(item.proof.canonical_entry, 'base64');
          assert.deepEqual(leafHash(bytes), Buffer.from(item.proof.leaf_hash, 'base64'), 'the shown bytes are the leaf');
          const decoded = decodeBlindedLeaf(bytes);
          assert.equal(decoded.subjectMemberId, 'alice');
          assert.deepEqual(decoded.released, item.fields);
          assert.match(decoded.blind, /^[A-Za-z0-9_-]{22}$/, 'the entry carries its blinding');
          assert.ok(!bytes.toString().includes('bobfriend'), "the friend's id is not in the bytes");
        }
        assert.equal(decodeBlindedLeaf(Buffer.from(direct.proof.canonical_entry, 'base64')).tokenMember,
          tokenMemberCommitment(decodeBlindedLeaf(Buffer.from(direct.proof.canonical_entry, 'base64')).blind, 'alice'),
          'the token member is a commitment the member can check against their own id');
        assert.ok(!response.body.includes('bobfriend'), 'the friend is named nowhere in the body');
        const plain = await alice.get('/v1/me/access-history?proof=false');
        assert.equal(plain.statusCode, 200);
        assert.deepEqual(Object.keys(plain.json()), ['data', 'paging']);
        assert.equal(plain.json().data[0].proof, undefined);
      });

      test('proof=true: an entry newer than the latest signed head has proof null', async (t) => {
        const { readAlice, login } = await world(t, dialect, { audit: { headIntervalMs: 3_600_000 } });
        await readAlice();
        const alice = await login('alice');
        const body = (await alice.get('/v1/me/access-history?proof=true')).json();
        assert.equal(body.tree_head.tree_size, 2, 'only the first batch (a request and its subject) was signed');
        assert.equal(body.data[0].via, 'friend');
        assert.equal(body.data[0].proof, null);
        assert.equal(body.data[1].proof.leaf_index, 1);
      });

      test('without a session it is 401 login_required, a partner token included', async (t) => {
        const { app, tokens, readAlice } = await world(t, dialect);
        await readAlice();
        for (const headers of [{}, { authorization: `Bearer ${tokens.alice}` }, { cookie: 'datapact_session=abc.def' }]) {
          assertError(await app.inject({ url: '/v1/me/access-history', headers }), 401, 'login_required');
          assertError(await app.inject({ url: '/v1/me/access-history?proof=true', headers }), 401, 'login_required');
        }
      });
    });

    describe('the page /privacy/history', () => {
      test('shows each release, escapes an app name, names no friend, and is linked in the navigation', async (t) => {
        const { readAlice, login, store } = await world(t, dialect);
        await store.db.updateTable('apps').set({ name: '<script>alert(1)</script> & co' }).where('id', '=', 'app_dev').execute();
        await readAlice();
        const alice = await login('alice');
        const response = await alice.get('/privacy/history');
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type']), /text\/html/);
        const body = response.body;
        assert.ok(!body.includes('<script>'), 'the app name is escaped');
        assert.equal(body.split('&lt;script&gt;alert(1)&lt;/script&gt; &amp; co').length - 1, 3, 'one escaped app name per row, and in the filter');
        assert.match(body, /<td data-label="How">Through a friend<\/td>/);
        assert.match(body, /<td data-label="How">Directly<\/td>/);
        assert.match(body, /dev Ltd \(CN\)/);
        assert.match(body, /<td data-label="Purpose">to show your social network inside the device’s own apps<\/td>/, 'the purpose in the consent page\'s words');
        assert.match(body, /<a href="\/privacy\/history" aria-current="page">Access history<\/a>/);
        assert.match(body, /<th scope="col">When<\/th>/);
        assert.ok(!body.includes('bobfriend'));
        assert.ok(!body.includes('More (older entries)'));
        const settings = await alice.get('/privacy');
        assert.match(settings.body, /<a href="\/privacy\/history">Access history<\/a>/);
      });

      test('pages 25 at a time with a "more" link', async (t) => {
        const { login, store } = await world(t, dialect);
        await store.audit.append(Array.from({ length: 30 }, (_, i) =>
          entry('alice', 'released', NOW + i * MINUTE, { tokenMemberId: 'alice', released: ['name'], requestId: `r${i}` })));
        const alice = await login('alice');
        const first = (await alice.get('/privacy/history')).body;
        assert.equal(first.match(/<td data-label="How">Directly<\/td>/g)?.length, 25);
        const link = /<a href="(\/privacy\/history\?after=[^"]+)">More \(older entries\)<\/a>/.exec(first);
        assert.ok(link, 'a more link');
        const second = (await alice.get(link[1]!.replaceAll('&amp;', '&'))).body;
        assert.equal(second.match(/<td data-label="How">Directly<\/td>/g)?.length, 5);
        assert.ok(!second.includes('More (older entries)'));
        assert.match(second, /Back to the newest entries/);
      });

      test('without a session it redirects to the login page; a foreign cursor is an error page', async (t) => {
        const { app, login } = await world(t, dialect);
        const anonymous = await app.inject({ url: '/privacy/history' });
        assert.equal(anonymous.statusCode, 303);
        assert.equal(anonymous.headers.location, '/privacy/login');
        const alice = await login('alice');
        const bad = await alice.get('/privacy/history?after=garbage', { accept: 'text/html' });
        assert.equal(bad.statusCode, 400);
        assert.match(bad.body, /invalid_cursor/);
      });
    });
    describe('GET /v1/me/export', () => {
      /** 230 direct releases appended, then Alice's read and Bob's friend list: one head (interval 0) covers all 232. */
      async function longHistory(t: TestContext) {
        const w = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await w.store.audit.append(Array.from({ length: 230 }, (_, i) =>
          entry('alice', 'released', NOW - (230 - i) * MINUTE, { tokenMemberId: 'alice', released: ['name'], requestId: `old${i}` })));
        await w.readAlice();
        return { ...w, alice: await w.login('alice') };
      }

      test.both('pagination and ordering', 'JSON: settings, grants and the whole history, newest first, every entry proven against the one head it names', async (t) => {
        const { app, alice } = await longHistory(t);
        const response = await alice.get('/v1/me/export');
        assert.equal(response.statusCode, 200, response.body);
        assert.match(String(response.headers['content-type']), /^application\/json/);
        assert.match(String(response.headers['content-disposition']), /^attachment; filename="datapact-export-.*\.json"$/);
        const body = response.json();
        assert.deepEqual(Object.keys(body), ['member_id', 'generated_at', 'settings', 'grants', 'tree_head', 'access_history']);
        assert.equal(body.member_id, 'alice');
        assert.equal(body.settings.share_via_friends, true);
        assert.deepEqual(body.grants.map((g: any) => [g.app.id, g.member_fields]), [['app_dev', ['id', 'name', 'email']]]);
        const publicKey = createPublicKey((await app.inject({ url: '/v1/audit/public-key' })).body);
        const { key_id: _keyId, ...signed } = body.tree_head;
        const head = treeHeadFromJson(signed);
        assert.ok(verifyTreeHead(head, publicKey));
        assert.equal(body.access_history.length, 232, 'every entry, across the export\'s pages of 100');
        const times = body.access_history.map((item: any) => Date.parse(item.at));
        assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
        for (const item of body.access_history) {
          const { leaf_index, leaf_hash, audit_path } = item.proof;
          const path = audit_path.map((h: string) => Buffer.from(h, 'base64'));
          assert.ok(verifyInclusion(Buffer.from(leaf_hash, 'base64'), leaf_index, head.size, path, head.root), `entry ${leaf_index} is in the log`);
        }
        assert.equal(body.access_history[0].via, 'friend');
        assert.ok(!response.body.includes('bobfriend'), 'the friend is named nowhere');
        // The same entries as the paged API gives.
        const api = (await alice.get('/v1/me/access-history?limit=100')).json();
        assert.deepEqual(body.access_history.slice(0, 100).map(({ proof: _p, ...item }: any) => item), api.data);
      });

      test('CSV: the access history with its proofs, the grants and the settings, one table each', async (t) => {
        const { alice, store } = await longHistory(t);
        const response = await alice.get('/v1/me/export?format=csv');
        assert.equal(response.statusCode, 200, response.body);
        assert.match(String(response.headers['content-type']), /^text\/csv/);
        assert.match(String(response.headers['content-disposition']), /filename="datapact-export-access_history-/);
        const rows = parse(response.body, { columns: true }) as Record<string, string>[];
        assert.equal(rows.length, 232);
        assert.equal(response.body.split('\n').filter((line) => line.startsWith('at,app_id,')).length, 1, 'one header line');
        const head = (await store.audit.latestHead())!;
        for (const row of [rows[0]!, rows[150]!]) {
          assert.equal(Number(row.tree_size), head.size);
          const path = row.audit_path!.split(' ').map((h) => Buffer.from(h, 'base64'));
          assert.ok(verifyInclusion(Buffer.from(row.leaf_hash!, 'base64'), Number(row.leaf_index), head.size, path, head.root));
        }
        const grants = parse((await alice.get('/v1/me/export?format=csv&part=grants')).body, { columns: true }) as Record<string, string>[];
        assert.deepEqual(grants.map((g) => [g.app_id, g.member_fields, g.status]), [['app_dev', 'id name email', 'active']]);
        const settings = parse((await alice.get('/v1/me/export?format=csv&part=settings')).body, { columns: true }) as Record<string, string>[];
        // The privacy center's history page links every part of the export.
        const page = (await alice.get('/privacy/history')).body;
        for (const href of ['/v1/me/export', '/v1/me/export?format=csv', '/v1/me/export?format=csv&amp;part=grants', '/v1/me/export?format=csv&amp;part=settings']) {
          assert.ok(page.includes(`href="${href}"`), href);
        }
        assert.deepEqual(settings.slice(0, 2), [{ setting: 'platform_enabled', value: 'true' }, { setting: 'share_via_friends', value: 'true' }]);
      });

      test('only with the member\'s session: 401 without one, a partner token included; a part that is not one is 400', async (t) => {
        const { app, tokens, login } = await world(t, dialect);
        assertError(await app.inject({ url: '/v1/me/export' }), 401, 'login_required');
        assertError(await app.inject({ url: '/v1/me/export', headers: { authorization: `Bearer ${tokens.alice}` } }), 401, 'login_required');
        const alice = await login('alice');
        assert.equal((await alice.get('/v1/me/export?format=csv&part=friends')).statusCode, 400);
      });
    });
  });
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`access history filters and download on ${dialect}`, () => {
    test.both('date math', 'filter by app and period (page and JSON), the page\'s links keep the filter, the download carries what the filter shows', async (t) => {
      const w = await world(t, dialect);
      const other = await addPartner(w.store, 'other', { agreement: { memberFields: ['id', 'name'] } }, NOW);
      const { token } = await grantToken(w.store, { memberId: 'alice', appId: other.appId, agreementId: other.agreementId, memberFields: ['id', 'name'], tokenTtlMs: 30 * 86_400_000 }, NOW);
      await w.readAlice();
      w.setNow(addDays(NOW, 2));
      assert.equal((await w.app.inject({ url: '/v1/me?fields=name', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      const alice = await w.login('alice');
      const apps = async (query: string) => (await alice.json('GET', `/v1/me/access-history${query}`)).json().data.map((e: { app: { id: string } }) => e.app.id);
      assert.deepEqual(await apps(''), ['app_other', 'app_dev', 'app_dev']);
      assert.deepEqual(await apps('?app_id=app_dev'), ['app_dev', 'app_dev']);
      assert.deepEqual(await apps('?until=2026-06-01'), ['app_dev', 'app_dev'], 'a date includes its whole day');
      assert.deepEqual(await apps('?since=2026-06-02'), ['app_other']);
      assert.equal((await alice.json('GET', '/v1/me/access-history?since=yesterday')).json().error.code, 'invalid_parameter');

      const page = (await alice.get('/privacy/history?app_id=app_other&since=2026-06-02')).body;
      assert.match(page, /<label for="app_id">App<\/label>/);
      assert.match(page, /<option value="app_other" selected>other app<\/option>/);
      assert.match(page, /<input id="since" name="since" type="date" value="2026-06-02">/);
      assert.match(page, /href="\/privacy\/history\/download\?app_id=app_other&amp;since=2026-06-02" download>Download \(JSON\)<\/a>/);
      assert.equal([...page.matchAll(/<tr[^>]*><td data-label="When"><time/g)].length, 1);
      assert.match(page, /<table class="stack">/, 'on a narrow phone each row stacks into a card (test/web/member-pages.test.ts measures it)');

      const download = await alice.get('/privacy/history/download?app_id=app_dev');
      assert.equal(download.statusCode, 200);
      assert.match(String(download.headers['content-disposition']), /attachment; filename="access-history.json"/);
      assert.deepEqual(download.json().data.map((e: { via: string }) => e.via), ['friend', 'direct']);
      assert.equal((await new MemberBrowser(w.app).get('/privacy/history/download')).statusCode, 303, 'members only');
    });
  });
}
