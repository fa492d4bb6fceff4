import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Agreement } from '../domain/agreement.js';
import type { AppClass } from '../domain/app.js';
import { fieldBit, isField, maskOf, type FieldMask } from '../domain/field-catalog.js';
import { FIELD_REASONS, type FieldReason } from '../domain/reason-codes.js';
import { NO_REASONS, type LoggedRequest, type LoggedSubject, type ReasonMasks } from '../domain/replay.js';
import { NO_EXCLUSIONS, type SubjectFacts } from '../domain/subject-decision.js';
import type { Instant } from '../domain/time.js';
import { agreementFromRow } from './agreement-repository.js';
import { chunks } from './batches.js';
import { fromIso, fromIsoOrNull, maskFromJson, toIso } from './columns.js';
import { sqliteConnectionOf, type Db } from './database.js';
import { MemberRepository } from './member-repository.js';
import type { AgreementsTable } from './schema.js';

/** Which logged requests to read: one agreement's or all, in [from, to). */
export interface ReplayFilter {
  readonly agreementId?: string;
  readonly from: Instant;
  readonly to: Instant;
}

/** A grant's consent, as the replay needs it to find the grant a logged request was made under. */
export interface LoggedConsent {
  readonly appId: string;
  readonly agreementId: string | null;
  readonly purpose: string;
  readonly grantedAt: Instant;
  readonly revokedAt: Instant | null;
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
}

/** A member's facts as the field rules read them, whoever asks (friendship and app use are added per request). */
export type MemberFacts = Omit<SubjectFacts, 'isFriend' | 'usesApp'>;

/** A batch whose requests hold fewer than one leaf in this many of the range they span reads its leaves request by request. */
const SCATTERED = 4;

/** Two parameters a pair: well under SQLite's and PostgreSQL's limits on parameters. */
const PAIRS_PER_QUERY = 4_000;

interface FieldSet {
  readonly released: FieldMask;
  readonly withheld: ReasonMasks;
}

/**
 * The reads a replay of the audit log needs (issue 15): logged Graph API requests with their
 * subjects in seq order and in batches (never the whole log at once), and today's world around
 * them (members' facts, friend lists, consents, agreement versions), each read once per key by the
 * caller's caches. Reads the lean log (migration 0020 on): entries of older logs are not replayed.
 */
export class ReplayLogRepository {
  /** The released and withheld lists by id: a log holds few distinct ones, each parsed once. */
  private readonly fieldSets = new Map<number, FieldSet>();
  private raw: RawReplayReads | undefined;

  constructor(private readonly db: Db) {}

  /** Up to `limit` Graph API requests after `afterSeq`, in seq order, each with the subjects its response carried. */
  async requests(filter: ReplayFilter, afterSeq: number, limit: number): Promise<LoggedRequest[]> {
    const raw = this.rawReads();
    const requests = raw ? raw.requests(filter, afterSeq, limit) : await this.requestRows(filter, afterSeq, limit);
    if (requests.length === 0) return [];
    const first = requests[0]!.first_seq;
    const last = requests[requests.length - 1]!;
    const end = last.first_seq + last.leaf_count;
    // One agreement's requests are scattered through the log: unless they hold a good part of the
    // range they span (a busy agreement), their leaves are read by request (a range of the primary
    // key each); otherwise, and for a whole-log replay, one range is read (withSubjects skips the
    // leaves of other requests).
    let leafCount = 0;
    for (const request of requests) leafCount += request.leaf_count;
    const leaves = filter.agreementId === undefined || leafCount * SCATTERED >= end - first
      ? raw ? raw.leavesBetween(first, end) : await this.leavesBetween(first, end)
      : raw ? raw.leavesOf(requests) : await this.leavesOf(requests.map((r) => r.first_seq));
    await this.loadFieldSets(leaves);
    return this.withSubjects(requests, leaves);
  }

  /**
   * better-sqlite3 itself, for the log's rows (rows as arrays, statements prepared once), when `db`
   * is a SQLite connection of this thread not inside a transaction (whose writes Kysely's
   * connection lock keeps apart); else undefined, and Kysely reads.
   */
  private rawReads(): RawReplayReads | undefined {
    const sqlite = sqliteConnectionOf(this.db);
    if (sqlite === undefined || sqlite.inTransaction) return undefined;
    return this.raw ??= new RawReplayReads(sqlite);
  }

  private async requestRows(filter: ReplayFilter, afterSeq: number, limit: number): Promise<RequestRow[]> {
    let query = this.db.selectFrom('audit_requests')
      .select(['first_seq', 'leaf_count', 'at', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version', 'token_member_id', 'purpose'])
      .where('app_id', 'is not', null).where('token_member_id', 'is not', null)
      .where('at', '>=', toIso(filter.from)).where('at', '<', toIso(filter.to))
      .where('first_seq', '>', afterSeq);
    if (filter.agreementId !== undefined) query = query.where('agreement_id', '=', filter.agreementId);
    const rows = await query.orderBy('first_seq').limit(limit).execute();
    return rows.map((row) => ({
      ...row, first_seq: Number(row.first_seq), leaf_count: Number(row.leaf_count),
      agreement_version: row.agreement_version === null ? null : Number(row.agreement_version),
    })) as RequestRow[];
  }

  /** The requests with their leaves (both in seq order): a merge, as each request's leaves follow one another. */
  private withSubjects(requests: readonly RequestRow[], leaves: readonly LeafRow[]): LoggedRequest[] {
    const result: LoggedRequest[] = [];
    let next = 0;
    for (const request of requests) {
      const first = request.first_seq;
      while (next < leaves.length && leaves[next]![LEAF.seq] < first) next++;
      const head = leaves[next];
      if (head === undefined || head[LEAF.seq] !== first || head[LEAF.pos] !== 0) continue;
      const subjects: LoggedSubject[] = [];
      for (next++; next < leaves.length && leaves[next]![LEAF.seq] - leaves[next]![LEAF.pos] === first; next++) {
        const leaf = leaves[next]!;
        if (leaf[LEAF.outcome] === 'released') subjects.push(this.subjectOf(leaf));
      }
      const outcome = head[LEAF.outcome];
      if (outcome !== 'served' && outcome !== 'denied') continue;
      result.push({
        seq: first,
        at: fromIso(request.at),
        appId: request.app_id,
        partnerId: request.partner_id ?? '',
        agreementId: request.agreement_id,
        agreementVersion: request.agreement_version,
        rulesVersion: request.rules_version,
        tokenMemberId: request.token_member_id,
        purpose: request.purpose ?? '',
        outcome,
        code: head[LEAF.code],
        deniedSubject: outcome === 'denied' ? head[LEAF.subject] : null,
        passedOver: Number(head[LEAF.passedOver] ?? 0),
        subjects,
      });
    }
    return result;
  }

  private async leavesBetween(first: number, end: number): Promise<LeafRow[]> {
    const rows = await this.db.selectFrom('audit_leaves')
      .select(LEAF_COLUMNS)
      .where('seq', '>=', first).where('seq', '<', end).orderBy('seq').execute();
    return rows.map(leafRow);
  }

  /** The leaves of these requests (by first seq), in one read: each request's range of the primary key. */
  private async leavesOf(firstSeqs: readonly number[]): Promise<LeafRow[]> {
    const rows = await this.db.selectFrom('audit_requests as r')
      .innerJoin('audit_leaves as l', (join) => join.on('l.seq', '>=', sql.ref('r.first_seq')).on('l.seq', '<', sql`r.first_seq + r.leaf_count`))
      .select(LEAF_COLUMNS.map((column) => `l.${column}` as const))
      .where('r.first_seq', 'in', firstSeqs).orderBy('l.seq').execute();
    return rows.map(leafRow);
  }

  private subjectOf(leaf: LeafRow): LoggedSubject {
    return {
      id: leaf[LEAF.subject] ?? '',
      relation: leaf[LEAF.code] === null ? 'self' : 'friend',
      released: this.fieldSets.get(leaf[LEAF.released])!.released,
      withheld: this.fieldSets.get(leaf[LEAF.withheld])!.withheld,
    };
  }

  private async loadFieldSets(leaves: readonly LeafRow[]): Promise<void> {
    const missing = new Set<number>();
    for (const leaf of leaves) {
      if (!this.fieldSets.has(leaf[LEAF.released])) missing.add(leaf[LEAF.released]);
      if (!this.fieldSets.has(leaf[LEAF.withheld])) missing.add(leaf[LEAF.withheld]);
    }
    if (missing.size === 0) return;
    const rows = await this.db.selectFrom('audit_field_sets').select(['id', 'json']).where('id', 'in', [...missing]).execute();
    for (const row of rows) this.fieldSets.set(Number(row.id), parseFieldSet(row.json));
  }

  /** Every consent each of `memberIds` gave (revoked ones too: a request may predate the revocation). */
  async consents(memberIds: readonly string[]): Promise<Map<string, LoggedConsent[]>> {
    const result = new Map<string, LoggedConsent[]>(memberIds.map((id) => [id, []]));
    if (memberIds.length === 0) return result;
    const rows = await this.db.selectFrom('grants')
      .select(['member_id', 'app_id', 'agreement_id', 'purpose', 'granted_at', 'revoked_at', 'member_fields', 'friend_fields'])
      .where('member_id', 'in', memberIds).execute();
    for (const row of rows) {
      result.get(row.member_id)?.push({
        appId: row.app_id, agreementId: row.agreement_id, purpose: row.purpose, grantedAt: fromIso(row.granted_at), revokedAt: fromIsoOrNull(row.revoked_at),
        memberFields: maskFromJson(row.member_fields), friendFields: maskFromJson(row.friend_fields),
      });
    }
    return result;
  }

  /**
   * Whether each of these (member, other) pairs are friends today, in the order given: the
   * friendships a replay asks about, read by primary key, not each member's whole friend list.
   */
  async friendPairs(pairs: ReadonlyArray<readonly [string, string]>): Promise<boolean[]> {
    const raw = this.rawReads();
    if (raw !== undefined) {
      // One range of the clustered key per member asked about, not a lookup per pair: each lookup
      // would look for its page afresh in a table far larger than SQLite's cache.
      const lists = new Map<string, Set<string>>();
      return pairs.map(([member, other]) => {
        let friends = lists.get(member);
        if (friends === undefined) lists.set(member, friends = new Set(raw.friendsOf(member)));
        return friends.has(other);
      });
    }
    const found = new Set<string>();
    for (const batch of chunks(pairs, PAIRS_PER_QUERY)) {
      const rows = await this.db.selectFrom('friendships').select(['member_id', 'friend_id'])
        .where((eb) => eb(eb.refTuple('member_id', 'friend_id'), 'in', batch.map(([a, b]) => eb.tuple(a, b))))
        .execute();
      for (const row of rows) found.add(`${row.member_id} ${row.friend_id}`);
    }
    return pairs.map(([member, other]) => found.has(`${member} ${other}`));
  }

  /** Today's facts of the members among `ids` that exist (settings, audiences, exclusions). */
  async memberFacts(ids: readonly string[]): Promise<Map<string, MemberFacts>> {
    const members = new MemberRepository(this.db);
    const [settings, exclusions] = await Promise.all([members.settings(ids), members.friendExclusions(ids)]);
    const result = new Map<string, MemberFacts>();
    for (const [id, member] of settings) result.set(id, { ...member, exclusions: exclusions.get(id) ?? NO_EXCLUSIONS });
    return result;
  }

  /** Whether each of `ids` has the platform on today (the token members of the requests replayed). */
  async platformEnabled(ids: readonly string[]): Promise<Map<string, boolean>> {
    const rows = ids.length === 0 ? [] : await this.db.selectFrom('members').select(['id', 'platform_enabled']).where('id', 'in', ids).execute();
    return new Map(rows.map((row) => [row.id, Number(row.platform_enabled) === 1]));
  }

  /** Every version of an agreement as its history recorded it, by version. */
  async agreementVersions(agreementId: string): Promise<Map<number, Agreement>> {
    const rows = await this.db.selectFrom('agreement_history').select(['version', 'snapshot']).where('agreement_id', '=', agreementId).execute();
    return new Map(rows.map((row) => [Number(row.version), agreementFromRow(JSON.parse(row.snapshot) as AgreementsTable, [])]));
  }

  async appClasses(): Promise<Map<string, AppClass>> {
    const rows = await this.db.selectFrom('apps').select(['id', 'class']).execute();
    return new Map(rows.map((row) => [row.id, row.class as AppClass]));
  }

  /** How many Graph API requests the filter holds (for a progress bar); an estimate is not needed: the index counts. */
  async count(filter: ReplayFilter): Promise<number> {
    let query = this.db.selectFrom('audit_requests').select(sql<number>`count(*)`.as('n'))
      .where('app_id', 'is not', null).where('token_member_id', 'is not', null)
      .where('at', '>=', toIso(filter.from)).where('at', '<', toIso(filter.to));
    if (filter.agreementId !== undefined) query = query.where('agreement_id', '=', filter.agreementId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }
}

/** A logged request's row, as both dialects read it. */
interface RequestRow {
  readonly first_seq: number;
  readonly leaf_count: number;
  readonly at: string;
  readonly app_id: string;
  readonly partner_id: string | null;
  readonly agreement_id: string | null;
  readonly agreement_version: number | null;
  readonly rules_version: string;
  readonly token_member_id: string;
  readonly purpose: string | null;
}

const LEAF_COLUMNS = ['seq', 'pos', 'subject_member_id', 'outcome', 'code', 'released', 'withheld', 'passed_over'] as const;
/** A leaf's row as an array (a million of them make a replay): its columns in LEAF_COLUMNS' order. */
type LeafRow = [seq: number, pos: number, subject: string | null, outcome: string, code: string | null, released: number, withheld: number, passedOver: number | null];
const LEAF = { seq: 0, pos: 1, subject: 2, outcome: 3, code: 4, released: 5, withheld: 6, passedOver: 7 } as const;

function leafRow(row: Record<(typeof LEAF_COLUMNS)[number], unknown>): LeafRow {
  return [Number(row.seq), Number(row.pos), row.subject_member_id as string | null, row.outcome as string, row.code as string | null,
    Number(row.released), Number(row.withheld), row.passed_over === null ? null : Number(row.passed_over)];
}

const REQUEST_SQL = `select first_seq, leaf_count, at, app_id, partner_id, agreement_id, agreement_version, rules_version, token_member_id, purpose
  from audit_requests where app_id is not null and token_member_id is not null and at >= ? and at < ? and first_seq > ?`;
const LEAVES_SQL = `select ${LEAF_COLUMNS.join(', ')} from audit_leaves where seq >= ? and seq < ? order by seq`;

/** The replay's reads on a better-sqlite3 connection: the same rows as the Kysely queries, without their cost per row. */
class RawReplayReads {
  private readonly allRequests: BetterSqlite3.Statement;
  private readonly agreementRequests: BetterSqlite3.Statement;
  private readonly leaves: BetterSqlite3.Statement;
  private readonly friendship: BetterSqlite3.Statement;

  constructor(sqlite: BetterSqlite3.Database) {
    this.allRequests = sqlite.prepare(`${REQUEST_SQL} order by first_seq limit ?`);
    this.agreementRequests = sqlite.prepare(`${REQUEST_SQL} and agreement_id = ? order by first_seq limit ?`);
    this.leaves = sqlite.prepare(LEAVES_SQL).raw();
    this.friendship = sqlite.prepare('select friend_id from friendships where member_id = ?').pluck();
  }

  requests(filter: ReplayFilter, afterSeq: number, limit: number): RequestRow[] {
    const period = [toIso(filter.from), toIso(filter.to), afterSeq];
    return (filter.agreementId === undefined
      ? this.allRequests.all(...period, limit)
      : this.agreementRequests.all(...period, filter.agreementId, limit)) as RequestRow[];
  }

  leavesBetween(first: number, end: number): LeafRow[] {
    return this.leaves.all(first, end) as LeafRow[];
  }

  leavesOf(requests: readonly RequestRow[]): LeafRow[] {
    const rows: LeafRow[] = [];
    for (const request of requests) {
      for (const leaf of this.leaves.iterate(request.first_seq, request.first_seq + request.leaf_count)) rows.push(leaf as LeafRow);
    }
    return rows;
  }

  friendsOf(member: string): string[] {
    return this.friendship.all(member) as string[];
  }
}

/** A stored list: released fields (a JSON array) or withheld ones (a JSON object of field to reason). */
function parseFieldSet(json: string): FieldSet {
  const parsed = JSON.parse(json) as unknown;
  if (Array.isArray(parsed)) return { released: maskOf((parsed as string[]).filter(isField)), withheld: NO_REASONS };
  const masks = FIELD_REASONS.map(() => 0);
  for (const [field, reason] of Object.entries(parsed as Record<string, string>)) {
    const index = FIELD_REASONS.indexOf(reason as FieldReason);
    if (index >= 0 && isField(field)) masks[index]! |= fieldBit(field);
  }
  return { released: 0, withheld: masks };
}
