import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { AuditEntry } from '../audit/audit-entry.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { utcDay } from './audit-aggregates.js';
import { leanEntries } from './audit-repository.js';
import { newestLeavesBySubject } from './member-leaves.js';
import { windowSeqs } from './audit-window.js';
import { splitByDays, type DayPiece } from './day-pieces.js';
import { entryFromRow, type EntryRow, type StoredAuditEntry } from './audit-rows.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';
import type { Database } from './schema.js';

export type AuditOutcome = AuditEntry['outcome'];
export const AUDIT_OUTCOMES = ['served', 'released', 'withheld', 'denied', 'staff_action'] as const satisfies readonly AuditOutcome[];

/** Which entries a staff query looks at; every part is optional and they add up (AND). */
export interface AuditFilter {
  readonly partnerId?: string;
  readonly appId?: string;
  readonly agreementId?: string;
  /** Inclusive. */
  readonly from?: Instant;
  /** Exclusive. */
  readonly to?: Instant;
  readonly outcome?: AuditOutcome;
}

/** An entries query: the filters above, and two that only the entries (not the daily counts) answer. */
export interface AuditEntryFilter extends AuditFilter {
  /** Entries about this member (their subject) or made with their token. */
  readonly memberId?: string;
  readonly requestId?: string;
}

export interface AuditRecordPage {
  readonly records: StoredAuditEntry[];
  /** Older matching entries exist beyond the last one. */
  readonly hasMore: boolean;
}

export interface DailyAuditCount {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly served: number;
  readonly released: number;
  readonly withheld: number;
  readonly denied: number;
  readonly staffAction: number;
  readonly total: number;
}

// Listed, not `selectAll`: the leaf hash (and any later column) stays in the table.
const COLUMNS = [
  'seq', 'at', 'request_id', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version',
  'token_member_id', 'subject_member_id', 'purpose', 'outcome', 'code', 'released', 'withheld', 'actor', 'action', 'detail',
  'format', 'passed_over', 'passed_over_reason',
] as const;

function matching(eb: ExpressionBuilder<Database, 'audit_log'>, filter: AuditEntryFilter): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (filter.memberId !== undefined) {
    conditions.push(eb.or([eb('subject_member_id', '=', filter.memberId), eb('token_member_id', '=', filter.memberId)]));
  }
  if (filter.requestId !== undefined) conditions.push(eb('request_id', '=', filter.requestId));
  if (filter.partnerId !== undefined) conditions.push(eb('partner_id', '=', filter.partnerId));
  if (filter.appId !== undefined) conditions.push(eb('app_id', '=', filter.appId));
  if (filter.agreementId !== undefined) conditions.push(eb('agreement_id', '=', filter.agreementId));
  // `at` is fixed-width ISO text (toIso), so comparing the text compares the instants.
  if (filter.from !== undefined) conditions.push(eb('at', '>=', toIso(filter.from)));
  if (filter.to !== undefined) conditions.push(eb('at', '<', toIso(filter.to)));
  if (filter.outcome !== undefined) conditions.push(eb('outcome', '=', filter.outcome));
  return eb.and(conditions);
}

/**
 * Where a page's entries may lie: before the cursor (`before`, exact) and within the seqs of the time
 * window's requests (windowSeqs: a range that holds them, the instants themselves are still compared).
 * Tops are exclusive; null is open.
 */
interface SeqBounds {
  readonly before: number | null;
  /** Of the requests' first seqs: the cursor or the window's, whichever is lower. */
  readonly requestTop: number | null;
  /** Of the leaves' seqs: the cursor or the window's end. */
  readonly leafTop: number | null;
  readonly bottom: number | null;
}

function lowest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/**
 * The bounds as conditions, each a range one of the read's indexes can start from. Read request by
 * request, a leaf is bounded by its place in its request (`l.seq = r.first_seq + l.pos`): written
 * `l.seq < ?`, SQLite took that bound, not the request's end, as the top of each request's rowid range,
 * and so read every leaf from each request's first to the cursor: a deep page of rare matches (a
 * partner's refusals) read the log once per request it passed (143 s at 3M entries). Read leaf by
 * leaf, the leaves' own seqs are the range the scan runs down from and stops at.
 */
function seqConditions(bounds: SeqBounds, byRequest: boolean): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = [];
  const { before, requestTop, leafTop, bottom } = bounds;
  if (requestTop !== null) conditions.push(sql<SqlBool>`${sql.ref('r.first_seq')} < ${requestTop}`);
  if (bottom !== null) conditions.push(sql<SqlBool>`${sql.ref('r.first_seq')} >= ${bottom}`);
  if (byRequest) {
    if (before !== null) conditions.push(sql<SqlBool>`${sql.ref('l.pos')} < ${before} - ${sql.ref('r.first_seq')}`);
    return conditions;
  }
  if (leafTop !== null) conditions.push(sql<SqlBool>`${sql.ref('l.seq')} < ${leafTop}`);
  if (bottom !== null) conditions.push(sql<SqlBool>`${sql.ref('l.seq')} >= ${bottom}`);
  return conditions;
}

/**
 * Staff queries over the whole audit log (issue 5): entries by partner, app, agreement, time window
 * and outcome, and their counts per UTC day. Read only; plain SQL that PostgreSQL runs as well.
 */
export class AuditQueryRepository {
  constructor(private readonly db: Db) {}

  /**
   * Up to `limit` matching entries, newest first, before `beforeSeq` (from the newest when null).
   * Two reads, each in its indexes' order: the entries appended since migration 0020 (every one after
   * the frozen rows of audit_entries), then as many of those as the page still needs.
   */
  async page(filter: AuditEntryFilter, limit: number, beforeSeq: number | null): Promise<AuditRecordPage> {
    const rows: EntryRow[] = await this.leanPage(filter, limit + 1, beforeSeq);
    if (rows.length <= limit) {
      // audit_entries has audit_log's columns (the view is defined over it).
      let legacy = this.db.selectFrom('audit_entries').select(COLUMNS).where((eb) => matching(eb as never, filter));
      if (beforeSeq !== null) legacy = legacy.where('seq', '<', beforeSeq);
      rows.push(...await legacy.orderBy('seq', 'desc').limit(limit + 1 - rows.length).execute());
    }
    return { records: rows.slice(0, limit).map(entryFromRow), hasMore: rows.length > limit };
  }

  /**
   * The newest matching entries among audit_requests and audit_leaves, in seq order without sorting
   * the log. A member is in an entry as its subject (a leaf's column) or as its token's member (its
   * request's): one read for each, each in its own index's order, merged here.
   */
  private async leanPage(filter: AuditEntryFilter, limit: number, beforeSeq: number | null): Promise<EntryRow[]> {
    const windowed = filter.from !== undefined || filter.to !== undefined;
    const window = windowed ? await windowSeqs(this.db, isoOrUndefined(filter.from), isoOrUndefined(filter.to)) : undefined;
    if (windowed && window === undefined) return [];
    const bounds: SeqBounds = {
      before: beforeSeq,
      requestTop: lowest(beforeSeq, window?.firstBelow ?? null),
      leafTop: lowest(beforeSeq, window?.end ?? null),
      bottom: window?.from ?? null,
    };
    if (filter.memberId === undefined) return this.leanRead(filter, limit, bounds, null);
    const found = new Map<number, EntryRow>();
    for (const as of ['subject', 'token'] as const) {
      for (const row of await this.leanRead(filter, limit, bounds, as)) found.set(Number(row.seq), row);
    }
    return [...found.values()].sort((a, b) => Number(b.seq) - Number(a.seq)).slice(0, limit);
  }

  private async leanRead(filter: AuditEntryFilter, limit: number, bounds: SeqBounds, memberAs: 'subject' | 'token' | null): Promise<EntryRow[]> {
    let query = leanEntries(this.db);
    if (memberAs === 'token') query = query.where('r.token_member_id', '=', filter.memberId!);
    if (filter.requestId !== undefined) query = query.where('r.request_id', '=', filter.requestId);
    if (filter.partnerId !== undefined) query = query.where('r.partner_id', '=', filter.partnerId);
    if (filter.appId !== undefined) query = query.where('r.app_id', '=', filter.appId);
    if (filter.agreementId !== undefined) query = query.where('r.agreement_id', '=', filter.agreementId);
    if (filter.from !== undefined) query = query.where('r.at', '>=', toIso(filter.from));
    if (filter.to !== undefined) query = query.where('r.at', '<', toIso(filter.to));
    if (filter.outcome !== undefined) query = query.where('l.outcome', '=', filter.outcome);
    // Filtered by what a request's index holds: requests newest first, each one's leaves within it (seq order
    // too, the leaves of a request being contiguous); else the leaves newest first, each finding its request.
    const byRequest = memberAs === 'token' || filter.requestId !== undefined
      || filter.partnerId !== undefined || filter.appId !== undefined || filter.agreementId !== undefined;
    for (const condition of seqConditions(bounds, byRequest && memberAs !== 'subject')) query = query.where(condition);
    if (memberAs === 'subject') {
      // The leaves by subject are indexed per partition of the log (member-leaves.ts): visited newest first.
      const bySubject = query.where('l.subject_member_id', '=', filter.memberId!).orderBy('l.seq', 'desc');
      return newestLeavesBySubject(this.db, bounds.leafTop, limit, (inPartitions, n) => bySubject.where(inPartitions).limit(n).execute());
    }
    const ordered = byRequest ? query.orderBy('r.first_seq', 'desc').orderBy('l.seq', 'desc') : query.orderBy('l.seq', 'desc');
    return ordered.limit(limit).execute();
  }

  /**
   * Matching entries counted per UTC day and outcome, oldest day first; days without entries are
   * absent. The whole UTC days of the window are read from the counts kept on append
   * (audit-aggregates.ts); a part of a day at either end is counted over the log (partOfDay).
   */
  async dailyCounts({ from, to, ...rest }: AuditFilter): Promise<DailyAuditCount[]> {
    const { whole, pieces } = splitByDays(from, to);
    const parts: Array<{ sign: 1 | -1; counts: DailyAuditCount[] }> = [];
    if (whole !== undefined) parts.push({ sign: 1, counts: await this.keptDailyCounts({ ...rest, ...whole }) });
    for (const piece of pieces) parts.push(...await this.partOfDay(rest, piece));
    return summedByDay(parts);
  }

  /**
   * Part of one UTC day: counted over the log when it is at most half the day, else the day's kept
   * count less the rest of the day, counted. Either way at most half a day of entries is read.
   */
  private async partOfDay(filter: AuditFilter, piece: DayPiece): Promise<Array<{ sign: 1 | -1; counts: DailyAuditCount[] }>> {
    if (piece.to - piece.from <= DAY_MS / 2) return [{ sign: 1, counts: await this.countedDailyCounts({ ...filter, ...piece }) }];
    const dayStart = Math.floor(piece.from / DAY_MS) * DAY_MS;
    const rest = [{ from: dayStart, to: piece.from }, { from: piece.to, to: dayStart + DAY_MS }].filter((r) => r.to > r.from);
    return [
      { sign: 1, counts: await this.keptDailyCounts({ ...filter, from: dayStart, to: dayStart + DAY_MS }) },
      ...await Promise.all(rest.map(async (r) => ({ sign: -1 as const, counts: await this.countedDailyCounts({ ...filter, ...r }) }))),
    ];
  }

  private async keptDailyCounts(filter: AuditFilter): Promise<DailyAuditCount[]> {
    const count = (eb: ExpressionBuilder<Database, 'audit_daily_counts'>, outcome: AuditOutcome) =>
      eb.fn.sum<number | string>(eb.case().when('outcome', '=', outcome).then(eb.ref('entries')).else(eb.lit(0)).end());
    let query = this.db.selectFrom('audit_daily_counts').select((eb) => [
      'day',
      count(eb, 'served').as('served'),
      count(eb, 'released').as('released'),
      count(eb, 'withheld').as('withheld'),
      count(eb, 'denied').as('denied'),
      count(eb, 'staff_action').as('staff_action'),
      eb.fn.sum<number | string>('entries').as('total'),
    ]);
    if (filter.partnerId !== undefined) query = query.where('partner_id', '=', filter.partnerId);
    if (filter.appId !== undefined) query = query.where('app_id', '=', filter.appId);
    if (filter.agreementId !== undefined) query = query.where('agreement_id', '=', filter.agreementId);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.from !== undefined) query = query.where('day', '>=', utcDay(filter.from));
    if (filter.to !== undefined) query = query.where('day', '<', utcDay(filter.to));
    return countsOf(await query.groupBy('day').orderBy('day').execute());
  }

  /**
   * Counted over the log within the window: the lean entries between the seqs of the window's
   * requests (windowSeqs, migration 0041), not the whole log, and the entries written before the lean
   * log (audit_entries) below them.
   */
  private async countedDailyCounts(filter: AuditFilter & DayPiece): Promise<DailyAuditCount[]> {
    const window = await windowSeqs(this.db, toIso(filter.from), toIso(filter.to));
    const legacy = await this.countedIn('audit_entries', filter, (eb) => (window === undefined ? eb.lit(true) : eb('seq', '<', window.from)));
    const lean = window === undefined ? [] : await this.countedIn('audit_log', filter, (eb) => eb.and([eb('seq', '>=', window.from), eb('seq', '<', window.end)]));
    return summedByDay([{ sign: 1, counts: legacy }, { sign: 1, counts: lean }]);
  }

  private async countedIn(
    table: 'audit_log' | 'audit_entries', filter: AuditFilter, seqs: (eb: ExpressionBuilder<Database, 'audit_log'>) => Expression<SqlBool>,
  ): Promise<DailyAuditCount[]> {
    // The first ten characters of the ISO text are the UTC day: no date function of one database.
    const day = sql<string>`substr(${sql.ref('at')}, 1, 10)`;
    const count = (eb: ExpressionBuilder<Database, 'audit_log'>, outcome: AuditOutcome) =>
      // Literals, not parameters: PostgreSQL would type an untyped `then $1` as text, and sum(text) does not exist.
      eb.fn.sum<number | string>(eb.case().when('outcome', '=', outcome).then(eb.lit(1)).else(eb.lit(0)).end());
    const rows = await this.db
      .selectFrom(table as 'audit_log')
      .where((eb) => eb.and([matching(eb, filter), seqs(eb)]))
      .select((eb) => [
        day.as('day'),
        count(eb, 'served').as('served'),
        count(eb, 'released').as('released'),
        count(eb, 'withheld').as('withheld'),
        count(eb, 'denied').as('denied'),
        count(eb, 'staff_action').as('staff_action'),
        eb.fn.countAll<number | string>().as('total'),
      ])
      .groupBy(day)
      .orderBy(day)
      .execute();
    return countsOf(rows);
  }
}

function isoOrUndefined(at: Instant | undefined): string | undefined {
  return at === undefined ? undefined : toIso(at);
}

interface CountRow {
  day: string;
  served: number | string | null;
  released: number | string | null;
  withheld: number | string | null;
  denied: number | string | null;
  staff_action: number | string | null;
  total: number | string | null;
}

/** PostgreSQL answers sums and counts as bigint (or numeric) text. */
function countsOf(rows: readonly CountRow[]): DailyAuditCount[] {
  return rows.map((row) => ({
    day: row.day,
    served: Number(row.served),
    released: Number(row.released),
    withheld: Number(row.withheld),
    denied: Number(row.denied),
    staffAction: Number(row.staff_action),
    total: Number(row.total),
  }));
}

/** Counts of the same UTC day added (or, with sign -1, taken away), oldest day first; days left at zero dropped. */
function summedByDay(parts: ReadonlyArray<{ sign: 1 | -1; counts: readonly DailyAuditCount[] }>): DailyAuditCount[] {
  const days = new Map<string, { -readonly [K in keyof DailyAuditCount]: DailyAuditCount[K] }>();
  for (const { sign, counts } of parts) {
    for (const c of counts) {
      const sum = days.get(c.day) ?? { day: c.day, served: 0, released: 0, withheld: 0, denied: 0, staffAction: 0, total: 0 };
      sum.served += sign * c.served;
      sum.released += sign * c.released;
      sum.withheld += sign * c.withheld;
      sum.denied += sign * c.denied;
      sum.staffAction += sign * c.staffAction;
      sum.total += sign * c.total;
      days.set(c.day, sum);
    }
  }
  return [...days.values()].filter((d) => d.total !== 0).sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}
