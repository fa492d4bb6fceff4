import type { AuditEntry } from '../audit/audit-entry.js';
import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import { chunks } from './batches.js';
import { fromIso, toIso } from './columns.js';
import type { Db } from './database.js';
import type { Selectable } from 'kysely';
import type { AuditEntriesTable } from './schema.js';

export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
}

function entryFromRow(row: Selectable<AuditEntriesTable>): StoredAuditEntry {
  return {
    seq: Number(row.seq),
    at: fromIso(row.at),
    requestId: row.request_id,
    appId: row.app_id,
    partnerId: row.partner_id,
    agreementId: row.agreement_id,
    agreementVersion: row.agreement_version === null ? null : Number(row.agreement_version),
    rulesVersion: row.rules_version,
    tokenMemberId: row.token_member_id,
    subjectMemberId: row.subject_member_id,
    purpose: row.purpose,
    outcome: row.outcome as AuditEntry['outcome'],
    code: row.code,
    released: JSON.parse(row.released) as Field[],
    withheld: JSON.parse(row.withheld) as Partial<Record<Field, WithheldReason>>,
    actor: row.actor ?? null,
    action: row.action ?? null,
    detail: row.detail == null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

/** The audit table. Entries are only ever appended; nothing here updates or deletes one. */
export class AuditRepository {
  constructor(private readonly db: Db) {}

  /** Appends all entries in one transaction: either every one is durable or none is. */
  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Inside a caller's transaction (a staff action with its change), the entries join it.
    if (this.db.isTransaction) return this.insert(this.db, entries);
    await this.db.transaction().execute((trx) => this.insert(trx, entries));
  }

  private async insert(db: Db, entries: readonly AuditEntry[]): Promise<void> {
    for (const batch of chunks(entries, 500)) {
      await db
        .insertInto('audit_entries')
        .values(batch.map((e) => ({
          at: toIso(e.at),
          request_id: e.requestId,
          app_id: e.appId,
          partner_id: e.partnerId,
          agreement_id: e.agreementId,
          agreement_version: e.agreementVersion,
          rules_version: e.rulesVersion,
          token_member_id: e.tokenMemberId,
          subject_member_id: e.subjectMemberId,
          purpose: e.purpose,
          outcome: e.outcome,
          code: e.code,
          released: JSON.stringify(e.released),
          withheld: JSON.stringify(e.withheld),
          actor: e.actor ?? null,
          action: e.action ?? null,
          detail: e.detail == null ? null : JSON.stringify(e.detail),
        })))
        .execute();
    }
  }

  async byRequest(requestId: string): Promise<StoredAuditEntry[]> {
    const rows = await this.db.selectFrom('audit_entries').selectAll().where('request_id', '=', requestId).orderBy('seq').execute();
    return rows.map(entryFromRow);
  }

  /** Staff actions (outcome `staff_action`), oldest first; of one actor when given. */
  async staffActions(actor?: string): Promise<StoredAuditEntry[]> {
    let query = this.db.selectFrom('audit_entries').selectAll().where('outcome', '=', 'staff_action');
    if (actor !== undefined) query = query.where('actor', '=', actor);
    const rows = await query.orderBy('seq').execute();
    return rows.map(entryFromRow);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
