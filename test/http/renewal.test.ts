import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, type Instant } from '../../src/domain/time.js';
import { judgeAuthorizationRequest, loadDoorFacts } from '../../src/oauth/door-rules.js';
import { runDueTransitions } from '../../src/scheduler/scheduler.js';
import { ADMIN_NOW } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';

/**
 * Issue 12, point 2 (PRODUCT.md §5): a renewal activated ahead of its start leaves the agreement
 * in force governing the consent door, the partner endpoints and certifications until its start,
 * and takes over then, with a notice; overlapping terms for one app are refused.
 */
const NOW = ADMIN_NOW;
const iso = (instant: Instant) => new Date(instant).toISOString();
const CLIENT_TOKEN = 'cc_' + 'renewal'.repeat(6);
const END = addDays(NOW, 100);

type World = Awaited<ReturnType<typeof agreementWorld>>;

/** Drafts, approves (one officer: nothing risky) and activates an agreement for app_acme; returns the activation's answer. */
async function activated(w: World, startsAt: Instant, endsAt: Instant) {
  const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
    partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'birthday'],
    retention_days: 30, storage: { location: 'on_device' }, starts_at: iso(startsAt), ends_at: iso(endsAt),
  });
  assert.equal(created.statusCode, 201, created.body);
  const id: string = created.json().id;
  assert.equal((await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/submit`)).statusCode, 200);
  assert.equal((await w.call(w.officerA.token, 'POST', `/admin/v1/agreements/${id}/approve`)).statusCode, 200);
  return { id, response: await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${id}/activate`) };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`renewal on ${dialect}`, () => {
    test('the agreement in force governs until the renewal starts; then the renewal takes over, with its notice', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      await w.store.clientTokens.record(CLIENT_TOKEN, 'app_acme', NOW, addDays(NOW, 1000));
      const partner = (method: 'GET' | 'POST', path: string, payload?: object) => w.app.inject({
        method, url: `/v1/partner/${path}`, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
      });
      const door = async (now: Instant) => {
        const facts = (await loadDoorFacts(w.store, 'app_acme', now))!;
        const decision = judgeAuthorizationRequest(facts, { purpose: 'device_experience', scope: 'name' }, now);
        return decision.ok ? decision.request.agreement.id : decision.refusal;
      };

      const current = await activated(w, NOW, END);
      assert.equal(current.response.statusCode, 200);
      const renewal = await activated(w, END, addDays(END, 365));
      assert.equal(renewal.response.statusCode, 200, renewal.response.body);
      assert.equal(renewal.response.json().status, 'active');
      assert.equal(renewal.response.json().not_in_effect_cause, 'not_started');

      // Before its start, the agreement in force is still the one everything uses.
      assert.equal(await door(NOW), current.id, 'the consent door');
      assert.equal((await partner('GET', 'agreement')).json().id, current.id, 'GET /v1/partner/agreement');
      const certification = await partner('POST', 'certifications', { signed_by: 'Jane Roe', statement: 'We comply.' });
      assert.equal(certification.statusCode, 201, certification.body);
      assert.equal(certification.json().agreement_id, current.id, 'a certification lands on the agreement in force');
      const listed = (await partner('GET', 'agreements')).json().data;
      assert.deepEqual(listed.map((a: { id: string; in_force: boolean }) => [a.id, a.in_force]), [[current.id, true], [renewal.id, false]]);

      // At its start, the renewal takes over: the door, the partner endpoints, and one notice.
      w.setNow(END);
      assert.equal(await door(END), renewal.id);
      const now = (await partner('GET', 'agreement')).json();
      assert.equal(now.id, renewal.id);
      assert.equal(now.in_effect, true);
      const applied = await runDueTransitions(w.store.db, END);
      assert.deepEqual(applied.filter((c) => c.agreementId === renewal.id).map((c) => c.action), ['started']);
      assert.equal(applied.find((c) => c.agreementId === current.id)?.action, 'expire');
      assert.deepEqual((await runDueTransitions(w.store.db, addDays(END, 1))).filter((c) => c.agreementId === renewal.id), [], 'announced once');
      const notices = await w.store.db.selectFrom('notices').select(['type', 'agreement_id']).where('type', '=', 'agreement.started').execute();
      assert.deepEqual(notices, [{ type: 'agreement.started', agreement_id: renewal.id }]);
    });

    test.both('date math', 'a term that overlaps another agreement in effect for the same app is refused at activation', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      const current = await activated(w, NOW, END);
      const overlapping = await activated(w, addDays(NOW, 50), addDays(NOW, 200));
      assert.equal(overlapping.response.statusCode, 409, overlapping.response.body);
      assert.equal(overlapping.response.json().error.code, 'agreement_overlap');
      assert.match(overlapping.response.json().error.message, new RegExp(current.id));
      // Once the current one's access has ended early (a wind-down), a term from then on is fine.
      const windDown = { no_new_grants: iso(addDays(NOW, 10)), no_friend_data: iso(addDays(NOW, 20)), access_ended: iso(addDays(NOW, 50)) };
      assert.equal((await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${current.id}/wind-down`, windDown)).statusCode, 200);
      const retry = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${overlapping.id}/activate`);
      assert.equal(retry.statusCode, 200, retry.body);
    });

    test('after its deletion attestation a partner still reads its ended agreement and its own filings', async (t) => {
      const w = await agreementWorld(t, NOW, { dialect });
      await w.store.clientTokens.record(CLIENT_TOKEN, 'app_acme', NOW, addDays(NOW, 1000));
      const partner = (method: 'GET' | 'POST', path: string, payload?: object) => w.app.inject({
        method, url: `/v1/partner/${path}`, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
      });
      const { id } = await activated(w, NOW, END);
      w.setNow(END);
      const attested = await partner('POST', 'deletion-attestations', { signed_by: 'Jane Roe, DPO', statement: 'Deleted.' });
      assert.equal(attested.statusCode, 201, attested.body);
      const agreement = await partner('GET', 'agreement');
      assert.equal(agreement.statusCode, 200, agreement.body);
      assert.equal(agreement.json().id, id);
      assert.equal(agreement.json().status, 'terminated');
      const filings = (await partner('GET', 'filings')).json().data;
      assert.deepEqual(filings.map((f: { id: string; kind: string; agreement_id: string }) => [f.id, f.kind, f.agreement_id]),
        [[attested.json().id, 'deletion_attestation', id]]);
      assert.deepEqual((await partner('GET', 'agreements')).json().data.map((a: { id: string }) => a.id), [id]);
    });
  });
}
