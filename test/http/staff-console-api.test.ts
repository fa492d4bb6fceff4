import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addDays } from '../../src/domain/time.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { ADMIN_NOW as NOW, STAFF_PASSWORD, adminWorld } from '../helpers/admin.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';
import { addPartner, addMembers } from '../helpers/fixtures.js';
import { setCookies } from '../helpers/member-browser.js';

/** What the staff console needs of the server: the cookie session and its CSRF token, the editor's rules, the home. */

const DRAFT = {
  app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name'], friend_fields: [] as string[],
  retention_days: 30, storage: { location: 'on_device' },
  starts_at: new Date(addDays(NOW, 1)).toISOString(), ends_at: new Date(addDays(NOW, 300)).toISOString(),
};

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`the staff console's session on ${dialect}`, () => {
    async function signedIn(t: Parameters<typeof adminWorld>[0]) {
      const w = await adminWorld(t, NOW, { dialect });
      const answer = await w.app.inject({ method: 'POST', url: '/admin/v1/session', payload: { email: 'admin@staff.example', password: STAFF_PASSWORD } });
      assert.equal(answer.statusCode, 200, answer.body);
      const cookie = setCookies(answer).find((c) => c.name === 'datapact_staff')!;
      return { w, answer, cookie, jar: `datapact_staff=${cookie.value}`, csrf: answer.json().csrf_token as string };
    }

    test('POST /session puts the session in an HttpOnly, SameSite=Strict cookie for /admin/v1 only, never in the body', async (t) => {
      const { answer, cookie } = await signedIn(t);
      assert.equal(cookie.attributes.get('httponly'), true);
      assert.equal(cookie.attributes.get('samesite'), 'Strict');
      assert.equal(cookie.attributes.get('path'), '/admin/v1');
      assert.equal(cookie.attributes.get('max-age'), String(12 * 3600));
      assert.equal(answer.json().token, undefined);
      assert.ok(!answer.body.includes(cookie.value), 'the session token is not in the body');
    });

    test('a change through the cookie needs the session\'s CSRF token; reads and bearer requests do not', async (t) => {
      const { w, jar, csrf } = await signedIn(t);
      const me = await w.app.inject({ method: 'GET', url: '/admin/v1/me', headers: { cookie: jar } });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().csrf_token, csrf, 'a reloaded console gets the token back from /me');
      const body = { legal_name: 'Acme', country: 'DE', kind: 'device_maker', storage: { location: 'on_device' } };
      const without = await w.app.inject({ method: 'POST', url: '/admin/v1/partners', headers: { cookie: jar }, payload: body });
      assert.equal(without.statusCode, 403);
      assert.equal(without.json().error.code, 'invalid_csrf_token');
      const other = await signedIn(t);
      const foreign = await w.app.inject({ method: 'POST', url: '/admin/v1/partners', headers: { cookie: jar, 'x-csrf-token': other.csrf }, payload: body });
      assert.equal(foreign.json().error.code, 'invalid_csrf_token', "another session's token is worth nothing");
      const right = await w.app.inject({ method: 'POST', url: '/admin/v1/partners', headers: { cookie: jar, 'x-csrf-token': csrf }, payload: body });
      assert.equal(right.statusCode, 201, right.body);
      const bearer = await w.call(w.staff.admin.token, 'POST', '/admin/v1/partners', { ...body, legal_name: 'Acme Two' });
      assert.equal(bearer.statusCode, 201, 'scripts with a bearer token are unchanged');
      const bearerMe = await w.call(w.staff.admin.token, 'GET', '/admin/v1/me');
      assert.equal(bearerMe.json().csrf_token, undefined);
    });

    test('an API key is no cookie session, and sign-out kills the cookie', async (t) => {
      const { w, jar, csrf } = await signedIn(t);
      const { secret } = await w.store.staff.issue(w.staff.viewer.id, 'api_key', { label: 'k', expiresAt: null }, NOW);
      const asCookie = await w.app.inject({ method: 'GET', url: '/admin/v1/me', headers: { cookie: `datapact_staff=${secret}` } });
      assert.equal(asCookie.statusCode, 401);
      const out = await w.app.inject({ method: 'POST', url: '/admin/v1/logout', headers: { cookie: jar, 'x-csrf-token': csrf } });
      assert.equal(out.statusCode, 204);
      const cleared = setCookies(out).find((c) => c.name === 'datapact_staff');
      assert.equal(cleared?.value, '');
      const after = await w.app.inject({ method: 'GET', url: '/admin/v1/me', headers: { cookie: jar } });
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().error.code, 'invalid_token');
    });
  });

  describe(`the draft editor's rules on ${dialect}`, () => {
    test('POST /agreements/check answers with the domain\'s rule, writes nothing, and any role may ask', async (t) => {
      const w = await adminWorld(t, NOW, { dialect });
      await addPartner(w.store, 'acme', { withoutAgreement: true }, NOW);
      await addPartner(w.store, 'games', { withoutAgreement: true, appClass: 'third_party' }, NOW);
      const check = async (body: object) => {
        const answer = await w.call(w.staff.viewer.token, 'POST', '/admin/v1/agreements/check', { partner_id: 'p_acme', ...DRAFT, ...body });
        assert.equal(answer.statusCode, 200, answer.body);
        return answer.json();
      };
      assert.deepEqual(await check({}), {
        problem: null, approvals_needed: 1, two_person_reasons: [], sensitive_member_fields: [], friend_fields: [], partner_risk_flags: [],
      });
      const sensitive = await check({ member_fields: ['name', 'religion'] });
      assert.equal(sensitive.approvals_needed, 2);
      assert.deepEqual(sensitive.two_person_reasons, ['sensitive_member_fields']);
      assert.deepEqual(sensitive.sensitive_member_fields, ['religion']);
      const friends = await check({ friend_fields: ['birthday'] });
      assert.equal(friends.problem.code, 'friends_field_required');
      assert.deepEqual(friends.two_person_reasons, ['friend_fields']);
      const thirdParty = await w.call(w.staff.viewer.token, 'POST', '/admin/v1/agreements/check',
        { partner_id: 'p_games', ...DRAFT, app_ids: ['app_games'], member_fields: ['name', 'friends'], friend_fields: ['name'] });
      assert.equal(thirdParty.json().problem.code, 'friend_fields_not_allowed');
      const flagged = await w.call(w.staff.admin.token, 'PATCH', '/admin/v1/partners/p_acme', { risk_flags: ['sanctions'] });
      assert.equal(flagged.statusCode, 200, flagged.body);
      const risky = await check({});
      assert.deepEqual([risky.approvals_needed, risky.two_person_reasons, risky.partner_risk_flags], [2, ['partner_risk_flags'], ['sanctions']]);
      assert.equal((await w.store.agreements.ofApps(['app_acme', 'app_games'])).length, 0, 'nothing was drafted');
      const catalog = await w.call(w.staff.viewer.token, 'GET', '/admin/v1/catalog');
      assert.deepEqual(catalog.json().fields.find((f: { name: string }) => f.name === 'religion'), { name: 'religion', class: 'sensitive' });
    });

    test('an approval may carry a comment, kept in the history; the history names each actor', async (t) => {
      const w = await adminWorld(t, NOW, { dialect });
      await addPartner(w.store, 'acme', { withoutAgreement: true }, NOW);
      const drafted = await w.call(w.staff.partnerships_manager.token, 'POST', '/admin/v1/agreements', { partner_id: 'p_acme', ...DRAFT });
      const id = drafted.json().id as string;
      await w.call(w.staff.partnerships_manager.token, 'POST', `/admin/v1/agreements/${id}/submit`);
      const approved = await w.call(w.staff.privacy_officer.token, 'POST', `/admin/v1/agreements/${id}/approve`, { comment: '  Fine by me.  ' });
      assert.equal(approved.statusCode, 200, approved.body);
      const history = (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${id}/history`)).json().data;
      assert.deepEqual(history.map((h: { action: string; reason: string | null; actor_name: string | null }) => [h.action, h.reason, h.actor_name]), [
        ['draft', null, 'Staff partnerships_manager@staff.example'],
        ['submit', null, 'Staff partnerships_manager@staff.example'],
        ['approve', 'Fine by me.', 'Staff privacy_officer@staff.example'],
      ]);
    });
  });

  describe(`the console's home on ${dialect}`, () => {
    test.both('date math', 'GET /attention lists approvals waiting, certifications due or overdue, wind-down phases coming', async (t) => {
      const w = await adminWorld(t, NOW, { dialect });
      await seedDemoPartners(w.store, NOW);
      await addPartner(w.store, 'acme', { withoutAgreement: true }, NOW);
      const drafted = await w.call(w.staff.partnerships_manager.token, 'POST', '/admin/v1/agreements',
        { partner_id: 'p_acme', ...DRAFT, member_fields: ['name', 'religion'] });
      await w.call(w.staff.partnerships_manager.token, 'POST', `/admin/v1/agreements/${drafted.json().id}/submit`);
      const answer = await w.call(w.staff.viewer.token, 'GET', '/admin/v1/attention');
      assert.equal(answer.statusCode, 200, answer.body);
      const home = answer.json();
      assert.deepEqual(home.approvals_waiting.map((a: { agreement_id: string; approvals_needed: number; approvals_given: number }) =>
        [a.agreement_id, a.approvals_needed, a.approvals_given]), [[drafted.json().id, 2, 0]]);
      const tcl = home.certifications_due.find((c: { agreement_id: string }) => c.agreement_id === 'agr_tcl');
      assert.equal(tcl?.overdue, true, "the demo's TCL agreement is past its certification date");
      assert.ok(home.wind_down_phases.some((p: { agreement_id: string }) => p.agreement_id === 'agr_huawei'), "Huawei's next phase is within 30 days");
      for (const p of home.wind_down_phases) assert.ok(Date.parse(p.at) >= NOW && Date.parse(p.at) <= addDays(NOW, 30));
      assert.deepEqual(home.deletion_unconfirmed, []);
      assert.deepEqual(home.abandoned_notices, []);
      assert.equal(home.witnesses, null, 'no witness is configured');
      assert.deepEqual(home.member_deletions_unconfirmed, []);
    });

    test.both('pagination and ordering', 'GET /attention lists members\' deletion requests unconfirmed past 30 days, oldest first', async (t) => {
      const w = await adminWorld(t, NOW, { dialect });
      await seedDemoPartners(w.store, NOW);
      await addMembers(w.store, [{ id: 'm_1' }, { id: 'm_2' }], NOW);
      const request = (id: string, memberId: string, days: number, confirmed = false) => w.store.deletionRequests.insert({
        id, memberId, partnerId: 'p_huawei', requestedAt: addDays(NOW, -days), confirmedAt: confirmed ? addDays(NOW, -1) : null,
      });
      await request('del_recent', 'm_1', 29);
      await request('del_old', 'm_1', 45);
      await request('del_older', 'm_2', 60);
      await request('del_confirmed', 'm_2', 50, true);
      const home = (await w.call(w.staff.viewer.token, 'GET', '/admin/v1/attention')).json();
      assert.deepEqual(home.member_deletions_unconfirmed.map((r: { id: string; confirm_by: string }) => [r.id, r.confirm_by]), [
        ['del_older', new Date(addDays(NOW, -30)).toISOString()],
        ['del_old', new Date(addDays(NOW, -15)).toISOString()],
      ]);
    });
  });
}

describe('the console\'s files', () => {
  test('the page is served under a strict CSP: no inline script, style elements only with this answer\'s nonce', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'datapact-console-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<meta name="csp-nonce" content="__CSP_NONCE__"><script type="module" src="/console/assets/app-1a2b.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log(1)');
    const { app } = await build(t, NOW, { consoleDir: dir });
    const first = await app.inject({ method: 'GET', url: '/console' });
    const second = await app.inject({ method: 'GET', url: '/console/agreements/agr_1' });
    for (const page of [first, second]) {
      assert.equal(page.statusCode, 200);
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce && page.body.includes(`content="${nonce}"`), 'the page carries the nonce its CSP names');
      assert.equal(page.headers['x-frame-options'], 'DENY');
    }
    assert.notEqual(first.headers['content-security-policy'], second.headers['content-security-policy'], 'a new nonce per answer');
    const asset = await app.inject({ method: 'GET', url: '/console/assets/app-1a2b.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await app.inject({ method: 'GET', url: '/console/assets/missing.js' })).statusCode, 404);
  });

  test('without a build, /console says how to make one', async (t) => {
    const { app } = await build(t, NOW, { consoleDir: join(tmpdir(), 'datapact-console-never-built') });
    const answer = await app.inject({ method: 'GET', url: '/console' });
    assert.equal(answer.statusCode, 503);
    assert.match(answer.body, /npm run build/);
  });
});
