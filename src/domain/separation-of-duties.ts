import { Conflict, Forbidden } from './errors.js';
import { SENSITIVE_MASK, type FieldMask } from './field-catalog.js';
import type { StaffRole } from './staff.js';

/**
 * Separation of duties (PRODUCT.md §5): no single person can satisfy the two-person rule. Pure
 * rules, read by the agreement lifecycle and the staff routes: who may approve, which approvals
 * still count at activation, how many are needed, and which role grants need a second admin.
 */

/** Roles the admin API grants only when a second admin confirms (the CLI on the server stays the bootstrap path). */
export const GUARDED_ROLES: readonly StaffRole[] = ['privacy_officer', 'admin'];

export function isGuarded(role: StaffRole): boolean {
  return GUARDED_ROLES.includes(role);
}

/** A staff member as the rules judge them now: roles held, and whether the account is disabled. */
export interface Standing {
  readonly roles: readonly StaffRole[];
  readonly disabled: boolean;
}

/** What puts an agreement under the two-person rule (PRODUCT.md §5). */
export type TwoPersonReason = 'friend_fields' | 'sensitive_member_fields' | 'partner_risk_flags';

/** Why an agreement needs two approvals; empty when one is enough. */
export function twoPersonReasons(memberFields: FieldMask, friendFields: FieldMask, partnerRiskFlags: readonly string[]): TwoPersonReason[] {
  const reasons: TwoPersonReason[] = [];
  if (friendFields !== 0) reasons.push('friend_fields');
  if ((memberFields & SENSITIVE_MASK) !== 0) reasons.push('sensitive_member_fields');
  if (partnerRiskFlags.length > 0) reasons.push('partner_risk_flags');
  return reasons;
}

/** Approvals (or resumptions) needed: two under the two-person rule, else one. */
export function approvalsNeeded(memberFields: FieldMask, friendFields: FieldMask, partnerRiskFlags: readonly string[]): 1 | 2 {
  return twoPersonReasons(memberFields, friendFields, partnerRiskFlags).length > 0 ? 2 : 1;
}

/**
 * Why `approverId`, holding `roles`, may not approve an agreement authored by `authorId`; null when
 * they may. A privacy officer who is not the author and holds no `admin` role: an admin who also
 * held `privacy_officer` could otherwise grant itself the power it is meant to check.
 */
export function approvalRefusal(approverId: string, roles: readonly StaffRole[], authorId: string): Forbidden | Conflict | null {
  if (!roles.includes('privacy_officer')) return new Forbidden('Only a privacy officer approves an agreement.');
  if (roles.includes('admin')) return new Conflict('admins_never_approve', 'An admin never approves an agreement, even one who is also a privacy officer.');
  if (approverId === authorId) return new Conflict('author_cannot_approve', 'The author of an agreement cannot approve it.');
  return null;
}

/**
 * The approvals that count at activation: distinct, each by an enabled account that still holds
 * `privacy_officer` (and no `admin`) and did not author the version. An approval by someone who
 * has since lost the role, or whose account is gone or disabled, no longer counts.
 */
export function countingApprovals(approvals: readonly string[], standing: ReadonlyMap<string, Standing>, authorId: string): string[] {
  return [...new Set(approvals)].filter((id) => {
    const now = standing.get(id);
    return now !== undefined && !now.disabled && approvalRefusal(id, now.roles, authorId) === null;
  });
}

/** A role change asked for through the API: what takes effect at once and what waits for a second admin. */
export interface RoleChange {
  /** The account's roles from now on: the request, less guarded roles it does not hold yet. */
  readonly roles: StaffRole[];
  /** Guarded roles the account does not hold yet: a proposal another admin confirms. */
  readonly proposed: StaffRole[];
}

/** Splits `requested` for an account holding `current`: removals and unguarded roles act at once. */
export function splitRoleChange(current: readonly StaffRole[], requested: readonly StaffRole[]): RoleChange {
  const wanted = [...new Set(requested)];
  return {
    roles: wanted.filter((role) => !isGuarded(role) || current.includes(role)),
    proposed: wanted.filter((role) => isGuarded(role) && !current.includes(role)),
  };
}

/** A pending proposal to grant guarded roles, as the rules read it. */
export interface RoleProposalParties {
  readonly staffId: string;
  readonly proposedBy: string;
}

/**
 * Why `confirmerId`, holding `roles`, may not confirm `proposal`; null when they may: an admin
 * other than the one who proposed it and other than the account it is about.
 */
export function confirmationRefusal(proposal: RoleProposalParties, confirmerId: string, roles: readonly StaffRole[]): Forbidden | Conflict | null {
  if (!roles.includes('admin')) return new Forbidden('Only an admin confirms a role grant.');
  if (confirmerId === proposal.proposedBy) return new Conflict('proposer_cannot_confirm', 'A role grant is confirmed by another admin than the one who proposed it.');
  if (confirmerId === proposal.staffId) return new Conflict('subject_cannot_confirm', 'Nobody confirms a role grant to their own account.');
  return null;
}
