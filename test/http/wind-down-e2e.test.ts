import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, DAY_MS, type Instant } from '../../src/domain/time.js';
import { judgeAuthorizationRequest, loadDoorFacts, newGrantsEndedAt } from '../../src/oauth/door-rules.js';
import { runDueTransitions } from '../../src/scheduler/scheduler.js';
import { ADMIN_NOW } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { addFriendships, addMembers, grantToken } from '../helpers/fixtures.js';

/**
 * Issue 4's "Show": the wind-down end to end and a lapsed certification, with an injected clock,
 * checking the Graph API's answers (and the OAuth door) at each step. Time moves by setNow; the
 * scheduler runs as `datapact tick` would, at the same clock.
 */
const NOW = ADMIN_NOW;
const iso = (instant: Instant) => new Date(instant).toISOString();
const CLIENT_TOKEN = 'cc_' + 'partner'.repeat(6);

async function lifecycleWorld(t: Parameters<typeof agreementWorld>[0], terms: { friendFields: string[]; endsAt: Instant }) {
  const w = await agreementWorld(t, NOW);
  // me's friends: f1 lets apps see them through friends, f2 does not.
  await addMembers(w.store, [{ id: 'me' }, { id: 'f1', shareViaFriends: true }, { id: 'f2' }], NOW);
  await addFriendships(w.store, [['me', 'f1'], ['me', 'f2']], NOW);
  await w.store.clientTokens.record(CLIENT_TOKEN, 'app_acme', NOW, addDays(NOW, 1000));
  let clock = NOW;
  const setNow = (instant: Instant) => { clock = instant; w.setNow(instant); };
  const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
    partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'birthday', 'friends'],
    friend_fields: terms.friendFields, retention_days: 30, storage: { location: 'on_device' }, starts_at: iso(NOW), ends_at: iso(terms.endsAt),
  });
  assert.equal(created.statusCode, 201, created.body);
  const id: string = created.json().id;
  const act = async (token: string, action: string, body?: object) => {
    const response = await w.call(token, 'POST', `/admin/v1/agreements/${id}/${action}`, body);
    assert.equal(response.statusCode, 200, `${action}: ${response.body}`);
    return response.json();
  };
  await act(w.manager.token, 'submit');
  await act(w.officerA.token, 'approve');
  if (terms.friendFields.length > 0) await act(w.officerB.token, 'approve');
  assert.equal((await act(w.manager.token, 'activate')).status, 'active');

  const graph = (token: string, url: string) => w.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
  const member = async (token: string) => graph(token, '/v1/me?fields=id,name,birthday');
  const friends = async (token: string) => (await graph(token, '/v1/me/friends?fields=name,birthday')).json().data;
  const newToken = async () => (await grantToken(w.store, {
    memberId: 'me', appId: 'app_acme', agreementId: id, memberFields: ['id', 'name', 'birthday', 'friends'],
    friendFields: terms.friendFields as never, tokenTtlMs: 400 * DAY_MS,
  }, clock)).token;
  /** Whether the OAuth door would let the member consent now: the agreement in effect and taking new grants. */
  const consentOpen = async () => {
    const facts = (await loadDoorFacts(w.store, 'app_acme', clock))!;
    const decision = judgeAuthorizationRequest(facts, { purpose: 'device_experience', scope: 'name friends' }, clock);
    return decision.ok && newGrantsEndedAt(decision.request.agreement, clock) === null;
  };
  const tick = () => runDueTransitions(w.store.db, clock);
  const view = async () => (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${id}`)).json();
  const history = async () => (await w.call(w.staff.viewer.token, 'GET', `/admin/v1/agreements/${id}/history`)).json().data;
  const partner = (path: string, body: object) => w.app.inject({
    method: 'POST', url: `/v1/partner/${path}`, payload: body, headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
  });
  return { ...w, id, act, setNow, member, friends, newToken, consentOpen, tick, view, history, partner };
}

function refused(response: { statusCode: number; json(): any }, status: number, code: string, cause?: string) {
  assert.equal(response.statusCode, status, JSON.stringify(response.json()));
  assert.equal(response.json().error.code, code);
  if (cause !== undefined) assert.equal(response.json().error.cause, cause);
}

const PLAN = { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 30) };
const ATTESTATION = { signed_by: 'Jane Roe, DPO', statement: 'All member data received was deleted.' };

async function windingDown(t: Parameters<typeof agreementWorld>[0]) {
  const w = await lifecycleWorld(t, { friendFields: ['name', 'birthday'], endsAt: addDays(NOW, 365) });
  const token = await w.newToken();
  // Before the wind-down: consent works, the token reads the member and the friend who opted in.
  assert.equal(await w.consentOpen(), true);
  assert.equal((await w.member(token)).statusCode, 200);
  assert.deepEqual(await w.friends(token), [{ id: 'f1', name: 'Name f1', birthday: '1990-01-02', withheld: {} }]);

  const scheduled = await w.act(w.manager.token, 'wind-down', {
    no_new_grants: iso(PLAN.noNewGrants), no_friend_data: iso(PLAN.noFriendData), access_ended: iso(PLAN.accessEnded), reason: 'partner exit',
  });
  assert.equal(scheduled.status, 'winding_down');
  // The next tick announces each phase within 30 days (all three here), once.
  assert.deepEqual((await w.tick()).map((c) => c.action),
    ['phase_upcoming:no_new_grants:30d', 'phase_upcoming:no_friend_data:30d', 'phase_upcoming:access_ended:30d']);
  assert.deepEqual(await w.tick(), []);

  // Just before no_new_grants: consent still works. Announced 7 days ahead.
  w.setNow(PLAN.noNewGrants - 1);
  assert.equal(await w.consentOpen(), true);
  const upcoming = await w.tick();
  assert.deepEqual(upcoming.map((c) => c.action), ['phase_upcoming:no_new_grants:7d']);

  // no_new_grants: consent is refused, the old token keeps working with friend data.
  w.setNow(PLAN.noNewGrants);
  assert.equal(await w.consentOpen(), false);
  assert.equal((await w.member(token)).statusCode, 200);
  assert.deepEqual(await w.friends(token), [{ id: 'f1', name: 'Name f1', birthday: '1990-01-02', withheld: {} }]);
  const reached = await w.tick();
  assert.deepEqual(reached.map((c) => [c.action, c.from, c.to]), [['phase_reached:no_new_grants', 'winding_down', 'winding_down']]);
  assert.deepEqual(await w.tick(), [], 'a phase is announced once');

  // no_friend_data: friend fields are withheld with wind_down; the member's own data still flows.
  w.setNow(PLAN.noFriendData);
  assert.deepEqual(await w.friends(token), [{ id: 'f1', withheld: { name: 'wind_down', birthday: 'wind_down' } }]);
  assert.equal((await w.member(token)).json().birthday, '1990-01-02');

  // access_ended: every token gets 403, old or new; the partner sees why.
  w.setNow(PLAN.accessEnded);
  refused(await w.member(token), 403, 'agreement_not_in_effect', 'access_ended');
  refused(await w.member(await w.newToken()), 403, 'agreement_not_in_effect', 'access_ended');
  assert.equal(await w.consentOpen(), false);
  const ended = await w.tick();
  assert.deepEqual(ended.map((c) => c.action), ['phase_reached:no_friend_data', 'phase_reached:access_ended']);
  return { ...w, token };
}

describe('wind-down end to end', () => {
  test('phases act at their instants; the partner\'s deletion attestation terminates', async (t) => {
    const w = await windingDown(t);
    const filed = await w.partner('deletion-attestations', ATTESTATION);
    assert.equal(filed.statusCode, 201, filed.body);
    const view = await w.view();
    assert.equal(view.status, 'terminated');
    assert.equal(view.status_reason, 'deletion_attested');
    assert.equal(view.deletion_attested_at, iso(PLAN.accessEnded));
    refused(await w.member(w.token), 403, 'agreement_not_in_effect', 'terminated');
    const last = (await w.history()).at(-1);
    assert.deepEqual([last.action, last.actor, last.reason], ['attest_deletion', 'partner:p_acme', 'deletion attested by Jane Roe, DPO']);
    w.setNow(addDays(PLAN.accessEnded, 45));
    assert.deepEqual(await w.tick(), [], 'a terminated agreement is never flagged');

    // Every transition went to the partner's outbox, each phase once.
    const notices = await w.store.db.selectFrom('notices').select('type').where('agreement_id', '=', w.id).execute();
    const count = (type: string) => notices.filter((n) => n.type === type).length;
    assert.equal(count('wind_down.phase_started'), 3);
    assert.equal(count('wind_down.phase_upcoming'), 4);
    assert.equal(count('agreement.wind_down_started'), 1);
    assert.equal(count('agreement.terminated'), 1);
  });

  test('no attestation within 30 days after access_ended flags deletion_unconfirmed, once', async (t) => {
    const w = await windingDown(t);
    w.setNow(addDays(PLAN.accessEnded, 30) - 1);
    assert.deepEqual(await w.tick(), []);
    w.setNow(addDays(PLAN.accessEnded, 30));
    const flagged = await w.tick();
    assert.deepEqual(flagged.map((c) => [c.action, c.to]), [['flag_deletion_unconfirmed', 'winding_down']]);
    assert.match(flagged[0]!.reason, /no deletion attestation within 30 days after access ended on/);
    assert.deepEqual(await w.tick(), []);
    const view = await w.view();
    assert.equal(view.deletion_unconfirmed, true);
    assert.equal(view.status, 'winding_down');
    const last = (await w.history()).at(-1);
    assert.deepEqual([last.action, last.actor, last.diff], ['flag_deletion_unconfirmed', 'system', 'flagged: deletion_unconfirmed']);
    refused(await w.member(w.token), 403, 'agreement_not_in_effect', 'access_ended');
    // A late attestation still terminates, and clears the flag.
    assert.equal((await w.partner('deletion-attestations', ATTESTATION)).statusCode, 201);
    assert.deepEqual([(await w.view()).status, (await w.view()).deletion_unconfirmed], ['terminated', false]);
  });
});

describe('certification', () => {
  test('overdue by 60 days suspends; certifying and a privacy officer\'s resume bring access back', async (t) => {
    const w = await lifecycleWorld(t, { friendFields: [], endsAt: addDays(NOW, 700) });
    const due = Date.parse((await w.view()).certification_due_at);
    assert.equal(due, Date.parse('2027-06-01T00:00:00Z'));
    const lapse = addDays(due, 60);

    w.setNow(lapse - DAY_MS);
    const token = await w.newToken();
    assert.equal((await w.member(token)).statusCode, 200);
    assert.deepEqual(await w.tick(), []);

    // The rules act at the instant; the scheduler records it.
    w.setNow(lapse);
    refused(await w.member(token), 403, 'agreement_not_in_effect', 'certification_overdue');
    const lapsed = await w.tick();
    assert.deepEqual(lapsed.map((c) => [c.action, c.from, c.to]), [['lapse_certification', 'active', 'suspended']]);
    assert.deepEqual(await w.tick(), [], 'applied once');
    const suspended = await w.view();
    assert.deepEqual([suspended.status, suspended.status_reason], ['suspended', 'certification_overdue']);
    const lapseEntry = (await w.history()).at(-1);
    assert.deepEqual([lapseEntry.actor, lapseEntry.action], ['system', 'lapse_certification']);
    assert.match(lapseEntry.reason, /certification was due 2027-06-01; 60 days overdue/);

    // Resuming before the partner certifies is refused, and says why.
    const early = await w.call(w.officerA.token, 'POST', `/admin/v1/agreements/${w.id}/resume`);
    refused(early, 409, 'certification_overdue');

    // The partner certifies: a year more, but still suspended until a privacy officer resumes.
    w.setNow(lapse + DAY_MS);
    const certified = await w.partner('certifications', { signed_by: 'Jane Roe, DPO', statement: 'We comply.' });
    assert.equal(certified.statusCode, 201, certified.body);
    const afterCertify = await w.view();
    assert.equal(afterCertify.status, 'suspended');
    assert.equal(afterCertify.certification_due_at, iso(addDays(lapse + DAY_MS, 365)));
    refused(await w.member(token), 403, 'agreement_not_in_effect', 'suspended');
    refused(await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${w.id}/resume`), 403, 'forbidden');

    const resumed = await w.act(w.officerB.token, 'resume');
    assert.equal(resumed.status, 'active');
    assert.equal(resumed.in_effect, true);
    const me = await w.member(token);
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().birthday, '1990-01-02');
    const actions = (await w.history()).slice(-3).map((h: any) => [h.action, h.actor]);
    assert.deepEqual(actions, [['lapse_certification', 'system'], ['certify', 'partner:p_acme'], ['resume', w.officerB.id]]);
  });
});
