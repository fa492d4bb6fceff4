import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AGREEMENT_STATUSES,
  CERTIFICATION_GRACE_DAYS,
  NOT_IN_EFFECT_CAUSES,
  notInEffectCause,
  type AgreementStatus,
} from '../../src/domain/agreement.js';
import { DAY_MS, NOW, agreement, windDown } from './builders.js';

const GRACE_MS = 60 * DAY_MS;

describe('notInEffectCause: statuses', () => {
  test('an active agreement inside its dates is in effect', () => {
    assert.equal(notInEffectCause(agreement(), NOW), null);
  });

  test('no agreement at all: no_agreement', () => {
    assert.equal(notInEffectCause(null, NOW), 'no_agreement');
  });

  const expected: Record<AgreementStatus, string | null> = {
    draft: 'not_active',
    under_review: 'not_active',
    active: null,
    suspended: 'suspended',
    winding_down: null,
    terminated: 'terminated',
  };
  for (const status of AGREEMENT_STATUSES) {
    test(`status ${status}, inside its dates and with no wind-down plan: ${expected[status] ?? 'in effect'}`, () => {
      assert.equal(notInEffectCause(agreement({ status }), NOW), expected[status]);
    });
  }

  test('the causes PRODUCT.md §4 names are all possible causes', () => {
    for (const cause of ['expired', 'suspended', 'terminated', 'access_ended', 'certification_overdue']) {
      assert.ok((NOT_IN_EFFECT_CAUSES as readonly string[]).includes(cause), cause);
    }
  });
});

describe('notInEffectCause: start and end dates', () => {
  const a = agreement({ startsAt: NOW, endsAt: NOW + 100 * DAY_MS });

  test('exactly at its start it is in effect', () => {
    assert.equal(notInEffectCause(a, a.startsAt), null);
  });

  test('1 ms before its start: not_started', () => {
    assert.equal(notInEffectCause(a, a.startsAt - 1), 'not_started');
  });

  test('1 ms before its end it is in effect', () => {
    assert.equal(notInEffectCause(a, a.endsAt - 1), null);
  });

  test('exactly at its end: expired', () => {
    assert.equal(notInEffectCause(a, a.endsAt), 'expired');
  });

  test('after its end: expired, whether or not the scheduler has changed the status', () => {
    assert.equal(notInEffectCause(a, a.endsAt + 10 * DAY_MS), 'expired');
    assert.equal(notInEffectCause({ ...a, status: 'winding_down' }, a.endsAt), 'expired');
  });
});

describe('notInEffectCause: certification', () => {
  const due = NOW - 10 * DAY_MS;
  const a = agreement({ certificationDueAt: due });

  test('the grace period is 60 days (PRODUCT.md §5)', () => {
    assert.equal(CERTIFICATION_GRACE_DAYS, 60);
  });

  test('on the due date and within the grace period it is still in effect', () => {
    assert.equal(notInEffectCause(a, due), null);
    assert.equal(notInEffectCause(a, due + 30 * DAY_MS), null);
  });

  test('1 ms before due + 60 days it is in effect', () => {
    assert.equal(notInEffectCause(a, due + GRACE_MS - 1), null);
  });

  test('exactly at due + 60 days: certification_overdue, with the status still active', () => {
    assert.equal(notInEffectCause(a, due + GRACE_MS), 'certification_overdue');
  });

  test('certification overdue also stops a winding-down agreement', () => {
    assert.equal(notInEffectCause({ ...a, status: 'winding_down' }, due + GRACE_MS), 'certification_overdue');
  });
});

describe('notInEffectCause: wind-down', () => {
  const plan = windDown();

  test('a winding-down agreement is in effect in every phase before access_ended', () => {
    const a = agreement({ status: 'winding_down', windDown: plan });
    assert.equal(notInEffectCause(a, plan.noNewGrants - 1), null);
    assert.equal(notInEffectCause(a, plan.noNewGrants), null);
    assert.equal(notInEffectCause(a, plan.noFriendData), null);
    assert.equal(notInEffectCause(a, plan.accessEnded - 1), null);
  });

  test('exactly at access_ended: access_ended', () => {
    const a = agreement({ status: 'winding_down', windDown: plan });
    assert.equal(notInEffectCause(a, plan.accessEnded), 'access_ended');
    assert.equal(notInEffectCause(a, plan.accessEnded + DAY_MS), 'access_ended');
  });

  test('the access_ended date acts even before the scheduler has moved the status to winding_down', () => {
    const a = agreement({ status: 'active', windDown: plan });
    assert.equal(notInEffectCause(a, plan.accessEnded - 1), null);
    assert.equal(notInEffectCause(a, plan.accessEnded), 'access_ended');
  });
});

describe('notInEffectCause: order of causes', () => {
  const ended = NOW - DAY_MS;
  const overdue = NOW - GRACE_MS - DAY_MS;
  const pastWindDown = windDown({ noNewGrants: NOW - 30 * DAY_MS, noFriendData: NOW - 20 * DAY_MS, accessEnded: NOW - 10 * DAY_MS });

  test('terminated comes before every date cause', () => {
    const a = agreement({ status: 'terminated', endsAt: ended, windDown: pastWindDown, certificationDueAt: overdue });
    assert.equal(notInEffectCause(a, NOW), 'terminated');
    assert.equal(notInEffectCause(agreement({ status: 'terminated', startsAt: NOW + DAY_MS }), NOW), 'terminated');
  });

  test('a draft or an agreement under review is not_active before any date cause', () => {
    for (const status of ['draft', 'under_review'] as const) {
      assert.equal(notInEffectCause(agreement({ status, endsAt: ended }), NOW), 'not_active', status);
      assert.equal(notInEffectCause(agreement({ status, startsAt: NOW + DAY_MS }), NOW), 'not_active', status);
    }
  });

  test('not_started comes before expired', () => {
    // Only reachable with an end before the start; the order still decides.
    const a = agreement({ startsAt: NOW + DAY_MS, endsAt: NOW - DAY_MS });
    assert.equal(notInEffectCause(a, NOW), 'not_started');
  });

  test('not_started comes before access_ended, certification_overdue and suspended', () => {
    const a = agreement({ status: 'suspended', startsAt: NOW + DAY_MS, windDown: pastWindDown, certificationDueAt: overdue });
    assert.equal(notInEffectCause(a, NOW), 'not_started');
  });

  test('expired comes before access_ended, certification_overdue and suspended', () => {
    const a = agreement({ status: 'suspended', endsAt: ended, windDown: pastWindDown, certificationDueAt: overdue });
    assert.equal(notInEffectCause(a, NOW), 'expired');
  });

  test('access_ended comes before certification_overdue and suspended', () => {
    const a = agreement({ status: 'suspended', windDown: pastWindDown, certificationDueAt: overdue });
    assert.equal(notInEffectCause(a, NOW), 'access_ended');
  });

  test('certification_overdue comes before a manual suspension', () => {
    const a = agreement({ status: 'suspended', certificationDueAt: overdue });
    assert.equal(notInEffectCause(a, NOW), 'certification_overdue');
  });

  test('a suspended agreement with no date cause: suspended', () => {
    assert.equal(notInEffectCause(agreement({ status: 'suspended', windDown: windDown() }), NOW), 'suspended');
  });
});
