import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GRANT_IDLE_DAYS, grantEnd, grantIsActive, grantStatus } from '../../src/domain/grant.js';
import { DAY_MS, NOW, grant, windDown } from './builders.js';

const IDLE_MS = 90 * DAY_MS;

describe('grantIsActive: 90 days after last use', () => {
  test('the idle limit is 90 days (PRODUCT.md §3)', () => {
    assert.equal(GRANT_IDLE_DAYS, 90);
  });

  test('a grant used recently is active', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: NOW - DAY_MS }), NOW), true);
  });

  test('exactly 90 days after last use it has expired', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: NOW - IDLE_MS }), NOW), false);
  });

  test('1 ms before 90 days after last use it is still active', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: NOW - IDLE_MS + 1 }), NOW), true);
  });

  test('the same edge, moving now instead of the last use', () => {
    const g = grant({ lastUsedAt: NOW });
    assert.equal(grantIsActive(g, NOW + IDLE_MS - 1), true);
    assert.equal(grantIsActive(g, NOW + IDLE_MS), false);
    assert.equal(grantIsActive(g, NOW + IDLE_MS + 1), false);
  });

  test('last use, not the grant date, counts when the grant has been used', () => {
    const g = grant({ grantedAt: NOW - 400 * DAY_MS, lastUsedAt: NOW - 10 * DAY_MS });
    assert.equal(grantIsActive(g, NOW), true);
  });

  test('an old last use expires the grant even if the grant date is later (last use wins when set)', () => {
    const g = grant({ grantedAt: NOW - DAY_MS, lastUsedAt: NOW - IDLE_MS });
    assert.equal(grantIsActive(g, NOW), false);
  });
});

describe('grantIsActive: never used', () => {
  test('falls back to the grant date: exactly 90 days after granting it has expired', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: null, grantedAt: NOW - IDLE_MS }), NOW), false);
  });

  test('falls back to the grant date: 1 ms before 90 days it is active', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: null, grantedAt: NOW - IDLE_MS + 1 }), NOW), true);
  });

  test('a fresh, unused grant is active', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: null, grantedAt: NOW }), NOW), true);
  });
});

describe('grantIsActive: revocation', () => {
  test('a grant revoked earlier is not active, however recently it was used', () => {
    assert.equal(grantIsActive(grant({ lastUsedAt: NOW - 1, revokedAt: NOW - DAY_MS }), NOW), false);
  });

  test('revocation takes effect at its exact instant', () => {
    assert.equal(grantIsActive(grant({ revokedAt: NOW }), NOW), false);
    assert.equal(grantIsActive(grant({ revokedAt: NOW }), NOW - 1), true);
  });

  test('an unrevoked grant is judged only by its last use', () => {
    assert.equal(grantIsActive(grant({ revokedAt: null, lastUsedAt: NOW - 1 }), NOW), true);
    assert.equal(grantIsActive(grant({ revokedAt: null, lastUsedAt: NOW - IDLE_MS }), NOW), false);
  });
});

describe('grantEnd: how a grant has ended, from its record and the dates alone', () => {
  const plan = windDown();
  const underPlan = { windDown: plan };

  test('a live grant under a live agreement has not ended', () => {
    assert.equal(grantEnd(grant(), underPlan, NOW), null);
    assert.equal(grantStatus(grantEnd(grant(), underPlan, NOW)), 'active');
  });

  test('90 days unused: ended at the instant it lapsed, whether or not anything was recorded', () => {
    const g = grant({ lastUsedAt: NOW });
    assert.equal(grantEnd(g, null, NOW + IDLE_MS - 1), null);
    assert.deepEqual(grantEnd(g, null, NOW + IDLE_MS), { at: NOW + IDLE_MS, reason: 'unused_90_days' });
    assert.equal(grantStatus(grantEnd(g, null, NOW + IDLE_MS)), 'expired');
  });

  test('access_ended: every grant under the agreement ends at that exact instant', () => {
    const g = grant({ lastUsedAt: plan.accessEnded - DAY_MS });
    assert.equal(grantEnd(g, underPlan, plan.accessEnded - 1), null);
    assert.deepEqual(grantEnd(g, underPlan, plan.accessEnded), { at: plan.accessEnded, reason: 'access_ended' });
    assert.equal(grantStatus(grantEnd(g, underPlan, plan.accessEnded)), 'ended');
  });

  test('a recorded end keeps its reason; a revocation recorded without one was its member\'s', () => {
    assert.deepEqual(grantEnd(grant({ revokedAt: NOW - 1, endReason: 'token_revoked' }), underPlan, NOW), { at: NOW - 1, reason: 'token_revoked' });
    assert.deepEqual(grantEnd(grant({ revokedAt: NOW - 1 }), underPlan, NOW), { at: NOW - 1, reason: 'member_revoked' });
    assert.equal(grantStatus({ at: NOW, reason: 'token_revoked' }), 'revoked');
  });

  test('the earliest end is the one that counts: a grant revoked before access_ended stays revoked', () => {
    const revoked = grant({ revokedAt: plan.noFriendData, endReason: 'member_revoked' });
    assert.deepEqual(grantEnd(revoked, underPlan, plan.accessEnded + DAY_MS), { at: plan.noFriendData, reason: 'member_revoked' });
    const lapsed = grant({ lastUsedAt: plan.accessEnded - IDLE_MS - DAY_MS });
    assert.deepEqual(grantEnd(lapsed, underPlan, plan.accessEnded), { at: plan.accessEnded - DAY_MS, reason: 'unused_90_days' });
  });
});
