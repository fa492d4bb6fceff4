import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGREEMENT_STATUSES, type AgreementStatus } from '../../src/domain/agreement.js';
import {
  ACTION_PERMISSION, LEGAL_FROM, STAFF_ACTIONS, SYSTEM, dueActions, needsTwoApprovals, transition,
  type Actor, type LifecycleAction, type LifecycleState,
} from '../../src/domain/agreement-lifecycle.js';
import { DatapactError } from '../../src/domain/errors.js';
import { maskOf } from '../../src/domain/field-catalog.js';
import { STAFF_ROLES, can, type StaffRole } from '../../src/domain/staff.js';
import { addDays } from '../../src/domain/time.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const staff = (id: string, ...roles: StaffRole[]): Actor => ({ kind: 'staff', id, roles });
const manager = staff('manager', 'partnerships_manager');
const officerA = staff('officer-a', 'privacy_officer');
const officerB = staff('officer-b', 'privacy_officer');
/** Both officers still hold the role and are enabled: their approvals count at activation. */
const standing = new Map([['officer-a', { roles: ['privacy_officer'] as StaffRole[], disabled: false }], ['officer-b', { roles: ['privacy_officer'] as StaffRole[], disabled: false }]]);
const activate = { type: 'activate', standing } as const;
const plan = { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 30) };

function state(status: AgreementStatus, overrides: Partial<LifecycleState> = {}): LifecycleState {
  return {
    status, statusReason: null, authorId: 'author', approvals: [], approvedBy: [], needsTwoApprovals: false,
    startsAt: addDays(NOW, -10), endsAt: addDays(NOW, 300), certificationDueAt: addDays(NOW, 100),
    windDown: null, deletionAttestedAt: null, deletionUnconfirmed: false, ...overrides,
  };
}

/** A representative of each action, with the actor entitled to it and a state meeting its preconditions. */
const EXAMPLES: ReadonlyArray<{ action: LifecycleAction; actor: Actor; setUp?: Partial<LifecycleState>; at?: number }> = [
  { action: { type: 'edit' }, actor: manager },
  { action: { type: 'submit' }, actor: manager },
  { action: { type: 'return_to_draft', reason: 'needs work' }, actor: manager },
  { action: { type: 'approve' }, actor: officerA },
  { action: activate, actor: manager, setUp: { approvals: ['officer-a'] } },
  { action: { type: 'suspend', reason: 'investigation' }, actor: manager },
  { action: { type: 'resume' }, actor: officerA },
  { action: { type: 'schedule_wind_down', plan }, actor: manager },
  { action: { type: 'record_deletion_attestation' }, actor: manager, setUp: { windDown: plan }, at: plan.accessEnded },
  { action: { type: 'terminate', reason: 'withdrawn' }, actor: manager },
  { action: { type: 'expire' }, actor: SYSTEM, at: addDays(NOW, 300) },
  { action: { type: 'lapse_certification' }, actor: SYSTEM, at: addDays(NOW, 160) },
  { action: { type: 'flag_deletion_unconfirmed' }, actor: SYSTEM, setUp: { windDown: plan }, at: addDays(plan.accessEnded, 30) },
  { action: { type: 'certify' }, actor: SYSTEM },
  { action: { type: 'attest_deletion' }, actor: SYSTEM, setUp: { windDown: plan }, at: plan.accessEnded },
];

const EXPECTED_STATUS: Partial<Record<LifecycleAction['type'], AgreementStatus>> = {
  submit: 'under_review', return_to_draft: 'draft', activate: 'active', suspend: 'suspended', resume: 'active',
  schedule_wind_down: 'winding_down', record_deletion_attestation: 'terminated', attest_deletion: 'terminated', terminate: 'terminated',
  expire: 'winding_down', lapse_certification: 'suspended',
};

describe('every (state, action) pair', () => {
  test('the examples cover every action', () => {
    assert.deepEqual(EXAMPLES.map((e) => e.action.type).sort(), Object.keys(LEGAL_FROM).sort());
  });

  for (const status of AGREEMENT_STATUSES) {
    for (const { action, actor, setUp, at } of EXAMPLES) {
      const legal = LEGAL_FROM[action.type].includes(status);
      test(`${action.type} from ${status}: ${legal ? 'allowed' : `409 ${action.type}_not_allowed_when_${status}`}`, () => {
        const before = state(status, setUp);
        if (!legal) {
          assert.throws(() => transition(before, action, actor, at ?? NOW), (error: DatapactError) =>
            error.status === 409 && error.code === `${action.type}_not_allowed_when_${status}`);
          return;
        }
        const after = transition(before, action, actor, at ?? NOW);
        assert.equal(after.status, EXPECTED_STATUS[action.type] ?? status);
      });
    }
  }
});

describe('who may act', () => {
  for (const type of STAFF_ACTIONS) {
    const example = EXAMPLES.find((e) => e.action.type === type)!;
    const from = LEGAL_FROM[type][0]!;
    for (const role of STAFF_ROLES) {
      const allowed = can([role], ACTION_PERMISSION[type]);
      test(`${type} by a ${role}: ${allowed ? 'allowed' : '403 forbidden'}`, () => {
        const act = () => transition(state(from, example.setUp), example.action, staff(`someone-${role}`, role), example.at ?? NOW);
        if (allowed) assert.doesNotThrow(act);
        else assert.throws(act, (error: DatapactError) => error.status === 403 && error.code === 'forbidden');
      });
    }
    test(`${type} by the system is refused`, () => {
      assert.throws(() => transition(state(from, example.setUp), example.action, SYSTEM, example.at ?? NOW),
        (error: DatapactError) => error.code === 'forbidden');
    });
  }

  test('timed actions are the system\'s alone', () => {
    for (const type of ['expire', 'lapse_certification', 'flag_deletion_unconfirmed', 'certify', 'attest_deletion'] as const) {
      const example = EXAMPLES.find((e) => e.action.type === type)!;
      const admin = staff('root', 'admin', 'privacy_officer', 'partnerships_manager');
      assert.throws(() => transition(state(LEGAL_FROM[type][0]!, example.setUp), example.action, admin, example.at ?? NOW),
        (error: DatapactError) => error.code === 'forbidden', type);
    }
  });
});

describe('the two-person rule', () => {
  const underReview = (needsTwo: boolean) => state('under_review', { needsTwoApprovals: needsTwo });

  test('one approval by a privacy officer other than the author activates an ordinary agreement', () => {
    const approved = transition(underReview(false), { type: 'approve' }, officerA, NOW);
    assert.equal(transition(approved, activate, manager, NOW).status, 'active');
  });

  test('an approval counts only while its approver holds privacy_officer, without admin, at activation; who counted stays recorded', () => {
    const twice = transition(transition(underReview(true), { type: 'approve' }, officerA, NOW), { type: 'approve' }, officerB, NOW);
    for (const changed of [{ roles: ['viewer'] as StaffRole[], disabled: false }, { roles: ['privacy_officer', 'admin'] as StaffRole[], disabled: false },
      { roles: ['privacy_officer'] as StaffRole[], disabled: true }]) {
      const now = new Map(standing).set('officer-a', changed);
      assert.throws(() => transition(twice, { type: 'activate', standing: now }, manager, NOW), (e: DatapactError) => e.code === 'approvals_missing');
    }
    assert.throws(() => transition(twice, { type: 'activate' }, manager, NOW), (e: DatapactError) => e.code === 'approvals_missing',
      'without the approvers\' standing, nothing counts');
    const active = transition(twice, activate, manager, NOW);
    assert.deepEqual(active.approvedBy, ['officer-a', 'officer-b']);
    assert.deepEqual(transition(active, { type: 'suspend', reason: 'x' }, manager, NOW).approvedBy, ['officer-a', 'officer-b']);
  });

  test('an admin never approves, even one who also holds privacy_officer', () => {
    const both = staff('both', 'privacy_officer', 'admin');
    assert.throws(() => transition(underReview(false), { type: 'approve' }, both, NOW), (e: DatapactError) => e.code === 'admins_never_approve');
  });

  test('without an approval there is no activation', () => {
    assert.throws(() => transition(underReview(false), activate, manager, NOW), (e: DatapactError) => e.code === 'approvals_missing');
  });

  test('two distinct approvals are needed when the rule applies, and one person twice does not count', () => {
    const once = transition(underReview(true), { type: 'approve' }, officerA, NOW);
    assert.throws(() => transition(once, activate, manager, NOW), (e: DatapactError) => e.code === 'approvals_missing');
    assert.throws(() => transition(once, { type: 'approve' }, officerA, NOW), (e: DatapactError) => e.code === 'already_approved');
    const twice = transition(once, { type: 'approve' }, officerB, NOW);
    assert.equal(transition(twice, activate, manager, NOW).status, 'active');
  });

  test('the author cannot approve, even as a privacy officer', () => {
    const authoringOfficer = staff('author', 'privacy_officer', 'partnerships_manager');
    assert.throws(() => transition(underReview(false), { type: 'approve' }, authoringOfficer, NOW), (e: DatapactError) => e.code === 'author_cannot_approve');
  });

  test('a role without the right cannot approve', () => {
    for (const role of ['viewer', 'partnerships_manager', 'admin'] as const) {
      assert.throws(() => transition(underReview(false), { type: 'approve' }, staff(`x-${role}`, role), NOW), (e: DatapactError) => e.code === 'forbidden');
    }
  });

  test('an edit or a return to draft clears earlier approvals', () => {
    const approved = transition(underReview(false), { type: 'approve' }, officerA, NOW);
    const back = transition(approved, { type: 'return_to_draft', reason: 'fix' }, manager, NOW);
    assert.deepEqual(back.approvals, []);
    const resubmitted = transition(back, { type: 'submit' }, manager, NOW);
    assert.throws(() => transition(resubmitted, activate, manager, NOW), (e: DatapactError) => e.code === 'approvals_missing');
  });

  test('applies to friend fields, sensitive member fields and risk-flagged partners', () => {
    assert.equal(needsTwoApprovals(maskOf(['name', 'email']), 0, []), false);
    assert.equal(needsTwoApprovals(maskOf(['name']), maskOf(['birthday']), []), true);
    assert.equal(needsTwoApprovals(maskOf(['name', 'religion']), 0, []), true);
    assert.equal(needsTwoApprovals(maskOf(['name']), 0, ['state_influence']), true);
  });
});

describe('preconditions', () => {
  test('wind-down phases must be in order, in the future and not after the end', () => {
    const active = state('active');
    const swapped = { ...plan, noFriendData: plan.accessEnded, accessEnded: plan.noFriendData };
    assert.throws(() => transition(active, { type: 'schedule_wind_down', plan: swapped }, manager, NOW), (e: DatapactError) => e.code === 'phases_out_of_order');
    assert.throws(() => transition(active, { type: 'schedule_wind_down', plan }, manager, plan.noNewGrants), (e: DatapactError) => e.code === 'phase_in_past');
    const late = { ...plan, accessEnded: addDays(NOW, 400) };
    assert.throws(() => transition(active, { type: 'schedule_wind_down', plan: late }, manager, NOW), (e: DatapactError) => e.code === 'phase_after_end');
  });

  test('a deletion attestation comes after access has ended, and terminates', () => {
    const winding = state('winding_down', { windDown: plan });
    assert.throws(() => transition(winding, { type: 'record_deletion_attestation' }, manager, plan.accessEnded - 1),
      (e: DatapactError) => e.code === 'access_not_ended');
    const done = transition(winding, { type: 'record_deletion_attestation' }, manager, plan.accessEnded);
    assert.equal(done.status, 'terminated');
    assert.equal(done.deletionAttestedAt, plan.accessEnded);
  });

  test('resuming needs a current certification and a privacy officer', () => {
    const lapsed = state('suspended', { statusReason: 'certification_overdue', certificationDueAt: addDays(NOW, -61) });
    assert.throws(() => transition(lapsed, { type: 'resume' }, officerA, NOW), (e: DatapactError) => e.code === 'certification_overdue');
    const certified = transition(lapsed, { type: 'certify' }, SYSTEM, NOW);
    assert.equal(certified.certificationDueAt, addDays(NOW, 365));
    assert.equal(transition(certified, { type: 'resume' }, officerA, NOW).status, 'active');
  });

  test('an agreement past its end date cannot be activated', () => {
    const approved = state('under_review', { approvals: ['officer-a'], endsAt: NOW });
    assert.throws(() => transition(approved, activate, manager, NOW), (e: DatapactError) => e.code === 'already_ended');
  });
});

describe('what time brings', () => {
  test('nothing is due before its date', () => {
    assert.deepEqual(dueActions(state('active'), NOW), []);
  });

  test('the end date expires an active or suspended agreement into a wind-down that ends access at the end', () => {
    const endsAt = addDays(NOW, 300);
    const certified = { certificationDueAt: addDays(NOW, 365) };
    for (const status of ['active', 'suspended'] as const) {
      assert.deepEqual(dueActions(state(status, certified), endsAt - 1), []);
      assert.deepEqual(dueActions(state(status, certified), endsAt), [{ type: 'expire' }]);
    }
    const expired = transition(state('active'), { type: 'expire' }, SYSTEM, endsAt);
    assert.deepEqual(expired.windDown, { noNewGrants: endsAt, noFriendData: endsAt, accessEnded: endsAt });
    assert.equal(expired.statusReason, 'expired');
  });

  test('60 days past the certification due date suspends', () => {
    const due = addDays(NOW, 100);
    assert.deepEqual(dueActions(state('active'), addDays(due, 60) - 1), []);
    assert.deepEqual(dueActions(state('active'), addDays(due, 60)), [{ type: 'lapse_certification' }]);
    assert.equal(transition(state('active'), { type: 'lapse_certification' }, SYSTEM, addDays(due, 60)).statusReason, 'certification_overdue');
  });

  test('30 days after access_ended without an attestation flags deletion_unconfirmed, once', () => {
    const winding = state('winding_down', { windDown: plan });
    assert.deepEqual(dueActions(winding, addDays(plan.accessEnded, 30) - 1), []);
    assert.deepEqual(dueActions(winding, addDays(plan.accessEnded, 30)), [{ type: 'flag_deletion_unconfirmed' }]);
    const flagged = transition(winding, { type: 'flag_deletion_unconfirmed' }, SYSTEM, addDays(plan.accessEnded, 30));
    assert.equal(flagged.deletionUnconfirmed, true);
    assert.deepEqual(dueActions(flagged, addDays(plan.accessEnded, 90)), []);
    assert.deepEqual(dueActions({ ...winding, deletionAttestedAt: plan.accessEnded }, addDays(plan.accessEnded, 90)), []);
  });
});
