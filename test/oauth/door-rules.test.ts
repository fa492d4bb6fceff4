import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Agreement } from '../../src/domain/agreement.js';
import { fieldsOf } from '../../src/domain/field-catalog.js';
import type { Partner } from '../../src/domain/partner.js';
import { judgeAuthorizationRequest, judgeClientCredentials, newGrantsEndedAt, type DoorFacts } from '../../src/oauth/door-rules.js';
import { FRIEND_SCOPES, parseScope, scopesOf, SUPPORTED_SCOPES } from '../../src/oauth/scopes.js';
import { DAY_MS, NOW, agreement as terms, app, mask, windDown } from '../domain/builders.js';

const PARTNER: Partner = {
  id: 'partner-1', legalName: 'Phone Maker Ltd', country: 'CN', kind: 'device_maker', riskFlags: [],
  storage: { location: 'on_device' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null,
};

function agreement(overrides: Partial<Agreement> = {}): Agreement {
  return {
    ...terms({ purposes: ['device_experience', 'contacts_sync'], memberFields: mask('id', 'name', 'email', 'friends'), friendFields: mask('name', 'birthday', 'religion') }),
    appIds: ['app-1'], retentionDays: 30, storage: { location: 'on_device' }, statusReason: null,
    ...overrides,
  };
}

function facts(overrides: Partial<DoorFacts> = {}): DoorFacts {
  return { app: app(), partner: PARTNER, agreement: agreement(), ...overrides };
}

function refusal(f: DoorFacts, purpose: string | undefined, scope: string | undefined) {
  const decision = judgeAuthorizationRequest(f, { purpose, scope }, NOW);
  assert.equal(decision.ok, false, `expected a refusal for purpose=${purpose} scope=${scope}`);
  return decision.ok ? undefined : decision.refusal;
}

describe('scopes', () => {
  test('member fields by name, friend fields as friends.<field>; id needs no scope', () => {
    assert.ok(SUPPORTED_SCOPES.includes('openid'));
    assert.ok(SUPPORTED_SCOPES.includes('friends'));
    assert.ok(SUPPORTED_SCOPES.includes('friends.birthday'));
    assert.ok(!SUPPORTED_SCOPES.includes('id') && !FRIEND_SCOPES.includes('friends.id') && !FRIEND_SCOPES.includes('friends.friends'));
    const parsed = parseScope('openid id name friends friends.birthday offline_access friends.friends shoe_size');
    assert.equal(parsed.openid, true);
    assert.deepEqual(fieldsOf(parsed.memberFields), ['name', 'friends']);
    assert.deepEqual(fieldsOf(parsed.friendFields), ['birthday']);
    assert.deepEqual(parsed.unknown, ['friends.friends', 'shoe_size']);
    assert.deepEqual(scopesOf(mask('id', 'name', 'friends'), mask('id', 'birthday'), true), ['openid', 'name', 'friends', 'friends.birthday']);
  });
});

describe('the rules at the door', () => {
  test('a request within the agreement passes; sensitive friend fields are set apart as never shared', () => {
    const decision = judgeAuthorizationRequest(facts(), { purpose: 'contacts_sync', scope: 'openid name friends friends.birthday friends.religion' }, NOW);
    assert.ok(decision.ok);
    assert.equal(decision.request.purpose, 'contacts_sync');
    assert.deepEqual(fieldsOf(decision.request.memberFields), ['name', 'friends']);
    assert.deepEqual(fieldsOf(decision.request.friendFields), ['birthday']);
    assert.deepEqual(fieldsOf(decision.request.neverSharedFriendFields), ['religion']);
  });

  test('no agreement in effect: unauthorized_client with the cause, before anything else', () => {
    assert.deepEqual(refusal(facts({ agreement: null }), 'nonsense', 'nonsense'), {
      error: 'unauthorized_client', description: 'app-1 has no agreement in effect (no_agreement)',
    });
    assert.match(refusal(facts({ agreement: agreement({ endsAt: NOW }) }), 'device_experience', 'name')!.description, /\(expired\)/);
    assert.match(refusal(facts({ agreement: agreement({ status: 'suspended' }) }), 'device_experience', 'name')!.description, /\(suspended\)/);
  });

  test('the purpose must be given and be one of the agreement\'s', () => {
    assert.equal(refusal(facts(), undefined, 'name')?.error, 'invalid_request');
    assert.equal(refusal(facts(), 'messaging', 'name')?.error, 'invalid_request');
    assert.equal(refusal(facts(), 'spying', 'name')?.error, 'invalid_request');
  });

  test('every scope within the agreement; friend fields only for device partners; at least one scope', () => {
    assert.deepEqual(refusal(facts(), 'device_experience', 'name phone birthday'), {
      error: 'invalid_scope', description: "phone, birthday are outside the agreement's member fields", scope: 'phone birthday',
    });
    assert.deepEqual(refusal(facts(), 'device_experience', 'friends friends.email'), {
      error: 'invalid_scope', description: "friends.email is outside the agreement's friend fields", scope: 'friends.email',
    });
    assert.match(refusal(facts({ app: app({ class: 'third_party' }) }), 'device_experience', 'friends.name')!.description, /third-party app cannot ask for fields about friends/);
    assert.equal(refusal(facts(), 'device_experience', 'shoe_size')?.error, 'invalid_scope');
    assert.equal(refusal(facts(), 'device_experience', '')?.error, 'invalid_scope');
  });

  test('new grants end at the exact instant of the wind-down\'s no_new_grants phase', () => {
    const plan = windDown();
    const winding = agreement({ status: 'winding_down', windDown: plan });
    assert.equal(newGrantsEndedAt(winding, plan.noNewGrants - 1), null);
    assert.equal(newGrantsEndedAt(winding, plan.noNewGrants), plan.noNewGrants);
    assert.equal(newGrantsEndedAt(winding, plan.noFriendData + DAY_MS), plan.noNewGrants, 'and every later phase');
    assert.equal(newGrantsEndedAt(agreement(), NOW), null);
  });
});

describe('client credentials: a partner server\'s token', () => {
  test('only while the app has an agreement in force: approved, not terminated (a wound-down partner still files with one)', () => {
    assert.equal(judgeClientCredentials(facts(), undefined), null);
    for (const status of ['suspended', 'winding_down'] as const) assert.equal(judgeClientCredentials(facts({ agreement: agreement({ status }) }), undefined), null, status);
    for (const [f, cause] of [[facts({ agreement: null }), 'no_agreement'], [facts({ agreement: agreement({ status: 'draft' }) }), 'draft'],
      [facts({ agreement: agreement({ status: 'under_review' }) }), 'under_review']] as const) {
      assert.deepEqual(judgeClientCredentials(f, undefined), { error: 'unauthorized_client', description: `app-1 has no agreement in force (${cause})` });
    }
  });

  test('field scopes only within the agreement, as at the door', () => {
    assert.equal(judgeClientCredentials(facts(), 'name friends friends.birthday'), null);
    assert.equal(judgeClientCredentials(facts(), 'phone')?.error, 'invalid_scope');
    assert.equal(judgeClientCredentials(facts(), 'friends.email')?.error, 'invalid_scope');
    assert.equal(judgeClientCredentials(facts({ app: app({ class: 'third_party' }) }), 'friends.name')?.error, 'invalid_scope');
  });
});
