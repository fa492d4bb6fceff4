import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { planAccess } from '../../src/domain/access-plan.js';
import {
  AgreementNotInEffect,
  AppDisabled,
  DatapactError,
  GrantExpired,
  InvalidToken,
  PlatformDisabled,
  PurposeNotAllowed,
} from '../../src/domain/errors.js';
import { BASIC_MASK, OBJECT_FIELDS_MASK, SENSITIVE_MASK, FRIENDS_MASK } from '../../src/domain/field-catalog.js';
import { APP_ID, DAY_MS, MEMBER_ID, NOW, context, mask, plan, windDown, type ContextOverrides } from './builders.js';

const IDLE_MS = 90 * DAY_MS;

interface Expected {
  readonly type: new (...args: never[]) => DatapactError;
  readonly status: number;
  readonly code: string;
  readonly cause?: string;
}

/** Asserts that planning throws the expected error, with its status, code and (only if given) cause. */
function assertRefused(overrides: ContextOverrides, expected: Expected, now = NOW): void {
  assert.throws(
    () => planAccess(context(overrides), now),
    (error: unknown) => {
      assert.ok(error instanceof expected.type, `expected ${expected.type.name}, got ${String(error)}`);
      assert.ok(error instanceof DatapactError);
      assert.ok(error instanceof Error);
      assert.equal(error.status, expected.status);
      assert.equal(error.code, expected.code);
      assert.equal(error.name, expected.type.name);
      assert.equal(error.exposedCause, expected.cause);
      assert.ok(error.message.length > 0);
      return true;
    },
  );
}

const INVALID_TOKEN: Expected = { type: InvalidToken, status: 401, code: 'invalid_token' };
const APP_DISABLED: Expected = { type: AppDisabled, status: 403, code: 'app_disabled' };
const GRANT_EXPIRED: Expected = { type: GrantExpired, status: 401, code: 'grant_expired' };
const PURPOSE_NOT_ALLOWED: Expected = { type: PurposeNotAllowed, status: 403, code: 'purpose_not_allowed' };
const PLATFORM_DISABLED: Expected = { type: PlatformDisabled, status: 403, code: 'platform_disabled' };
function notInEffect(cause: string): Expected {
  return { type: AgreementNotInEffect, status: 403, code: 'agreement_not_in_effect', cause };
}

describe('planAccess: a request that passes every rule', () => {
  test('returns a plan for the token, app and agreement at now', () => {
    const ctx = context();
    const p = planAccess(ctx, NOW);
    assert.equal(p.now, NOW);
    assert.equal(p.memberId, MEMBER_ID);
    assert.equal(p.appId, APP_ID);
    assert.equal(p.appClass, 'device_partner');
    assert.equal(p.agreement, ctx.agreement);
    assert.equal(p.grant, ctx.grant);
    assert.equal(p.friendsVisible, true);
  });

  test('is a pure function of its inputs: the same context and now give the same plan', () => {
    const ctx = context();
    assert.deepEqual(planAccess(ctx, NOW), planAccess(ctx, NOW));
  });

  test('a token down-scoped at refresh reads no more than its scope (and always `id`)', () => {
    const p = plan({ token: { scope: { memberFields: mask('name'), friendFields: mask('name') } } });
    assert.equal(p.self.ceiling, mask('id', 'name'));
    assert.equal(p.friendsVisible, false, 'no `friends` in the scope: no friend list');
    const wide = plan({ token: { scope: { memberFields: OBJECT_FIELDS_MASK | FRIENDS_MASK, friendFields: mask('name') } } });
    assert.equal(wide.grant.memberFields, context().grant.memberFields, 'a scope never widens the grant');
    assert.equal(wide.friend.ceiling & ~mask('name'), 0);
  });
});

describe('planAccess rule 1: token valid, unexpired, unrevoked (401 invalid_token)', () => {
  test('a token at its exact expiry is refused', () => {
    assertRefused({ token: { expiresAt: NOW } }, INVALID_TOKEN);
  });

  test('a token 1 ms before its expiry is accepted', () => {
    assert.doesNotThrow(() => plan({ token: { expiresAt: NOW + 1 } }));
  });

  test('a long-expired token is refused', () => {
    assertRefused({ token: { expiresAt: NOW - DAY_MS } }, INVALID_TOKEN);
  });

  test('a revoked token is refused, from the instant of revocation', () => {
    assertRefused({ token: { revokedAt: NOW - DAY_MS } }, INVALID_TOKEN);
    assertRefused({ token: { revokedAt: NOW } }, INVALID_TOKEN);
    assert.doesNotThrow(() => plan({ token: { revokedAt: NOW + 1 } }));
  });
});

describe('planAccess rule 2: app active (403 app_disabled)', () => {
  test('a disabled app is refused', () => {
    assertRefused({ app: { status: 'disabled' } }, APP_DISABLED);
  });
});

describe('planAccess rule 3: agreement in effect (403 agreement_not_in_effect with cause)', () => {
  const pastWindDown = windDown({ noNewGrants: NOW - 30 * DAY_MS, noFriendData: NOW - 20 * DAY_MS, accessEnded: NOW });
  const cases: [string, ContextOverrides, string][] = [
    ['expired at its exact end', { agreement: { endsAt: NOW } }, 'expired'],
    ['suspended', { agreement: { status: 'suspended' } }, 'suspended'],
    ['terminated', { agreement: { status: 'terminated' } }, 'terminated'],
    ['wind-down at its exact access_ended date', { agreement: { status: 'winding_down', windDown: pastWindDown } }, 'access_ended'],
    ['certification exactly 60 days overdue', { agreement: { certificationDueAt: NOW - 60 * DAY_MS } }, 'certification_overdue'],
    ['a draft', { agreement: { status: 'draft' } }, 'not_active'],
    ['under review', { agreement: { status: 'under_review' } }, 'not_active'],
    ['not started yet', { agreement: { startsAt: NOW + 1 } }, 'not_started'],
    ['no agreement at all', { agreement: null }, 'no_agreement'],
  ];
  for (const [label, overrides, cause] of cases) {
    test(`${label}: cause ${cause}`, () => assertRefused(overrides, notInEffect(cause)));
  }

  test('a winding-down agreement before access_ended is in effect', () => {
    const w = windDown();
    assert.doesNotThrow(() => plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData));
    assert.doesNotThrow(() => plan({ agreement: { status: 'winding_down', windDown: w } }, w.accessEnded - 1));
  });

  test('an agreement exactly at its start is in effect', () => {
    assert.doesNotThrow(() => plan({ agreement: { startsAt: NOW } }));
  });
});

describe('planAccess rule 4: grant unrevoked and used within 90 days (401 grant_expired)', () => {
  test('a grant last used exactly 90 days ago is refused', () => {
    assertRefused({ grant: { lastUsedAt: NOW - IDLE_MS } }, GRANT_EXPIRED);
  });

  test('a grant last used 1 ms less than 90 days ago is accepted', () => {
    assert.doesNotThrow(() => plan({ grant: { lastUsedAt: NOW - IDLE_MS + 1 } }));
  });

  test('a never-used grant granted exactly 90 days ago is refused', () => {
    assertRefused({ grant: { lastUsedAt: null, grantedAt: NOW - IDLE_MS } }, GRANT_EXPIRED);
  });

  test('a revoked grant is refused', () => {
    assertRefused({ grant: { revokedAt: NOW - 1 } }, GRANT_EXPIRED);
    assertRefused({ grant: { revokedAt: NOW } }, GRANT_EXPIRED);
  });
});

describe('planAccess rule 5: purpose allowed by the agreement (403 purpose_not_allowed)', () => {
  test('a purpose outside the agreement is refused', () => {
    assertRefused({ grant: { purpose: 'messaging' } }, PURPOSE_NOT_ALLOWED);
  });

  test('any of the agreement purposes is accepted', () => {
    const purposes = ['login', 'messaging', 'calendar_sync'] as const;
    for (const purpose of purposes) {
      assert.doesNotThrow(() => plan({ agreement: { purposes: [...purposes] }, grant: { purpose } }), purpose);
    }
  });

  test('an agreement with no purposes allows none', () => {
    assertRefused({ agreement: { purposes: [] } }, PURPOSE_NOT_ALLOWED);
  });
});

describe('planAccess rule 6: the token member has platform_enabled (403 platform_disabled)', () => {
  test('a member who turned the platform off is refused', () => {
    assertRefused({ member: { platformEnabled: false } }, PLATFORM_DISABLED);
  });
});

describe('planAccess: precedence of the request rules', () => {
  /** One way to break each rule, in the order of PRODUCT.md §4. */
  const breaks: [Expected, ContextOverrides][] = [
    [INVALID_TOKEN, { token: { revokedAt: NOW - 1 } }],
    [APP_DISABLED, { app: { status: 'disabled' } }],
    [notInEffect('suspended'), { agreement: { status: 'suspended' } }],
    [GRANT_EXPIRED, { grant: { revokedAt: NOW - 1 } }],
    [PURPOSE_NOT_ALLOWED, { grant: { purpose: 'messaging' } }],
    [PLATFORM_DISABLED, { member: { platformEnabled: false } }],
  ];

  function merge(parts: ContextOverrides[]): ContextOverrides {
    const merged: Required<Omit<ContextOverrides, 'agreement'>> & { agreement: NonNullable<ContextOverrides['agreement']> } = {
      token: {},
      grant: {},
      app: {},
      agreement: {},
      member: {},
    };
    for (const part of parts) {
      Object.assign(merged.token, part.token);
      Object.assign(merged.grant, part.grant);
      Object.assign(merged.app, part.app);
      Object.assign(merged.agreement, part.agreement);
      Object.assign(merged.member, part.member);
    }
    return merged;
  }

  test('each break alone fails with its own error', () => {
    for (const [expected, overrides] of breaks) assertRefused(overrides, expected);
  });

  for (let first = 0; first < breaks.length; first++) {
    for (let second = first + 1; second < breaks.length; second++) {
      const [expected] = breaks[first]!;
      const [later] = breaks[second]!;
      test(`rule ${first + 1} (${expected.code}) wins over rule ${second + 1} (${later.code})`, () => {
        assertRefused(merge([breaks[first]![1], breaks[second]![1]]), expected);
      });
    }
  }

  test('with every rule broken, the first one still wins, and each fix reveals the next', () => {
    for (let first = 0; first < breaks.length; first++) {
      assertRefused(merge(breaks.slice(first).map(([, overrides]) => overrides)), breaks[first]![0]);
    }
  });

  test('an expired grant under an agreement that is not in effect reports the agreement', () => {
    assertRefused({ agreement: { endsAt: NOW }, grant: { lastUsedAt: NOW - IDLE_MS } }, notInEffect('expired'));
  });
});

describe('planAccess: the field plan', () => {
  test('friends are visible only when friends is in the agreement member fields and in the grant', () => {
    const withoutFriends = OBJECT_FIELDS_MASK;
    assert.equal(plan().friendsVisible, true);
    assert.equal(plan({ agreement: { memberFields: withoutFriends } }).friendsVisible, false);
    assert.equal(plan({ grant: { memberFields: withoutFriends } }).friendsVisible, false);
    assert.equal(plan({ agreement: { memberFields: FRIENDS_MASK }, grant: { memberFields: FRIENDS_MASK } }).friendsVisible, true);
  });

  test('friend fields do not make friends visible on their own', () => {
    const p = plan({ agreement: { memberFields: OBJECT_FIELDS_MASK, friendFields: OBJECT_FIELDS_MASK | FRIENDS_MASK } });
    assert.equal(p.friendsVisible, false);
  });

  test('self rules: agreement then grant, ceiling is their intersection, audience not read', () => {
    const p = plan({ agreement: { memberFields: mask('name', 'email', 'birthday') }, grant: { memberFields: mask('name', 'birthday', 'likes') } });
    assert.deepEqual(p.self.steps.map((step) => step.reason), ['not_in_agreement', 'not_consented']);
    assert.equal(p.self.ceiling, mask('name', 'birthday'));
    assert.equal(p.self.readsAudience, false);
  });

  test('device-partner friend rules: agreement, grant, audience, wind-down, sensitivity, in that order', () => {
    const p = plan();
    assert.deepEqual(p.friend.steps.map((step) => step.reason), [
      'not_in_agreement',
      'not_consented',
      'audience_restricted',
      'wind_down',
      'sensitive_field',
    ]);
    assert.equal(p.friend.readsAudience, true);
    assert.equal(p.friend.ceiling & SENSITIVE_MASK, 0, 'sensitive fields never pass for a friend');
    assert.equal(p.friend.ceiling, OBJECT_FIELDS_MASK & ~SENSITIVE_MASK);
  });

  test('device-partner friend ceiling drops to nothing exactly at no_friend_data, not 1 ms before', () => {
    const w = windDown();
    const overrides: ContextOverrides = { agreement: { status: 'winding_down', windDown: w } };
    assert.equal(plan(overrides, w.noFriendData).friend.ceiling, 0);
    assert.equal(plan(overrides, w.noFriendData - 1).friend.ceiling, OBJECT_FIELDS_MASK & ~SENSITIVE_MASK);
  });

  test('third-party friend rules: id, name and picture at most, audience not read', () => {
    const p = plan({ app: { class: 'third_party' } });
    assert.equal(p.appClass, 'third_party');
    assert.equal(p.friend.ceiling, BASIC_MASK);
    assert.equal(p.friend.readsAudience, false);
    assert.equal(p.friend.steps[0]?.reason, 'third_party_friend_data');
  });

  test('third-party friend ceiling is also cut by the agreement and the grant member fields', () => {
    const p = plan({ app: { class: 'third_party' }, agreement: { memberFields: mask('id', 'name', 'friends') }, grant: { memberFields: mask('id', 'picture', 'name', 'friends') } });
    assert.equal(p.friend.ceiling, mask('id', 'name'));
  });
});
