import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { STAFF_ROLES, type StaffRole } from '../../src/domain/staff.js';
import { addDays } from '../../src/domain/time.js';
import { INVENTORY_COLUMNS } from '../../src/reports/inventory-format.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import type { Store } from '../../src/store/store.js';
import { build, type BuildOptions } from '../helpers/build.js';
import { addFriendships, addMembers } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const URL = '/admin/v1/reports/inventory';

async function apiKey(store: Store, roles: readonly StaffRole[], email = `${roles.join('-') || 'none'}@staff.example`): Promise<string> {
  const staff = await store.staff.create({ email, name: 'Staff', roles, passwordHash: 'not-used-here' }, NOW);
  return (await store.staff.issue(staff.id, 'api_key', { label: 'test' }, NOW)).secret;
}

const released = (at: number, subject: string, fields: AuditEntry['released']): AuditEntry => ({
  at, requestId: `r_${subject}_${at}`, appId: 'app_blackberry', partnerId: 'p_blackberry', agreementId: 'agr_blackberry',
  agreementVersion: 1, rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: subject, purpose: 'device_experience',
  outcome: 'released', code: null, released: fields, withheld: {},
});

async function demo(t: Parameters<typeof build>[0], options: BuildOptions = {}) {
  const built = await build(t, NOW, options);
  await seedDemoPartners(built.store, NOW);
  await addMembers(built.store, [{ id: 'm1' }, { id: 'm2' }], NOW);
  await built.store.audit.append([
    released(addDays(NOW, -2), 'm1', ['id', 'name', 'birthday']),
    released(addDays(NOW, -2), 'm2', ['id', 'name']),
    released(addDays(NOW, -45), 'm2', ['id', 'name', 'birthday', 'location']),
  ]);
  const key = await apiKey(built.store, ['viewer']);
  const get = (url: string, bearer: string | null = key) =>
    built.app.inject({ method: 'GET', url, headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  return { ...built, key, get };
}

describe('GET /admin/v1/reports/inventory', () => {
  test('JSON by default: every partner and agreement, as of the app clock', async (t) => {
    const { get } = await demo(t);
    const response = await get(URL);
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const body = response.json() as { generated_at: string; data: Array<Record<string, unknown>> };
    assert.equal(body.generated_at, '2026-06-01T00:00:00.000Z');
    assert.equal(body.data.length, 7);
    for (const row of body.data) assert.deepEqual(Object.keys(row).sort(), [...INVENTORY_COLUMNS].sort());
    const byPartner = new Map(body.data.map((row) => [row.partner_id, row]));
    assert.equal(byPartner.get('p_huawei')!.wind_down_phase, 'no_new_grants');
    assert.equal(byPartner.get('p_oppo')!.not_in_effect_cause, 'expired');
    assert.equal(byPartner.get('p_tcl')!.certification_state, 'lapsed');
    const zte = byPartner.get('p_zte')!;
    assert.equal(zte.agreement_id, null);
    assert.equal(zte.version, null);
    assert.equal(zte.not_in_effect_cause, 'no_agreement');
    const blackberry = byPartner.get('p_blackberry')!;
    assert.equal(blackberry.fields_released_30d, 3);
    assert.equal(blackberry.members_reached_30d, 2);
    assert.equal(blackberry.last_access_at, new Date(addDays(NOW, -2)).toISOString());
  });

  test('?format=csv: a CSV download with the same rows', async (t) => {
    const { get } = await demo(t);
    const response = await get(`${URL}?format=csv`);
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/csv/);
    assert.equal(response.headers['content-disposition'], 'attachment; filename="datapact-inventory-2026-06-01T00-00-00-000Z.csv"');
    const records = parse(response.body, { columns: true }) as Record<string, string>[];
    assert.deepEqual(Object.keys(records[0]!), [...INVENTORY_COLUMNS]);
    const byPartner = new Map(records.map((r) => [r.partner_id!, r]));
    assert.equal(byPartner.size, 7);
    assert.equal(byPartner.get('p_huawei')!.wind_down, 'no_new_grants (no friend data from 2026-06-21, access ends 2026-07-21)');
    assert.equal(byPartner.get('p_blackberry')!.fields_released_30d, '3');
    assert.equal(byPartner.get('p_zte')!.agreement_id, '');
  });

  test('?format=csv: a partner whose legal name is a formula is downloaded as text (a leading single quote)', async (t) => {
    const { get, store } = await demo(t);
    await store.db.updateTable('partners').set({ legal_name: '=HYPERLINK("https://evil.example","Click")' }).where('id', '=', 'p_zte').execute();
    const records = parse((await get(`${URL}?format=csv`)).body, { columns: true }) as Record<string, string>[];
    assert.equal(records.find((r) => r.partner_id === 'p_zte')!.partner_legal_name, '\'=HYPERLINK("https://evil.example","Click")');
  });

  test('the clock moves every date', async (t) => {
    const { get, setNow } = await demo(t);
    setNow(addDays(NOW, 20));
    const huawei = (await get(URL)).json().data.find((row: { partner_id: string }) => row.partner_id === 'p_huawei');
    assert.equal(huawei.wind_down, 'no_friend_data (access ends 2026-07-21)');
  });

  test('every staff role may read it; no credential is 401', async (t) => {
    const { get, store } = await demo(t);
    for (const role of STAFF_ROLES) {
      const key = await apiKey(store, [role], `${role}-reader@staff.example`);
      assert.equal((await get(URL, key)).statusCode, 200, role);
    }
    const anonymous = await get(URL, null);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'login_required');
    assert.equal((await get(URL, 'dpk_' + 'x'.repeat(40))).json().error.code, 'invalid_token');
  });

  test('an unknown format is 400 with the list', async (t) => {
    const { get } = await demo(t);
    const response = await get(`${URL}?format=xml`);
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'invalid_parameter');
    assert.match(response.json().error.message, /json, csv/);
  });

  test('the OpenAPI document describes the report', async (t) => {
    const { app } = await demo(t);
    const spec = (await app.inject({ url: '/docs/json' })).json();
    const operation = spec.paths['/admin/v1/reports/inventory'].get;
    assert.ok(operation.responses['200'].content['application/json'].schema);
    assert.ok(operation.responses['200'].content['text/csv']);
  });
});

describe('GET /admin/v1/reports/exposure', () => {
  const EXPOSURE = '/admin/v1/reports/exposure';

  test('JSON: per agreement, month and field, members directly, through friends and together; by partner and storage', async (t) => {
    const { get } = await demo(t);
    const response = await get(`${EXPOSURE}?from=2026-04&to=2026-05`);
    assert.equal(response.statusCode, 200);
    const body = response.json() as { from: string; to: string; data: Array<Record<string, unknown>>; by_partner: unknown[]; by_storage: unknown[] };
    assert.deepEqual([body.from, body.to], ['2026-04', '2026-05']);
    const row = (period: string, field: string) => body.data.find((r) => r.period === period && r.field === field);
    // m1 directly (m1's own token), m2 through m1, in May; m2 alone in April; over both months m2 once.
    assert.deepEqual(row('2026-05', '*'), {
      partner_id: 'p_blackberry', partner_legal_name: 'BlackBerry Limited', agreement_id: 'agr_blackberry', storage_location: 'partner_servers',
      storage_country: 'CA', period: '2026-05', field: '*', members_direct: 1, members_through_friends: 1, members_total: 2,
      times_direct: null, times_through_friends: null,
    });
    assert.deepEqual([row('2026-05', 'birthday')!.members_direct, row('2026-05', 'birthday')!.members_through_friends, row('2026-05', 'birthday')!.times_direct], [1, 0, 1]);
    assert.deepEqual([row('2026-04', '*')!.members_through_friends, row('2026-04', 'location')!.times_through_friends], [1, 1]);
    assert.deepEqual([row('2026-04..2026-05', '*')!.members_total, row('2026-04..2026-05', 'name')!.times_through_friends], [2, 2]);
    assert.deepEqual(body.by_partner, [{ partner_id: 'p_blackberry', partner_legal_name: 'BlackBerry Limited', members_direct: 1, members_through_friends: 1, members_total: 2 }]);
    assert.deepEqual(body.by_storage, [{ storage: 'CA', members_direct: 1, members_through_friends: 1, members_total: 2 }]);
  });

  test('?format=csv; a partner filter; months checked; every staff role may read it', async (t) => {
    const { get, store } = await demo(t);
    const csv = await get(`${EXPOSURE}?format=csv&from=2026-05&to=2026-05`);
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="datapact-exposure-2026-06-01T00-00-00-000Z\.csv"/);
    const records = parse(csv.body, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(records.map((r) => `${r.field}:${r.members_total}:${r.times_through_friends}`), ['*:2:', 'id:2:1', 'name:2:1', 'birthday:1:0']);
    assert.equal((await get(`${EXPOSURE}?from=2026-05&partner_id=p_huawei`)).json().data.length, 0);
    for (const bad of ['from=2026-13', 'from=2026-07', 'from=2026-05&to=2026-04']) {
      const response = await get(`${EXPOSURE}?${bad}`);
      assert.equal(response.statusCode, 400, bad);
      assert.equal(response.json().error.code, 'invalid_parameter');
    }
    for (const role of STAFF_ROLES) assert.equal((await get(EXPOSURE, await apiKey(store, [role], `${role}-x@staff.example`))).statusCode, 200, role);
    assert.equal((await get(EXPOSURE, null)).statusCode, 401);
  });
});

describe('GET /admin/v1/reports/counterfactual', () => {
  const COUNTERFACTUAL = '/admin/v1/reports/counterfactual';

  test('per partner, released beside the 2018 reach; CSV; months checked; every staff role may read it', async (t) => {
    const { get, store } = await demo(t);
    await addMembers(store, [{ id: 'm3' }], NOW);
    await addFriendships(store, [['m1', 'm2'], ['m2', 'm3']], NOW);
    const response = await get(`${COUNTERFACTUAL}?from=2026-04&to=2026-05`);
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.match(body.graph_note, /friend graph as it stands/);
    // m1's token: m1 and m2 released; 2018: m1, its friend m2 and m2's friend m3 (only a friend of a friend).
    assert.deepEqual(body.data, [{
      partner_id: 'p_blackberry', partner_legal_name: 'BlackBerry Limited', token_members: 1, released_members: 2, reach_2018: 3,
      reach_2018_friends_of_friends_only: 1,
    }]);
    const csv = await get(`${COUNTERFACTUAL}?format=csv&from=2026-05&partner_id=p_blackberry`);
    assert.equal(csv.statusCode, 200);
    assert.deepEqual(parse(csv.body, { columns: true }), [{
      partner_id: 'p_blackberry', partner_legal_name: 'BlackBerry Limited', token_members: '1', released_members: '2', reach_2018: '3',
      reach_2018_friends_of_friends_only: '1',
    }]);
    assert.equal((await get(`${COUNTERFACTUAL}?from=2026-05&partner_id=p_huawei`)).json().data.length, 0);
    const bad = await get(`${COUNTERFACTUAL}?from=2026-07`);
    assert.deepEqual([bad.statusCode, bad.json().error.code], [400, 'invalid_parameter']);
    for (const role of STAFF_ROLES) assert.equal((await get(COUNTERFACTUAL, await apiKey(store, [role], `${role}-c@staff.example`))).statusCode, 200, role);
    assert.equal((await get(COUNTERFACTUAL, null)).statusCode, 401);
  });
});

describe('GET /admin/v1/reports/pack', () => {
  const PACK = '/admin/v1/reports/pack';

  test('HTML by default, a download; one partner; an unknown partner is 404; a viewer may, a role without `read` may not', async (t) => {
    const { get, store } = await demo(t);
    const response = await get(PACK);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['content-disposition'], 'attachment; filename="datapact-pack-2026-06-01T00-00-00-000Z.html"');
    assert.match(response.body, /^<!DOCTYPE html>/);
    assert.doesNotMatch(response.body, /<script\b/i);
    for (const name of ['BlackBerry Limited', 'Huawei Device Co., Ltd.', 'ZTE Corporation']) assert.ok(response.body.includes(`<h2>${name}</h2>`), name);

    const one = await get(`${PACK}?partner_id=p_blackberry&format=html`);
    assert.equal(one.headers['content-disposition'], 'attachment; filename="datapact-pack-p_blackberry-2026-06-01T00-00-00-000Z.html"');
    assert.ok(one.body.includes('<h2>BlackBerry Limited</h2>'));
    assert.ok(!one.body.includes('Huawei'));
    const unknown = await get(`${PACK}?partner_id=p_nobody`);
    assert.deepEqual([unknown.statusCode, unknown.json().error.code], [404, 'not_found']);
    assert.equal((await get(`${PACK}?format=docx`)).json().error.code, 'invalid_parameter');

    assert.equal((await get(PACK, await apiKey(store, ['viewer'], 'pack-viewer@staff.example'))).statusCode, 200);
    const noRole = await get(PACK, await apiKey(store, []));
    assert.deepEqual([noRole.statusCode, noRole.json().error.code], [403, 'forbidden']);
    assert.equal((await get(PACK, null)).statusCode, 401);
  });

  test('PDF: printed by Chromium, a PDF with pages', async (t) => {
    const { get } = await demo(t);
    const response = await get(`${PACK}?partner_id=p_blackberry&format=pdf`);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'application/pdf');
    assert.equal(response.headers['content-disposition'], 'attachment; filename="datapact-pack-p_blackberry-2026-06-01T00-00-00-000Z.pdf"');
    const pdf = response.rawPayload;
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    // The page tree's root counts every page: the largest /Count.
    const pages = Math.max(0, ...[...pdf.toString('latin1').matchAll(/\/Count (\d+)/g)].map((match) => Number(match[1])));
    assert.ok(pages >= 2, `pages: ${pages}`);
  });

  test('PDF without Chromium: 409 pdf_unavailable saying what to install; HTML still works', async (t) => {
    const { get } = await demo(t, { chromium: '/nonexistent/chromium' });
    const response = await get(`${PACK}?format=pdf`);
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().error.code, 'pdf_unavailable');
    assert.match(response.json().error.message, /Chromium.*\/nonexistent\/chromium.*chromium package.*DATAPACT_CHROMIUM/);
    assert.equal((await get(PACK)).statusCode, 200);
  });

  test('the OpenAPI document describes both formats', async (t) => {
    const { app } = await demo(t);
    const operation = (await app.inject({ url: '/docs/json' })).json().paths['/admin/v1/reports/pack'].get;
    assert.deepEqual(Object.keys(operation.responses['200'].content).sort(), ['application/pdf', 'text/html']);
    assert.ok(operation.responses['409']);
  });
});
