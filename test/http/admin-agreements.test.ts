import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { addDays } from '../../src/domain/time.js';
import { ADMIN_NOW, snapshot, type AdminWorld } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';

const NOW = ADMIN_NOW;
const day = (n: number) => new Date(addDays(NOW, n)).toISOString();

const world = (t: TestContext, dialect: Dialect) => agreementWorld(t, NOW, { dialect });

const BODY = {
  partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'email', 'friends'],
  friend_fields: [] as string[], retention_days: 30, storage: { location: 'on_device' }, starts_at: day(1), ends_at: day(366),
};

async function draft(w: AdminWorld & { manager: { token: string } }, body: object = BODY) {
  const response = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', body);
  assert.equal(response.statusCode, 201, response.body);
  return response.json();
}

function code(response: { statusCode: number; json(): any }, status: number, expected: string) {
  assert.equal(response.statusCode, status, JSON.stringify(response.json()));
  assert.equal(response.json().error.code, expected);
  assert.ok(response.json().error.request_id);
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`admin agreements on ${dialect}`, () => {
    describe('POST /admin/v1/agreements (draft)', () => {
      test.both('date math', 'drafts version 1 authored by the caller, certification due 12 months after the start', async (t) => {
        const w = await world(t, dialect);
        const body = await draft(w);
        assert.match(body.id, /^agr_/);
        assert.equal(body.version, 1);
        assert.equal(body.status, 'draft');
        assert.equal(body.partner_id, 'p_acme');
        assert.deepEqual(body.app_ids, ['app_acme']);
        assert.deepEqual(body.member_fields, ['id', 'name', 'email', 'friends']);
        assert.equal(body.author_id, w.manager.id);
        assert.equal(body.certification_due_at, '2027-06-02T00:00:00.000Z');
        assert.deepEqual(body.approvals, { needed: 1, given: [], two_person_rule: false, approved_by: [] });
        assert.equal(body.in_effect, false);
        assert.equal(body.not_in_effect_cause, 'not_active');
        const history = (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${body.id}/history`)).json().data;
        assert.equal(history.length, 1);
        assert.equal(history[0].action, 'draft');
        assert.equal(history[0].actor, w.manager.id);
        assert.match(history[0].diff, /status: none → draft/);
      });

      test('the two-person rule applies to friend fields, sensitive member fields and risk-flagged partners', async (t) => {
        const w = await world(t, dialect);
        assert.equal((await draft(w, { ...BODY, friend_fields: ['name'] })).approvals.needed, 2);
        assert.equal((await draft(w, { ...BODY, member_fields: ['name', 'religion'] })).approvals.needed, 2);
        assert.equal((await draft(w)).approvals.needed, 1);
      });

      test('validation: each failure a 400 with its own code, and nothing is written', async (t) => {
        const w = await world(t, dialect);
        await w.call(w.manager.token, 'GET', '/admin/v1/agreements');
        const before = await snapshot(w.store.db);
        const cases: Array<[object, number, string]> = [
          [{ ...BODY, ends_at: day(1) }, 400, 'ends_before_start'],
          [{ ...BODY, ends_at: new Date(Date.parse(day(1)) + 732 * 86_400_000).toISOString() }, 400, 'term_too_long'],
          [{ ...BODY, purposes: ['advertising'] }, 400, 'unknown_purpose'],
          [{ ...BODY, purposes: [] }, 400, 'no_purposes'],
          [{ ...BODY, member_fields: ['name', 'shoe_size'] }, 400, 'unknown_field'],
          [{ ...BODY, friend_fields: ['birthday'], member_fields: ['name'] }, 400, 'friends_field_required'],
          [{ ...BODY, friend_fields: ['friends'] }, 400, 'friends_of_friends_forbidden'],
          [{ ...BODY, partner_id: 'p_games', app_ids: ['app_games'], friend_fields: ['birthday'] }, 400, 'friend_fields_not_allowed'],
          [{ ...BODY, app_ids: ['app_games'] }, 400, 'app_of_another_partner'],
          [{ ...BODY, app_ids: [] }, 400, 'no_apps'],
          [{ ...BODY, retention_days: 0 }, 400, 'invalid_retention_days'],
          [{ ...BODY, retention_days: 3651 }, 400, 'invalid_retention_days'],
          [{ ...BODY, storage: { location: 'partner_servers' } }, 400, 'invalid_storage'],
          [{ ...BODY, starts_at: 'tomorrow' }, 400, 'invalid_parameter'],
          [{ ...BODY, extra: true }, 400, 'invalid_parameter'],
          [{ ...BODY, partner_id: 'p_nobody' }, 404, 'not_found'],
          [{ ...BODY, app_ids: ['app_nobody'] }, 404, 'not_found'],
        ];
        for (const [body, status, expected] of cases) {
          const response = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', body);
          assert.equal(response.statusCode, status, `${expected}: ${response.body}`);
          code(response, status, expected);
        }
        assert.deepEqual(await snapshot(w.store.db), before);
      });

      test('drafting needs manage_agreements; reading needs read', async (t) => {
        const w = await world(t, dialect);
        for (const role of ['viewer', 'privacy_officer'] as const) {
          code(await w.call(w.staff[role].token, 'POST', '/admin/v1/agreements', BODY), 403, 'forbidden');
        }
        code(await w.call(null, 'GET', '/admin/v1/agreements'), 401, 'login_required');
        const created = await draft(w);
        assert.equal((await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${created.id}`)).statusCode, 200);
        code(await w.call(w.staff.viewer.token, 'GET', '/admin/v1/agreements/agr_nobody'), 404, 'not_found');
        code(await w.call(w.staff.viewer.token, 'GET', '/admin/v1/agreements/agr_nobody/history'), 404, 'not_found');
      });
    });

    describe('GET /admin/v1/agreements', () => {
      test('lists, filtered by partner and status', async (t) => {
        const w = await world(t, dialect);
        const a = await draft(w);
        const b = await draft(w, { ...BODY, partner_id: 'p_games', app_ids: ['app_games'], purposes: ['login'] });
        await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${a.id}/submit`);
        const list = async (query: string) => (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements${query}`)).json().data.map((x: any) => x.id);
        assert.deepEqual((await list('')).sort(), [a.id, b.id].sort());
        assert.deepEqual(await list('?partner_id=p_games'), [b.id]);
        assert.deepEqual(await list('?status=under_review'), [a.id]);
        assert.deepEqual(await list('?status=active'), []);
        code(await w.call(w.staff.viewer.token, 'GET', '/admin/v1/agreements?status=dormant'), 400, 'invalid_parameter');
      });
    });

    describe('PATCH /admin/v1/agreements/:id (edit a draft)', () => {
      test.both('JSON and blob columns', 'each edit is a new version with a readable diff; only drafts are edited', async (t) => {
        const w = await world(t, dialect);
        const created = await draft(w);
        const edited = await w.call(w.manager.token, 'PATCH', `/admin/v1/agreements/${created.id}`, {
          ends_at: day(500), member_fields: ['name', 'phone', 'friends'], retention_days: 60,
        });
        assert.equal(edited.statusCode, 200, edited.body);
        assert.equal(edited.json().version, 2);
        assert.deepEqual(edited.json().member_fields, ['id', 'name', 'phone', 'friends']);
        const history = (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${created.id}/history`)).json().data;
        assert.deepEqual(history.map((h: any) => [h.version, h.action]), [[1, 'draft'], [2, 'edit']]);
        assert.equal(history[1].diff, `end: ${day(366).slice(0, 10)} → ${day(500).slice(0, 10)}; member fields: +phone −email; retention days: 30 → 60`);
        code(await w.call(w.manager.token, 'PATCH', `/admin/v1/agreements/${created.id}`, { purposes: ['ads'] }), 400, 'unknown_purpose');
        code(await w.call(w.manager.token, 'PATCH', `/admin/v1/agreements/${created.id}`, {}), 400, 'invalid_parameter');
        code(await w.call(w.staff.viewer.token, 'PATCH', `/admin/v1/agreements/${created.id}`, { retention_days: 5 }), 403, 'forbidden');
        await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${created.id}/submit`);
        code(await w.call(w.manager.token, 'PATCH', `/admin/v1/agreements/${created.id}`, { retention_days: 5 }), 409, 'edit_not_allowed_when_under_review');
        code(await w.call(w.manager.token, 'PATCH', '/admin/v1/agreements/agr_nobody', { retention_days: 5 }), 404, 'not_found');
      });
    });

    describe('the lifecycle through HTTP', () => {
      test('two-person rule: two distinct privacy officers, neither the author, before activation', async (t) => {
        const w = await world(t, dialect);
        const author = await w.addStaff('author@staff.example', ['partnerships_manager', 'privacy_officer']);
        const created = (await w.call(author.token, 'POST', '/admin/v1/agreements', { ...BODY, friend_fields: ['name', 'birthday'] })).json();
        const url = (action: string) => `/admin/v1/agreements/${created.id}/${action}`;
        code(await w.call(w.officerA.token, 'POST', url('approve')), 409, 'approve_not_allowed_when_draft');
        assert.equal((await w.call(author.token, 'POST', url('submit'))).json().status, 'under_review');
        code(await w.call(author.token, 'POST', url('approve')), 409, 'author_cannot_approve');
        code(await w.call(w.manager.token, 'POST', url('approve')), 403, 'forbidden');
        const once = await w.call(w.officerA.token, 'POST', url('approve'));
        assert.deepEqual(once.json().approvals, { needed: 2, given: [w.officerA.id], two_person_rule: true, approved_by: [] });
        code(await w.call(w.manager.token, 'POST', url('activate')), 409, 'approvals_missing');
        code(await w.call(w.officerA.token, 'POST', url('approve')), 409, 'already_approved');
        assert.equal((await w.call(w.officerB.token, 'POST', url('approve'))).json().approvals.given.length, 2);
        code(await w.call(w.officerA.token, 'POST', url('activate')), 403, 'forbidden');
        const active = await w.call(w.manager.token, 'POST', url('activate'));
        assert.equal(active.statusCode, 200, active.body);
        assert.equal(active.json().status, 'active');
        assert.equal(active.json().version, 5);
        w.setNow(addDays(NOW, 1));
        assert.equal((await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${created.id}`)).json().in_effect, true);

        const history = (await w.call(w.staff.viewer.token, 'GET', url('history'))).json().data;
        assert.deepEqual(history.map((h: any) => [h.version, h.action, h.actor]), [
          [1, 'draft', author.id], [2, 'submit', author.id], [3, 'approve', w.officerA.id], [4, 'approve', w.officerB.id], [5, 'activate', w.manager.id],
        ]);
        assert.equal(history[2].diff, `approved by: ${w.officerA.id}`);
        assert.equal(history[4].diff, 'status: under_review → active');

        const audit = await w.store.db.selectFrom('audit_log').selectAll().where('agreement_id', '=', created.id).orderBy('seq').execute();
        assert.deepEqual(audit.map((e) => [e.outcome, e.action, e.actor]), history.map((h: any) => ['staff_action', `agreement.${h.action}`, h.actor]));
        // The partner hears of the activation alone: drafting, submission and approvals are internal.
        const notices = await w.store.db.selectFrom('notices').select(['type', 'partner_id']).where('agreement_id', '=', created.id).execute();
        assert.deepEqual(notices, [{ type: 'agreement.activated', partner_id: 'p_acme' }]);
      });

      test('suspend, resume, wind down, attest, and the 409s that name what is not allowed', async (t) => {
        const w = await world(t, dialect);
        const created = await draft(w);
        const url = (action: string) => `/admin/v1/agreements/${created.id}/${action}`;
        const post = (token: string, action: string, body?: object) => w.call(token, 'POST', url(action), body);
        await post(w.manager.token, 'submit');
        await post(w.officerA.token, 'approve');
        assert.equal((await post(w.manager.token, 'activate')).json().status, 'active');
        code(await post(w.manager.token, 'terminate', { reason: 'no' }), 409, 'terminate_not_allowed_when_active');
        code(await post(w.manager.token, 'suspend', {}), 400, 'invalid_parameter');
        const suspended = await post(w.manager.token, 'suspend', { reason: 'investigation' });
        assert.equal(suspended.json().status, 'suspended');
        assert.equal(suspended.json().status_reason, 'investigation');
        code(await post(w.manager.token, 'suspend', { reason: 'again' }), 409, 'suspend_not_allowed_when_suspended');
        code(await post(w.manager.token, 'resume'), 403, 'forbidden');
        assert.equal((await post(w.officerB.token, 'resume')).json().status, 'active');

        const plan = { no_new_grants: day(10), no_friend_data: day(20), access_ended: day(30) };
        code(await post(w.manager.token, 'wind-down', { ...plan, no_friend_data: day(40) }), 409, 'phases_out_of_order');
        code(await post(w.manager.token, 'wind-down', { ...plan, no_new_grants: day(0) }), 409, 'phase_in_past');
        code(await post(w.manager.token, 'wind-down', { ...plan, access_ended: day(400) }), 409, 'phase_after_end');
        const winding = await post(w.manager.token, 'wind-down', { ...plan, reason: 'partner exit' });
        assert.equal(winding.json().status, 'winding_down');
        assert.deepEqual(winding.json().wind_down, { phase: 'none', ...plan });
        const attestation = { signed_by: 'Jane Roe, DPO', statement: 'All member data received was deleted.' };
        code(await post(w.manager.token, 'deletion-attestation', attestation), 409, 'access_not_ended');
        w.setNow(addDays(NOW, 30));
        const done = await post(w.manager.token, 'deletion-attestation', attestation);
        assert.equal(done.statusCode, 200, done.body);
        assert.equal(done.json().status, 'terminated');
        assert.equal(done.json().deletion_attested_at, day(30));
        code(await post(w.officerA.token, 'resume'), 409, 'resume_not_allowed_when_terminated');
        assert.equal((await w.store.filings.ofAgreement('deletion_attestation', created.id)).length, 1);
        // Catching up before the attestation recorded the three phases as the system.
        const history = (await w.call(w.staff.viewer.token, 'GET', url('history'))).json().data;
        assert.deepEqual(history.slice(-5).map((h: any) => [h.action, h.actor]), [
          ['schedule_wind_down', w.manager.id], ['phase_reached:no_new_grants', 'system'], ['phase_reached:no_friend_data', 'system'],
          ['phase_reached:access_ended', 'system'], ['record_deletion_attestation', w.manager.id],
        ]);
      });

      test('terminate a draft; return an agreement under review to draft', async (t) => {
        const w = await world(t, dialect);
        const a = await draft(w);
        await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${a.id}/submit`);
        await w.call(w.officerA.token, 'POST', `/admin/v1/agreements/${a.id}/approve`);
        const back = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${a.id}/return-to-draft`, { reason: 'fix the dates' });
        assert.equal(back.json().status, 'draft');
        assert.deepEqual(back.json().approvals.given, []);
        const ended = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${a.id}/terminate`, { reason: 'withdrawn' });
        assert.equal(ended.json().status, 'terminated');
        assert.equal(ended.json().status_reason, 'withdrawn');
      });

      test.both('transactions and locking', 'a refused or failing action leaves nothing half-written', async (t) => {
        const w = await world(t, dialect);
        const created = await draft(w);
        const url = `/admin/v1/agreements/${created.id}`;
        const before = await snapshot(w.store.db);
        code(await w.call(w.manager.token, 'POST', `${url}/activate`), 409, 'activate_not_allowed_when_draft');
        code(await w.call(w.officerA.token, 'POST', `${url}/submit`), 403, 'forbidden');
        assert.deepEqual(await snapshot(w.store.db), before);
        // A failure after the agreement row was written (the notice outbox is gone): the whole change is rolled back.
        await w.call(w.manager.token, 'POST', `${url}/submit`);
        for (const officer of [w.officerA, w.officerB]) await w.call(officer.token, 'POST', `${url}/approve`);
        await sql`drop table notice_deliveries`.execute(w.store.db);
        await sql`drop table notices`.execute(w.store.db);
        const withoutOutbox = await snapshot(w.store.db);
        const failed = await w.call(w.manager.token, 'POST', `${url}/activate`);
        assert.equal(failed.statusCode, 500);
        assert.equal(failed.json().error.code, 'internal_error');
        assert.deepEqual(await snapshot(w.store.db), withoutOutbox);
      });
    });
  });
}
