import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, type Instant } from '../../src/domain/time.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { ADMIN_NOW } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';

/**
 * Issue 12, point 1 (PRODUCT.md §5): no single person satisfies the two-person rule. Each attack
 * of the issue, as one admin would try it over HTTP, and what the second admin's confirmation does.
 */
const NOW = ADMIN_NOW;
const iso = (instant: Instant) => new Date(instant).toISOString();
const PUPPET_PASSWORD = 'a password the admin chose';

type World = Awaited<ReturnType<typeof agreementWorld>>;

/** A risky agreement (friend fields: two approvals) for app_acme, drafted and submitted by the manager. */
async function submittedRiskyAgreement(w: World): Promise<string> {
  const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
    partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'friends'],
    friend_fields: ['name'], retention_days: 30, storage: { location: 'on_device' }, starts_at: iso(NOW), ends_at: iso(addDays(NOW, 300)),
  });
  assert.equal(created.statusCode, 201, created.body);
  const id: string = created.json().id;
  assert.equal((await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/submit`)).statusCode, 200);
  return id;
}

async function login(w: World, email: string, password: string) {
  return w.call(null, 'POST', '/admin/v1/login', { email, password });
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`separation of duties on ${dialect}`, () => {
    test('sock puppets: two privacy officers one admin made (and logs in as) cannot approve', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const id = await submittedRiskyAgreement(w);
      const puppets: string[] = [];
      for (const email of ['puppet1@staff.example', 'puppet2@staff.example']) {
        const created = await w.call(w.staff.admin.token, 'POST', '/admin/v1/staff',
          { email, name: 'Puppet', roles: ['privacy_officer'], password: PUPPET_PASSWORD });
        assert.equal(created.statusCode, 201, created.body);
        assert.deepEqual(created.json().roles, [], 'until a second admin confirms, the account has no privacy_officer');
        assert.deepEqual(created.json().pending_roles, ['privacy_officer']);
        const session = await login(w, email, PUPPET_PASSWORD);
        assert.equal(session.statusCode, 200);
        puppets.push(session.json().token);
      }
      for (const token of puppets) {
        const approval = await w.call(token, 'POST', `/admin/v1/agreements/${id}/approve`);
        assert.equal(approval.statusCode, 403, approval.body);
      }
      const activation = await w.call(w.staff.admin.token, 'POST', `/admin/v1/agreements/${id}/activate`);
      assert.equal(activation.statusCode, 409);
      assert.equal(activation.json().error.code, 'approvals_missing');
      assert.equal((await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${id}`)).json().status, 'under_review');
    });

    test('a grant confirmed by a second admin ends what the proposer knew: the old password and sessions', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const second = await w.addStaff('second-admin@staff.example', ['admin']);
      const created = (await w.call(w.staff.admin.token, 'POST', '/admin/v1/staff',
        { email: 'officer-c@staff.example', name: 'C', roles: ['viewer', 'privacy_officer'], password: PUPPET_PASSWORD })).json();
      assert.deepEqual(created.roles, ['viewer']);
      const oldSession = (await login(w, 'officer-c@staff.example', PUPPET_PASSWORD)).json().token;

      const pending = (await w.call(second.token, 'GET', '/admin/v1/role-proposals')).json().data;
      assert.deepEqual(pending.map((p: { id: string; staff_id: string; roles: string[]; proposed_by: string }) => [p.id, p.staff_id, p.roles, p.proposed_by]),
        [[created.role_proposal_id, created.id, ['privacy_officer'], w.staff.admin.id]]);
      const own = await w.call(w.staff.admin.token, 'POST', `/admin/v1/role-proposals/${created.role_proposal_id}/confirm`);
      assert.equal(own.statusCode, 409);
      assert.equal(own.json().error.code, 'proposer_cannot_confirm');

      const confirmed = await w.call(second.token, 'POST', `/admin/v1/role-proposals/${created.role_proposal_id}/confirm`);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.deepEqual(confirmed.json().staff_roles, ['viewer', 'privacy_officer']);
      assert.equal(confirmed.json().status, 'confirmed');
      assert.equal((await w.call(oldSession, 'GET', '/admin/v1/me')).statusCode, 401, 'the session opened with the old password ended');
      assert.equal((await login(w, 'officer-c@staff.example', PUPPET_PASSWORD)).statusCode, 401);
      const fresh = await login(w, 'officer-c@staff.example', confirmed.json().new_password);
      assert.deepEqual(fresh.json().staff.roles, ['viewer', 'privacy_officer']);

      const again = await w.call(second.token, 'POST', `/admin/v1/role-proposals/${created.role_proposal_id}/confirm`);
      assert.equal(again.json().error.code, 'proposal_not_pending');
      const actions = (await w.store.db.selectFrom('audit_log').select('action').where('action', 'like', 'staff.role_proposal.%').execute()).map((r) => r.action);
      assert.deepEqual(actions, ['staff.role_proposal.create', 'staff.role_proposal.confirm']);
    });

    test('a self-granted role: an admin adding privacy_officer to itself only proposes it, and an admin never approves', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const id = await submittedRiskyAgreement(w);
      const admin = w.staff.admin;
      const patched = await w.call(admin.token, 'PATCH', `/admin/v1/staff/${admin.id}`, { roles: ['admin', 'privacy_officer'] });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json().roles, ['admin']);
      assert.deepEqual(patched.json().pending_roles, ['privacy_officer']);
      assert.equal((await w.call(admin.token, 'POST', `/admin/v1/agreements/${id}/approve`)).statusCode, 403);
      const self = await w.call(admin.token, 'POST', `/admin/v1/role-proposals/${patched.json().role_proposal_id}/confirm`);
      assert.equal(self.json().error.code, 'proposer_cannot_confirm');

      // Even with a second admin's confirmation, an admin holding privacy_officer does not approve.
      const second = await w.addStaff('second-admin@staff.example', ['admin']);
      const confirmed = await w.call(second.token, 'POST', `/admin/v1/role-proposals/${patched.json().role_proposal_id}/confirm`);
      assert.equal(confirmed.statusCode, 200);
      const session = (await login(w, admin.email, confirmed.json().new_password)).json().token;
      const approval = await w.call(session, 'POST', `/admin/v1/agreements/${id}/approve`);
      assert.equal(approval.statusCode, 409);
      assert.equal(approval.json().error.code, 'admins_never_approve');
    });

    test('a demoted approver: an approval counts only while its approver holds privacy_officer at activation', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const id = await submittedRiskyAgreement(w);
      for (const officer of [w.officerA, w.officerB]) {
        assert.equal((await w.call(officer.token, 'POST', `/admin/v1/agreements/${id}/approve`)).statusCode, 200);
      }
      const demoted = await w.call(w.staff.admin.token, 'PATCH', `/admin/v1/staff/${w.officerA.id}`, { roles: ['viewer'] });
      assert.deepEqual(demoted.json().roles, ['viewer'], 'removing a role needs no second admin');
      const refused = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/activate`);
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().error.code, 'approvals_missing');
      assert.match(refused.json().error.message, /1 given \(1 more no longer counts/);

      // A third officer makes up the two.
      const officerC = await w.addStaff('officer-c@staff.example', ['privacy_officer']);
      assert.equal((await w.call(officerC.token, 'POST', `/admin/v1/agreements/${id}/approve`)).statusCode, 200);
      const activated = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/activate`);
      assert.equal(activated.statusCode, 200, activated.body);
      assert.deepEqual(activated.json().approvals, { needed: 2, given: [], two_person_rule: true, approved_by: [w.officerB.id, officerC.id] },
        'who approved stays visible after activation');
    });

    test('no API key for another admin or privacy officer: an admin would act as them', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      for (const owner of [w.officerA, await w.addStaff('second-admin@staff.example', ['admin'])]) {
        const refused = await w.call(w.staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'mine now', staff_id: owner.id });
        assert.equal(refused.statusCode, 409, refused.body);
        assert.equal(refused.json().error.code, 'guarded_account');
      }
      assert.equal((await w.call(w.staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'export', staff_id: w.staff.viewer.id })).statusCode, 201);
      assert.equal((await w.call(w.staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'own' })).statusCode, 201);
    });

    test('an account made admin by one admin cannot confirm until a second confirms it, and then not about itself', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const created = (await w.call(w.staff.admin.token, 'POST', '/admin/v1/staff',
        { email: 'deputy@staff.example', name: 'Deputy', roles: ['admin'], password: PUPPET_PASSWORD })).json();
      const deputy = (await login(w, 'deputy@staff.example', PUPPET_PASSWORD)).json().token;
      const confirm = await w.call(deputy, 'POST', `/admin/v1/role-proposals/${created.role_proposal_id}/confirm`);
      assert.equal(confirm.statusCode, 403, 'without admin it may not even look');
      const proposal = (await w.call(w.staff.admin.token, 'PATCH', `/admin/v1/staff/${w.staff.viewer.id}`, { roles: ['viewer', 'privacy_officer'] })).json();
      const rejected = await w.call(w.staff.admin.token, 'POST', `/admin/v1/role-proposals/${proposal.role_proposal_id}/reject`, {});
      assert.equal(rejected.json().status, 'cancelled', 'its proposer withdrew it');
      assert.deepEqual((await w.call(w.staff.admin.token, 'GET', `/admin/v1/staff/${w.staff.viewer.id}`)).json().pending_roles, []);
    });

    test('a risk flag raised during the review raises the bar at activation; lifting it does not lower it', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
        partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name'],
        retention_days: 30, storage: { location: 'on_device' }, starts_at: iso(NOW), ends_at: iso(addDays(NOW, 300)),
      });
      const id: string = created.json().id;
      assert.equal(created.json().approvals.needed, 1);
      await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/submit`);
      await w.call(w.officerA.token, 'POST', `/admin/v1/agreements/${id}/approve`);
      const flag = (riskFlags: string[]) => w.call(w.manager.token, 'PATCH', '/admin/v1/partners/p_acme', { risk_flags: riskFlags });
      assert.equal((await flag(['sanctions'])).statusCode, 200);
      assert.equal((await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/activate`)).json().error.code, 'approvals_missing');
      await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/return-to-draft`, { reason: 'review again' });
      await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/submit`);
      await w.call(w.officerA.token, 'POST', `/admin/v1/agreements/${id}/approve`);
      assert.equal((await flag([])).statusCode, 200);
      const refused = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/activate`);
      assert.equal(refused.json().error.code, 'approvals_missing', 'submitted under a risk flag: two approvals, even once it is lifted');
    });

    test('the two-person flag is right on the demo world\'s agreements', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      await seedDemoPartners(w.store, NOW);
      const approvals = async (id: string) => (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${id}`)).json().approvals;
      assert.deepEqual(await approvals('agr_huawei'), { needed: 2, given: [], two_person_rule: true, approved_by: [] });
      assert.equal((await approvals('agr_blackberry')).two_person_rule, true);
      assert.equal((await approvals('agr_pixelharbour')).two_person_rule, false, 'no friend fields, nothing sensitive, no risk flag');
    });
  });
}
