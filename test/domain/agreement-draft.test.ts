import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addMonths, describeChanges, validateDraft, type DraftInput } from '../../src/domain/agreement-draft.js';
import { DatapactError } from '../../src/domain/errors.js';
import { fieldsOf, maskOf } from '../../src/domain/field-catalog.js';

const START = Date.parse('2026-07-01T00:00:00Z');
const DEVICE = { appClasses: { app_d: 'device_partner', app_d2: 'device_partner', app_t: 'third_party' } } as const;

function draft(overrides: Partial<DraftInput> = {}): DraftInput {
  return {
    appIds: ['app_d'], purposes: ['device_experience'], memberFields: ['name', 'email', 'friends'], friendFields: ['name', 'birthday'],
    retentionDays: 30, storage: { location: 'partner_servers', country: 'DE' }, startsAt: START, endsAt: addMonths(START, 12), ...overrides,
  };
}

function refusedWith(input: DraftInput, code: string, facts = DEVICE) {
  assert.throws(() => validateDraft(input, facts), (e: DatapactError) => e.status === 400 && e.code === code, code);
}

describe('validateDraft', () => {
  test('valid terms come back normalized: duplicates dropped, id always among the member fields', () => {
    const terms = validateDraft(draft({ purposes: ['login', 'login'], memberFields: ['email', 'email', 'friends'] }), DEVICE);
    assert.deepEqual(terms.purposes, ['login']);
    assert.deepEqual(fieldsOf(terms.memberFields), ['id', 'email', 'friends']);
    assert.deepEqual(fieldsOf(terms.friendFields), ['name', 'birthday']);
    assert.deepEqual(terms.storage, { location: 'partner_servers', country: 'DE' });
  });

  test('end after start and at most 24 months after it', () => {
    refusedWith(draft({ endsAt: START }), 'ends_before_start');
    refusedWith(draft({ endsAt: START - 1 }), 'ends_before_start');
    assert.doesNotThrow(() => validateDraft(draft({ endsAt: addMonths(START, 24) }), DEVICE));
    refusedWith(draft({ endsAt: addMonths(START, 24) + 1 }), 'term_too_long');
    assert.equal(addMonths(Date.parse('2026-01-31T00:00:00Z'), 1), Date.parse('2026-02-28T00:00:00Z'));
  });

  test('purposes and fields from the catalogs', () => {
    refusedWith(draft({ purposes: [] }), 'no_purposes');
    refusedWith(draft({ purposes: ['device_experience', 'ads'] }), 'unknown_purpose');
    refusedWith(draft({ memberFields: ['name', 'shoe_size'] }), 'unknown_field');
    refusedWith(draft({ friendFields: ['salary'] }), 'unknown_field');
  });

  test('friend fields only when every app is a device partner, with `friends`, and never `friends` itself', () => {
    refusedWith(draft({ appIds: ['app_d', 'app_t'] }), 'friend_fields_not_allowed');
    assert.doesNotThrow(() => validateDraft(draft({ appIds: ['app_d', 'app_t'], friendFields: [] }), DEVICE));
    assert.doesNotThrow(() => validateDraft(draft({ appIds: ['app_d', 'app_d2'] }), DEVICE));
    refusedWith(draft({ memberFields: ['name'] }), 'friends_field_required');
    refusedWith(draft({ friendFields: ['friends'] }), 'friends_of_friends_forbidden');
  });

  test('apps, retention days and storage', () => {
    refusedWith(draft({ appIds: [] }), 'no_apps');
    refusedWith(draft({ appIds: ['app_unknown'] }), 'unknown_app_class');
    for (const retentionDays of [0, 3651, 1.5, -1]) refusedWith(draft({ retentionDays }), 'invalid_retention_days');
    for (const retentionDays of [1, 3650]) assert.doesNotThrow(() => validateDraft(draft({ retentionDays }), DEVICE));
    refusedWith(draft({ storage: { location: 'partner_servers' } }), 'invalid_storage');
    refusedWith(draft({ storage: { location: 'partner_servers', country: 'UK' } }), 'invalid_storage');
    refusedWith(draft({ storage: { location: 'on_device', country: 'DE' } }), 'invalid_storage');
    refusedWith(draft({ storage: { location: 'cloud' } }), 'invalid_storage');
    assert.deepEqual(validateDraft(draft({ storage: { location: 'on_device' } }), DEVICE).storage, { location: 'on_device' });
  });
});

describe('describeChanges', () => {
  test('reads like a change log', () => {
    const before = { endsAt: Date.parse('2027-01-01T00:00:00Z'), memberFields: maskOf(['id', 'phone']), retentionDays: 30 };
    const after = { endsAt: Date.parse('2027-06-01T00:00:00Z'), memberFields: maskOf(['id', 'email']), retentionDays: 30 };
    assert.equal(describeChanges(before, after), 'end: 2027-01-01 → 2027-06-01; member fields: +email −phone');
  });

  test('nothing changed, nothing said; statuses, approvals and instants are named', () => {
    assert.equal(describeChanges({ retentionDays: 5 }, { retentionDays: 5 }), '');
    assert.equal(describeChanges({ status: 'under_review', approvals: [] }, { status: 'under_review', approvals: ['st_a'] }), 'approved by: st_a');
    assert.equal(describeChanges({ status: 'active', statusReason: null }, { status: 'suspended', statusReason: 'investigation' }),
      'status: active → suspended; reason: investigation');
    assert.equal(describeChanges({ startsAt: Date.parse('2026-07-01T12:30:00Z') }, { startsAt: Date.parse('2026-07-02T00:00:00Z') }),
      'start: 2026-07-01T12:30:00Z → 2026-07-02');
    assert.equal(describeChanges({ storage: { location: 'on_device' } }, { storage: { location: 'partner_servers', country: 'DE' } }),
      'storage: on_device → partner_servers (DE)');
  });
});
