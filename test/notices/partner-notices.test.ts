import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { NOTICE_TYPES } from '../../src/domain/notice.js';
import { addDays } from '../../src/domain/time.js';
import { runDueTransitions } from '../../src/scheduler/scheduler.js';
import { ADMIN_NOW } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';

const NOW = ADMIN_NOW;
const day = (n: number) => new Date(addDays(NOW, n)).toISOString();
const TERMS_KEYS = [
  'certification_due_at', 'ends_at', 'friend_fields', 'id', 'in_effect', 'member_fields', 'not_in_effect_cause', 'purposes',
  'retention_days', 'starts_at', 'status', 'status_reason', 'storage', 'version', 'wind_down',
];

/** A partner's agreement driven through the admin API by a manager and two privacy officers. */
async function lifecycle(t: TestContext, dialect: Dialect) {
  const w = await agreementWorld(t, NOW, { dialect });
  const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
    partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'friends'],
    friend_fields: ['name'], retention_days: 30, storage: { location: 'on_device' }, starts_at: day(1), ends_at: day(366),
  });
  assert.equal(created.statusCode, 201, created.body);
  const id: string = created.json().id;
  const act = async (token: string, action: string, body?: object) => {
    const response = await w.call(token, action === 'edit' ? 'PATCH' : 'POST', `/admin/v1/agreements/${id}${action === 'edit' ? '' : `/${action}`}`, body);
    assert.equal(response.statusCode, 200, `${action}: ${response.body}`);
  };
  // In the order they were made (the three upcoming phases of one tick: in the order of the phases).
  const notices = async () => (await w.store.notices.list({ limit: 100, agreementId: id }))
    .sort((a, b) => a.createdAt - b.createdAt || String(a.payload.phase_at).localeCompare(String(b.payload.phase_at)));
  const staffIds = [w.manager.id, w.officerA.id, w.officerB.id, ...Object.values(w.staff).map((s) => s.id)];
  return { w, id, act, notices, staffIds };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`notices to partners: what is sent, on ${dialect}`, () => {
    test.both('transactions and locking', 'drafting steps are never sent; each transition the partner lives with is, without staff identities', async (t) => {
      const { w, id, act, notices, staffIds } = await lifecycle(t, dialect);
      await act(w.manager.token, 'edit', { ends_at: day(300) });
      await act(w.manager.token, 'submit');
      await act(w.officerA.token, 'approve');
      await act(w.manager.token, 'return-to-draft', { reason: 'dates' });
      await act(w.manager.token, 'submit');
      await act(w.officerA.token, 'approve');
      await act(w.officerB.token, 'approve');
      assert.deepEqual(await notices(), [], 'draft, edit, submit, approvals and a return to draft are internal');

      await act(w.manager.token, 'activate');
      // The scheduler runs on its start day: the takeover's notice, then the staff's changes, each at its own instant.
      await runDueTransitions(w.store.db, addDays(NOW, 1));
      w.setNow(addDays(NOW, 2));
      await act(w.manager.token, 'suspend', { reason: 'investigation' });
      w.setNow(addDays(NOW, 3));
      await act(w.officerA.token, 'resume');
      w.setNow(addDays(NOW, 4));
      await act(w.manager.token, 'wind-down', { no_new_grants: day(40), no_friend_data: day(50), access_ended: day(60), reason: 'partner exit' });
      await runDueTransitions(w.store.db, addDays(NOW, 33));

      const sent = await notices();
      assert.deepEqual(sent.map((n) => n.type), [
        // Activated a day ahead of its start (day 1): the partner is told again when it takes over.
        'agreement.activated', 'agreement.started', 'agreement.suspended', 'agreement.reinstated', 'agreement.wind_down_started',
        'wind_down.phase_upcoming', 'wind_down.phase_upcoming', 'wind_down.phase_upcoming',
      ]);
      for (const notice of sent) {
        assert.ok((NOTICE_TYPES as readonly string[]).includes(notice.type), notice.type);
        const text = JSON.stringify(notice.payload);
        for (const staffId of staffIds) assert.ok(!text.includes(staffId), `${notice.type} names ${staffId}: ${text}`);
        assert.doesNotMatch(text, /"st_|"actor"|"diff"|approv|author/, notice.type);
        assert.deepEqual(Object.keys(notice.payload.agreement as object).sort(), TERMS_KEYS);
      }
      const [activated, started, suspended, reinstated, windDown, upcoming] = sent.map((n) => n.payload as Record<string, any>);
      assert.deepEqual([activated!.by, activated!.from, activated!.reason, activated!.agreement.status], ['staff', 'under_review', null, 'active']);
      assert.deepEqual(activated!.agreement.member_fields, ['id', 'name', 'friends']);
      assert.equal(activated!.agreement.ends_at, day(300));
      assert.deepEqual([started!.by, started!.agreement.status, started!.agreement.starts_at], ['system', 'active', day(1)]);
      assert.deepEqual([suspended!.from, suspended!.reason, suspended!.agreement.status, suspended!.agreement.status_reason],
        ['active', 'investigation', 'suspended', 'investigation']);
      // The README's example of a request is this very notice.
      const example = JSON.parse(readFileSync('README.md', 'utf8').split('**The request.**')[1]!.split('```json\n')[1]!.split('```')[0]!);
      assert.deepEqual(JSON.parse(JSON.stringify(example).replaceAll('agr_…', id)), {
        id: 'ntc_…', type: sent[2]!.type, created_at: new Date(sent[2]!.createdAt).toISOString(), partner_id: sent[2]!.partnerId,
        agreement_id: sent[2]!.agreementId, data: suspended,
      });
      assert.deepEqual([reinstated!.from, reinstated!.agreement.status], ['suspended', 'active']);
      assert.equal(windDown!.reason, 'partner exit');
      assert.deepEqual(windDown!.agreement.wind_down, { phase: 'none', no_new_grants: day(40), no_friend_data: day(50), access_ended: day(60) });
      // 7 days before no_new_grants; 30 days before the two phases after it.
      assert.deepEqual(sent.slice(5).map((n) => [n.payload.phase, n.payload.phase_at, n.payload.days_before]),
        [['no_new_grants', day(40), 7], ['no_friend_data', day(50), 30], ['access_ended', day(60), 30]]);
      assert.deepEqual([upcoming!.by, upcoming!.reason, 'from' in upcoming!], ['system', 'wind-down phase no_new_grants begins on 2026-07-11 (in 7 days)', false]);
    });

    test('a draft that is abandoned (terminated before it was ever active) sends nothing', async (t) => {
      const { w, act, notices } = await lifecycle(t, dialect);
      await act(w.manager.token, 'submit');
      await act(w.manager.token, 'terminate', { reason: 'withdrawn' });
      assert.deepEqual(await notices(), []);
    });
  });
}
