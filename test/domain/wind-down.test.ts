import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { WIND_DOWN_PHASES, hasReached, phasesInOrder, windDownPhase, type WindDownPhase } from '../../src/domain/wind-down.js';
import { DAY_MS, NOW, windDown } from './builders.js';

const plan = windDown();

describe('windDownPhase', () => {
  test('without a plan there is no wind-down, whenever', () => {
    for (const now of [0, NOW, plan.accessEnded + 1000 * DAY_MS]) assert.equal(windDownPhase(null, now), 'none');
  });

  const cases: [string, number, WindDownPhase][] = [
    ['long before no_new_grants', plan.noNewGrants - 365 * DAY_MS, 'none'],
    ['1 ms before no_new_grants', plan.noNewGrants - 1, 'none'],
    ['exactly at no_new_grants', plan.noNewGrants, 'no_new_grants'],
    ['1 ms after no_new_grants', plan.noNewGrants + 1, 'no_new_grants'],
    ['1 ms before no_friend_data', plan.noFriendData - 1, 'no_new_grants'],
    ['exactly at no_friend_data', plan.noFriendData, 'no_friend_data'],
    ['1 ms before access_ended', plan.accessEnded - 1, 'no_friend_data'],
    ['exactly at access_ended', plan.accessEnded, 'access_ended'],
    ['long after access_ended', plan.accessEnded + 365 * DAY_MS, 'access_ended'],
  ];
  for (const [label, now, expected] of cases) {
    test(`${label}: ${expected}`, () => assert.equal(windDownPhase(plan, now), expected));
  }
});

describe('hasReached', () => {
  test('compares the phase in force with the asked phase, in phase order', () => {
    const at: Record<WindDownPhase, number> = {
      none: plan.noNewGrants - 1,
      no_new_grants: plan.noNewGrants,
      no_friend_data: plan.noFriendData,
      access_ended: plan.accessEnded,
    };
    for (const current of WIND_DOWN_PHASES) {
      for (const asked of WIND_DOWN_PHASES) {
        const expected = WIND_DOWN_PHASES.indexOf(current) >= WIND_DOWN_PHASES.indexOf(asked);
        assert.equal(hasReached(plan, asked, at[current]), expected, `in ${current}, reached ${asked}?`);
      }
    }
  });

  test('without a plan only none is reached', () => {
    assert.equal(hasReached(null, 'none', NOW), true);
    assert.equal(hasReached(null, 'no_new_grants', NOW), false);
    assert.equal(hasReached(null, 'access_ended', NOW), false);
  });

  test('no_friend_data is still reached once access has ended', () => {
    assert.equal(hasReached(plan, 'no_friend_data', plan.accessEnded), true);
    assert.equal(hasReached(plan, 'no_friend_data', plan.noFriendData - 1), false);
  });
});

describe('phasesInOrder', () => {
  test('accepts strictly increasing dates', () => {
    assert.equal(phasesInOrder(plan), true);
    assert.equal(phasesInOrder(windDown({ noNewGrants: 1, noFriendData: 2, accessEnded: 3 })), true);
  });

  test('rejects equal dates', () => {
    assert.equal(phasesInOrder(windDown({ noFriendData: plan.noNewGrants })), false);
    assert.equal(phasesInOrder(windDown({ accessEnded: plan.noFriendData })), false);
  });

  test('rejects dates out of order', () => {
    assert.equal(phasesInOrder(windDown({ noNewGrants: plan.noFriendData + 1 })), false);
    assert.equal(phasesInOrder(windDown({ accessEnded: plan.noNewGrants - 1 })), false);
  });
});
