import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agreement } from '../../src/domain/agreement.js';
import { attention, type AttentionInput } from '../../src/domain/attention.js';
import { addDays } from '../../src/domain/time.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function input(id: string, change: Partial<Agreement> = {}, extra: Partial<AttentionInput> = {}): AttentionInput {
  return {
    agreement: {
      id, version: 1, partnerId: `p_${id}`, status: 'active', purposes: ['login'], memberFields: 1, friendFields: 0,
      startsAt: addDays(NOW, -100), endsAt: addDays(NOW, 200), certificationDueAt: addDays(NOW, 100), windDown: null,
      appIds: [`app_${id}`], retentionDays: 30, storage: { location: 'on_device' }, statusReason: null, ...change,
    },
    approvalsNeeded: 1, approvalsGiven: 0, deletionUnconfirmed: false, updatedAt: NOW, ...extra,
  };
}

test('the home lists what is due within 30 days or overdue, and nothing further off or already over', () => {
  const home = attention([
    input('calm'),
    input('review', { status: 'under_review' }, { approvalsNeeded: 2, approvalsGiven: 1, updatedAt: addDays(NOW, -3) }),
    input('due', { certificationDueAt: addDays(NOW, 30) }),
    input('later', { certificationDueAt: addDays(NOW, 31) }),
    input('overdue', { status: 'suspended', certificationDueAt: addDays(NOW, -10) }),
    input('ended', { status: 'terminated', certificationDueAt: addDays(NOW, -10) }),
    input('winding', { status: 'winding_down', windDown: { noNewGrants: addDays(NOW, -5), noFriendData: addDays(NOW, 10), accessEnded: addDays(NOW, 40) } }),
    input('unconfirmed', { status: 'winding_down', windDown: { noNewGrants: addDays(NOW, -90), noFriendData: addDays(NOW, -60), accessEnded: addDays(NOW, -31) } },
      { deletionUnconfirmed: true }),
  ], NOW);
  assert.deepEqual(home.approvalsWaiting.map((a) => [a.agreement.id, a.needed, a.given]), [['review', 2, 1]]);
  assert.deepEqual(home.certificationsDue.map((c) => [c.agreement.id, c.overdue]), [['overdue', true], ['due', false]]);
  assert.deepEqual(home.windDownPhases.map((p) => [p.agreement.id, p.phase]), [['winding', 'no_friend_data']]);
  assert.deepEqual(home.deletionUnconfirmed.map((d) => d.agreement.id), ['unconfirmed']);
});
