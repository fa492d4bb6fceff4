import type { Selectable } from 'kysely';
import type { AuditEntry } from '../audit/audit-entry.js';
import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import { fromIso, toIso } from './columns.js';
import type { AuditEntriesTable } from './schema.js';

/** An audit entry as stored, with its place in the log: leaf index = seq - 1. */
export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
}

type EntryRow = Omit<Selectable<AuditEntriesTable>, 'leaf_hash'>;

export function entryFromRow(row: EntryRow): StoredAuditEntry {
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

/** The columns of an entry (without seq and leaf hash). */
export function rowFromEntry(e: AuditEntry): Omit<EntryRow, 'seq'> {
  return {
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
  };
}
