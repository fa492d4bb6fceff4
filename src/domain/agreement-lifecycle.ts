import type { AgreementStatus } from './agreement.js';
import { CERTIFICATION_GRACE_DAYS } from './agreement.js';
import { Conflict, Forbidden } from './errors.js';
import type { FieldMask } from './field-catalog.js';
import { approvalRefusal, approvalsNeeded, countingApprovals, type Standing } from './separation-of-duties.js';
import { can, type Permission, type StaffRole } from './staff.js';
import { addDays, type Instant } from './time.js';
import { phasesInOrder, type WindDownPlan } from './wind-down.js';

/**
 * The agreement lifecycle of PRODUCT.md §5 as a pure state machine: every transition with its
 * preconditions, for staff actions and for what time does by itself. Nothing here reads a clock
 * or a database; the caller passes `now` and stores the result.
 */

/** Days after `access_ended` within which the partner must attest deletion. */
export const ATTESTATION_GRACE_DAYS = 30;
/** A certification is valid for a year. */
export const CERTIFICATION_PERIOD_DAYS = 365;

export type Actor =
  | { readonly kind: 'system' }
  | { readonly kind: 'staff'; readonly id: string; readonly roles: readonly StaffRole[] };

export const SYSTEM: Actor = Object.freeze({ kind: 'system' });

/** What the lifecycle knows of an agreement. */
export interface LifecycleState {
  readonly status: AgreementStatus;
  readonly statusReason: string | null;
  /** The staff member who drafted the version under review; never one of its approvers. */
  readonly authorId: string;
  /** Privacy officers who approved the version under review. */
  readonly approvals: readonly string[];
  /** The approvals that counted when the agreement was activated: who approved it stays visible afterwards. */
  readonly approvedBy: readonly string[];
  /** Two distinct approvals instead of one (the two-person rule). */
  readonly needsTwoApprovals: boolean;
  readonly startsAt: Instant;
  readonly endsAt: Instant;
  readonly certificationDueAt: Instant;
  readonly windDown: WindDownPlan | null;
  readonly deletionAttestedAt: Instant | null;
  readonly deletionUnconfirmed: boolean;
}

export type StaffAction =
  | { readonly type: 'edit' }
  | { readonly type: 'submit' }
  | { readonly type: 'return_to_draft'; readonly reason: string }
  | { readonly type: 'approve' }
  /**
   * `standing`: each approver's roles and account state at activation (an approval counts only
   * while its approver still holds `privacy_officer`); an approver missing from it counts for nothing.
   */
  | { readonly type: 'activate'; readonly standing?: ReadonlyMap<string, Standing> }
  | { readonly type: 'suspend'; readonly reason: string }
  | { readonly type: 'resume' }
  | { readonly type: 'schedule_wind_down'; readonly plan: WindDownPlan }
  | { readonly type: 'record_deletion_attestation' }
  | { readonly type: 'terminate'; readonly reason: string };

/** What the scheduler applies when its date comes, as the actor `system`. */
export type TimedAction =
  | { readonly type: 'expire' }
  | { readonly type: 'lapse_certification' }
  | { readonly type: 'flag_deletion_unconfirmed' };

/**
 * A partner's filing, applied as the actor `system` when the partner files it: a certification
 * moves the due date a year on; a deletion attestation (after access has ended) terminates.
 */
export type FilingAction = { readonly type: 'certify' } | { readonly type: 'attest_deletion' };

export type LifecycleAction = StaffAction | TimedAction | FilingAction;
export type ActionType = LifecycleAction['type'];

export const STAFF_ACTIONS: readonly StaffAction['type'][] = [
  'edit', 'submit', 'return_to_draft', 'approve', 'activate', 'suspend', 'resume', 'schedule_wind_down',
  'record_deletion_attestation', 'terminate',
];

/** The states each action may start from; every other pair is an illegal transition. */
export const LEGAL_FROM: Readonly<Record<ActionType, readonly AgreementStatus[]>> = {
  edit: ['draft'],
  submit: ['draft'],
  return_to_draft: ['under_review'],
  approve: ['under_review'],
  activate: ['under_review'],
  suspend: ['active'],
  resume: ['suspended'],
  schedule_wind_down: ['active', 'suspended'],
  record_deletion_attestation: ['winding_down'],
  terminate: ['draft', 'under_review'],
  expire: ['active', 'suspended'],
  lapse_certification: ['active'],
  flag_deletion_unconfirmed: ['winding_down'],
  certify: ['active', 'suspended', 'winding_down'],
  attest_deletion: ['winding_down'],
};

/** The permission a staff member needs for each staff action. */
export const ACTION_PERMISSION: Readonly<Record<StaffAction['type'], Permission>> = {
  edit: 'manage_agreements',
  submit: 'manage_agreements',
  return_to_draft: 'manage_agreements',
  approve: 'approve_agreements',
  activate: 'manage_agreements',
  suspend: 'manage_agreements',
  resume: 'approve_agreements',
  schedule_wind_down: 'manage_agreements',
  record_deletion_attestation: 'manage_agreements',
  terminate: 'manage_agreements',
};

/**
 * Two approvals when the agreement reaches friends' data, sensitive member data, or a partner
 * with a risk flag (PRODUCT.md §5).
 */
export function needsTwoApprovals(memberFields: FieldMask, friendFields: FieldMask, partnerRiskFlags: readonly string[]): boolean {
  return approvalsNeeded(memberFields, friendFields, partnerRiskFlags) === 2;
}

function isTimed(action: LifecycleAction): action is TimedAction | FilingAction {
  return !(STAFF_ACTIONS as readonly string[]).includes(action.type);
}

function authorize(state: LifecycleState, action: LifecycleAction, actor: Actor): void {
  if (isTimed(action)) {
    if (actor.kind !== 'system') throw new Forbidden(`Only the system applies '${action.type}'.`);
    return;
  }
  if (actor.kind !== 'staff') throw new Forbidden(`'${action.type}' is a staff action.`);
  const permission = ACTION_PERMISSION[action.type];
  if (!can(actor.roles, permission)) throw new Forbidden(`'${action.type}' needs the permission '${permission}'.`);
  if (action.type === 'approve' || action.type === 'resume') {
    const refusal = approvalRefusal(actor.id, actor.roles, state.authorId);
    if (refusal) throw refusal;
  }
}

function requiredApprovals(state: LifecycleState): number {
  return state.needsTwoApprovals ? 2 : 1;
}

function approve(state: LifecycleState, actor: Actor): LifecycleState {
  const id = actor.kind === 'staff' ? actor.id : '';
  if (state.approvals.includes(id)) throw new Conflict('already_approved', 'This privacy officer has already approved; a second approval must come from another.');
  return { ...state, approvals: [...state.approvals, id] };
}

/** The approvals that count now; 409 `approvals_missing` when fewer than needed do. */
function checkApprovals(state: LifecycleState, standing: ReadonlyMap<string, Standing>): string[] {
  const needed = requiredApprovals(state);
  const counting = countingApprovals(state.approvals, standing, state.authorId);
  if (counting.length < needed) {
    const lapsed = state.approvals.length - counting.length;
    throw new Conflict('approvals_missing', `${needed} approval(s) by privacy officers other than the author are needed; ${counting.length} given`
      + (lapsed > 0 ? ` (${lapsed} more no longer count${lapsed === 1 ? 's' : ''}: the approver no longer holds privacy_officer alone, or the account is disabled).` : '.'));
  }
  return counting;
}

function checkPlan(plan: WindDownPlan, state: LifecycleState, now: Instant): void {
  if (!phasesInOrder(plan)) throw new Conflict('phases_out_of_order', 'Wind-down phases must be in the order no_new_grants < no_friend_data < access_ended.');
  if (plan.noNewGrants <= now) throw new Conflict('phase_in_past', 'Every wind-down phase must be in the future.');
  if (plan.accessEnded > state.endsAt) throw new Conflict('phase_after_end', 'Access ends at the end date at the latest.');
}

function accessEndedAt(state: LifecycleState): Instant {
  return Math.min(state.windDown?.accessEnded ?? state.endsAt, state.endsAt);
}

/** Every phase at `end` at the latest: what an end date or an emergency leaves of a plan. */
function planEndingBy(plan: WindDownPlan | null, end: Instant): WindDownPlan {
  return {
    noNewGrants: Math.min(plan?.noNewGrants ?? end, end),
    noFriendData: Math.min(plan?.noFriendData ?? end, end),
    accessEnded: Math.min(plan?.accessEnded ?? end, end),
  };
}

function nextState(state: LifecycleState, action: LifecycleAction, actor: Actor, now: Instant): LifecycleState {
  switch (action.type) {
    case 'edit':
      return { ...state, approvals: [] };
    case 'submit':
      return { ...state, status: 'under_review', statusReason: null, approvals: [] };
    case 'return_to_draft':
      return { ...state, status: 'draft', statusReason: action.reason, approvals: [] };
    case 'approve':
      return approve(state, actor);
    case 'activate': {
      const counting = checkApprovals(state, action.standing ?? new Map());
      if (now >= state.endsAt) throw new Conflict('already_ended', 'The end date has passed; draft a renewal instead.');
      return { ...state, status: 'active', statusReason: null, approvals: [], approvedBy: counting };
    }
    case 'suspend':
      return { ...state, status: 'suspended', statusReason: action.reason, approvals: [] };
    case 'resume':
      if (now >= addDays(state.certificationDueAt, CERTIFICATION_GRACE_DAYS)) {
        throw new Conflict('certification_overdue', 'The partner must certify before the agreement can resume.');
      }
      return { ...state, status: 'active', statusReason: null, approvals: [] };
    case 'schedule_wind_down':
      checkPlan(action.plan, state, now);
      return { ...state, status: 'winding_down', statusReason: 'wind_down_scheduled', windDown: action.plan, approvals: [] };
    case 'record_deletion_attestation':
    case 'attest_deletion':
      if (now < accessEndedAt(state)) throw new Conflict('access_not_ended', 'Deletion is attested after access has ended.');
      return { ...state, status: 'terminated', statusReason: 'deletion_attested', deletionAttestedAt: now, deletionUnconfirmed: false };
    case 'terminate':
      return { ...state, status: 'terminated', statusReason: action.reason, approvals: [] };
    case 'expire':
      return { ...state, status: 'winding_down', statusReason: 'expired', windDown: planEndingBy(state.windDown, state.endsAt), approvals: [] };
    case 'lapse_certification':
      return { ...state, status: 'suspended', statusReason: 'certification_overdue', approvals: [] };
    case 'flag_deletion_unconfirmed':
      return { ...state, deletionUnconfirmed: true };
    case 'certify':
      return { ...state, certificationDueAt: addDays(now, CERTIFICATION_PERIOD_DAYS) };
  }
}

/**
 * Applies one action: checks that it may start from the current state (else 409
 * `<action>_not_allowed_when_<status>`), that the actor may take it (else 403 `forbidden`) and
 * its preconditions (else 409 with a code naming the one that failed), and returns the new state.
 */
export function transition(state: LifecycleState, action: LifecycleAction, actor: Actor, now: Instant): LifecycleState {
  if (!LEGAL_FROM[action.type].includes(state.status)) {
    throw new Conflict(`${action.type}_not_allowed_when_${state.status}`, `An agreement that is ${state.status} cannot '${action.type}'.`);
  }
  authorize(state, action, actor);
  return nextState(state, action, actor, now);
}

/**
 * What time has brought about by `now` and is not recorded yet, in the order to apply it. The
 * rules already act on these dates at their exact instant; applying them records the
 * transition and lets notices go out.
 */
export function dueActions(state: LifecycleState, now: Instant): TimedAction[] {
  const due: TimedAction[] = [];
  if ((state.status === 'active' || state.status === 'suspended') && now >= state.endsAt) {
    due.push({ type: 'expire' });
    return due;
  }
  if (state.status === 'active' && now >= addDays(state.certificationDueAt, CERTIFICATION_GRACE_DAYS)) {
    due.push({ type: 'lapse_certification' });
  }
  if (state.status === 'winding_down' && !state.deletionUnconfirmed && state.deletionAttestedAt === null
    && now >= addDays(accessEndedAt(state), ATTESTATION_GRACE_DAYS)) {
    due.push({ type: 'flag_deletion_unconfirmed' });
  }
  return due;
}
