/**
 * Staff audit queries (issue 5): GET /admin/v1/audit/entries and /admin/v1/audit/daily-counts, over
 * entries appended at chosen instants and one the real Graph API wrote.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { STAFF_ROLES } from '../../src/domain/staff.js';
import type { Db } from '../../src/store/database.js';
import { auditQueryIndexes } from '../../src/store/migrations/0010-audit-query-indexes.js';
import { ADMIN_NOW, adminWorld } from '../helpers/admin.js';
import { DIALECTS, dialectTest, testDatabase, type Dialect } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const ENTRIES_URL = '/admin/v1/audit/entries';
const COUNTS_URL = '/admin/v1/audit/daily-counts';

type Outcome = AuditEntry['outcome'];
interface Spec {
  readonly at: string;
  readonly partner: string;
  readonly app: string | null;
  readonly agreement: string;
  readonly outcome: Outcome;
}

const A = { partner: 'p_alpha', app: 'app_alpha_tv', agreement: 'agr_alpha' };
const A2 = { partner: 'p_alpha', app: 'app_alpha_phone', agreement: 'agr_alpha' };
const B = { partner: 'p_beta', app: 'app_beta', agreement: 'agr_beta' };
const C = { partner: 'p_gamma', app: 'app_gamma', agreement: 'agr_gamma' };
const STAFF_ON_A = { partner: 'p_alpha', app: null, agreement: 'agr_alpha' };

/** Appended in this order, so seq follows the list; the edges of days and windows are on purpose. */
const SPECS: readonly Spec[] = ([
  ['2026-05-09T23:59:59.999Z', A, 'released'],
  ['2026-05-10T00:00:00.000Z', A, 'released'],
  ['2026-05-10T08:00:00.000Z', A, 'withheld'],
  ['2026-05-10T09:30:00.000Z', B, 'released'],
  ['2026-05-10T12:00:00.000Z', A2, 'denied'],
  ['2026-05-10T23:59:59.999Z', STAFF_ON_A, 'staff_action'],
  ['2026-05-11T00:00:00.000Z', C, 'released'],
  ['2026-05-11T06:00:00.000Z', A2, 'released'],
  ['2026-05-11T06:00:00.000Z', A2, 'withheld'],
  ['2026-05-11T18:00:00.000Z', B, 'denied'],
  ['2026-05-12T00:00:00.000Z', B, 'released'],
  ['2026-05-12T10:00:00.000Z', A, 'released'],
  ['2026-05-20T15:00:00.000Z', C, 'withheld'],
  ['2026-05-20T15:00:00.001Z', STAFF_ON_A, 'staff_action'],
  ['2026-05-31T23:00:00.000Z', A, 'released'],
] as const).map(([at, who, outcome]) => ({ at, ...who, outcome }));

function entryOf(spec: Spec, i: number): AuditEntry {
  const at = Date.parse(spec.at);
  const staff = spec.outcome === 'staff_action';
  return {
    at, requestId: `req_${i}`, appId: spec.app, partnerId: spec.partner, agreementId: spec.agreement, agreementVersion: staff ? 2 : 1,
    rulesVersion: RULES_VERSION, tokenMemberId: staff ? null : 'm_token', subjectMemberId: staff ? null : `m_${i}`,
    purpose: staff ? null : 'device_experience', outcome: spec.outcome,
    code: staff ? 'agreement.suspend' : spec.outcome === 'withheld' ? 'audience_restricted' : spec.outcome === 'denied' ? 'not_consented' : null,
    released: spec.outcome === 'released' ? ['id', 'name'] : [],
    withheld: spec.outcome === 'withheld' ? { birthday: 'audience_restricted' } : {},
    ...(staff ? { actor: 'st_someone', action: 'agreement.suspend', detail: { reason: 'late certification' } } : {}),
  };
}

interface Query { partner_id?: string; app_id?: string; agreement_id?: string; from?: string; to?: string; outcome?: Outcome }

/** The oracle: which request ids a query should find, newest (last appended) first. */
function expected(q: Query): string[] {
  return SPECS
    .map((spec, i) => ({ spec, id: `req_${i}` }))
    .filter(({ spec }) => (q.partner_id === undefined || spec.partner === q.partner_id)
      && (q.app_id === undefined || spec.app === q.app_id)
      && (q.agreement_id === undefined || spec.agreement === q.agreement_id)
      && (q.from === undefined || Date.parse(spec.at) >= Date.parse(q.from))
      && (q.to === undefined || Date.parse(spec.at) < Date.parse(q.to))
      && (q.outcome === undefined || spec.outcome === q.outcome))
    .map(({ id }) => id)
    .reverse();
}

const qs = (query: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();

async function world(t: TestContext, dialect: Dialect) {
  const w = await adminWorld(t, ADMIN_NOW, { dialect });
  const before = await w.store.audit.count();
  await w.store.audit.append(SPECS.map(entryOf));
  const get = async (url: string, query: Record<string, string | number | undefined> = {}, bearer: string | null = w.staff.viewer.token) =>
    w.call(bearer, 'GET', Object.keys(query).length === 0 ? url : `${url}?${qs(query)}`);
  /** Every page of a query, following `paging.after`. */
  const walk = async (query: Record<string, string | number | undefined>) => {
    const pages: Array<Array<Record<string, any>>> = [];
    let after: string | undefined;
    do {
      const response = await get(ENTRIES_URL, { ...query, after });
      assert.equal(response.statusCode, 200, response.body);
      pages.push(response.json().data);
      after = response.json().paging.after;
    } while (after !== undefined && pages.length < 100);
    return pages;
  };
  return { ...w, before, get, walk };
}

function assertError(response: { statusCode: number; body: string; json(): any }, status: number, code: string, message?: RegExp) {
  assert.equal(response.statusCode, status, response.body);
  const { error } = response.json();
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'request_id']);
  assert.equal(error.code, code, response.body);
  if (message) assert.match(error.message, message);
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`admin audit API on ${dialect}`, () => {
    describe('GET /admin/v1/audit/entries', () => {
      test.both('JSON and blob columns', 'every field of an entry, whitelisted, with leaf_index = seq - 1; newest first', async (t) => {
        const { get, before } = await world(t, dialect);
        const response = await get(ENTRIES_URL, { partner_id: 'p_alpha', outcome: 'staff_action' });
        assert.equal(response.statusCode, 200, response.body);
        const { data, paging } = response.json();
        assert.deepEqual(paging, {});
        assert.deepEqual(data.map((e: { request_id: string }) => e.request_id), ['req_13', 'req_5']);
        assert.deepEqual(data[0], {
          seq: before + 14, leaf_index: before + 13, at: '2026-05-20T15:00:00.001Z', request_id: 'req_13',
          app_id: null, partner_id: 'p_alpha', agreement_id: 'agr_alpha', agreement_version: 2, rules_version: RULES_VERSION,
          purpose: null, outcome: 'staff_action', code: 'agreement.suspend', token_member_id: null, subject_member_id: null,
          released: [], withheld: {}, actor: 'st_someone', action: 'agreement.suspend', detail: { reason: 'late certification' },
          passed_over: null,
        });
        const withheld = (await get(ENTRIES_URL, { app_id: 'app_alpha_phone', outcome: 'withheld' })).json().data;
        assert.equal(withheld.length, 1);
        assert.deepEqual(
          { ...withheld[0], seq: 0, leaf_index: 0 },
          { seq: 0, leaf_index: 0, at: '2026-05-11T06:00:00.000Z', request_id: 'req_8', app_id: 'app_alpha_phone', partner_id: 'p_alpha',
            agreement_id: 'agr_alpha', agreement_version: 1, rules_version: RULES_VERSION, purpose: 'device_experience', outcome: 'withheld',
            code: 'audience_restricted', token_member_id: 'm_token', subject_member_id: 'm_8', released: [],
            withheld: { birthday: 'audience_restricted' }, actor: null, action: null, detail: null, passed_over: null },
        );
      });

      test('filters by partner, app, agreement and outcome, alone and together', async (t) => {
        const { get } = await world(t, dialect);
        const queries: Query[] = [
          { partner_id: 'p_alpha' }, { partner_id: 'p_beta' }, { app_id: 'app_alpha_phone' }, { app_id: 'app_gamma' },
          { agreement_id: 'agr_alpha' }, { agreement_id: 'agr_beta', outcome: 'denied' }, { outcome: 'released', partner_id: 'p_alpha' },
          { partner_id: 'p_alpha', app_id: 'app_beta' }, { outcome: 'withheld' },
        ];
        for (const query of queries) {
          const response = await get(ENTRIES_URL, { ...query, limit: 500 });
          assert.equal(response.statusCode, 200, response.body);
          const ids = response.json().data.map((e: { request_id: string }) => e.request_id);
          assert.deepEqual(ids, expected(query), JSON.stringify(query));
        }
        assert.equal(expected({ partner_id: 'p_alpha' }).length, 10, 'the oracle itself');
      });

      test.both('pagination and ordering', 'by member (as the subject or the token\'s member) and by request id, each entry once, paged newest first', async (t) => {
        const { get, walk, store } = await world(t, dialect);
        const base = entryOf({ ...B, at: '2026-05-25T00:00:00.000Z', outcome: 'released' }, 0);
        const own = { ...base, requestId: 'req_own', tokenMemberId: 'm_x' };
        // One request with m_x's token about m_x and two friends, then a friend's request about m_x, then someone else's.
        await store.audit.append([{ ...own, subjectMemberId: 'm_x' }, { ...own, subjectMemberId: 'm_f1' }, { ...own, subjectMemberId: 'm_f2' }]);
        await store.audit.append([{ ...base, requestId: 'req_friend', tokenMemberId: 'm_f1', subjectMemberId: 'm_x' }]);
        await store.audit.append([{ ...base, requestId: 'req_other', tokenMemberId: 'm_f2', subjectMemberId: 'm_f2' }]);
        const subjects = (data: Array<Record<string, unknown>>) => data.map((e) => `${String(e.request_id)}/${String(e.subject_member_id)}`);
        const mx = ['req_friend/m_x', 'req_own/m_f2', 'req_own/m_f1', 'req_own/m_x'];
        assert.deepEqual(subjects((await get(ENTRIES_URL, { member_id: 'm_x' })).json().data), mx);
        for (const limit of [1, 3]) assert.deepEqual(subjects((await walk({ member_id: 'm_x', limit })).flat()), mx, `limit ${limit}`);
        // Read request by request (by partner), one entry a page: the cursors fall inside req_own's three entries.
        const byPartner = subjects((await get(ENTRIES_URL, { partner_id: 'p_beta', limit: 500 })).json().data);
        assert.deepEqual(byPartner.slice(0, 5), ['req_other/m_f2', 'req_friend/m_x', 'req_own/m_f2', 'req_own/m_f1', 'req_own/m_x']);
        for (const limit of [1, 2]) assert.deepEqual(subjects((await walk({ partner_id: 'p_beta', limit })).flat()), byPartner, `limit ${limit}`);
        assert.deepEqual(subjects((await get(ENTRIES_URL, { request_id: 'req_own' })).json().data), ['req_own/m_f2', 'req_own/m_f1', 'req_own/m_x']);
        assert.deepEqual(subjects((await get(ENTRIES_URL, { member_id: 'm_f1', request_id: 'req_own' })).json().data), ['req_own/m_f1']);
        assert.deepEqual(subjects((await get(ENTRIES_URL, { member_id: 'm_x', outcome: 'withheld' })).json().data), []);
        const tokenOnly = (await get(ENTRIES_URL, { member_id: 'm_token', partner_id: 'p_alpha', limit: 500 })).json().data;
        assert.deepEqual(tokenOnly.map((e: { request_id: string }) => e.request_id), expected({ partner_id: 'p_alpha' }).filter((id) => !['req_5', 'req_13'].includes(id)));
        assert.deepEqual((await get(ENTRIES_URL, { request_id: 'req_13' })).json().data.map((e: { action: string }) => e.action), ['agreement.suspend']);
        for (const query of [{ member_id: 'm_nobody' }, { request_id: 'req_nobody' }]) {
          assert.deepEqual((await get(ENTRIES_URL, query)).json(), { data: [], paging: {} });
        }
        // A cursor belongs to its filters: a member's cursor does not page another member's entries.
        const after = (await get(ENTRIES_URL, { member_id: 'm_x', limit: 1 })).json().paging.after;
        assertError(await get(ENTRIES_URL, { member_id: 'm_f1', limit: 1, after }), 400, 'invalid_cursor');
      });

      test.both('date math', 'the window: from inclusive, to exclusive, to the millisecond; any time zone', async (t) => {
        const { get } = await world(t, dialect);
        const day = { from: '2026-05-10T00:00:00.000Z', to: '2026-05-11T00:00:00.000Z' };
        const ids = (await get(ENTRIES_URL, day)).json().data.map((e: { request_id: string }) => e.request_id);
        assert.deepEqual(ids, ['req_5', 'req_4', 'req_3', 'req_2', 'req_1']);
        assert.deepEqual(ids, expected(day));
        const offset = (await get(ENTRIES_URL, { from: '2026-05-10T02:00:00+02:00', to: '2026-05-11T02:00:00+02:00' })).json().data;
        assert.deepEqual(offset.map((e: { request_id: string }) => e.request_id), ids);
        const oneMs = (await get(ENTRIES_URL, { from: '2026-05-10T23:59:59.999Z', to: '2026-05-11T00:00:00.000Z' })).json().data;
        assert.deepEqual(oneMs.map((e: { request_id: string }) => e.request_id), ['req_5']);
        const onlyFrom = (await get(ENTRIES_URL, { from: '2026-05-20T15:00:00.001Z', partner_id: 'p_alpha' })).json().data;
        assert.deepEqual(onlyFrom.map((e: { request_id: string }) => e.request_id), ['req_14', 'req_13']);
        const onlyTo = (await get(ENTRIES_URL, { to: '2026-05-10T00:00:00.000Z' })).json().data;
        assert.deepEqual(onlyTo.map((e: { request_id: string }) => e.request_id), ['req_0']);
      });

      test.both('pagination and ordering', 'paging through every page returns each matching entry exactly once, in order', async (t) => {
        const { walk, store } = await world(t, dialect);
        for (const limit of [1, 2, 4, 100]) {
          const pages = await walk({ limit });
          const seqs = pages.flat().map((e) => e.seq as number);
          assert.equal(seqs.length, await store.audit.count(), `limit ${limit}`);
          assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first, no repeats');
          assert.equal(new Set(seqs).size, seqs.length);
          for (const page of pages) assert.ok(page.length <= limit && page.length > 0);
        }
        for (const query of [{ partner_id: 'p_alpha', limit: 2 }, { from: '2026-05-10T00:00:00Z', to: '2026-05-12T00:00:00Z', limit: 3 }]) {
          const pages = await walk(query);
          assert.deepEqual(pages.flat().map((e) => e.request_id), expected(query), JSON.stringify(query));
        }
      });

      test('the default limit is 100, the last page has no cursor, and 500 is allowed', async (t) => {
        const { get, store } = await world(t, dialect);
        await store.audit.append(Array.from({ length: 120 }, (_, i) => entryOf({ ...B, at: '2026-05-25T00:00:00.000Z', outcome: 'released' }, 100 + i)));
        const first = (await get(ENTRIES_URL)).json();
        assert.equal(first.data.length, 100);
        assert.equal(typeof first.paging.after, 'string');
        const all = (await get(ENTRIES_URL, { limit: 500 })).json();
        assert.equal(all.data.length, await store.audit.count());
        assert.deepEqual(all.paging, {});
      });

      test('unknown ids find nothing (no 404)', async (t) => {
        const { get } = await world(t, dialect);
        for (const query of [{ partner_id: 'p_nobody' }, { app_id: 'app_nobody' }, { agreement_id: 'agr_nobody' }]) {
          const response = await get(ENTRIES_URL, query);
          assert.equal(response.statusCode, 200);
          assert.deepEqual(response.json(), { data: [], paging: {} });
        }
      });

      test('an entry the Graph API wrote is found by its partner, app and request id', async (t) => {
        const { get, store, app } = await world(t, dialect);
        const delta = await addPartner(store, 'delta', {}, ADMIN_NOW);
        await addMembers(store, [{ id: 'm_real' }], ADMIN_NOW);
        const { token } = await grantToken(store, { memberId: 'm_real', appId: delta.appId, agreementId: delta.agreementId, memberFields: ['id', 'name'] }, ADMIN_NOW);
        const graph = await app.inject({ url: '/v1/me?fields=id,name,email', headers: { authorization: `Bearer ${token}` } });
        assert.equal(graph.statusCode, 200, graph.body);
        const all = (await get(ENTRIES_URL, { partner_id: 'p_delta' })).json().data;
        assert.deepEqual(all.map((e: { outcome: string }) => e.outcome), ['released', 'served'], 'newest first: the subject, then the request');
        assert.ok(all.every((e: { request_id: string }) => e.request_id === graph.headers['x-request-id']));
        const data = all.slice(0, 1);
        assert.equal(data[0].request_id, graph.headers['x-request-id']);
        assert.equal(data[0].app_id, 'app_delta');
        assert.equal(data[0].agreement_id, 'agr_delta');
        assert.equal(data[0].outcome, 'released');
        assert.equal(data[0].subject_member_id, 'm_real');
        assert.equal(data[0].token_member_id, 'm_real');
        assert.deepEqual(data[0].released, ['id', 'name']);
        assert.ok(data[0].withheld.email, 'email was asked for and withheld');
        assert.equal(data[0].at, new Date(ADMIN_NOW).toISOString());
        const byWindow = (await get(ENTRIES_URL, { from: new Date(ADMIN_NOW).toISOString(), app_id: 'app_delta' })).json().data;
        assert.deepEqual(byWindow, all);
      });
    });

    describe('GET /admin/v1/audit/daily-counts', () => {
      const zero = { served: 0, released: 0, withheld: 0, denied: 0, staff_action: 0, total: 0 };

      test.both('date math', 'counts per UTC day equal the counts by hand, with totals', async (t) => {
        const { get } = await world(t, dialect);
        const response = await get(COUNTS_URL, { from: '2026-05-10T00:00:00Z', to: '2026-05-13T00:00:00Z' });
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(response.json(), {
          from: '2026-05-10T00:00:00.000Z',
          to: '2026-05-13T00:00:00.000Z',
          data: [
            { day: '2026-05-10', served: 0, released: 2, withheld: 1, denied: 1, staff_action: 1, total: 5 },
            { day: '2026-05-11', served: 0, released: 2, withheld: 1, denied: 1, staff_action: 0, total: 4 },
            { day: '2026-05-12', served: 0, released: 2, withheld: 0, denied: 0, staff_action: 0, total: 2 },
          ],
          totals: { served: 0, released: 6, withheld: 2, denied: 2, staff_action: 1, total: 11 },
        });
      });

      test('the same filters as the entries; days without entries are listed with zeros', async (t) => {
        const { get } = await world(t, dialect);
        const alpha = (await get(COUNTS_URL, { partner_id: 'p_alpha', from: '2026-05-10T00:00:00Z', to: '2026-05-13T00:00:00Z' })).json();
        assert.deepEqual(alpha.data, [
          { day: '2026-05-10', served: 0, released: 1, withheld: 1, denied: 1, staff_action: 1, total: 4 },
          { day: '2026-05-11', served: 0, released: 1, withheld: 1, denied: 0, staff_action: 0, total: 2 },
          { day: '2026-05-12', served: 0, released: 1, withheld: 0, denied: 0, staff_action: 0, total: 1 },
        ]);
        assert.deepEqual(alpha.totals, { served: 0, released: 3, withheld: 2, denied: 1, staff_action: 1, total: 7 });
        const denied = (await get(COUNTS_URL, { outcome: 'denied', from: '2026-05-11T12:00:00Z', to: '2026-05-12T12:00:00Z' })).json();
        assert.deepEqual(denied.data, [{ day: '2026-05-11', ...zero, denied: 1, total: 1 }, { day: '2026-05-12', ...zero }]);
        const phone = (await get(COUNTS_URL, { app_id: 'app_alpha_phone', agreement_id: 'agr_alpha', from: '2026-05-01T00:00:00Z', to: '2026-06-01T00:00:00Z' })).json();
        assert.equal(phone.data.length, 31);
        assert.deepEqual(phone.totals, { ...zero, released: 1, withheld: 1, denied: 1, total: 3 });
        const nobody = (await get(COUNTS_URL, { partner_id: 'p_nobody', from: '2026-05-10T00:00:00Z', to: '2026-05-11T00:00:00Z' })).json();
        assert.deepEqual(nobody, { from: '2026-05-10T00:00:00.000Z', to: '2026-05-11T00:00:00.000Z', data: [{ day: '2026-05-10', ...zero }], totals: zero });
      });

      test.both('date math', 'the window edges: from inclusive, to exclusive; a window off midnight touches partial days', async (t) => {
        const { get } = await world(t, dialect);
        const edge = (await get(COUNTS_URL, { from: '2026-05-10T00:00:00.000Z', to: '2026-05-10T23:59:59.999Z' })).json();
        assert.deepEqual(edge.data, [{ day: '2026-05-10', served: 0, released: 2, withheld: 1, denied: 1, staff_action: 0, total: 4 }]);
        const partial = (await get(COUNTS_URL, { from: '2026-05-09T23:59:59.999Z', to: '2026-05-11T00:00:00.001Z' })).json();
        assert.deepEqual(partial.data.map((d: { day: string; total: number }) => [d.day, d.total]), [['2026-05-09', 1], ['2026-05-10', 5], ['2026-05-11', 1]]);
      });

      test('without from and to: the 30 UTC days up to the end of today; totals agree with the entries', async (t) => {
        const { get, setNow } = await world(t, dialect);
        setNow(Date.parse('2026-06-01T09:00:00Z'));
        const body = (await get(COUNTS_URL, { partner_id: 'p_alpha' })).json();
        assert.equal(body.from, '2026-05-03T00:00:00.000Z');
        assert.equal(body.to, '2026-06-02T00:00:00.000Z');
        assert.equal(body.data.length, 30);
        assert.equal(body.data[0].day, '2026-05-03');
        assert.equal(body.data[29].day, '2026-06-01');
        assert.equal(body.totals.total, expected({ partner_id: 'p_alpha', from: body.from, to: body.to }).length);
        const onlyTo = (await get(COUNTS_URL, { to: '2026-05-12T00:00:00Z' })).json();
        assert.equal(onlyTo.from, '2026-04-12T00:00:00.000Z');
        assert.equal(onlyTo.totals.total, expected({ to: '2026-05-12T00:00:00Z' }).length);
        const onlyFrom = (await get(COUNTS_URL, { from: '2026-05-31T00:00:00Z' })).json();
        assert.equal(onlyFrom.to, '2026-06-02T00:00:00.000Z');
        assert.deepEqual(onlyFrom.data.map((d: { day: string }) => d.day), ['2026-05-31', '2026-06-01']);
      });

      test('a window of 366 days is served, a longer one refused', async (t) => {
        const { get } = await world(t, dialect);
        const year = await get(COUNTS_URL, { from: '2025-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' });
        assert.equal(year.statusCode, 200, year.body);
        assert.equal(year.json().data.length, 366);
        assert.equal(year.json().totals.total, SPECS.length);
        assertError(await get(COUNTS_URL, { from: '2025-06-01T00:00:00Z', to: '2026-06-02T00:00:00.001Z' }), 400, 'invalid_parameter', /longer than 366 days/);
        assertError(await get(COUNTS_URL, { from: '2025-01-01T00:00:00Z' }), 400, 'invalid_parameter', /longer than 366 days/);
      });
    });

    describe('who may read the audit', () => {
      test('every staff role, the viewer included', async (t) => {
        const { get, staff } = await world(t, dialect);
        for (const role of STAFF_ROLES) {
          assert.equal((await get(ENTRIES_URL, {}, staff[role].token)).statusCode, 200, role);
          assert.equal((await get(COUNTS_URL, {}, staff[role].token)).statusCode, 200, role);
        }
      });

      test('no credential is 401, a member token or a made-up key is 401 invalid_token', async (t) => {
        const { get, store } = await world(t, dialect);
        const delta = await addPartner(store, 'delta', {}, ADMIN_NOW);
        await addMembers(store, [{ id: 'm_member' }], ADMIN_NOW);
        const { token } = await grantToken(store, { memberId: 'm_member', appId: delta.appId, agreementId: delta.agreementId, memberFields: ['id'] }, ADMIN_NOW);
        for (const url of [ENTRIES_URL, COUNTS_URL]) {
          assertError(await get(url, {}, null), 401, 'login_required');
          assertError(await get(url, {}, token), 401, 'invalid_token');
          assertError(await get(url, {}, `dpk_${'x'.repeat(40)}`), 401, 'invalid_token');
        }
      });

      test('a staff account without roles is 403, and reading writes no audit entry', async (t) => {
        const { get, addStaff, store } = await world(t, dialect);
        const nobody = await addStaff('no-roles@staff.example', []);
        assertError(await get(ENTRIES_URL, {}, nobody.token), 403, 'forbidden', /`read`/);
        const count = await store.audit.count();
        await get(ENTRIES_URL);
        await get(COUNTS_URL);
        assert.equal(await store.audit.count(), count);
      });
    });

    describe('bad input is 400 with the error shape', () => {
      const CASES: ReadonlyArray<readonly [string, Record<string, string | number>, string, RegExp]> = [
        [ENTRIES_URL, { from: 'yesterday' }, 'invalid_parameter', /querystring\/from must match format "date-time"/],
        [ENTRIES_URL, { from: '2026-05-10' }, 'invalid_parameter', /querystring\/from/],
        [ENTRIES_URL, { to: '2026-05-10T00:00:00' }, 'invalid_parameter', /querystring\/to/],
        [ENTRIES_URL, { to: '2026-02-30T00:00:00Z' }, 'invalid_parameter', /querystring\/to/],
        [ENTRIES_URL, { from: '2026-05-10T23:59:60Z' }, 'invalid_parameter', /querystring\/from is not an instant/],
        [ENTRIES_URL, { to: '9999-12-31T23:59:59-01:00' }, 'invalid_parameter', /querystring\/to must fall within the years 0000 to 9999/],
        [ENTRIES_URL, { from: '2026-05-11T00:00:00Z', to: '2026-05-10T00:00:00Z' }, 'invalid_parameter', /from .* must be before querystring\/to/],
        [ENTRIES_URL, { from: '2026-05-10T00:00:00Z', to: '2026-05-10T02:00:00+02:00' }, 'invalid_parameter', /must be before/],
        [ENTRIES_URL, { outcome: 'granted' }, 'invalid_parameter', /querystring\/outcome must be one of: served, released, withheld, denied, staff_action/],
        [ENTRIES_URL, { limit: 0 }, 'invalid_parameter', /querystring\/limit must be >= 1/],
        [ENTRIES_URL, { limit: 501 }, 'invalid_parameter', /querystring\/limit must be <= 500/],
        [ENTRIES_URL, { limit: 'ten' }, 'invalid_parameter', /querystring\/limit must be a whole number in decimal digits/],
        [ENTRIES_URL, { limit: 2.5 }, 'invalid_parameter', /querystring\/limit must be a whole number in decimal digits/],
        [ENTRIES_URL, { partner_id: '' }, 'invalid_parameter', /querystring\/partner_id/],
        [ENTRIES_URL, { partner: 'p_alpha' }, 'invalid_parameter', /unknown property `partner`/],
        [ENTRIES_URL, { after: 'not a cursor' }, 'invalid_cursor', /without `after`/],
        [ENTRIES_URL, { after: Buffer.from('{"o":"audit:x","a":3}').toString('base64url') }, 'invalid_cursor', /cursor/],
        [ENTRIES_URL, { after: 'x'.repeat(501) }, 'invalid_parameter', /querystring\/after/],
        [COUNTS_URL, { from: 'last week' }, 'invalid_parameter', /querystring\/from must match format "date-time"/],
        [COUNTS_URL, { from: '2026-05-10T00:00:00Z', to: '2026-05-10T00:00:00Z' }, 'invalid_parameter', /must be before/],
        [COUNTS_URL, { from: '2026-07-01T00:00:00Z' }, 'invalid_parameter', /must be before/],
        [COUNTS_URL, { outcome: 'all' }, 'invalid_parameter', /must be one of/],
        [COUNTS_URL, { limit: 10 }, 'invalid_parameter', /unknown property `limit`/],
        [COUNTS_URL, { after: 'abc' }, 'invalid_parameter', /unknown property `after`/],
      ];

      test('each bad query names what is wrong', async (t) => {
        const { get } = await world(t, dialect);
        for (const [url, query, code, message] of CASES) {
          const response = await get(url, query);
          assertError(response, 400, code, message);
          assert.equal(response.json().error.request_id, response.headers['x-request-id'], `${url} ${JSON.stringify(query)}`);
        }
      });

      test('a cursor works only with the filters it was given for', async (t) => {
        const { get } = await world(t, dialect);
        const cursor = (await get(ENTRIES_URL, { partner_id: 'p_alpha', limit: 1 })).json().paging.after as string;
        assert.equal((await get(ENTRIES_URL, { partner_id: 'p_alpha', limit: 3, after: cursor })).statusCode, 200, 'another limit is fine');
        assertError(await get(ENTRIES_URL, { partner_id: 'p_beta', after: cursor }), 400, 'invalid_cursor');
        assertError(await get(ENTRIES_URL, { after: cursor }), 400, 'invalid_cursor');
        assertError(await get(ENTRIES_URL, { partner_id: 'p_alpha', outcome: 'released', after: cursor }), 400, 'invalid_cursor');
      });
    });

    test('the OpenAPI document describes both endpoints and their parameters', async (t) => {
      const { app } = await world(t, dialect);
      const spec = (await app.inject({ url: '/docs/json' })).json();
      const names = (path: string) => spec.paths[path].get.parameters.map((p: { name: string }) => p.name);
      assert.deepEqual(names(ENTRIES_URL), ['partner_id', 'app_id', 'agreement_id', 'from', 'to', 'outcome', 'member_id', 'request_id', 'limit', 'after']);
      assert.deepEqual(names(COUNTS_URL), ['partner_id', 'app_id', 'agreement_id', 'from', 'to', 'outcome']);
      assert.ok(spec.paths[ENTRIES_URL].get.responses['200']);
      assert.ok(spec.paths[COUNTS_URL].get.responses['200']);
    });

    describe('migration 0010: indexes for the filters', () => {
      const names = async (db: Db) => (await (dialect === 'postgres'
        ? sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema() and tablename = 'audit_entries'`
        : sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'audit_entries'`).execute(db))
        .rows.map((r) => r.name);
      const OURS = ['audit_entries_agreement_at', 'audit_entries_app_at', 'audit_entries_partner_at'];

      test.both('migrations', 'up creates the three (partner, app, agreement) × at indexes; down drops them', async (t) => {
        const { db } = await testDatabase(t, dialect);
        const present = await names(db);
        assert.deepEqual(OURS.filter((n) => present.includes(n)), OURS);
        // SQLite's plan names the index even for an empty table; PostgreSQL's planner rightly scans a table this small.
        if (dialect === 'sqlite') {
          const plan = await sql<{ detail: string }>`explain query plan select seq from audit_entries where partner_id = 'p' and at >= 'a' and at < 'b' order by seq desc`.execute(db);
          assert.ok(plan.rows.some((r) => r.detail.includes('audit_entries_partner_at')), JSON.stringify(plan.rows));
        }
        await auditQueryIndexes.down!(db);
        assert.deepEqual((await names(db)).filter((n) => OURS.includes(n)), []);
      });
    });
  });
}
