import type { Selectable } from 'kysely';
import type { AuditEntry, NumberedEntry } from '../audit/audit-entry.js';
import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import { fromIso, toIso } from './columns.js';
import type { AuditEntriesTable } from './schema.js';

/** An audit entry as stored, with its place in the log: leaf index = seq - 1. */
export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
  /** 1: legacy canonical form, leaf hash stored; 2: blinded (canonical-entry-v2.ts), written since migration 0014. */
  readonly format: 1 | 2;
}

export type EntryRow = Omit<Selectable<AuditEntriesTable>, 'leaf_hash'>;

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
    passedOver: row.passed_over == null ? null : { count: Number(row.passed_over), reason: row.passed_over_reason ?? '' },
    format: Number(row.format) === 1 ? 1 : 2,
  };
}

/** The columns of an entry (without seq and leaf hash), in the order `pushEntryColumns` writes them. */
export const ENTRY_COLUMNS = [
  'at', 'request_id', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version', 'token_member_id',
  'subject_member_id', 'purpose', 'outcome', 'code', 'released', 'withheld', 'actor', 'action', 'detail',
  'format', 'passed_over', 'passed_over_reason',
] as const satisfies readonly (keyof EntryRow)[];

/** Every entry appended since migration 0014 is blinded. */
const BLINDED = 2;

/** The columns of audit_requests (migration 0020), in the order `pushRequestColumns` writes them. */
export const REQUEST_COLUMNS = [
  'first_seq', 'leaf_count', 'at', 'request_id', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version',
  'token_member_id', 'purpose',
] as const;

/** The columns of audit_leaves (migration 0020), in the order `pushLeafColumns` writes them. */
export const LEAF_COLUMNS = [
  'seq', 'pos', 'subject_member_id', 'outcome', 'code', 'released', 'withheld', 'passed_over', 'passed_over_reason',
  'actor', 'action', 'detail',
] as const;

/** The columns the appender writes: LEAF_COLUMNS, then the subject's member number (migration 0039), which is no part of the entry. */
export const LEAF_INSERT_COLUMNS = [...LEAF_COLUMNS, 'subject_number'] as const;

/**
 * The columns the appender writes: REQUEST_COLUMNS, then the request's subjects packed for a replay
 * (migration 0042, replaySubjectsOf), which is no part of any entry.
 */
export const REQUEST_INSERT_COLUMNS = [...REQUEST_COLUMNS, 'replay_subjects'] as const;

/** Field-set ids below this are packed into one number with a subject's relation (2^22: 22 + 22 + 1 bits < 2^53). */
export const PACKED_ID_SPAN = 4_194_304;
/** A subject logged without a member number, in a packed list of numbers. */
export const UNNUMBERED = -2;

/** What replaySubjectsOf reads of an entry. */
export type ReplayedFields = Pick<NumberedEntry, 'appId' | 'tokenMemberId' | 'outcome' | 'code' | 'subjectMemberId' | 'subjectNumber' | 'passedOver'>;

/**
 * A Graph API request as a replay reads it (migration 0042), one string per request instead of a
 * row per entry: its head entry (outcome, code, passed-over count, `=` and the member it names; a
 * unit separator between two, nothing for a null), a group separator, then the packed code of each
 * `released` entry after it (its released and withheld lists' ids and whether it is the token's own
 * member: no code), a unit separator, their member numbers (UNNUMBERED for one without), a unit
 * separator, and the ids of those without a number only (a record separator between two); nothing
 * after the group separator for a request without subjects. Exactly what the replay's batch
 * statement builds from the leaves of a request logged before 0042. Null for what a replay does not
 * read (a staff action, a request without a token member), and when the replay could not read it
 * back (a list's id too large to pack, a separator in the member the head names).
 */
export function replaySubjectsOf(entries: ReadonlyArray<ReplayedFields>, first: number, end: number, setIds: readonly number[]): string | null {
  const head = entries[first]!;
  if (head.appId === null || head.tokenMemberId === null) return null;
  const named = head.subjectMemberId;
  if (named !== null && /[\x1d\x1e\x1f]/.test(named)) return null;
  const codes: number[] = [];
  const numbers: number[] = [];
  const ids: string[] = [];
  for (let i = first + 1; i < end; i++) {
    const e = entries[i]!;
    if (e.outcome !== 'released') continue;
    const released = setIds[2 * i]!;
    const withheld = setIds[2 * i + 1]!;
    if (released >= PACKED_ID_SPAN || withheld >= PACKED_ID_SPAN) return null;
    codes.push((released * PACKED_ID_SPAN + withheld) * 2 + (e.code === null ? 1 : 0));
    const number = e.subjectMemberId === null ? undefined : e.subjectNumber;
    numbers.push(number ?? UNNUMBERED);
    if (number === undefined) ids.push(e.subjectMemberId ?? '');
  }
  const headText = `${head.outcome}\x1f${head.code ?? ''}\x1f${head.passedOver?.count ?? ''}\x1f${named === null ? '' : `=${named}`}\x1d`;
  return codes.length === 0 ? headText : `${headText}${codes.join(',')}\x1f${numbers.join(',')}\x1f${ids.join('\x1e')}`;
}

/** Whether two entries share every field audit_requests holds once for a request's entries. */
export function sameRequest(a: AuditEntry, b: AuditEntry): boolean {
  return a.at === b.at && a.requestId === b.requestId && a.appId === b.appId && a.partnerId === b.partnerId
    && a.agreementId === b.agreementId && a.agreementVersion === b.agreementVersion && a.rulesVersion === b.rulesVersion
    && a.tokenMemberId === b.tokenMemberId && a.purpose === b.purpose;
}

/** A request's row in REQUEST_INSERT_COLUMNS order: its first entry's shared fields, for `leafCount` entries from `firstSeq`, and its packed subjects. */
export function pushRequestColumns(values: unknown[], firstSeq: number, leafCount: number, e: AuditEntry, replaySubjects: string | null): void {
  values.push(
    firstSeq, leafCount, isoOf(e.at), e.requestId, e.appId, e.partnerId, e.agreementId, e.agreementVersion, e.rulesVersion,
    e.tokenMemberId, e.purpose, replaySubjects,
  );
}

/** The released and withheld lists of an entry as the JSON text audit_field_sets interns. */
export function fieldSetsOf(e: AuditEntry): { released: string; withheld: string } {
  return { released: releasedJson(e.released), withheld: withheldJson(e.withheld) };
}

/**
 * An entry's leaf row in LEAF_INSERT_COLUMNS order, `pos` places after its request's first, with the
 * audit_field_sets ids of its released and withheld lists, and its subject's number where the code
 * that built it read one.
 */
export function pushLeafColumns(values: unknown[], seq: number, pos: number, e: NumberedEntry, releasedSet: number, withheldSet: number): void {
  values.push(
    seq, pos, e.subjectMemberId, e.outcome, e.code, releasedSet, withheldSet,
    e.passedOver?.count ?? null, e.passedOver?.reason ?? null,
    e.actor ?? null, e.action ?? null, e.detail == null ? null : JSON.stringify(e.detail),
    e.subjectMemberId === null ? null : e.subjectNumber ?? null,
  );
}

function isoOf(at: number): string {
  if (at !== lastInstant) {
    lastIso = toIso(at);
    lastInstant = at;
  }
  return lastIso;
}

let lastInstant = Number.NaN;
let lastIso = '';

/**
 * Appends an entry's column values in ENTRY_COLUMNS order to `values` (the flat parameter list of
 * a multi-row insert into audit_entries, frozen since migration 0020: tests write legacy rows with it). A request's entries share their instant and mostly their released and
 * withheld lists: each is formatted once per run of equal values.
 */
export function pushEntryColumns(values: unknown[], e: AuditEntry): void {
  values.push(
    isoOf(e.at), e.requestId, e.appId, e.partnerId, e.agreementId, e.agreementVersion, e.rulesVersion, e.tokenMemberId,
    e.subjectMemberId, e.purpose, e.outcome, e.code, releasedJson(e.released), withheldJson(e.withheld),
    e.actor ?? null, e.action ?? null, e.detail == null ? null : JSON.stringify(e.detail),
    BLINDED, e.passedOver?.count ?? null, e.passedOver?.reason ?? null,
  );
}

// Compared by content, not by reference, so that a list changed in place is written as it is now.
let lastReleased: readonly string[] = [];
let lastReleasedJson = '[]';
let lastWithheld: ReadonlyArray<readonly [string, unknown]> = [];
let lastWithheldJson = '{}';

function releasedJson(released: readonly string[]): string {
  if (released.length === lastReleased.length && released.every((field, i) => field === lastReleased[i])) return lastReleasedJson;
  lastReleasedJson = JSON.stringify(released);
  lastReleased = [...released];
  return lastReleasedJson;
}

/** JSON.stringify's own text (keys in the object's order) for a map of strings, as the column always held. */
function withheldJson(withheld: object): string {
  const entries = Object.entries(withheld);
  const same = entries.length === lastWithheld.length && entries.every(([key, value], i) =>
    typeof value === 'string' && key === lastWithheld[i]![0] && value === lastWithheld[i]![1]);
  if (same) return lastWithheldJson;
  lastWithheldJson = JSON.stringify(withheld);
  lastWithheld = entries;
  return lastWithheldJson;
}

/** Where each column sits in `entriesAsJson`'s arrays: seq first, then ENTRY_COLUMNS, then the leaf hash. */
const POSITION = Object.fromEntries(ENTRY_COLUMNS.map((column, i) => [column, i + 1])) as Record<(typeof ENTRY_COLUMNS)[number], number>;
const LEAF_HASH_AT = ENTRY_COLUMNS.length + 1;

/**
 * An entry from one JSON array `[seq, ...ENTRY_COLUMNS, leaf hash in hex]` (AuditRepository's
 * `entriesAsJson`), through the same `entryFromRow` as every other read. The values are whatever
 * the columns hold: a column of the wrong type fails later, in the canonical encoding. (A literal
 * row object is built because a keyed loop made this the verifier's costliest function.)
 */
export function entryFromColumnsJson(json: string): { entry: StoredAuditEntry; leafHashHex: string | null } {
  const v = JSON.parse(json) as never[];
  const p = POSITION; // indexed directly: a helper closure per row cost ~40% more here
  const row: EntryRow = {
    seq: v[0]!, at: v[p.at]!, request_id: v[p.request_id]!, app_id: v[p.app_id]!, partner_id: v[p.partner_id]!,
    agreement_id: v[p.agreement_id]!, agreement_version: v[p.agreement_version]!, rules_version: v[p.rules_version]!,
    token_member_id: v[p.token_member_id]!, subject_member_id: v[p.subject_member_id]!, purpose: v[p.purpose]!,
    outcome: v[p.outcome]!, code: v[p.code]!, released: v[p.released]!, withheld: v[p.withheld]!, actor: v[p.actor]!,
    action: v[p.action]!, detail: v[p.detail]!, format: v[p.format]!, passed_over: v[p.passed_over]!,
    passed_over_reason: v[p.passed_over_reason]!,
  };
  const hex = v[LEAF_HASH_AT] as unknown;
  return { entry: entryFromRow(row), leafHashHex: typeof hex === 'string' && hex !== '' ? hex : null };
}
