import type { Agreement, AgreementStatus } from '../domain/agreement.js';
import type { LifecycleState } from '../domain/agreement-lifecycle.js';
import { Conflict } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import {
  agreementFromRow, agreementToRow, DEFAULT_LIFECYCLE_COLUMNS, type AgreementChange, type LifecycleColumns,
} from './agreement-repository.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import type { AgreementsTable } from './schema.js';

/** An agreement as the lifecycle works on it: its terms, its lifecycle state and when it was made. */
export interface LoadedAgreement {
  readonly agreement: Agreement;
  readonly columns: LifecycleColumns;
  readonly state: LifecycleState;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

/** One version in the history, with the readable diff from the previous one. */
export interface HistoryEntry extends AgreementChange {
  readonly version: number;
  readonly diff: string | null;
}

function columnsFromRow(row: AgreementsTable): LifecycleColumns {
  return {
    authorId: row.author_id ?? DEFAULT_LIFECYCLE_COLUMNS.authorId,
    approvals: JSON.parse(row.approvals ?? '[]') as string[],
    approvedBy: JSON.parse(row.approved_by ?? '[]') as string[],
    needsTwoApprovals: Number(row.needs_two_approvals ?? 0) === 1,
    deletionAttestedAt: fromIsoOrNull(row.deletion_attested_at ?? null),
    deletionUnconfirmed: Number(row.deletion_unconfirmed ?? 0) === 1,
    windDownNotices: JSON.parse(row.wind_down_notices ?? '[]') as string[],
  };
}

export function lifecycleStateOf(agreement: Agreement, columns: LifecycleColumns): LifecycleState {
  return {
    status: agreement.status,
    statusReason: agreement.statusReason,
    authorId: columns.authorId,
    approvals: columns.approvals,
    approvedBy: columns.approvedBy,
    needsTwoApprovals: columns.needsTwoApprovals,
    startsAt: agreement.startsAt,
    endsAt: agreement.endsAt,
    certificationDueAt: agreement.certificationDueAt,
    windDown: agreement.windDown,
    deletionAttestedAt: columns.deletionAttestedAt,
    deletionUnconfirmed: columns.deletionUnconfirmed,
  };
}

/** The agreement and columns a new lifecycle state leaves (terms other than dates unchanged). */
export function applyState(loaded: { agreement: Agreement; columns: LifecycleColumns }, state: LifecycleState) {
  return {
    agreement: {
      ...loaded.agreement,
      status: state.status,
      statusReason: state.statusReason,
      certificationDueAt: state.certificationDueAt,
      windDown: state.windDown,
    } satisfies Agreement,
    columns: {
      ...loaded.columns,
      authorId: state.authorId,
      approvals: state.approvals,
      approvedBy: state.approvedBy,
      needsTwoApprovals: state.needsTwoApprovals,
      deletionAttestedAt: state.deletionAttestedAt,
      deletionUnconfirmed: state.deletionUnconfirmed,
    } satisfies LifecycleColumns,
  };
}

export interface AgreementFilter {
  readonly partnerId?: string | undefined;
  readonly status?: AgreementStatus | undefined;
}

/**
 * The agreement lifecycle's reads and writes. Every write goes through the caller's transaction
 * (construct this over it): a new version of the `agreements` row plus its `agreement_history`
 * row. A version is saved only over the version it was loaded at, so two schedulers (or two
 * staff members) never both apply a change to the same version.
 */
export class AgreementLifecycleRepository {
  constructor(private readonly db: Db) {}

  async load(id: string): Promise<LoadedAgreement | undefined> {
    const row = await this.db.selectFrom('agreements').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const apps = await this.db.selectFrom('agreement_apps').select('app_id').where('agreement_id', '=', id).orderBy('app_id').execute();
    return this.fromRow(row, apps.map((a) => a.app_id));
  }

  private fromRow(row: AgreementsTable, appIds: readonly string[]): LoadedAgreement {
    const agreement = agreementFromRow(row, appIds);
    const columns = columnsFromRow(row);
    return {
      agreement, columns, state: lifecycleStateOf(agreement, columns),
      createdAt: fromIso(row.created_at), updatedAt: fromIso(row.updated_at),
    };
  }

  async list(filter: AgreementFilter = {}): Promise<LoadedAgreement[]> {
    let query = this.db.selectFrom('agreements').selectAll();
    if (filter.partnerId !== undefined) query = query.where('partner_id', '=', filter.partnerId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    if (rows.length === 0) return [];
    const apps = await this.db.selectFrom('agreement_apps').select(['agreement_id', 'app_id'])
      .where('agreement_id', 'in', rows.map((r) => r.id)).orderBy('app_id').execute();
    return rows.map((row) => this.fromRow(row, apps.filter((a) => a.agreement_id === row.id).map((a) => a.app_id)));
  }

  /** Ids of every agreement time may still act on (all but the terminated), for the scheduler. */
  async liveIds(): Promise<string[]> {
    const rows = await this.db.selectFrom('agreements').select('id').where('status', '!=', 'terminated').orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** Writes a new agreement (version 1) and its first history row. */
  async create(agreement: Agreement, columns: LifecycleColumns, change: AgreementChange): Promise<void> {
    const row = agreementToRow(agreement, change.at, change.at, columns);
    await this.db.insertInto('agreements').values(row).execute();
    await this.db.insertInto('agreement_apps').values(agreement.appIds.map((appId) => ({ agreement_id: agreement.id, app_id: appId }))).execute();
    await this.insertHistory(row, change);
  }

  /**
   * Saves `next` as version `loaded.version + 1` and records it in the history, only if the stored
   * agreement is still at the loaded version; else 409 `concurrent_change` (nothing written).
   */
  async saveVersion(loaded: LoadedAgreement, next: { agreement: Agreement; columns: LifecycleColumns }, change: AgreementChange): Promise<Agreement> {
    const version = loaded.agreement.version + 1;
    const agreement: Agreement = { ...next.agreement, version };
    const row = agreementToRow(agreement, loaded.createdAt, change.at, next.columns);
    const { id, created_at: _createdAt, ...changes } = row;
    const result = await this.db.updateTable('agreements').set(changes)
      .where('id', '=', id).where('version', '=', loaded.agreement.version).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new Conflict('concurrent_change', `Agreement ${id} changed while this change was being made; load it again and retry.`);
    }
    const before = [...loaded.agreement.appIds].sort().join(',');
    if ([...agreement.appIds].sort().join(',') !== before) {
      await this.db.deleteFrom('agreement_apps').where('agreement_id', '=', id).execute();
      await this.db.insertInto('agreement_apps').values(agreement.appIds.map((appId) => ({ agreement_id: id, app_id: appId }))).execute();
    }
    await this.insertHistory(row, change);
    return agreement;
  }

  /**
   * Notes wind-down notices sent (an announcement, not a change of the agreement: no new version),
   * only over the loaded version.
   */
  async markNotices(loaded: LoadedAgreement, notices: readonly string[]): Promise<void> {
    const result = await this.db.updateTable('agreements').set({ wind_down_notices: JSON.stringify(notices) })
      .where('id', '=', loaded.agreement.id).where('version', '=', loaded.agreement.version).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new Conflict('concurrent_change', `Agreement ${loaded.agreement.id} changed while its notices were being sent.`);
    }
  }

  private async insertHistory(row: AgreementsTable, change: AgreementChange): Promise<void> {
    await this.db.insertInto('agreement_history').values({
      agreement_id: row.id,
      version: row.version,
      at: toIso(change.at),
      actor: change.actor,
      action: change.action,
      reason: change.reason,
      snapshot: JSON.stringify(row),
      diff: change.diff ?? null,
    }).execute();
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const rows = await this.db.selectFrom('agreement_history').selectAll().where('agreement_id', '=', id).orderBy('version').execute();
    return rows.map((r) => ({
      version: Number(r.version), at: fromIso(r.at), actor: r.actor, action: r.action, reason: r.reason, diff: r.diff ?? null,
    }));
  }
}
