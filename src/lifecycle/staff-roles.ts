import { Conflict, NotFound } from '../domain/errors.js';
import { confirmationRefusal, splitRoleChange } from '../domain/separation-of-duties.js';
import type { StaffMember, StaffRole } from '../domain/staff.js';
import type { Instant } from '../domain/time.js';
import type { RoleProposal } from '../store/role-proposal-repository.js';
import type { Store } from '../store/store.js';

/**
 * Staff roles under separation of duties (PRODUCT.md §5): through the API, `privacy_officer` and
 * `admin` are granted only when a second admin confirms what a first proposed; until then the
 * account has its other roles. Removing roles needs nobody else. Each step is an audited staff
 * action, written in the caller's transaction.
 */

/** What the service needs of a staff action's transaction (the admin routes' `StaffTransaction`). */
export interface RoleTransaction {
  readonly store: Store;
  readonly now: Instant;
  record(action: { action: string; detail: Record<string, unknown> }): Promise<void>;
}

/** The acting admin. */
export interface RoleActor {
  readonly id: string;
  readonly roles: readonly StaffRole[];
}

/**
 * Proposes the guarded roles among `requested` that `staff` does not hold yet; returns the
 * roles the account gets at once and the proposal (null when nothing needed one). A pending
 * proposal with the same roles for the same account is returned as it is, not made twice.
 */
export async function proposeGuardedRoles(
  tx: RoleTransaction,
  staff: StaffMember,
  requested: readonly StaffRole[],
  actor: RoleActor,
): Promise<{ roles: StaffRole[]; proposal: RoleProposal | null }> {
  const { roles, proposed } = splitRoleChange(staff.roles, requested);
  if (proposed.length === 0) return { roles, proposal: null };
  const pending = (await tx.store.roleProposals.list({ status: 'pending', staffId: staff.id }))
    .find((p) => p.roles.length === proposed.length && proposed.every((role) => p.roles.includes(role)));
  if (pending) return { roles, proposal: pending };
  const proposal = await tx.store.roleProposals.propose(staff.id, proposed, actor.id, tx.now);
  await tx.record({ action: 'staff.role_proposal.create', detail: { proposal_id: proposal.id, staff_id: staff.id, roles: proposed } });
  return { roles, proposal };
}

async function pendingOrThrow(tx: RoleTransaction, id: string): Promise<RoleProposal> {
  const proposal = await tx.store.roleProposals.byId(id);
  if (!proposal) throw new NotFound(`No role proposal ${id}.`);
  if (proposal.status !== 'pending') throw new Conflict('proposal_not_pending', `The role proposal ${id} is already ${proposal.status}.`);
  return proposal;
}

async function settle(tx: RoleTransaction, proposal: RoleProposal, status: 'confirmed' | 'rejected' | 'cancelled', actor: RoleActor) {
  if (!(await tx.store.roleProposals.decide(proposal.id, status, actor.id, tx.now))) {
    throw new Conflict('proposal_not_pending', `The role proposal ${proposal.id} was settled meanwhile.`);
  }
  return (await tx.store.roleProposals.byId(proposal.id))!;
}

/**
 * Confirms a proposal, by an admin other than its proposer and its subject. The account gets the
 * roles; its sessions and API keys are revoked and its password replaced by `passwordHash` (the
 * caller shows the new password once to the confirming admin), so that whoever made the account or
 * chose its password, and may have logged in as it, cannot act with the roles it now holds.
 */
export async function confirmRoleProposal(
  tx: RoleTransaction,
  id: string,
  actor: RoleActor,
  passwordHash: string,
): Promise<{ proposal: RoleProposal; staff: StaffMember }> {
  const proposal = await pendingOrThrow(tx, id);
  const refusal = confirmationRefusal(proposal, actor.id, actor.roles);
  if (refusal) throw refusal;
  const staff = await tx.store.staff.byId(proposal.staffId);
  if (!staff) throw new NotFound(`No staff account ${proposal.staffId}.`);
  if (staff.disabledAt !== null) throw new Conflict('staff_disabled', `The staff account ${staff.id} is disabled; re-enable it first.`);
  const roles = [...new Set([...staff.roles, ...proposal.roles])];
  await tx.store.staff.update(staff.id, { roles });
  await tx.store.staff.setPasswordHash(staff.id, passwordHash);
  const revoked = await tx.store.staff.revokeAll(staff.id, tx.now);
  const settled = await settle(tx, proposal, 'confirmed', actor);
  await tx.record({
    action: 'staff.role_proposal.confirm',
    detail: {
      proposal_id: id, staff_id: staff.id, proposed_by: proposal.proposedBy, roles: { from: staff.roles, to: roles },
      credentials_revoked: revoked, password_reset: true,
    },
  });
  return { proposal: settled, staff: (await tx.store.staff.byId(staff.id))! };
}

/** Turns a proposal down: `cancelled` by its proposer, `rejected` by another admin. The account keeps its roles. */
export async function declineRoleProposal(tx: RoleTransaction, id: string, actor: RoleActor, reason: string | null): Promise<RoleProposal> {
  const proposal = await pendingOrThrow(tx, id);
  const status = actor.id === proposal.proposedBy ? 'cancelled' : 'rejected';
  const settled = await settle(tx, proposal, status, actor);
  await tx.record({
    action: `staff.role_proposal.${status === 'cancelled' ? 'cancel' : 'reject'}`,
    detail: { proposal_id: id, staff_id: proposal.staffId, roles: proposal.roles, reason },
  });
  return settled;
}
