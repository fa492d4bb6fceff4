import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { openStore } from '../../src/cli/open-store.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays } from '../../src/domain/time.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { seedMembers } from '../../src/seed/world-generator.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-report-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const NOW = Date.parse('2026-06-01T00:00:00Z');
const database = join(folder, 'world.db');

function datapact(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `datapact report inventory` as of NOW and indexes the rows by partner. */
function inventoryCsv(...extra: string[]) {
  const run = datapact('report', 'inventory', '--format', 'csv', '--now', new Date(NOW).toISOString(), '--database', database, ...extra);
  assert.equal(run.status, 0, run.stderr);
  const records = parse(run.stdout, { columns: true }) as Record<string, string>[];
  return new Map(records.map((record) => [record.partner_id!, record]));
}

describe('datapact report inventory', () => {
  before(async () => {
    // The demo partners with their dates relative to NOW, over a small world of members.
    const store = await openStore(database);
    try {
      await seedMembers(store, { members: 30, avgFriends: 4, seed: 3, now: NOW });
      await seedDemoPartners(store, NOW);
    } finally {
      await store.db.destroy();
    }
  });

  test('CSV: one row per demo partner, each agreement in its state', () => {
    const rows = inventoryCsv();
    assert.deepEqual([...rows.keys()].sort(), ['p_blackberry', 'p_huawei', 'p_lenovo', 'p_oppo', 'p_pixelharbour', 'p_tcl', 'p_zte']);

    const huawei = rows.get('p_huawei')!;
    assert.equal(huawei.status, 'winding_down');
    assert.equal(huawei.in_effect, 'true');
    assert.equal(huawei.wind_down_phase, 'no_new_grants');
    assert.equal(huawei.wind_down_no_friend_data_at, new Date(addDays(NOW, 20)).toISOString());
    assert.equal(huawei.wind_down, 'no_new_grants (no friend data from 2026-06-21, access ends 2026-07-21)');
    assert.equal(huawei.risk_flags, 'state_influence');
    assert.equal(huawei.partner_country, 'CN');
    assert.equal(huawei.storage_location, 'partner_servers');
    assert.equal(huawei.storage_country, 'CN');
    assert.equal(huawei.age_days, '400');
    assert.equal(huawei.days_to_end, '300');

    const oppo = rows.get('p_oppo')!;
    assert.equal(oppo.in_effect, 'false');
    assert.equal(oppo.not_in_effect_cause, 'expired');
    assert.equal(oppo.days_to_end, '-30');
    assert.equal(oppo.storage_country, 'SG');

    const tcl = rows.get('p_tcl')!;
    assert.equal(tcl.status, 'suspended');
    assert.equal(tcl.status_reason, 'certification_overdue');
    assert.equal(tcl.not_in_effect_cause, 'certification_overdue');
    assert.equal(tcl.certification_state, 'lapsed');

    const zte = rows.get('p_zte')!;
    assert.equal(zte.agreement_id, '');
    assert.equal(zte.not_in_effect_cause, 'no_agreement');
    assert.equal(zte.apps, 'app_zte');
    assert.equal(zte.storage_location, 'on_device');

    const blackberry = rows.get('p_blackberry')!;
    assert.equal(blackberry.in_effect, 'true');
    assert.equal(blackberry.friend_fields, 'id name picture birthday location work religion');
    assert.equal(blackberry.certification_state, 'current');
    assert.equal(rows.get('p_pixelharbour')!.purposes, 'login');
    assert.equal(rows.get('p_lenovo')!.storage_location, 'on_device');
  });

  test('--now moves every date: at the no_friend_data instant Huawei enters that phase', () => {
    const later = datapact('report', 'inventory', '--format', 'csv', '--now', new Date(addDays(NOW, 20)).toISOString(), '--database', database);
    assert.equal(later.status, 0, later.stderr);
    const rows = new Map((parse(later.stdout, { columns: true }) as Record<string, string>[]).map((r) => [r.partner_id!, r]));
    assert.equal(rows.get('p_huawei')!.wind_down, 'no_friend_data (access ends 2026-07-21)');
  });

  test('JSON and the table', () => {
    const json = datapact('report', 'inventory', '--format', 'json', '--now', '2026-06-01T00:00:00Z', '--database', database);
    assert.equal(json.status, 0, json.stderr);
    const body = JSON.parse(json.stdout) as { generated_at: string; data: Array<Record<string, unknown>> };
    assert.equal(body.generated_at, '2026-06-01T00:00:00.000Z');
    assert.equal(body.data.length, 7);
    assert.deepEqual(body.data.find((r) => r.partner_id === 'p_huawei')!.risk_flags, ['state_influence']);

    const table = datapact('report', 'inventory', '--now', '2026-06-01T00:00:00Z', '--database', database);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /as of 2026-06-01T00:00:00.000Z \(7 rows\)/);
    assert.match(table.stdout, /│ p_tcl +│ agr_tcl v1 +│ suspended +│ no: certification_overdue +│ lapsed +│/);
    assert.match(table.stdout, /│ wind-down +│ no_new_grants \(no friend data from 2026-06-21, access ends 2026-07-21\) +│/);
  });

  test('a wrong format or instant is refused with a clear message', () => {
    const format = datapact('report', 'inventory', '--format', 'xml', '--database', database);
    assert.equal(format.status, 1);
    assert.match(format.stderr, /expected one of table, csv, json/);
    const now = datapact('report', 'inventory', '--now', 'yesterday', '--database', database);
    assert.equal(now.status, 1);
    assert.match(now.stderr, /expected an ISO 8601 date/);
  });
});

// The inventory's `before` seeded the demo partners in `database`.
describe('datapact report records', () => {
  test('JSON names the configured controller; a transfer without a safeguard is a finding', () => {
    const run = spawnSync(process.execPath, ['bin/datapact.js', 'report', 'records', '--format', 'json',
      '--now', new Date(NOW).toISOString(), '--database', database], {
      encoding: 'utf8',
      env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder, DATAPACT_CONTROLLER_NAME: 'Example Social GmbH', DATAPACT_CONTROLLER_COUNTRY: 'DE' },
    });
    assert.equal(run.status, 0, run.stderr);
    const records = JSON.parse(run.stdout);
    assert.deepEqual(records.controller, { name: 'Example Social GmbH', country: 'DE' });
    const huawei = records.data.find((r: { agreement_id: string }) => r.agreement_id === 'agr_huawei');
    assert.deepEqual(huawei.findings, ['transfer_without_safeguard']);
  });

  test('the table reads as one block per agreement', () => {
    const run = datapact('report', 'records', '--now', new Date(NOW).toISOString(), '--database', database);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Records of processing \(GDPR Art\. 30\), Demo Social Network Ltd, as of 2026-06-01T00:00:00.000Z/);
    assert.match(run.stdout, /to CN, safeguard: NONE STATED/);
    assert.match(run.stdout, /to CA, safeguard: adequacy_decision/);
  });
});

describe('datapact report exposure', () => {
  test('members released directly and through friends, as a table, CSV and JSON; the counterfactual; a month after --now is refused', async () => {
    const store = await openStore(database);
    try {
      const at = Date.parse('2026-05-20T10:00:00Z');
      const base = {
        at, appId: 'app_lenovo', partnerId: 'p_lenovo', agreementId: 'agr_lenovo', agreementVersion: 1, rulesVersion: RULES_VERSION,
        tokenMemberId: 'mx1', purpose: 'device_experience', code: null, withheld: {}, outcome: 'released' as const,
      };
      await store.audit.append([
        { ...base, requestId: 'r1', subjectMemberId: 'mx1', released: ['id', 'name'] },
        { ...base, requestId: 'r1', subjectMemberId: 'mx2', released: ['id', 'name', 'birthday'] },
      ]);
    } finally {
      await store.close();
    }
    const run = (...args: string[]) => datapact('report', 'exposure', '--from', '2026-05', '--now', new Date(NOW).toISOString(), '--database', database, ...args);
    const csv = run('--format', 'csv', '--partner', 'p_lenovo');
    assert.equal(csv.status, 0, csv.stderr);
    const rows = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    const any = rows.find((r) => r.period === '2026-05..2026-06' && r.field === '*')!;
    assert.deepEqual([any.members_direct, any.members_through_friends, any.members_total, any.storage_location], ['1', '1', '2', 'on_device']);
    assert.deepEqual(JSON.parse(run('--format', 'json').stdout).by_partner.map((g: { partner_id: string }) => g.partner_id), ['p_lenovo']);
    assert.match(run().stdout, /│ p_lenovo +│ agr_lenovo +│ on_device +│ 2026-05 +│ birthday +│ +0 │ +1 │ +1 │ +0 │ +1 │/);
    const counterfactual = datapact('report', 'counterfactual', '--from', '2026-05', '--partner', 'p_lenovo', '--now', new Date(NOW).toISOString(), '--database', database);
    assert.equal(counterfactual.status, 0, counterfactual.stderr);
    assert.match(counterfactual.stdout, /^What the 2018 rules would have reached, 2026-05 to 2026-06/);
    assert.match(counterfactual.stdout, /Datapact released data on 2 members; the 2018 rules would have exposed \d+, of which \d+ only as friends-of-friends\./);
    const future = datapact('report', 'exposure', '--from', '2026-07', '--now', new Date(NOW).toISOString(), '--database', database);
    assert.equal(future.status, 1);
    assert.match(future.stderr, /after the month of the report's time \(2026-06\)/);
  });
});

describe('datapact report least-privilege', () => {
  test("Lenovo's fields and purposes never used in the 90 days, from the releases the exposure test appended, as CSV", () => {
    const run = datapact('report', 'least-privilege', '--agreement', 'agr_lenovo', '--format', 'csv', '--now', new Date(NOW).toISOString(), '--database', database);
    assert.equal(run.status, 0, run.stderr);
    const [lenovo, ...others] = parse(run.stdout, { columns: true }) as Record<string, string>[];
    assert.deepEqual(others, [], 'one agreement, and no live grant');
    assert.deepEqual([lenovo!.state, lenovo!.unused_purposes], ['suggestions', 'contacts_sync']);
    assert.equal(lenovo!.unused_member_fields, 'picture email phone birthday gender hometown location work education relationship_status events likes photos',
      'name went out directly, and a friend through the friend list; birthday only through friends');
    assert.equal(lenovo!.unused_friend_fields, 'picture hometown location work education events');
  });
});

describe('datapact report pack', () => {
  test("one partner's pack to a file, its latest head checked with the data directory's key", async () => {
    const store = await openStore(database);
    let size: number;
    try {
      const log = new AuditLog({ db: store.db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(folder), blinding: loadOrCreateAuditBlinding(folder) });
      size = (await log.signHeadIfBehind(true))?.size ?? (await store.audit.latestHead())!.size;
    } finally {
      await store.close();
    }
    const out = join(folder, 'pack.html');
    const run = datapact('report', 'pack', '--partner', 'p_lenovo', '--now', new Date(NOW).toISOString(), '--out', out, '--database', database);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /Wrote .*pack\.html/);
    const document = readFileSync(out, 'utf8');
    assert.match(document, /^<!DOCTYPE html>/);
    assert.match(document, /Regulator's pack for Lenovo Group Limited, as of 2026-06-01T00:00:00.000Z/);
    assert.ok(document.includes(`<dd>${size.toLocaleString('en')} entries`), 'the head the log holds');
    assert.match(document, /<strong class="ok">verified<\/strong>/);
  });
});
