import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDays } from '../../src/domain/time.js';
import { auditReplay } from '../../src/reports/audit-replay.js';
import { SimulationRuns } from '../../src/reports/simulation-runs.js';
import { Overloaded } from '../../src/domain/errors.js';
import { prepareSimulation } from '../../src/reports/simulation.js';
import { adminWorld, ADMIN_NOW, type AdminWorld } from '../helpers/admin.js';
import { DIALECTS } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

/** Runs a simulation as a client does: the POST answers 202 at once; once the run has settled, its GET answers the result. */
async function simulated(world: AdminWorld, token: string, url: string, body: unknown) {
  const started = await world.call(token, 'POST', url, body);
  assert.equal(started.statusCode, 202, started.body);
  const run = started.json();
  assert.equal(started.headers.location, `${url}/${run.id}`);
  await world.app.simulations.settled();
  const done = await world.call(token, 'GET', `${url}/${run.id}`);
  assert.equal(done.statusCode, 200, done.body);
  return { run, result: done.json() };
}

/** A device partner whose member read themself and two friends twice, a day apart. */
async function loggedWorld(t: Parameters<typeof adminWorld>[0], dialect: (typeof DIALECTS)[number]): Promise<AdminWorld & { agreementId: string }> {
  const world = await adminWorld(t, ADMIN_NOW, { dialect });
  const { store } = world;
  const { appId, agreementId } = await addPartner(store, 'acme', { agreement: { friendFields: ['id', 'name', 'birthday'] } }, ADMIN_NOW);
  await addMembers(store, [{ id: 'm_1' }, { id: 'm_f1', shareViaFriends: true }, { id: 'm_f2', shareViaFriends: true }], ADMIN_NOW);
  await addFriendships(store, [['m_1', 'm_f1'], ['m_1', 'm_f2']], ADMIN_NOW);
  const { token } = await grantToken(store, {
    memberId: 'm_1', appId, agreementId, memberFields: ['id', 'name', 'birthday', 'friends'], friendFields: ['id', 'name', 'birthday'], grantedAt: addDays(ADMIN_NOW, -3), tokenTtlMs: 10 * 86_400_000,
  }, addDays(ADMIN_NOW, -3));
  for (const day of [-2, -1]) {
    world.setNow(addDays(ADMIN_NOW, day));
    for (const url of ['/v1/me?fields=name,birthday', '/v1/me/friends?fields=name,birthday']) {
      assert.equal((await world.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    }
  }
  world.setNow(ADMIN_NOW);
  return { ...world, agreementId };
}

for (const dialect of DIALECTS) test(`on ${dialect}: POST /admin/v1/agreements/:id/simulations replays the agreement's requests under a proposal and keeps the result`, async (t) => {
  const world = await loggedWorld(t, dialect);
  const { call, staff, agreementId, store } = world;
  const url = `/admin/v1/agreements/${agreementId}/simulations`;

  const { run, result } = await simulated(world, staff.privacy_officer.token, url, { proposal: { friend_fields: ['id', 'name'] } });
  assert.deepEqual(run, { id: result.id, agreement_id: agreementId, status: 'running', progress: { done: 0, total: 4 }, error: null });
  assert.equal(result.status, 'done');
  assert.match(result.id, /^sim_/);
  assert.deepEqual([result.requests, result.subject_decisions, result.requests_changed, result.differ_from_log_today], [4, 12, 2, 0]);
  assert.deepEqual(result.fields, [{
    field: 'birthday', released_more: 0, released_less: 4, members_more_direct: 0, members_more_through_friends: 0,
    members_less_direct: 0, members_less_through_friends: 2, reason_changed: 0,
  }]);
  assert.match(result.world_note, /today/);
  assert.equal(Date.parse(result.from), addDays(ADMIN_NOW, -90), 'the last 90 days by default');

  // Every role reads it back, the same; its run is a staff action in the log.
  const read = await call(staff.viewer.token, 'GET', `${url}/${result.id}`);
  assert.equal(read.statusCode, 200);
  assert.deepEqual(read.json(), result);
  const actions = await store.db.selectFrom('audit_leaves').select(['action', 'actor', 'detail']).where('action', '=', 'agreement.simulate').execute();
  assert.deepEqual(actions.map((a) => [a.actor, JSON.parse(a.detail!).simulation_id]), [[staff.privacy_officer.id, result.id]]);

  // The same log replayed whole, as `datapact audit replay` does: every outcome reproduced.
  const replay = await auditReplay(store, { from: 0, to: ADMIN_NOW, now: ADMIN_NOW });
  assert.deepEqual([replay.requests, replay.same, replay.differences, replay.skipped], [4, 4, { rules: 0, member_settings: 0 }, []]);

  // A purpose the member's grant does not name: every request refused, and why.
  const { result: purposes } = await simulated(world, staff.partnerships_manager.token, url, { proposal: { purposes: ['messaging'] } });
  assert.deepEqual([purposes.refused, purposes.members], [[{ code: 'purpose_not_allowed', cause: null, requests: 4 }],
    { more_direct: 0, more_through_friends: 0, less_direct: 1, less_through_friends: 2 }]);

  // A friend who turned sharing off since: the replay reads today's world, and says that this is why.
  await store.members.setPlatformSettings('m_f1', { shareViaFriends: false });
  const drifted = await auditReplay(store, { from: 0, to: ADMIN_NOW, now: ADMIN_NOW });
  assert.deepEqual([drifted.same, drifted.differences], [2, { rules: 0, member_settings: 2 }]);
  assert.deepEqual(drifted.listed.map((d) => [d.kind, d.difference]), [
    ['member_settings', 'm_f1 (friend): less id,name,birthday'], ['member_settings', 'm_f1 (friend): less id,name,birthday']]);
  const { result: drift } = await simulated(world, staff.privacy_officer.token, url, { proposal: { friend_fields: ['id', 'name'] } });
  assert.deepEqual([drift.differ_from_log_today, drift.fields[0].released_less], [2, 2], 'the proposal is measured against the logged terms replayed today');
});

test('simulations: roles, and a clear 4xx for a bad proposal', async (t) => {
  const world = await loggedWorld(t, 'sqlite');
  const { call, staff, agreementId } = world;
  const url = `/admin/v1/agreements/${agreementId}/simulations`;
  const refusal = async (token: string, body: unknown, path = url) => {
    const response = await call(token, 'POST', path, body);
    return [response.statusCode, response.json().error.code];
  };
  const officer = staff.privacy_officer.token;
  assert.deepEqual(await refusal(staff.viewer.token, { proposal: { friend_fields: ['id'] } }), [403, 'forbidden']);
  assert.deepEqual(await refusal(officer, { proposal: { friend_fields: ['id', 'shoe_size'] } }), [400, 'unknown_field']);
  assert.deepEqual(await refusal(officer, { proposal: { purposes: ['advertising'] } }), [400, 'unknown_purpose']);
  assert.deepEqual(await refusal(officer, { proposal: {} }), [400, 'empty_proposal']);
  assert.deepEqual(await refusal(officer, { proposal: { wind_down: { no_friend_data: '2026-05-01T00:00:00Z' } } }), [400, 'incomplete_wind_down']);
  assert.deepEqual(await refusal(officer, { proposal: { friend_fields: ['id'] }, from: 'not-a-date!' }), [400, 'invalid_dates']);
  assert.deepEqual(await refusal(officer, { proposal: { draft: true } }), [404, 'not_found']);
  assert.deepEqual(await refusal(officer, { proposal: { friend_fields: ['id'] } }, '/admin/v1/agreements/agr_nope/simulations'), [404, 'not_found']);
  assert.equal((await call(staff.viewer.token, 'GET', `${url}/sim_nope`)).statusCode, 404);

  // A renewal drafted for the same app: `draft: true` simulates its fields and purposes in one call.
  const renewal = await call(staff.partnerships_manager.token, 'POST', '/admin/v1/agreements', {
    partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'birthday', 'friends'],
    friend_fields: ['name'], retention_days: 30, storage: { location: 'on_device' },
    starts_at: new Date(addDays(ADMIN_NOW, 300)).toISOString(), ends_at: new Date(addDays(ADMIN_NOW, 600)).toISOString(),
  });
  assert.equal(renewal.statusCode, 201, renewal.body);
  const { result: pending } = await simulated(world, officer, url, { proposal: { draft: true } });
  assert.deepEqual([pending.draft_agreement_id, pending.proposal.friend_fields, pending.fields.map((f: { field: string; released_less: number }) => [f.field, f.released_less])],
    [renewal.json().id, ['name'], [['birthday', 4]]]);
});

test('a simulation runs apart from its request: its progress reads back while it runs, its result once stored', async (t) => {
  const { store, agreementId } = await loggedWorld(t, 'sqlite');
  // Each step of the run waits for the test: before the first batch, and after each.
  const steps: Array<() => void> = [];
  let stepped = () => {};
  const runs = new SimulationRuns(store, undefined, () => new Promise<void>((resolve) => { steps.push(resolve); stepped(); }));
  const nextStep = () => new Promise<void>((resolve) => { if (steps.length > 0) resolve(); else stepped = resolve; });

  const prepared = await prepareSimulation(store, { agreementId, proposal: { friend_fields: ['id', 'name'] }, now: ADMIN_NOW });
  const started = runs.start(prepared, 'st_test', ADMIN_NOW);
  assert.deepEqual(started, { id: prepared.id, agreement_id: agreementId, status: 'running', progress: { done: 0, total: 4 }, error: null });
  await nextStep();
  steps.shift()!();
  await nextStep();
  // One batch (all four requests) replayed; nothing stored yet.
  assert.deepEqual(await runs.get(agreementId, prepared.id), { run: { ...started, progress: { done: 4, total: 4 } } });
  assert.deepEqual(await runs.stored(agreementId, undefined, 20), []);
  assert.equal(await runs.get('agr_other', prepared.id), undefined, 'another agreement\'s path finds nothing');
  steps.shift()!();
  await runs.settled();
  const done = await runs.get(agreementId, prepared.id);
  assert.ok(done !== undefined && 'result' in done);
  assert.deepEqual([done.result.id, done.result.requests, done.result.fields.map((f) => [f.field, f.released_less])], [prepared.id, 4, [['birthday', 4]]]);
});

test('a server runs a bounded number of simulations at once: past it, 503 overloaded at once; a finished run frees its place', async (t) => {
  const { store, agreementId } = await loggedWorld(t, 'sqlite');
  // Each step of the run waits until the test lets it go.
  const held: Array<() => void> = [];
  let onHeld = () => {};
  const runs = new SimulationRuns(store, undefined, () => new Promise<void>((resolve) => { held.push(resolve); onHeld(); }), 1);
  const nextHeld = () => new Promise<void>((resolve) => { if (held.length > 0) resolve(); else onHeld = resolve; });
  const prepared = await prepareSimulation(store, { agreementId, proposal: { friend_fields: ['id', 'name'] }, now: ADMIN_NOW });
  runs.start(prepared, 'st_test', ADMIN_NOW);
  for (let attempt = 0; attempt < 2; attempt++) {
    assert.throws(() => runs.reserve(), (error: unknown) => {
      assert.ok(error instanceof Overloaded);
      assert.deepEqual([error.status, error.code, error.retryAfterSeconds], [503, 'overloaded', 10]);
      return true;
    });
  }
  const settled = runs.settled().then(() => 'settled' as const);
  while ((await Promise.race([settled, nextHeld().then(() => 'held' as const)])) === 'held') held.shift()!();
  const slot = runs.reserve();
  slot.release();
  slot.release(); // releasing twice frees one place, not two
  const again = runs.reserve();
  assert.throws(() => runs.reserve(), Overloaded);
  again.release();
});
