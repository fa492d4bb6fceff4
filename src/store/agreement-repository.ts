import type { Agreement } from '../domain/agreement.js';
import { governingAgreement } from '../domain/agreement-in-force.js';
import type { Purpose } from '../domain/purposes.js';
import { isTransferSafeguard, type DataStorage } from '../domain/partner.js';
import type { Instant } from '../domain/time.js';
import type { WindDownPlan } from '../domain/wind-down.js';
import { fromIso, maskFromJson, maskToJson, toIso } from './columns.js';
import type { Db } from './database.js';
import { storageFromColumns } from './partner-repository.js';
import type { AgreementsTable } from './schema.js';

/** A change to an agreement as its history records it. */
export interface AgreementChange {
  readonly actor: string;
  readonly action: string;
  readonly reason: string | null;
  readonly at: Instant;
  /** What changed from the previous version, readably (null for a first version). */
  readonly diff?: string | null;
}

/** What the lifecycle keeps beside the terms (see agreement-lifecycle-repository.ts). */
export interface LifecycleColumns {
  readonly authorId: string;
  readonly approvals: readonly string[];
  /** The approvals that counted at activation (migration 0016). */
  readonly approvedBy: readonly string[];
  readonly needsTwoApprovals: boolean;
  readonly deletionAttestedAt: Instant | null;
  readonly deletionUnconfirmed: boolean;
  readonly windDownNotices: readonly string[];
}

export const DEFAULT_LIFECYCLE_COLUMNS: LifecycleColumns = {
  authorId: 'system', approvals: [], approvedBy: [], needsTwoApprovals: false, deletionAttestedAt: null, deletionUnconfirmed: false, windDownNotices: [],
};

export function windDownToJson(plan: WindDownPlan | null): string | null {
  return plan === null ? null : JSON.stringify({
    no_new_grants: toIso(plan.noNewGrants),
    no_friend_data: toIso(plan.noFriendData),
    access_ended: toIso(plan.accessEnded),
  });
}

function windDownFromJson(text: string | null): WindDownPlan | null {
  if (text === null) return null;
  const plan = JSON.parse(text) as Record<string, string>;
  return {
    noNewGrants: fromIso(plan.no_new_grants!),
    noFriendData: fromIso(plan.no_friend_data!),
    accessEnded: fromIso(plan.access_ended!),
  };
}

/** The columns `agreementFromRow` reads: the terms, without the lifecycle's bookkeeping. */
export type AgreementTermsRow = Pick<
  AgreementsTable,
  | 'id' | 'version' | 'partner_id' | 'status' | 'status_reason' | 'purposes' | 'member_fields' | 'friend_fields' | 'retention_days'
  | 'storage_location' | 'storage_country' | 'storage_safeguard' | 'starts_at' | 'ends_at' | 'certification_due_at' | 'wind_down'
>;

export function agreementFromRow(row: AgreementTermsRow, appIds: readonly string[]): Agreement {
  return {
    id: row.id,
    version: Number(row.version),
    partnerId: row.partner_id,
    status: row.status as Agreement['status'],
    statusReason: row.status_reason,
    purposes: JSON.parse(row.purposes) as Purpose[],
    memberFields: maskFromJson(row.member_fields),
    friendFields: maskFromJson(row.friend_fields),
    retentionDays: Number(row.retention_days),
    storage: agreementStorage(row),
    startsAt: fromIso(row.starts_at),
    endsAt: fromIso(row.ends_at),
    certificationDueAt: fromIso(row.certification_due_at),
    windDown: windDownFromJson(row.wind_down),
    appIds,
  };
}

/** The partner's storage columns, and the safeguard only an agreement states. */
function agreementStorage(row: AgreementTermsRow): DataStorage {
  const storage = storageFromColumns(row.storage_location, row.storage_country);
  if (storage.location === 'on_device' || row.storage_safeguard === null || !isTransferSafeguard(row.storage_safeguard)) return storage;
  return { ...storage, safeguard: row.storage_safeguard };
}

export function agreementToRow(
  agreement: Agreement,
  createdAt: Instant,
  updatedAt: Instant,
  lifecycle: LifecycleColumns = DEFAULT_LIFECYCLE_COLUMNS,
): AgreementsTable {
  return {
    id: agreement.id,
    partner_id: agreement.partnerId,
    version: agreement.version,
    status: agreement.status,
    status_reason: agreement.statusReason,
    purposes: JSON.stringify(agreement.purposes),
    member_fields: maskToJson(agreement.memberFields),
    friend_fields: maskToJson(agreement.friendFields),
    retention_days: agreement.retentionDays,
    storage_location: agreement.storage.location,
    storage_country: agreement.storage.location === 'partner_servers' ? agreement.storage.country : null,
    storage_safeguard: agreement.storage.location === 'partner_servers' ? agreement.storage.safeguard ?? null : null,
    starts_at: toIso(agreement.startsAt),
    ends_at: toIso(agreement.endsAt),
    certification_due_at: toIso(agreement.certificationDueAt),
    wind_down: windDownToJson(agreement.windDown),
    created_at: toIso(createdAt),
    updated_at: toIso(updatedAt),
    author_id: lifecycle.authorId,
    approvals: JSON.stringify(lifecycle.approvals),
    approved_by: JSON.stringify(lifecycle.approvedBy),
    needs_two_approvals: lifecycle.needsTwoApprovals ? 1 : 0,
    deletion_attested_at: lifecycle.deletionAttestedAt === null ? null : toIso(lifecycle.deletionAttestedAt),
    deletion_unconfirmed: lifecycle.deletionUnconfirmed ? 1 : 0,
    wind_down_notices: JSON.stringify(lifecycle.windDownNotices),
  };
}

/** Agreements, each stored as its current version plus the full history of versions. */
export class AgreementRepository {
  constructor(private readonly db: Db) {}

  /** Writes a new agreement and its first history entry in one transaction (the caller's, when it is one). */
  async insert(agreement: Agreement, change: AgreementChange, lifecycle: LifecycleColumns = DEFAULT_LIFECYCLE_COLUMNS): Promise<void> {
    const row = agreementToRow(agreement, change.at, change.at, lifecycle);
    const write = async (trx: Db) => {
      await trx.insertInto('agreements').values(row).execute();
      if (agreement.appIds.length > 0) {
        await trx
          .insertInto('agreement_apps')
          .values(agreement.appIds.map((appId) => ({ agreement_id: agreement.id, app_id: appId })))
          .execute();
      }
      await trx
        .insertInto('agreement_history')
        .values({
          agreement_id: agreement.id,
          version: agreement.version,
          at: toIso(change.at),
          actor: change.actor,
          action: change.action,
          reason: change.reason,
          snapshot: JSON.stringify(row),
          diff: change.diff ?? null,
        })
        .execute();
    };
    if (this.db.isTransaction) await write(this.db);
    else await this.db.transaction().execute(write);
  }

  async get(id: string): Promise<Agreement | undefined> {
    const row = await this.db.selectFrom('agreements').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const apps = await this.db.selectFrom('agreement_apps').select('app_id').where('agreement_id', '=', id).execute();
    return agreementFromRow(row, apps.map((a) => a.app_id));
  }

  /** Every agreement naming one of `appIds`, whatever its status, oldest first. */
  async ofApps(appIds: readonly string[]): Promise<Agreement[]> {
    if (appIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('agreements')
      .selectAll('agreements')
      .where('id', 'in', (eb) => eb.selectFrom('agreement_apps').select('agreement_id').where('app_id', 'in', [...appIds]))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    if (rows.length === 0) return [];
    const apps = await this.db.selectFrom('agreement_apps').select(['agreement_id', 'app_id'])
      .where('agreement_id', 'in', rows.map((r) => r.id)).orderBy('app_id').execute();
    return rows.map((row) => agreementFromRow(row, apps.filter((a) => a.agreement_id === row.id).map((a) => a.app_id)));
  }

  /**
   * The agreement that governs an app at `now` (`governingAgreement`): the one in force, else the
   * one that ended last, else a renewal still to start, else a draft. A renewal activated ahead of
   * its start does not displace the agreement in force until its start.
   */
  async currentForApp(appId: string, now: Instant): Promise<Agreement | undefined> {
    return governingAgreement(await this.ofApps([appId]), now) ?? undefined;
  }

  async history(id: string): Promise<Array<AgreementChange & { version: number }>> {
    const rows = await this.db.selectFrom('agreement_history').selectAll().where('agreement_id', '=', id).orderBy('version').execute();
    return rows.map((r) => ({
      version: Number(r.version), actor: r.actor, action: r.action, reason: r.reason, at: fromIso(r.at), diff: r.diff ?? null,
    }));
  }
}
