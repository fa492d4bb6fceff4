import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { maskOf } from '../../src/domain/field-catalog.js';
import {
  GUARDED_ROLES, approvalRefusal, approvalsNeeded, confirmationRefusal, countingApprovals, splitRoleChange, type Standing,
} from '../../src/domain/separation-of-duties.js';
import { STAFF_ROLES, type StaffRole } from '../../src/domain/staff.js';

const codeOf = (error: { code: string } | null) => error?.code ?? null;

describe('who may approve', () => {
  test('a privacy officer who is neither the author nor an admin', () => {
    assert.equal(approvalRefusal('po', ['privacy_officer'], 'author'), null);
    assert.equal(approvalRefusal('po', ['privacy_officer', 'viewer'], 'author'), null);
    assert.equal(codeOf(approvalRefusal('po', ['viewer'], 'author')), 'forbidden');
    assert.equal(codeOf(approvalRefusal('po', ['admin'], 'author')), 'forbidden');
    assert.equal(codeOf(approvalRefusal('po', ['privacy_officer', 'admin'], 'author')), 'admins_never_approve');
    assert.equal(codeOf(approvalRefusal('author', ['privacy_officer'], 'author')), 'author_cannot_approve');
  });

  test('two approvals for friend fields, sensitive member fields or a risk-flagged partner; else one', () => {
    assert.equal(approvalsNeeded(maskOf(['name', 'email']), 0, []), 1);
    assert.equal(approvalsNeeded(maskOf(['name']), maskOf(['name']), []), 2);
    assert.equal(approvalsNeeded(maskOf(['political_views']), 0, []), 2);
    assert.equal(approvalsNeeded(maskOf(['name']), 0, ['state_influence']), 2);
  });
});

describe('which approvals count at activation', () => {
  const ids = ['a', 'b', 'c', 'd', 'author'];
  const standingArb = fc.record({
    roles: fc.subarray([...STAFF_ROLES] as StaffRole[]),
    disabled: fc.boolean(),
  });
  const world = fc.record({
    approvals: fc.array(fc.constantFrom(...ids), { maxLength: 6 }),
    standing: fc.dictionary(fc.constantFrom(...ids), standingArb),
  });

  test('exactly the distinct approvers who still qualify: enabled, privacy_officer, no admin, not the author', () => {
    const seen = { counted: 0, lost_role: 0, admin: 0, disabled: 0, gone: 0, author: 0 };
    fc.assert(fc.property(world, ({ approvals, standing }) => {
      const map = new Map<string, Standing>(Object.entries(standing));
      const counting = countingApprovals(approvals, map, 'author');
      assert.equal(new Set(counting).size, counting.length, 'each approver counts once');
      for (const id of new Set(approvals)) {
        const now = map.get(id);
        const why = now === undefined ? 'gone' : id === 'author' ? 'author' : now.disabled ? 'disabled'
          : !now.roles.includes('privacy_officer') ? 'lost_role' : now.roles.includes('admin') ? 'admin' : 'counted';
        seen[why]++;
        assert.equal(counting.includes(id), why === 'counted', `${id}: ${why}`);
      }
    }), { numRuns: 500 });
    for (const [kind, count] of Object.entries(seen)) assert.ok(count > 20, `the property met '${kind}' only ${count} times`);
  });
});

describe('role changes through the API', () => {
  test('guarded roles the account lacks are proposed; everything else, removals included, acts at once', () => {
    const roles = fc.subarray([...STAFF_ROLES] as StaffRole[]);
    const seen = { proposal: 0, none: 0, removal: 0, kept_guarded: 0 };
    fc.assert(fc.property(roles, roles, (current, requested) => {
      const { roles: now, proposed } = splitRoleChange(current, requested);
      assert.deepEqual(new Set([...now, ...proposed]), new Set(requested), 'nothing asked for is lost');
      assert.ok(proposed.every((role) => GUARDED_ROLES.includes(role) && !current.includes(role)));
      assert.ok(now.every((role) => !GUARDED_ROLES.includes(role) || current.includes(role)), 'no guarded role is gained at once');
      seen[proposed.length > 0 ? 'proposal' : 'none']++;
      if (current.some((role) => !requested.includes(role))) seen.removal++;
      if (now.some((role) => GUARDED_ROLES.includes(role))) seen.kept_guarded++;
    }), { numRuns: 300 });
    for (const [kind, count] of Object.entries(seen)) assert.ok(count > 20, `the property met '${kind}' only ${count} times`);
  });

  test('a proposal is confirmed by an admin other than its proposer and its subject', () => {
    const proposal = { staffId: 'subject', proposedBy: 'first' };
    assert.equal(confirmationRefusal(proposal, 'second', ['admin']), null);
    assert.equal(codeOf(confirmationRefusal(proposal, 'first', ['admin'])), 'proposer_cannot_confirm');
    assert.equal(codeOf(confirmationRefusal(proposal, 'subject', ['admin'])), 'subject_cannot_confirm');
    assert.equal(codeOf(confirmationRefusal(proposal, 'second', ['privacy_officer'])), 'forbidden');
  });
});
