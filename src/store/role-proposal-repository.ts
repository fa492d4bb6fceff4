import { isStaffRole, type StaffRole } from '../domain/staff.js';
import type { Instant } from '../domain/time.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import type { RoleProposalStatus, StaffRoleProposalsTable } from './schema.js';
import { randomId } from './staff-repository.js';

/** A proposal to grant guarded roles (`privacy_officer`, `admin`) that a second admin confirms. */
export interface RoleProposal {
  readonly id: string;
  readonly staffId: string;
  readonly roles: readonly StaffRole[];
  readonly proposedBy: string;
  readonly proposedAt: Instant;
  readonly status: RoleProposalStatus;
  readonly decidedBy: string | null;
  readonly decidedAt: Instant | null;
}

function fromRow(row: StaffRoleProposalsTable): RoleProposal {
  return {
    id: row.id,
    staffId: row.staff_id,
    roles: (JSON.parse(row.roles) as string[]).filter(isStaffRole),
    proposedBy: row.proposed_by,
    proposedAt: fromIso(row.proposed_at),
    status: row.status,
    decidedBy: row.decided_by,
    decidedAt: fromIsoOrNull(row.decided_at),
  };
}

/** Role proposals (migration 0016). Writes go through the caller's transaction. */
export class RoleProposalRepository {
  constructor(private readonly db: Db) {}

  async propose(staffId: string, roles: readonly StaffRole[], proposedBy: string, now: Instant): Promise<RoleProposal> {
    const row: StaffRoleProposalsTable = {
      id: randomId('rp_'), staff_id: staffId, roles: JSON.stringify([...new Set(roles)]), proposed_by: proposedBy,
      proposed_at: toIso(now), status: 'pending', decided_by: null, decided_at: null,
    };
    await this.db.insertInto('staff_role_proposals').values(row).execute();
    return fromRow(row);
  }

  async byId(id: string): Promise<RoleProposal | undefined> {
    const row = await this.db.selectFrom('staff_role_proposals').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  /** Proposals, newest first; only those in `status` when given, only about `staffId` when given. */
  async list(filter: { status?: RoleProposalStatus | undefined; staffId?: string | undefined } = {}): Promise<RoleProposal[]> {
    let query = this.db.selectFrom('staff_role_proposals').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.staffId !== undefined) query = query.where('staff_id', '=', filter.staffId);
    const rows = await query.orderBy('proposed_at', 'desc').orderBy('id').execute();
    return rows.map(fromRow);
  }

  /** Settles a pending proposal; false when it was no longer pending (someone settled it meanwhile). */
  async decide(id: string, status: Exclude<RoleProposalStatus, 'pending'>, decidedBy: string, now: Instant): Promise<boolean> {
    const result = await this.db.updateTable('staff_role_proposals')
      .set({ status, decided_by: decidedBy, decided_at: toIso(now) })
      .where('id', '=', id).where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
