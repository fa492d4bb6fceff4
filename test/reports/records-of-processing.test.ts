import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Agreement } from '../../src/domain/agreement.js';
import type { Controller } from '../../src/domain/controller.js';
import { maskOf, type Field } from '../../src/domain/field-catalog.js';
import type { Partner } from '../../src/domain/partner.js';
import { addDays } from '../../src/domain/time.js';
import { formatRecords, recordsCsv } from '../../src/reports/records-of-processing-format.js';
import { buildRecords } from '../../src/reports/records-of-processing.js';
import type { InventorySource } from '../../src/store/inventory-queries.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const IRELAND: Controller = { name: 'Example Social Ltd', country: 'IE' };

const PARTNER: Partner = {
  id: 'p_acme', legalName: 'Acme Devices Ltd', country: 'CN', kind: 'device_maker', riskFlags: [],
  storage: { location: 'on_device' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null,
};

function agreement(overrides: Partial<Agreement> & { member?: Field[]; friend?: Field[] } = {}): Agreement {
  const { member, friend, ...rest } = overrides;
  return {
    id: 'agr_acme', version: 2, partnerId: 'p_acme', status: 'active', statusReason: null, purposes: ['device_experience'],
    memberFields: maskOf(member ?? ['id', 'name', 'email']), friendFields: maskOf(friend ?? []),
    startsAt: addDays(NOW, -100), endsAt: addDays(NOW, 300), certificationDueAt: addDays(NOW, 200), windDown: null,
    appIds: ['app_acme'], retentionDays: 30, storage: { location: 'on_device' },
    ...rest,
  };
}

function source(agr: Agreement | null, overrides: Partial<InventorySource> = {}): InventorySource {
  return {
    partner: PARTNER, agreement: agr, lastAccessAt: null, released: { fields: 0, members: 0 }, deletionAttestedAt: null,
    apps: [{ id: 'app_acme', partnerId: 'p_acme', name: 'Acme Social', class: 'device_partner', status: 'active' }],
    ...overrides,
  };
}

const one = (agr: Agreement, controller = IRELAND, overrides: Partial<InventorySource> = {}) =>
  buildRecords([source(agr, overrides)], controller, NOW)[0]!;

describe('records of processing (GDPR Art. 30)', () => {
  test('a transfer is storage on servers outside the controller\'s country, and one without a safeguard is a finding', () => {
    const inChina = agreement({ storage: { location: 'partner_servers', country: 'CN' } });
    const abroad = one(inChina);
    assert.deepEqual(abroad.transfer, { outside_controller_country: true, destination_country: 'CN', safeguard: null });
    assert.deepEqual(abroad.findings, ['transfer_without_safeguard']);

    const covered = one(agreement({ storage: { location: 'partner_servers', country: 'CN', safeguard: 'standard_contractual_clauses' } }));
    assert.deepEqual(covered.transfer, { outside_controller_country: true, destination_country: 'CN', safeguard: 'standard_contractual_clauses' });
    assert.deepEqual(covered.findings, []);

    // The same servers are no transfer for a controller in that country, nor is data kept on the member's device.
    assert.equal(one(inChina, { name: 'Example Social (China) Ltd', country: 'CN' }).transfer.outside_controller_country, false);
    assert.deepEqual(one(agreement()).transfer, { outside_controller_country: false, destination_country: null, safeguard: null });
  });

  test('members and data concerned: friends appear as a category only with friend fields, data by sensitivity class', () => {
    const plain = one(agreement({ member: ['id', 'name', 'email', 'religion'] }));
    assert.equal(plain.member_categories.length, 1);
    assert.deepEqual(plain.data_categories, [
      { about: 'members', class: 'basic', fields: ['id', 'name'] },
      { about: 'members', class: 'contact', fields: ['email'] },
      { about: 'members', class: 'sensitive', fields: ['religion'] },
    ]);
    assert.equal(plain.security_measures.some((m) => m.includes('through friends')), false);

    const withFriends = one(agreement({ member: ['id', 'friends'], friend: ['name', 'birthday', 'religion'] }));
    assert.equal(withFriends.member_categories.length, 2);
    assert.match(withFriends.member_categories[1]!, /friends of those members/);
    assert.deepEqual(withFriends.data_categories.filter((c) => c.about === 'friends'), [
      { about: 'friends', class: 'basic', fields: ['name'] },
      { about: 'friends', class: 'profile', fields: ['birthday'] },
    ], 'a sensitive friend field is not listed: it never leaves through friends');
    assert.ok(withFriends.security_measures.some((m) => m.includes('sensitive fields never through friends')));
    assert.ok(withFriends.security_measures.some((m) => m.startsWith('Two privacy officers')), 'friend data needs two approvals');
  });

  test('purposes in words, the recipient with its apps, retention and the dates', () => {
    const record = one(agreement({ purposes: ['device_experience', 'contacts_sync'] }), IRELAND, { lastAccessAt: addDays(NOW, -3) });
    assert.deepEqual(record.purposes.map((p) => p.purpose), ['device_experience', 'contacts_sync']);
    assert.match(record.purposes[1]!.description, /contacts in sync/);
    assert.deepEqual(record.recipient, { partner_id: 'p_acme', legal_name: 'Acme Devices Ltd', country: 'CN', kind: 'device_maker', risk_flags: [], apps: ['app_acme'] });
    assert.equal(record.controller, IRELAND);
    assert.equal(record.retention_days, 30);
    assert.ok(record.security_measures.some((m) => m.includes('at most 30 days')));
    assert.equal(record.dates.starts_at, '2026-02-21T00:00:00.000Z');
    assert.equal(record.dates.last_transfer_at, '2026-05-29T00:00:00.000Z');
    assert.equal(record.dates.access_ended_at, null);
  });

  test('an overdue certification and an access ended without a deletion attestation are findings', () => {
    assert.deepEqual(one(agreement({ certificationDueAt: addDays(NOW, -1) })).findings, ['certification_overdue']);
    assert.deepEqual(one(agreement({ certificationDueAt: addDays(NOW, -70) })).findings, ['certification_overdue']);
    const windDown = { noNewGrants: addDays(NOW, -60), noFriendData: addDays(NOW, -50), accessEnded: addDays(NOW, -40) };
    const ended = agreement({ status: 'winding_down', windDown });
    assert.deepEqual(one(ended).findings, ['deletion_unconfirmed']);
    assert.equal(one(ended).dates.access_ended_at, '2026-04-22T00:00:00.000Z');
    assert.deepEqual(one(ended, IRELAND, { deletionAttestedAt: addDays(NOW, -35) }).findings, []);
    // Within the 30 days the partner has to attest, nothing is overdue yet.
    assert.deepEqual(one(agreement({ status: 'winding_down', windDown: { ...windDown, accessEnded: addDays(NOW, -10) } })).findings, []);
  });

  test('a partner without an agreement has no record; CSV has one line per agreement, table one block', () => {
    const records = { generated_at: new Date(NOW).toISOString(), controller: IRELAND,
      data: buildRecords([source(null), source(agreement({ storage: { location: 'partner_servers', country: 'US' } }))], IRELAND, NOW) };
    assert.equal(records.data.length, 1);
    const rows = parse(recordsCsv(records), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.transfer_outside_controller_country, 'true');
    assert.equal(rows[0]!.findings, 'transfer_without_safeguard');
    assert.equal(rows[0]!.controller, 'Example Social Ltd (IE)');
    const table = formatRecords(records, 'table');
    assert.match(table, /to US, safeguard: NONE STATED/);
    assert.match(table, /Records of processing \(GDPR Art\. 30\), Example Social Ltd/);
    assert.deepEqual(JSON.parse(formatRecords(records, 'json')), JSON.parse(JSON.stringify(records)));
  });
});
