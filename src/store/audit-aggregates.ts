import type { ExpressionBuilder } from 'kysely';
import type { AuditEntry } from '../audit/audit-entry.js';
import { fieldBit, isField, type Field, type FieldMask } from '../domain/field-catalog.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { BulkInsert } from './bulk-insert.js';
import type { Db } from './database.js';

/**
 * The counts the staff's reports read (issue 11 point 4, issue 14 point 1), kept current in the
 * transaction that appends the entries they count, so that a report reads a few small tables and
 * never the log, whatever its size or however it is stored (tables in schema.ts, migration 0021):
 *
 * - entries per UTC day, partner, app, agreement and outcome (the daily counts, the inventory's
 *   volume and last access);
 * - per agreement, day and member released: the first release that day (the inventory's distinct
 *   members over a window that starts and ends at any instant);
 * - per instant and agreement: the fields released then (the inventory's volume on the first and
 *   last day of its window); a request's entries share their instant;
 * - per agreement, month and member released: which fields, directly and through friends (the
 *   exposure report);
 * - per agreement, month and field: how many times it was released;
 * - per month, agreement, app, purpose, field and way (directly or through friends): its first and
 *   last release (the least-privilege report: what was allowed and never used);
 * - per partner, month and member whose token its apps used (the counterfactual report's requests).
 *
 * A batch is counted in memory. The totals (daily counts, instants, field months) are one upsert per
 * key that adds to the row already there: few keys, met again and again. The per-member counts
 * (release days, exposure, token members) are journals (migration 0034): a row per member per
 * batch appended at the table's end, which the folding (member-set-folding.ts) moves into bitmaps,
 * merging repeats; upserting them placed each released friend at a random place in a B-tree
 * keyed by text, which cost about as much as appending the entry itself.
 */
export class AuditAggregates {
  /**
   * Returns the rows it appended to the journals (the folding's backlog). With `journals`, the
   * journals' rows are handed to it instead of appended (a bulk build folds them in memory,
   * member-set-folding.ts `MemberSetBuilder`), and none is counted.
   */
  async record(db: Db, entries: readonly AuditEntry[], journals?: (rows: JournalRows) => Promise<void>): Promise<number> {
    if (entries.length === 0) return 0;
    const batch = new BatchCounts();
    for (const entry of entries) batch.add(entry);
    await DAILY_UPSERT.run(db, batch.daily());
    await RELEASE_INSTANT_UPSERT.run(db, batch.releaseInstants());
    await FIELD_MONTH_UPSERT.run(db, batch.fieldMonths());
    await FIELD_USE_UPSERT.run(db, batch.fieldUses());
    const rows: JournalRows = { audit_release_days: batch.releaseDays(), audit_exposure: batch.exposures(), audit_token_months: batch.tokenMonths() };
    if (journals !== undefined) {
      await journals(rows);
      return 0;
    }
    let appended = 0;
    for (const { table, insert } of JOURNAL_INSERTS) appended += await insert.run(db, rows[table]);
    return appended;
  }
}

export type JournalTable = 'audit_release_days' | 'audit_exposure' | 'audit_token_months';

/** The journals' columns, in the order of the flat values of `JournalRows`. */
export const JOURNAL_COLUMNS = {
  audit_release_days: ['day', 'agreement_id', 'member_id', 'first_at'],
  audit_exposure: ['agreement_id', 'month', 'member_id', 'direct_fields', 'friend_fields'],
  audit_token_months: ['month', 'partner_id', 'member_id'],
} as const satisfies Record<JournalTable, readonly string[]>;

/** A batch's journal rows per journal, as flat values in JOURNAL_COLUMNS' order. */
export type JournalRows = Record<JournalTable, unknown[]>;

/** The one instance the appenders share (its statements are compiled once). */
export const auditAggregates = new AuditAggregates();

/** `YYYY-MM-DD` (UTC) of an instant. */
export function utcDay(at: Instant): string {
  return new Date(Math.floor(at / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** Fields counted as volume: every released field but the always-released `id`. */
export function volumeOf(released: readonly string[]): number {
  return released.length - (released.includes('id') ? 1 : 0);
}

interface DailyCount { entries: number; fields: number; lastAt: Instant }
interface Released { day: string; agreementId: string; member: string; firstAt: Instant; direct: FieldMask; friends: FieldMask }
interface FieldTimes { direct: number; friends: number }
interface FirstAndLast { firstAt: Instant; lastAt: Instant }
/** What the counts need of a list of released fields, worked out once per list: the Graph API shares a list among the entries that released the same fields. */
interface ReleasedList { readonly volume: number; readonly mask: FieldMask; readonly fields: readonly Field[] }

const releasedLists = new WeakMap<readonly string[], ReleasedList>();

function releasedList(released: readonly string[]): ReleasedList {
  let list = releasedLists.get(released);
  if (list === undefined) {
    const fields = released.filter(isField);
    list = { volume: volumeOf(released), mask: fields.reduce((mask, field) => mask | fieldBit(field), 0), fields };
    releasedLists.set(released, list);
  }
  return list;
}

/**
 * A batch's entries counted per key; keys are the key columns joined by NUL, which no id contains.
 * A request's entries come one after the other and share its instant, app and token: what the
 * previous entry counted under the same key is reused rather than looked up again.
 */
class BatchCounts {
  private readonly dailyCounts = new Map<string, DailyCount>();
  /** Per day, agreement and member released: the first release and the fields (the release days' and exposure's rows). */
  private readonly released = new Map<string, Released>();
  private readonly instants = new Map<string, { fields: number }>();
  /** Per agreement and month, per list of released fields: how many times (counted per field as rows are made). */
  private readonly times = new Map<string, Map<ReleasedList, FieldTimes>>();
  /** Per month, agreement, app, purpose, field and way: the first and last release (few keys: a request's released friends share them). */
  private readonly uses = new Map<string, Map<ReleasedList, FirstAndLast>>();
  private readonly dayNames = new Map<number, string>();
  private readonly tokens = new Set<string>();
  private previous: { entry: AuditEntry; daily: DailyCount; instant?: { fields: number }; times?: Map<ReleasedList, FieldTimes> } | undefined;

  add(entry: AuditEntry): void {
    const before = this.previous;
    const sameRequest = before !== undefined && before.entry.at === entry.at && before.entry.requestId === entry.requestId
      && before.entry.partnerId === entry.partnerId && before.entry.appId === entry.appId
      && before.entry.agreementId === entry.agreementId && before.entry.tokenMemberId === entry.tokenMemberId;
    const day = this.dayOf(entry.at);
    const released = entry.outcome === 'released';
    const list = releasedList(entry.released);
    const fields = released ? list.volume : 0;
    const daily = sameRequest && before.entry.outcome === entry.outcome ? before.daily : this.dailyOf(day, entry);
    daily.entries++;
    daily.fields += fields;
    if (entry.at > daily.lastAt) daily.lastAt = entry.at;
    if (!sameRequest && entry.partnerId !== null && entry.tokenMemberId !== null) this.tokens.add(`${day.slice(0, 7)}\0${entry.partnerId}\0${entry.tokenMemberId}`);
    const previous: NonNullable<BatchCounts['previous']> = { entry, daily, instant: sameRequest ? before.instant : undefined, times: sameRequest ? before.times : undefined };
    this.previous = previous;
    if (!released || entry.agreementId === null || entry.subjectMemberId === null) return;
    const instant = previous.instant ??= this.instantOf(entry.at, entry.agreementId);
    instant.fields += fields;
    const times = previous.times ??= this.timesOf(entry.agreementId, day.slice(0, 7));
    this.addRelease(day, entry.agreementId, entry.subjectMemberId, entry, list, times);
  }

  private addRelease(day: string, agreementId: string, member: string, entry: AuditEntry, list: ReleasedList, times: Map<ReleasedList, FieldTimes>): void {
    const direct = member === entry.tokenMemberId;
    const mask = list.mask;
    if (entry.appId !== null && entry.purpose !== null) {
      const usedUnder = `${day.slice(0, 7)}\0${agreementId}\0${entry.appId}\0${entry.purpose}`;
      this.addUse(`${usedUnder}\0${direct ? 'd' : 'f'}`, list, entry.at);
    }
    if (mask !== 0) {
      let counted = times.get(list);
      if (counted === undefined) times.set(list, (counted = { direct: 0, friends: 0 }));
      if (direct) counted.direct++;
      else counted.friends++;
    }
    const key = `${day}\0${agreementId}\0${member}`;
    const seen = this.released.get(key);
    if (seen === undefined) {
      this.released.set(key, { day, agreementId, member, firstAt: entry.at, direct: direct ? mask : 0, friends: direct ? 0 : mask });
      return;
    }
    if (entry.at < seen.firstAt) seen.firstAt = entry.at;
    if (direct) seen.direct |= mask;
    else seen.friends |= mask;
  }

  private dailyOf(day: string, entry: AuditEntry): DailyCount {
    const key = `${day}\0${entry.partnerId ?? ''}\0${entry.appId ?? ''}\0${entry.agreementId ?? ''}\0${entry.outcome}`;
    let daily = this.dailyCounts.get(key);
    if (daily === undefined) this.dailyCounts.set(key, (daily = { entries: 0, fields: 0, lastAt: entry.at }));
    return daily;
  }

  private instantOf(at: Instant, agreementId: string): { fields: number } {
    const key = `${at}\0${agreementId}`;
    let instant = this.instants.get(key);
    if (instant === undefined) this.instants.set(key, (instant = { fields: 0 }));
    return instant;
  }

  private timesOf(agreementId: string, month: string): Map<ReleasedList, FieldTimes> {
    const key = `${agreementId}\0${month}`;
    let times = this.times.get(key);
    if (times === undefined) this.times.set(key, (times = new Map()));
    return times;
  }

  /** Per list of released fields, expanded into fields only as rows are made: an entry costs one look-up, not one per field. */
  private addUse(key: string, list: ReleasedList, at: Instant): void {
    let byList = this.uses.get(key);
    if (byList === undefined) this.uses.set(key, (byList = new Map()));
    const use = byList.get(list);
    if (use === undefined) byList.set(list, { firstAt: at, lastAt: at });
    else {
      if (at < use.firstAt) use.firstAt = at;
      if (at > use.lastAt) use.lastAt = at;
    }
  }

  private dayOf(at: Instant): string {
    const index = Math.floor(at / DAY_MS);
    let name = this.dayNames.get(index);
    if (name === undefined) this.dayNames.set(index, (name = utcDay(at)));
    return name;
  }

  daily(): unknown[] {
    return flat(this.dailyCounts, (c) => [c.entries, c.fields, c.lastAt]);
  }

  releaseDays(): unknown[] {
    const values: unknown[] = [];
    for (const r of this.released.values()) values.push(r.day, r.agreementId, r.member, r.firstAt);
    return values;
  }

  releaseInstants(): unknown[] {
    return flat(this.instants, (instant) => [instant.fields]);
  }

  /** A row per member and day released with fields; two days of one month make two rows of the journal, merged when folded. */
  exposures(): unknown[] {
    const values: unknown[] = [];
    for (const r of this.released.values()) if (r.direct !== 0 || r.friends !== 0) values.push(r.agreementId, r.day.slice(0, 7), r.member, r.direct, r.friends);
    return values;
  }

  fieldMonths(): unknown[] {
    const values: unknown[] = [];
    for (const [key, byList] of this.times) {
      const [agreementId, month] = key.split('\0');
      const byField = new Map<Field, FieldTimes>();
      for (const [list, t] of byList) {
        for (const field of list.fields) {
          const counted = byField.get(field) ?? byField.set(field, { direct: 0, friends: 0 }).get(field)!;
          counted.direct += t.direct;
          counted.friends += t.friends;
        }
      }
      for (const [field, t] of byField) values.push(agreementId, month, field, t.direct, t.friends);
    }
    return values;
  }

  fieldUses(): unknown[] {
    const values: unknown[] = [];
    for (const [key, byList] of this.uses) {
      const [month, agreementId, appId, purpose, how] = key.split('\0');
      const byField = new Map<Field, FirstAndLast>();
      for (const [list, use] of byList) {
        for (const field of list.fields) {
          const seen = byField.get(field);
          if (seen === undefined) byField.set(field, { ...use });
          else {
            if (use.firstAt < seen.firstAt) seen.firstAt = use.firstAt;
            if (use.lastAt > seen.lastAt) seen.lastAt = use.lastAt;
          }
        }
      }
      for (const [field, use] of byField) values.push(month, agreementId, appId, purpose, field, how, use.firstAt, use.lastAt);
    }
    return values;
  }

  tokenMonths(): unknown[] {
    return [...this.tokens].flatMap((key) => key.split('\0'));
  }
}

/** Rows as BulkInsert takes them: the key's columns, then the counts. */
function flat<V>(map: ReadonlyMap<string, V>, counts: (value: V) => unknown[]): unknown[] {
  const values: unknown[] = [];
  for (const [key, value] of map) values.push(...key.split('\0'), ...counts(value));
  return values;
}

type Table = 'audit_daily_counts' | 'audit_release_instants' | 'audit_field_months' | 'audit_field_uses';

/** `a + excluded.a` for each counter. */
function sums(eb: ExpressionBuilder<any, any>, table: Table, columns: readonly string[]) {
  return Object.fromEntries(columns.map((column) => [column, eb(`${table}.${column}`, '+', eb.ref(`excluded.${column}`))]));
}

/** The later (or earlier) of the stored and the new instant: a CASE, as SQLite's max() is PostgreSQL's greatest(). */
function extreme(eb: ExpressionBuilder<any, any>, table: Table, column: string, op: '>' | '<') {
  const stored = eb.ref(`${table}.${column}`);
  const added = eb.ref(`excluded.${column}`);
  return eb.case().when(added, op, stored).then(added).else(stored).end();
}

const DAILY_UPSERT = new BulkInsert(
  'audit_daily_counts', ['day', 'partner_id', 'app_id', 'agreement_id', 'outcome', 'entries', 'fields', 'last_at'], 1000,
  (conflict) => conflict.columns(['day', 'partner_id', 'app_id', 'agreement_id', 'outcome']).doUpdateSet((eb) => ({
    ...sums(eb, 'audit_daily_counts', ['entries', 'fields']),
    last_at: extreme(eb, 'audit_daily_counts', 'last_at', '>'),
  })),
);

const RELEASE_INSTANT_UPSERT = new BulkInsert(
  'audit_release_instants', ['at', 'agreement_id', 'fields'], 1000,
  (conflict) => conflict.columns(['at', 'agreement_id']).doUpdateSet((eb) => sums(eb, 'audit_release_instants', ['fields'])),
);

const FIELD_MONTH_UPSERT = new BulkInsert(
  'audit_field_months', ['agreement_id', 'month', 'field', 'direct', 'friends'], 1000,
  (conflict) => conflict.columns(['month', 'agreement_id', 'field']).doUpdateSet((eb) => sums(eb, 'audit_field_months', ['direct', 'friends'])),
);

const FIELD_USE_UPSERT = new BulkInsert(
  'audit_field_uses', ['month', 'agreement_id', 'app_id', 'purpose', 'field', 'how', 'first_at', 'last_at'], 1000,
  (conflict) => conflict.columns(['month', 'agreement_id', 'app_id', 'purpose', 'field', 'how']).doUpdateSet((eb) => ({
    first_at: extreme(eb, 'audit_field_uses', 'first_at', '<'),
    last_at: extreme(eb, 'audit_field_uses', 'last_at', '>'),
  })),
);

// The per-member counts are journals (migration 0034): appended, never upserted; the folding merges repeats.
const JOURNAL_INSERTS: ReadonlyArray<{ readonly table: JournalTable; readonly insert: { run(db: Db, values: readonly unknown[]): Promise<number> } }> = [
  { table: 'audit_release_days', insert: new BulkInsert('audit_release_days', JOURNAL_COLUMNS.audit_release_days, 1000) },
  { table: 'audit_exposure', insert: new BulkInsert('audit_exposure', JOURNAL_COLUMNS.audit_exposure, 1000) },
  { table: 'audit_token_months', insert: new BulkInsert('audit_token_months', JOURNAL_COLUMNS.audit_token_months, 1000) },
];
