import type { ExpressionBuilder } from 'kysely';
import type { AuditEntry, NumberedEntry } from '../audit/audit-entry.js';
import { fieldBit, isField, type Field, type FieldMask } from '../domain/field-catalog.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { BulkInsert } from './bulk-insert.js';
import type { Db } from './database.js';
import { addDeltas, ExposureGroups, MemberNumbers, setsOfNumbered, type KeyedSet, type MaskedMembers, type MemberGroup } from './member-sets.js';

/**
 * The counts the staff's reports read (issue 11 point 4, issue 14 point 1), kept current in the
 * transaction that appends the entries they count, so that a report reads a few small tables and
 * never the log, whatever its size or however it is stored (tables in schema.ts, migration 0021):
 *
 * - entries per UTC day, partner, app, agreement and outcome (the daily counts, the inventory's
 *   volume and last access);
 * - per agreement and day, the members released (the inventory's distinct members over a window);
 * - per instant and agreement: the fields released then (the inventory's volume on the first and
 *   last day of its window); a request's entries share their instant;
 * - per agreement, month, field (or any) and way (directly or through friends), the members released
 *   (the exposure report);
 * - per agreement, month and field: how many times it was released;
 * - per month, agreement, app, purpose, field and way (directly or through friends): its first and
 *   last release (the least-privilege report: what was allowed and never used);
 * - per partner and month, the members whose tokens its apps used (the counterfactual report's requests).
 *
 * A batch is counted in memory. The totals (daily counts, instants, field months) are one upsert per
 * key that adds to the row already there: few keys, met again and again. The per-member counts
 * (release days, exposure, token members) are member sets (member-sets.ts): the batch's members
 * are numbered from the appender's cache and each set the batch touches gets one delta, a bitmap of
 * the batch's members, in the same transaction; a dozen rows a batch, however many members. Per-member
 * rows (the journals of migration 0034, folded into the sets later) cost about 14 µs an entry to
 * write, read back and delete, and left the counts at 39% of the appends' throughput.
 */
export class AuditAggregates {
  /**
   * Counts the entries in the caller's transaction. The batch's members are numbered with `numbers`
   * (a cache the appender keeps; by default looked up afresh) and each member set the batch adds to
   * is written as one delta (member-sets.ts `addDeltas`); with `into`, the sets are handed to it
   * instead (a bulk build holds them in memory, member-set-folding.ts `MemberSetBuilder`).
   */
  async record(db: Db, entries: readonly NumberedEntry[], into?: (sets: readonly KeyedSet[]) => Promise<void> | void, numbers = new MemberNumbers()): Promise<void> {
    if (entries.length === 0) return;
    const batch = new BatchCounts();
    for (const entry of entries) batch.add(entry);
    await DAILY_UPSERT.run(db, batch.daily());
    await RELEASE_INSTANT_UPSERT.run(db, batch.releaseInstants());
    await FIELD_MONTH_UPSERT.run(db, batch.fieldMonths());
    await FIELD_USE_UPSERT.run(db, batch.fieldUses());
    await numbers.learn(db, batch.unnumbered);
    const sets = setsOfNumbered(batch.memberGroups(numbers));
    if (into !== undefined) return into(sets);
    await addDeltas(db, sets);
  }
}

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
/**
 * A member as a batch counts it: its number where the entry carried it (the Graph API's do), its id
 * otherwise, numbered once the batch is counted. A member met twice is kept twice: the bitmaps the
 * sets are made of hold it once.
 */
type MemberRef = number | string;
/** The members released under one agreement on one day (the release day's set). */
interface ReleasedOn { readonly day: string; readonly agreementId: string; readonly members: MemberRef[] }
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

/** Where a request's released entries are counted (the request's agreement, day and month). */
interface ReleasedCounts {
  readonly times: Map<ReleasedList, FieldTimes>;
  readonly on: ReleasedOn;
  readonly exposure: MaskedMembers<MemberRef>;
  /** Its uses, directly and through friends. */
  d?: Map<ReleasedList, FirstAndLast>;
  f?: Map<ReleasedList, FirstAndLast>;
}

/**
 * What requests of one day, partner, app, agreement and purpose count under: one after another in a
 * batch, requests of the same app (most of a batch, often) share it.
 */
interface Shape {
  readonly day: string;
  readonly month: string;
  readonly entry: AuditEntry;
  readonly dailies: Partial<Record<AuditEntry['outcome'], DailyCount>>;
  released?: ReleasedCounts;
}

interface RequestCounts {
  /** The request's entry counted last. */
  entry: AuditEntry;
  readonly shape: Shape;
  instant?: { fields: number };
}

function sameShape(a: AuditEntry, b: AuditEntry): boolean {
  return a.partnerId === b.partnerId && a.appId === b.appId && a.agreementId === b.agreementId && a.purpose === b.purpose;
}

function sameRequest(a: AuditEntry, b: AuditEntry): boolean {
  return a.at === b.at && a.requestId === b.requestId && a.partnerId === b.partnerId && a.appId === b.appId
    && a.agreementId === b.agreementId && a.tokenMemberId === b.tokenMemberId;
}

/**
 * A batch's entries counted per key; keys are the key columns joined by NUL, which no id contains.
 * A request's entries come one after the other and share its instant, app and token, and requests
 * of the same app one after another share their day's keys: what was counted under the same key
 * just before is reused rather than looked up again.
 */
class BatchCounts {
  private readonly dailyCounts = new Map<string, DailyCount>();
  /** Per day and agreement, the members released. */
  private readonly released = new Map<string, ReleasedOn>();
  private readonly instants = new Map<string, { fields: number }>();
  /** Per agreement and month, per list of released fields: how many times (counted per field as rows are made). */
  private readonly times = new Map<string, Map<ReleasedList, FieldTimes>>();
  /** Per month, agreement, app, purpose, field and way: the first and last release (few keys: a request's released friends share them). */
  private readonly uses = new Map<string, Map<ReleasedList, FirstAndLast>>();
  private readonly dayNames = new Map<number, string>();
  /** Per month and partner, the members whose tokens its apps used. */
  private readonly tokens = new Map<string, { month: string; partnerId: string; members: MemberRef[] }>();
  /** Per month and agreement, the members released by the fields released (directly, through friends). */
  private readonly exposure = new ExposureGroups<MemberRef>();
  /** The ids of the members the entries named without their numbers. */
  readonly unnumbered: string[] = [];
  /** What the current request counts under: worked out at its first entry, kept for the others (they share its instant, app, token and agreement). */
  private request: RequestCounts | undefined;

  add(entry: NumberedEntry): void {
    let request = this.request;
    if (request === undefined || !sameRequest(request.entry, entry)) request = this.request = this.startRequest(entry);
    request.entry = entry;
    const shape = request.shape;
    const released = entry.outcome === 'released';
    const list = releasedList(entry.released);
    const fields = released ? list.volume : 0;
    const daily = shape.dailies[entry.outcome] ??= this.dailyOf(shape.day, entry);
    daily.entries++;
    daily.fields += fields;
    if (entry.at > daily.lastAt) daily.lastAt = entry.at;
    if (!released || entry.agreementId === null || entry.subjectMemberId === null) return;
    (request.instant ??= this.instantOf(entry.at, entry.agreementId)).fields += fields;
    const counts = shape.released ??= this.releasedCounts(shape, entry.agreementId);
    const direct = entry.subjectMemberId === entry.tokenMemberId;
    if (entry.appId !== null && entry.purpose !== null) {
      const how = direct ? 'd' : 'f';
      addUse(counts[how] ??= this.usesOf(`${shape.month}\0${entry.agreementId}\0${entry.appId}\0${entry.purpose}\0${how}`), list, entry.at);
    }
    const subject = this.ref(entry.subjectMemberId, entry.subjectNumber);
    counts.on.members.push(subject);
    const mask = list.mask;
    if (mask === 0) return;
    let counted = counts.times.get(list);
    if (counted === undefined) counts.times.set(list, (counted = { direct: 0, friends: 0 }));
    if (direct) counted.direct++;
    else counted.friends++;
    counts.exposure.add(subject, direct ? mask : 0, direct ? 0 : mask);
  }

  private startRequest(entry: NumberedEntry): RequestCounts {
    const day = this.dayOf(entry.at);
    const last = this.request?.shape;
    const shape = last !== undefined && last.day === day && sameShape(last.entry, entry) ? last : { day, month: day.slice(0, 7), entry, dailies: {} };
    if (entry.partnerId !== null && entry.tokenMemberId !== null) this.addToken(shape.month, entry.partnerId, this.ref(entry.tokenMemberId, entry.tokenMemberNumber));
    return { entry, shape };
  }

  private releasedCounts(shape: Shape, agreementId: string): ReleasedCounts {
    return {
      times: this.timesOf(agreementId, shape.month),
      on: this.releasedOn(shape.day, agreementId),
      exposure: this.exposure.of(shape.month, agreementId),
    };
  }

  private ref(id: string, number: number | undefined): MemberRef {
    if (number !== undefined) return number;
    this.unnumbered.push(id);
    return id;
  }

  private releasedOn(day: string, agreementId: string): ReleasedOn {
    const key = `${day}\0${agreementId}`;
    let on = this.released.get(key);
    if (on === undefined) this.released.set(key, (on = { day, agreementId, members: [] }));
    return on;
  }

  private addToken(month: string, partnerId: string, member: MemberRef): void {
    const key = `${month}\0${partnerId}`;
    let tokens = this.tokens.get(key);
    if (tokens === undefined) this.tokens.set(key, (tokens = { month, partnerId, members: [] }));
    tokens.members.push(member);
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
  private usesOf(key: string): Map<ReleasedList, FirstAndLast> {
    let byList = this.uses.get(key);
    if (byList === undefined) this.uses.set(key, (byList = new Map()));
    return byList;
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

  releaseInstants(): unknown[] {
    return flat(this.instants, (instant) => [instant.fields]);
  }

  /**
   * The batch's members by number as the member sets take them (member-sets.ts): per day and
   * agreement the members released; per month and agreement, by the fields released
   * (ExposureGroups); per month and partner the token members. `numbers` knows the unnumbered ones.
   */
  memberGroups(numbers: MemberNumbers): Array<MemberGroup<number>> {
    const numbered = this.unnumbered.length === 0
      ? (refs: readonly MemberRef[]) => refs as readonly number[]
      : (refs: readonly MemberRef[]) => refs.map((ref) => (typeof ref === 'number' ? ref : numbers.number(ref)));
    const groups: Array<MemberGroup<number>> = [];
    for (const { day, agreementId, members } of this.released.values()) groups.push({ kind: 'release_day', period: day, keys: [agreementId], ids: numbered(members) });
    for (const group of this.exposure.groups()) groups.push({ ...group, ids: numbered(group.ids) });
    for (const { month, partnerId, members } of this.tokens.values()) groups.push({ kind: 'token', period: month, keys: [partnerId], ids: numbered(members) });
    return groups;
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

}

function addUse(byList: Map<ReleasedList, FirstAndLast>, list: ReleasedList, at: Instant): void {
  const use = byList.get(list);
  if (use === undefined) byList.set(list, { firstAt: at, lastAt: at });
  else {
    if (at < use.firstAt) use.firstAt = at;
    if (at > use.lastAt) use.lastAt = at;
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
