/**
 * The least-privilege report and its suggested draft (issue 15 point 2): on a world whose traffic
 * is real Graph API requests, the report lists exactly what was allowed and never used in the 90
 * days before `now` (member fields directly, friend fields through friends, purposes), to the
 * millisecond at both ends of the window; an agreement too young, one whose friend data a
 * wind-down has cut, one unused and one ended are not given suggestions; the draft route makes a
 * draft without exactly those, which still needs its approvals; roles. SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Field } from '../../src/domain/field-catalog.js';
import type { Purpose } from '../../src/domain/purposes.js';
import { addDays, DAY_MS } from '../../src/domain/time.js';
import { leastPrivilegeReport, type LeastPrivilegeRow } from '../../src/reports/least-privilege.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const WINDOW_FROM = NOW - 90 * DAY_MS;
const MEMBER_FIELDS: readonly Field[] = ['id', 'name', 'email', 'birthday', 'location', 'friends'];
const FRIEND_FIELDS: readonly Field[] = ['id', 'name', 'birthday', 'work', 'religion'];

async function world(t: Parameters<typeof agreementWorld>[0], dialect: (typeof DIALECTS)[number]) {
  const w = await agreementWorld(t, NOW, { dialect });
  const old = { startsAt: addDays(NOW, -200), endsAt: addDays(NOW, 300), certificationDueAt: addDays(NOW, 100) };
  await addPartner(w.store, 'lp', {
    agreement: { ...old, purposes: ['device_experience', 'messaging'], memberFields: MEMBER_FIELDS, friendFields: FRIEND_FIELDS },
  }, NOW);
  await addPartner(w.store, 'young', { agreement: { startsAt: addDays(NOW, -30) } }, NOW);
  await addPartner(w.store, 'idle', { agreement: old }, NOW);
  await addPartner(w.store, 'ended', { agreement: { ...old, endsAt: addDays(NOW, -1) } }, NOW);
  await addPartner(w.store, 'wd', {
    agreement: {
      ...old, status: 'winding_down', memberFields: MEMBER_FIELDS, friendFields: ['name', 'birthday'],
      windDown: { noNewGrants: addDays(NOW, -20), noFriendData: addDays(NOW, -10), accessEnded: addDays(NOW, 30) },
    },
  }, NOW);
  await addMembers(w.store, [{ id: 'm_user' }, { id: 'm_friend', shareViaFriends: true }], NOW);
  await addFriendships(w.store, [['m_user', 'm_friend']], NOW);

  /** A Graph API request at `at` with a fresh grant of the app for `purpose`. */
  const read = async (key: string, at: number, url: string, purpose: Purpose = 'device_experience') => {
    w.setNow(at);
    const { token } = await grantToken(w.store, {
      memberId: 'm_user', appId: `app_${key}`, agreementId: `agr_${key}`, purpose, memberFields: MEMBER_FIELDS, friendFields: FRIEND_FIELDS,
    }, at);
    const response = await w.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as Record<string, unknown>;
  };
  // Just before the window: email. At its first millisecond: location.
  await read('lp', WINDOW_FROM - 1, '/v1/me?fields=email');
  await read('lp', WINDOW_FROM, '/v1/me?fields=location');
  // Inside: name and birthday directly; the friend with their name only (birthday never through friends).
  await read('lp', addDays(NOW, -40), '/v1/me?fields=name,birthday');
  const friends = await read('lp', addDays(NOW, -40), '/v1/me/friends?fields=name');
  assert.equal((friends.data as unknown[]).length, 1);
  // After the report's `now`: the friend's work (a report as of later sees it).
  await read('lp', NOW + 1, '/v1/me/friends?fields=work');
  // A live messaging grant, never used.
  await grantToken(w.store, { memberId: 'm_user', appId: 'app_lp', agreementId: 'agr_lp', purpose: 'messaging', memberFields: ['name'] }, addDays(NOW, -5));
  await read('wd', addDays(NOW, -40), '/v1/me?fields=name');
  w.setNow(NOW);
  return w;
}

const rowOf = (rows: readonly LeastPrivilegeRow[], id: string) => rows.find((row) => row.agreement_id === id)!;

for (const dialect of DIALECTS) describe(`least privilege on ${dialect}`, () => {
  test('the report lists exactly what was allowed and never used in the window, each way on its own, and no suggestion where there is no ground', async (t) => {
    const w = await world(t, dialect);
    const report = await leastPrivilegeReport(w.store, NOW);
    assert.equal(report.window_from, new Date(WINDOW_FROM).toISOString());
    const lp = rowOf(report.data, 'agr_lp');
    assert.equal(lp.state, 'suggestions');
    assert.deepEqual(lp.unused_purposes, ['messaging']);
    assert.deepEqual(lp.unused_member_fields, ['email'], 'location, released at the window\'s first millisecond, is used; email, 1 ms before, is not');
    assert.deepEqual(lp.unused_friend_fields, ['birthday', 'work', 'religion'], 'birthday went out directly, never through friends; work only after now');
    assert.deepEqual(lp.suggested, { purposes: ['device_experience'], member_fields: ['id', 'name', 'birthday', 'location', 'friends'], friend_fields: ['id', 'name'] });
    const populations = Object.fromEntries(lp.grant_populations.map((p) => [p.purpose, p]));
    assert.deepEqual(populations.messaging, {
      app_id: 'app_lp', purpose: 'messaging', grants: 1, member_fields: ['name'], friend_fields: [], unused_member_fields: ['name'], unused_friend_fields: [],
    });
    assert.deepEqual(populations.device_experience!.unused_member_fields, ['email']);
    assert.deepEqual(populations.device_experience!.unused_friend_fields, ['birthday', 'work', 'religion']);

    const later = rowOf((await leastPrivilegeReport(w.store, NOW + 1)).data, 'agr_lp');
    assert.deepEqual(later.unused_friend_fields, ['birthday', 'religion'], 'as of the instant of the later release, work is used');

    assert.equal(rowOf(report.data, 'agr_young').state, 'too_young');
    assert.match(rowOf(report.data, 'agr_young').note, /since 2026-05-02 \(30 days\): less than 90 days of history/);
    assert.equal(rowOf(report.data, 'agr_young').suggested, null);
    assert.equal(rowOf(report.data, 'agr_idle').state, 'unused');
    assert.equal(rowOf(report.data, 'agr_ended').state, 'access_ended');
    const wd = rowOf(report.data, 'agr_wd');
    assert.equal(wd.state, 'suggestions');
    assert.equal(wd.friend_fields_cut, true);
    assert.deepEqual(wd.unused_friend_fields, [], 'friend fields the wind-down cut are not suggestions');
    assert.deepEqual(wd.unused_member_fields, ['email', 'birthday', 'location'], 'friends stays with the friend fields it carries');
  });

  test('the draft route drafts exactly the suggestion through the normal path (approvals needed), for the roles that edit agreements', async (t) => {
    const w = await world(t, dialect);
    const viewer = await w.call(w.staff.viewer.token, 'GET', '/admin/v1/reports/least-privilege?agreement_id=agr_lp');
    assert.equal(viewer.statusCode, 200);
    assert.deepEqual(viewer.json().data.map((row: LeastPrivilegeRow) => row.agreement_id), ['agr_lp']);
    const csv = await w.call(w.staff.viewer.token, 'GET', '/admin/v1/reports/least-privilege?format=csv');
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    assert.match(csv.body, /^agr_lp,1,p_lp,lp Ltd,active,suggestions,agreement,,,,messaging,email,birthday work religion,false,/m);

    const path = '/admin/v1/agreements/agr_lp/least-privilege-draft';
    for (const role of ['viewer', 'privacy_officer'] as const) {
      assert.equal((await w.call(w.staff[role].token, 'POST', path, {})).statusCode, 403, role);
    }
    const refused = await w.call(w.manager.token, 'POST', '/admin/v1/agreements/agr_young/least-privilege-draft', {});
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'no_suggestions');
    assert.equal((await w.call(w.manager.token, 'POST', '/admin/v1/agreements/agr_none/least-privilege-draft', {})).statusCode, 404);

    const made = await w.call(w.manager.token, 'POST', path); // no body at all, as curl -X POST sends
    assert.equal(made.statusCode, 201, made.body);
    const draft = made.json();
    const original = await w.store.agreements.get('agr_lp');
    assert.equal(draft.status, 'draft');
    assert.deepEqual([draft.purposes, draft.member_fields, draft.friend_fields],
      [['device_experience'], ['id', 'name', 'birthday', 'location', 'friends'], ['id', 'name']]);
    assert.equal(draft.starts_at, new Date(original!.endsAt).toISOString(), 'a renewal: it starts when the agreement in force ends');
    assert.equal(draft.approvals.needed, 2, 'friend fields: the two-person rule holds');
    const history = (await w.call(w.manager.token, 'GET', `/admin/v1/agreements/${draft.id}/history`)).json();
    assert.match(history.data[0].reason, /^least privilege: never used in the last 90 days: purpose messaging, member field email, friend field birthday/);
    assert.equal((await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${draft.id}/submit`)).statusCode, 200);
    const early = await w.call(w.manager.token, 'POST', `/admin/v1/agreements/${draft.id}/activate`);
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().error.code, 'approvals_missing');
  });
});
