import type { ExpressionBuilder } from 'kysely';
import type { AuditEntry } from '../audit/audit-entry.js';
import { fieldBit, isField, type FieldMask } from '../domain/field-catalog.js';
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
  async record(db: Db, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const batch = new BatchCounts();
    for (const entry of entries) batch.add(entry);
    await DAILY_UPSERT.run(db, batch.daily());
    await RELEASE_DAY_INSERT.run(db, batch.releaseDays());
    await RELEASE_INSTANT_UPSERT.run(db, batch.releaseInstants());
    await EXPOSURE_INSERT.run(db, batch.exposures());
    await FIELD_MONTH_UPSERT.run(db, batch.fieldMonths());
    await TOKEN_MONTH_INSERT.run(db, batch.tokenMonths());
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
interface Exposure { direct: FieldMask; friends: FieldMask }
interface FieldTimes { direct: number; friends: number }

/** A batch's entries counted per key; keys are the key columns joined by NUL, which no id contains. */
class BatchCounts {
  private readonly dailyCounts = new Map<string, DailyCount>();
  private readonly days = new Map<string, Instant>();
  private readonly instants = new Map<string, number>();
  private readonly exposure = new Map<string, Exposure>();
  private readonly times = new Map<string, FieldTimes>();
  private readonly dayNames = new Map<number, string>();
  private readonly tokens = new Set<string>();

  add(entry: AuditEntry): void {
    const day = this.dayOf(entry.at);
    const released = entry.outcome === 'released';
    const fields = released ? volumeOf(entry.released) : 0;
    const dailyKey = [day, entry.partnerId ?? '', entry.appId ?? '', entry.agreementId ?? '', entry.outcome].join('\0');
    const daily = this.dailyCounts.get(dailyKey);
    if (daily === undefined) this.dailyCounts.set(dailyKey, { entries: 1, fields, lastAt: entry.at });
    else {
      daily.entries++;
      daily.fields += fields;
      daily.lastAt = Math.max(daily.lastAt, entry.at);
    }
    if (entry.partnerId !== null && entry.tokenMemberId !== null) this.tokens.add([day.slice(0, 7), entry.partnerId, entry.tokenMemberId].join('\0'));
    if (!released || entry.agreementId === null || entry.subjectMemberId === null) return;
    const member = entry.subjectMemberId;
    const dayKey = [day, entry.agreementId, member].join('\0');
    const firstAt = this.days.get(dayKey);
    if (firstAt === undefined || entry.at < firstAt) this.days.set(dayKey, entry.at);
    const instantKey = [entry.at, entry.agreementId].join('\0');
    this.instants.set(instantKey, (this.instants.get(instantKey) ?? 0) + fields);
    this.addExposure(entry.agreementId, day.slice(0, 7), member, entry);
  }

  private addExposure(agreementId: string, month: string, member: string, entry: AuditEntry): void {
    const direct = member === entry.tokenMemberId;
    let mask = 0;
    for (const field of entry.released) {
      if (!isField(field)) continue;
      mask |= fieldBit(field);
      const key = [agreementId, month, field].join('\0');
      const times = this.times.get(key) ?? { direct: 0, friends: 0 };
      if (direct) times.direct++;
      else times.friends++;
      this.times.set(key, times);
    }
    if (mask === 0) return;
    const key = [agreementId, month, member].join('\0');
    const exposure = this.exposure.get(key) ?? { direct: 0, friends: 0 };
    if (direct) exposure.direct |= mask;
    else exposure.friends |= mask;
    this.exposure.set(key, exposure);
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
    return flat(this.days, (firstAt) => [firstAt]);
  }

  releaseInstants(): unknown[] {
    return flat(this.instants, (fields) => [fields]);
  }

  exposures(): unknown[] {
    return flat(this.exposure, (e) => [e.direct, e.friends]);
  }

  fieldMonths(): unknown[] {
    return flat(this.times, (t) => [t.direct, t.friends]);
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

type Table = 'audit_daily_counts' | 'audit_release_instants' | 'audit_field_months';

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

// The per-member counts are journals (migration 0034): appended, never upserted; the folding merges repeats.
const RELEASE_DAY_INSERT = new BulkInsert('audit_release_days', ['day', 'agreement_id', 'member_id', 'first_at'], 1000);

const RELEASE_INSTANT_UPSERT = new BulkInsert(
  'audit_release_instants', ['at', 'agreement_id', 'fields'], 1000,
  (conflict) => conflict.columns(['at', 'agreement_id']).doUpdateSet((eb) => sums(eb, 'audit_release_instants', ['fields'])),
);

const EXPOSURE_INSERT = new BulkInsert('audit_exposure', ['agreement_id', 'month', 'member_id', 'direct_fields', 'friend_fields'], 1000);

const FIELD_MONTH_UPSERT = new BulkInsert(
  'audit_field_months', ['agreement_id', 'month', 'field', 'direct', 'friends'], 1000,
  (conflict) => conflict.columns(['month', 'agreement_id', 'field']).doUpdateSet((eb) => sums(eb, 'audit_field_months', ['direct', 'friends'])),
);

const TOKEN_MONTH_INSERT = new BulkInsert('audit_token_months', ['month', 'partner_id', 'member_id'], 1000);
