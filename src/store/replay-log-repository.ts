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
import { fromIso, fromIsoOrNull, maskFromJson, toIso } from './columns.js';
import { PACKED_ID_SPAN, UNNUMBERED } from './audit-rows.js';
import { windowSeqs } from './audit-window.js';
import { sqliteReaderOf, type Db } from './database.js';
import { MemberRepository } from './member-repository.js';
import { loadFriendGraph } from './friend-graph.js';
import { REFRESH_SHARE, ReplayNumbers, type FactsView, type WorldChange } from './replay-numbers.js';
import { decodeSegment, type HeadClass, type ReplaySegment, type SealedRequest } from './replay-segment.js';
import type { AgreementsTable, GrantsTable } from './schema.js';

/** Which logged requests to read, in [from, to): one agreement's, those logged without one (null), or all (absent). */
export interface ReplayFilter {
  readonly agreementId?: string | null;
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

import type { MemberFacts } from './replay-members.js';

export type { MemberFacts };

/** Slots of the direct-mapped cache of packed codes (a prime: codes differ in their low field-set id). */
const CODE_SLOTS = 4093;

/** A batch whose requests hold fewer than one leaf in this many of the range they span reads its leaves request by request. */
const SCATTERED = 4;

/** What a packed subject code says. */
interface PackedLists {
  readonly shown: true;
  readonly relation: 'self' | 'friend';
  readonly released: FieldMask;
  readonly withheld: ReasonMasks;
  /** Its place among the distinct codes read (from 0): a subject's kind is made of it (SubjectColumns.kind). */
  readonly index: number;
}

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
  /** Grants' field lists as stored (JSON): few distinct ones, each parsed once. */
  private readonly grantMasks = new Map<string, FieldMask>();
  /** A packed subject code's relation and lists, by the code: a log holds few distinct ones. */
  private readonly packed = new Map<number, PackedLists>();
  private readonly slotCodes = new Float64Array(CODE_SLOTS).fill(-1);
  private readonly slotLists = new Array<PackedLists | undefined>(CODE_SLOTS);
  private raw: RawReplayReads | undefined;
  /** What `sizes` and `seqsOf` found, per filter: a run asks more than once (a progress bar's total, replayNumbers). */
  private readonly sized = new Map<string, FilterSizes>();
  private readonly windows = new Map<string, SeqRange | null>();
  private readonly segments = new Map<string, readonly SegmentRange[]>();
  private readonly partsOf = new Map<string, readonly ReplayFilter[] | undefined>();

  /** `grantsChunk`: grants a statement reads when all are read; `maxGrantKinds`: past it, they are read as rows (tests set both small). */
  constructor(private readonly db: Db, private readonly grantsChunk = GRANTS_CHUNK, private readonly maxGrantKinds = MAX_GRANT_KINDS) {}

  /**
   * Up to `limit` Graph API requests after `afterSeq`, in seq order, each with the subjects its
   * response carried and whether each is a friend of the token's member today (on SQLite from the
   * token members' friend lists by number, ReplayNumbers; on PostgreSQL read with the leaves, a
   * lookup of the friendships' key per leaf).
   */
  async requests(filter: ReplayFilter, afterSeq: number, limit: number): Promise<LoggedRequestRead[]> {
    const seqs = await this.seqsOf(filter);
    if (seqs === null) return [];
    const raw = this.rawReads();
    const packed = raw?.batch(filter, seqs, afterSeq, limit);
    if (packed !== undefined) {
      await this.loadFieldSetsOf(packed.codes);
      return this.unpack(packed, raw!.members());
    }
    const requests = await this.requestRows(filter, seqs, afterSeq, limit);
    if (requests.length === 0) return [];
    const { first, end } = spanOf(requests);
    const leaves = readsRange(filter, requests) ? await this.leavesBetween(first, end) : await this.leavesOf(requests.map((r) => r.first_seq));
    await this.loadFieldSets(leaves);
    return this.withSubjects(requests, leaves);
  }

  /**
   * The same batch as `requests`, packed (SQLite): each request's head, and its subjects as columns
   * of codes and ids, with no object per subject; undefined when the batch cannot be read so
   * (PostgreSQL, a transaction, ids that do not pack): read it with `requests`.
   */
  async packedRequests(filter: ReplayFilter, afterSeq: number, limit: number): Promise<PackedRequests | undefined> {
    const seqs = await this.seqsOf(filter);
    const raw = seqs === null ? undefined : this.rawReads();
    if (raw === undefined || seqs === null) return undefined;
    const packed = this.segmentOrRows(raw, filter, seqs, afterSeq, limit);
    if (packed === undefined) return undefined;
    await this.loadFieldSetsOf(packed.codes);
    return new PackedRequests(packed, this, raw.members());
  }

  /**
   * The next batch after `afterSeq`: the sealed segment (migration 0043) holding the next seq, when
   * one does (every request of the agreement in its range; those outside the period left out), else
   * the rows up to the next segment. A whole-log replay, and one reading friendships in SQL, read rows.
   */
  private segmentOrRows(raw: RawReplayReads, filter: ReplayFilter, seqs: SeqRange, afterSeq: number, limit: number): PackedBatch | undefined {
    const segments = typeof filter.agreementId !== 'string' || raw.friendshipsInSql ? NO_SEGMENTS : this.segmentsOf(raw, filter.agreementId);
    const next = Math.max(afterSeq + 1, seqs.from);
    const segment = segmentAfter(segments, next);
    if (segment !== undefined && segment.from <= next && next < seqs.below) {
      return raw.segmentBatch(filter, segment, next, Math.min(segment.below, seqs.below));
    }
    const below = segment === undefined ? seqs.below : Math.min(seqs.below, segment.from);
    const packed = raw.batch(filter, { from: seqs.from, below }, afterSeq, limit);
    // The rows before the next segment read: on from there (the next batch reads it).
    return packed === undefined || packed.read === limit || below === seqs.below ? packed : { ...packed, lastSeq: below - 1 };
  }

  /**
   * A whole-log replay's parts once its period holds sealed segments (SQLite): each agreement's
   * requests (its segments and the rows between them), then those logged without one, so that the
   * replay's cost follows the subjects it decides rather than the rows of subjectless requests it
   * reads; undefined where the log is read whole, in seq order (PostgreSQL, no segment in the period,
   * one agreement's). Each part is in seq order; the parts follow one another.
   */
  async parts(filter: ReplayFilter): Promise<readonly ReplayFilter[] | undefined> {
    const raw = filter.agreementId === undefined ? this.rawReads() : undefined;
    if (raw === undefined) return undefined;
    const key = filterKey(filter);
    if (!this.partsOf.has(key)) {
      const seqs = await this.seqsOf(filter);
      const agreements = seqs === null || !raw.anySegmentIn(filter) ? undefined : raw.loggedAgreements(seqs);
      this.partsOf.set(key, agreements?.map((agreementId) => ({ agreementId, from: filter.from, to: filter.to })));
    }
    return this.partsOf.get(key);
  }

  /** The agreement's sealed segments, in seq order, read once per repository (a run's). */
  private segmentsOf(raw: RawReplayReads, agreementId: string): readonly SegmentRange[] {
    let segments = this.segments.get(agreementId);
    if (segments === undefined) this.segments.set(agreementId, segments = raw.segmentRanges(agreementId));
    return segments;
  }

  /**
   * Up to `limit` requests of the agreement from seq `fromSeq` on (below `belowSeq`) as a segment
   * holds them (ReplaySealer), in seq order; undefined for one a segment cannot hold (a subject
   * logged without a member number, a code that does not pack: read as rows), and the seq to read on
   * from (the end of the range once it is done).
   */
  sealable(agreementId: string, fromSeq: number, belowSeq: number, limit: number): SealableRows | undefined {
    return this.rawReads()?.sealable(agreementId, fromSeq, belowSeq, limit);
  }

  /** The packed rows of a batch as requests: each head with its subjects' codes and ids. */
  private unpack(batch: PackedBatch, members: ReplayNumbers): LoggedRequestRead[] {
    const requests = new PackedRequests(batch, this, members);
    const result: LoggedRequestRead[] = [];
    for (let index = 0; index < batch.heads.length; index++) result.push(requests.read(index));
    return result;
  }

  /**
   * Today's members as packed batches read them (SQLite: by member number, the facts of every member
   * a batch names and its token members' friends, read with it); undefined on PostgreSQL and inside a
   * transaction.
   */
  async replayNumbers(filter: ReplayFilter): Promise<ReplayNumbers | undefined> {
    const raw = this.rawReads();
    const members = raw?.members();
    if (raw === undefined || members === undefined) return undefined;
    const { maxNumber } = members;
    const { requests, subjects, unpacked } = await this.sizes(filter);
    // A replay with more requests logged before 0042 than there are members meets most token members' friends.
    if (!members.knowsEveryone() && unpacked >= maxNumber) members.everyone(await loadFriendGraph(this.db));
    if (members.knowsEveryone()) { raw.friendshipsInSql = false; this.meetsMostMembers = requests >= maxNumber; return members; }
    // A replay naming more subjects than there are members meets most of them.
    this.meetsMostMembers = subjects >= maxNumber;
    if (!members.knowsAllFacts && subjects >= maxNumber) members.readAllFacts();
    // The token members' lists, a row each by number (friend_number_lists): a few bytes a friendship, never a look-up per subject.
    raw.friendshipsInSql = false;
    return members;
  }

  /** Whether the replay replayNumbers was last asked for names at least as many subjects as there are members (SQLite). */
  meetsMostMembers = false;

  /** Read today's friendships with the leaves (a look-up per subject) or from the token members' lists (SQLite; tests pick). */
  readFriendshipsInSql(inSql: boolean): void {
    const raw = this.rawReads();
    if (raw !== undefined) raw.friendshipsInSql = inSql;
  }

  /**
   * How many requests the filter holds, and how many subjects they name at most (their leaves: what a
   * replay checks friendships for), in one scan (a whole log's took 1.3 s of CPU at a million members).
   */
  private async sizes(filter: ReplayFilter): Promise<FilterSizes> {
    const key = filterKey(filter);
    const known = this.sized.get(key);
    if (known !== undefined) return known;
    const seqs = await this.seqsOf(filter);
    let sizes: FilterSizes = { requests: 0, subjects: 0, unpacked: 0 };
    const add = (part: FilterSizes) => {
      sizes = { requests: sizes.requests + part.requests, subjects: sizes.subjects + part.subjects, unpacked: sizes.unpacked + part.unpacked };
    };
    const parts = seqs === null ? undefined : await this.parts(filter);
    if (parts !== undefined) {
      // A whole log read in parts: the sum of theirs (each mostly from its segments), not a scan of every row.
      for (const part of parts) add(await this.sizes(part));
    } else if (seqs !== null) {
      // Segments whose requests all lie in the period say their counts; the rows between them are counted.
      const raw = this.rawReads();
      const inside = typeof filter.agreementId !== 'string' || raw === undefined || raw.friendshipsInSql ? [] : raw.segmentsWithin(filter.agreementId, filter);
      const gaps = gapsBetween(inside, seqs);
      const counted = gaps.length > MAX_COUNTED_GAPS ? [await this.sizesOfRows(filter, seqs)]
        : [...inside, ...await Promise.all(gaps.map((gap) => this.sizesOfRows(filter, gap)))];
      for (const part of counted) add(part);
    }
    this.sized.set(key, sizes);
    return sizes;
  }

  /** The sizes of the filter's rows whose first seq lies in `seqs`, counted (a scan of them). */
  private async sizesOfRows(filter: ReplayFilter, seqs: SeqRange): Promise<FilterSizes> {
    let query = this.db.selectFrom('audit_requests').select([sql<number>`count(*)`.as('requests'), sql<number>`coalesce(sum(leaf_count), 0)`.as('subjects'),
      sql<number>`count(*) - count(replay_subjects)`.as('unpacked')])
      .where('app_id', 'is not', null).where('token_member_id', 'is not', null)
      .where('first_seq', '>=', seqs.from).where('first_seq', '<', seqs.below)
      .where('at', '>=', toIso(filter.from)).where('at', '<', toIso(filter.to));
    if (filter.agreementId !== undefined) query = query.where('agreement_id', filter.agreementId === null ? 'is' : '=', filter.agreementId);
    const row = await query.executeTakeFirstOrThrow();
    return { requests: Number(row.requests), subjects: Number(row.subjects), unpacked: Number(row.unpacked) };
  }

  /**
   * The seqs the requests of the filter's period start between (windowSeqs: the requests' instants
   * indexed per partition of the log), so that a period of a long log reads its own part of it, not
   * everything before; null when the period holds no request. Once per period.
   */
  private async seqsOf(filter: ReplayFilter): Promise<SeqRange | null> {
    const key = `${filter.from}/${filter.to}`;
    let seqs = this.windows.get(key);
    if (seqs === undefined) {
      const window = await windowSeqs(this.db, toIso(filter.from), toIso(filter.to));
      seqs = window === undefined ? null : { from: window.from, below: window.firstBelow };
      this.windows.set(key, seqs);
    }
    return seqs;
  }

  /** A packed code's relation and lists, worked out once per distinct code. */
  packedLists(code: number): PackedLists {
    // A code is too large a number for a Map to look up cheaply: a direct-mapped cache in front of it.
    const slot = code % CODE_SLOTS;
    if (this.slotCodes[slot] === code) return this.slotLists[slot]!;
    let lists = this.packed.get(code);
    if (lists === undefined) {
      const self = code % 2;
      const ids = (code - self) / 2;
      const withheld = ids % PACKED_ID_SPAN;
      const released = (ids - withheld) / PACKED_ID_SPAN;
      lists = {
        shown: true, relation: self ? 'self' : 'friend', released: this.fieldSets.get(released)!.released, withheld: this.fieldSets.get(withheld)!.withheld,
        index: this.packed.size,
      };
      this.packed.set(code, lists);
    }
    this.slotCodes[slot] = code;
    this.slotLists[slot] = lists;
    return lists;
  }

  /**
   * better-sqlite3 itself, for the log's rows (a statement per batch, prepared once), when `db` is
   * a SQLite connection of this thread, or a worker thread's beside which this thread reads the
   * file too (`datapact serve`'s staff reads), not inside a transaction (whose writes Kysely's
   * connection lock keeps apart); else (PostgreSQL) undefined, and Kysely reads.
   */
  private rawReads(): RawReplayReads | undefined {
    const sqlite = sqliteReaderOf(this.db);
    if (sqlite === undefined || sqlite.inTransaction) return undefined;
    return this.raw ??= new RawReplayReads(sqlite, this.grantsChunk, this.maxGrantKinds);
  }

  private async requestRows(filter: ReplayFilter, seqs: SeqRange, afterSeq: number, limit: number): Promise<RequestRow[]> {
    let query = this.db.selectFrom('audit_requests')
      .select(['first_seq', 'leaf_count', 'at', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version', 'token_member_id', 'purpose'])
      .where('app_id', 'is not', null).where('token_member_id', 'is not', null)
      .where('at', '>=', toIso(filter.from)).where('at', '<', toIso(filter.to))
      .where('first_seq', '>', Math.max(afterSeq, seqs.from - 1)).where('first_seq', '<', seqs.below);
    if (filter.agreementId !== undefined) query = query.where('agreement_id', filter.agreementId === null ? 'is' : '=', filter.agreementId);
    const rows = await query.orderBy('first_seq').limit(limit).execute();
    return rows.map((row) => ({
      ...row, first_seq: Number(row.first_seq), leaf_count: Number(row.leaf_count),
      agreement_version: row.agreement_version === null ? null : Number(row.agreement_version),
    })) as RequestRow[];
  }

  /** The requests with their leaves (both in seq order): a merge, as each request's leaves follow one another. */
  private withSubjects(requests: readonly RequestRow[], leaves: readonly LeafRow[]): LoggedRequestRead[] {
    const result: LoggedRequestRead[] = [];
    let next = 0;
    for (const row of requests) {
      const first = row.first_seq;
      while (next < leaves.length && leaves[next]![LEAF.seq] < first) next++;
      const head = leaves[next];
      if (head === undefined || head[LEAF.seq] !== first || head[LEAF.pos] !== 0) continue;
      const subjects: LoggedSubject[] = [];
      const friendsToday: boolean[] = [];
      for (next++; next < leaves.length && leaves[next]![LEAF.seq] - leaves[next]![LEAF.pos] === first; next++) {
        const leaf = leaves[next]!;
        if (leaf[LEAF.outcome] !== 'released') continue;
        subjects.push(this.subjectOf(leaf));
        friendsToday.push(Boolean(leaf[LEAF.friendToday]));
      }
      const outcome = head[LEAF.outcome];
      if (outcome !== 'served' && outcome !== 'denied') continue;
      const request = loggedRequest(row, outcome, head[LEAF.code], head[LEAF.subject], head[LEAF.passedOver], subjects);
      result.push({ request, friendsToday, deniedSubjectIsFriend: Boolean(head[LEAF.friendToday]) });
    }
    return result;
  }

  private async leavesBetween(first: number, end: number): Promise<LeafRow[]> {
    const rows = await this.db.selectFrom('audit_leaves as l')
      .innerJoin('audit_requests as r', (join) => join.on('r.first_seq', '=', sql`l.seq - l.pos`))
      .select([...LEAF_COLUMNS.map((column) => `l.${column}` as const), FRIEND_TODAY])
      .where('l.seq', '>=', first).where('l.seq', '<', end).orderBy('l.seq').execute();
    return rows.map(leafRow);
  }

  /** The leaves of these requests (by first seq), in one read: each request's range of the primary key. */
  private async leavesOf(firstSeqs: readonly number[]): Promise<LeafRow[]> {
    const rows = await this.db.selectFrom('audit_requests as r')
      .innerJoin('audit_leaves as l', (join) => join.on('l.seq', '>=', sql.ref('r.first_seq')).on('l.seq', '<', sql`r.first_seq + r.leaf_count`))
      .select([...LEAF_COLUMNS.map((column) => `l.${column}` as const), FRIEND_TODAY])
      .where('r.first_seq', 'in', firstSeqs).orderBy('l.seq').execute();
    return rows.map(leafRow);
  }

  private subjectOf(leaf: LeafRow): LoggedSubject {
    return {
      shown: true,
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
    await this.loadMissingFieldSets(missing);
  }

  /** The same, for subjects packed as RawReplayReads packs them (their released and withheld lists' ids): those of codes not seen before. */
  private async loadFieldSetsOf(codes: readonly number[]): Promise<void> {
    const missing = new Set<number>();
    let last = -1;
    for (const code of codes) {
      // A request's friends mostly share a code: a look-up only when it changes.
      if (code === last || this.slotCodes[code % CODE_SLOTS] === code || this.packed.has(code)) continue;
      last = code;
      const ids = Math.floor(code / 2);
      const withheld = ids % PACKED_ID_SPAN;
      const released = (ids - withheld) / PACKED_ID_SPAN;
      if (!this.fieldSets.has(released)) missing.add(released);
      if (!this.fieldSets.has(withheld)) missing.add(withheld);
    }
    await this.loadMissingFieldSets(missing);
  }

  private async loadMissingFieldSets(missing: ReadonlySet<number>): Promise<void> {
    if (missing.size === 0) return;
    const rows = await this.db.selectFrom('audit_field_sets').select(['id', 'json']).where('id', 'in', [...missing]).execute();
    for (const row of rows) this.fieldSets.set(Number(row.id), parseFieldSet(row.json));
  }

  /** Every consent each of `memberIds` gave (revoked ones too: a request may predate the revocation). */
  async consents(memberIds: readonly string[]): Promise<Map<string, LoggedConsent[]>> {
    const result = new Map<string, LoggedConsent[]>(memberIds.map((id) => [id, []]));
    if (memberIds.length === 0) return result;
    const rows = this.rawReads()?.grants(memberIds) ?? await this.db.selectFrom('grants').select(GRANT_COLUMNS).where('member_id', 'in', memberIds).execute();
    for (const row of rows) result.get(row.member_id)?.push(this.consentOf(row));
    return result;
  }

  /**
   * Every member's consents (to one agreement, when given), in one scan of the grants (SQLite): for a
   * replay that meets most members, cheaper than a look-up per member (two seeks each, from all over
   * a large file); a member's in the order `consents` gives them, each with its member's number
   * (`numberOf`). Undefined where the rows are read through Kysely.
   */
  numberedConsents(numberOf: (memberId: string) => number, agreementId?: string): Iterable<readonly [number, LoggedConsent]> | undefined {
    const rows = this.rawReads()?.allGrants(agreementId);
    if (rows === undefined) return undefined;
    return this.numbered(rows, numberOf);
  }

  /**
   * What numberedConsents gives, as columns (ConsentTable.fromColumns): each grant's member number,
   * an index into `kinds` (its app, agreement, purpose and field lists, told apart in SQL: a grant's
   * field lists, a few hundred bytes of JSON, were most of the cost of reading it) and when it was
   * given, GRANTS_CHUNK grants a string. Undefined where numberedConsents is, or when the kinds are
   * too many for one statement to tell apart.
   */
  consentColumns(members: ReplayNumbers, agreementId?: string): ConsentKindColumns | undefined {
    const read = this.rawReads()?.grantKinds(agreementId);
    if (read === undefined) return undefined;
    const columns = { members: [] as number[], kindOf: [] as number[], grantedAt: [] as number[], length: 0 };
    try {
      for (const chunk of read.chunks) {
        if (typeof chunk === 'string') parseGrantChunk(chunk, members, columns);
        else for (const [id, kind, at] of chunk) { columns.members.push(members.numberOf(id)); columns.kindOf.push(kind); columns.grantedAt.push(fromIso(at)); }
      }
    } catch (error) {
      if (error instanceof TooManyGrantKinds) return undefined;
      throw error;
    }
    columns.length = columns.members.length;
    const kinds = read.kinds.map(([appId, agreementIdOf, purpose, memberFields, friendFields]) => ({
      appId, agreementId: agreementIdOf, purpose, memberFields: this.maskOf(memberFields), friendFields: this.maskOf(friendFields),
    }));
    return { kinds, columns };
  }

  /**
   * The consents (to one agreement, when given) of the members with these numbers, each with its
   * member's number, a member's in the order `consents` gives them (SQLite; undefined elsewhere).
   */
  consentsByNumber(numbers: readonly number[], agreementId?: string): Array<readonly [number, LoggedConsent]> | undefined {
    const rows = this.rawReads()?.grantsByNumber(numbers, agreementId);
    return rows?.map(([number, ...row]) => [number, this.consentOf(grantOf(row))] as const);
  }

  private *numbered(rows: Iterable<GrantRow>, numberOf: (memberId: string) => number): Iterable<readonly [number, LoggedConsent]> {
    for (const row of rows) yield [numberOf(row[0]), this.consentOf(grantOf(row))];
  }

  private consentOf(row: Pick<GrantsTable, (typeof GRANT_COLUMNS)[number]>): LoggedConsent {
    return {
      appId: row.app_id, agreementId: row.agreement_id, purpose: row.purpose, grantedAt: fromIso(row.granted_at), revokedAt: fromIsoOrNull(row.revoked_at),
      memberFields: this.maskOf(row.member_fields), friendFields: this.maskOf(row.friend_fields),
    };
  }

  private maskOf(json: string): FieldMask {
    let mask = this.grantMasks.get(json);
    if (mask === undefined) this.grantMasks.set(json, mask = maskFromJson(json));
    return mask;
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

  /** Every version of every agreement as their histories recorded them (what a replay of the whole log decides by). */
  async allAgreementVersions(): Promise<Agreement[]> {
    const rows = await this.db.selectFrom('agreement_history').select('snapshot').execute();
    return rows.map((row) => agreementFromRow(JSON.parse(row.snapshot) as AgreementsTable, []));
  }

  async appClasses(): Promise<Map<string, AppClass>> {
    const rows = await this.db.selectFrom('apps').select(['id', 'class']).execute();
    return new Map(rows.map((row) => [row.id, row.class as AppClass]));
  }

  /** How many Graph API requests the filter holds (for a progress bar); an estimate is not needed: the index counts. */
  async count(filter: ReplayFilter): Promise<number> {
    return (await this.sizes(filter)).requests;
  }
}

function grantOf([member_id, app_id, agreement_id, purpose, granted_at, revoked_at, member_fields, friend_fields]: GrantRow): Pick<GrantsTable, (typeof GRANT_COLUMNS)[number]> {
  return { member_id, app_id, agreement_id, purpose, granted_at, revoked_at, member_fields, friend_fields };
}

/** Every grant's consent as columns, and the kinds they index (ReplayLogRepository.consentColumns). */
export interface ConsentKindColumns {
  readonly kinds: ReadonlyArray<Omit<LoggedConsent, 'grantedAt' | 'revokedAt'>>;
  readonly columns: { readonly members: number[]; readonly kindOf: number[]; readonly grantedAt: number[]; readonly length: number };
}

/** A grant's kind as grantKinds reads them: app, agreement, purpose, member fields and friend fields (JSON). */
type GrantKindRow = [appId: string, agreementId: string | null, purpose: string, memberFields: string, friendFields: string];

/** Past this many kinds of grant, one statement would compare each grant with too many: grants are read whole instead. */
const MAX_GRANT_KINDS = 256;

/** grantKinds met more than MAX_GRANT_KINDS kinds. */
class TooManyGrantKinds extends Error {}

/** A chunk of grantKinds (member id, kind, granted at; a unit separator between fields, a record separator between grants) into `columns`. */
function parseGrantChunk(text: string, members: ReplayNumbers, columns: { members: number[]; kindOf: number[]; grantedAt: number[] }): void {
  let lastAt = '';
  let lastInstant = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf(ID_SEPARATOR, start);
    if (end < 0) end = text.length;
    const idEnd = text.indexOf(LISTS_SEPARATOR, start);
    const kindEnd = text.indexOf(LISTS_SEPARATOR, idEnd + 1);
    columns.members.push(members.numberIn(text, start, idEnd));
    let kind = 0;
    for (let at = idEnd + 1; at < kindEnd; at++) kind = kind * 10 + text.charCodeAt(at) - 48;
    columns.kindOf.push(kind);
    // Grants given at one instant (a migration's, a seeding's) parse it once.
    const grantedAt = text.slice(kindEnd + 1, end);
    if (grantedAt !== lastAt) { lastAt = grantedAt; lastInstant = fromIso(grantedAt); }
    columns.grantedAt.push(lastInstant);
    start = end + 1;
  }
}

/** Grants read per statement by allGrants. */
const GRANTS_CHUNK = 20_000;

/** A grant's GRANT_COLUMNS, in order. */
type GrantRow = [member_id: string, app_id: string, agreement_id: string | null, purpose: string, granted_at: string, revoked_at: string | null,
  member_fields: string, friend_fields: string];

/** Requests starting at seqs from `from` to below `below` (a period's, seqsOf). */
interface SeqRange {
  readonly from: number;
  readonly below: number;
}

/** Rows as ReplaySealer packs them: each request a replay reads, as a segment holds it (undefined: read as a row). */
export interface SealableRows {
  readonly requests: ReadonlyArray<{ readonly seq: number; readonly sealed: SealedRequest | undefined }>;
  /** The seq to read on from (the end of the range when it is done). */
  readonly nextSeq: number;
}

/** A sealed segment's range of seqs: [from, below). */
interface SegmentRange extends SeqRange {
  readonly agreementId: string;
}

const NO_SEGMENTS: readonly SegmentRange[] = [];

/** Past this many stretches of rows between segments, a period's rows are counted in one scan instead. */
const MAX_COUNTED_GAPS = 64;

/** The stretches of `seqs` no segment of `inside` (in seq order) covers. */
function gapsBetween(inside: readonly SeqRange[], seqs: SeqRange): SeqRange[] {
  const gaps: SeqRange[] = [];
  let from = seqs.from;
  for (const segment of inside) {
    if (segment.from > from) gaps.push({ from, below: Math.min(segment.from, seqs.below) });
    from = Math.max(from, segment.below);
  }
  if (from < seqs.below) gaps.push({ from, below: seqs.below });
  return gaps.filter((gap) => gap.from < gap.below);
}

/** The first segment ending after `seq` (a binary search: segments are in seq order and do not overlap). */
function segmentAfter(segments: readonly SegmentRange[], seq: number): SegmentRange | undefined {
  let low = 0;
  let high = segments.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (segments[middle]!.below <= seq) low = middle + 1; else high = middle;
  }
  return segments[low];
}

interface FilterSizes {
  readonly requests: number;
  readonly subjects: number;
  /** Requests logged before migration 0042 (no replay_subjects). */
  readonly unpacked: number;
}

const filterKey = (filter: ReplayFilter) => `${filter.agreementId === null ? '\0' : filter.agreementId ?? ''}/${filter.from}/${filter.to}`;

const GRANT_COLUMNS = ['member_id', 'app_id', 'agreement_id', 'purpose', 'granted_at', 'revoked_at', 'member_fields', 'friend_fields'] as const;

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

/** A logged request as read, with what the replay reads of today's friendships beside its subjects. */
export interface LoggedRequestRead {
  readonly request: LoggedRequest;
  /** Whether each subject (by index) is a friend of the token's member today. */
  readonly friendsToday: readonly boolean[];
  /** The same, of the member a refused request named. */
  readonly deniedSubjectIsFriend: boolean;
}

const LEAF_COLUMNS = ['seq', 'pos', 'subject_member_id', 'outcome', 'code', 'released', 'withheld', 'passed_over'] as const;
/**
 * Whether the leaf's subject is a friend of its request's token member today (leaves joined to
 * their request as `r`, themselves `l`): 1 or 0 in both dialects.
 */
const FRIEND_TODAY = sql<number>`case when exists (select 1 from friendships f where f.member_id = r.token_member_id and f.friend_id = l.subject_member_id) then 1 else 0 end`.as('friend_today');
/** A leaf's row as an array (a million of them make a replay): its columns in LEAF_COLUMNS' order, then FRIEND_TODAY. */
type LeafRow = [seq: number, pos: number, subject: string | null, outcome: string, code: string | null, released: number, withheld: number, passedOver: number | null, friendToday: number];
const LEAF = { seq: 0, pos: 1, subject: 2, outcome: 3, code: 4, released: 5, withheld: 6, passedOver: 7, friendToday: 8 } as const;

function leafRow(row: Record<(typeof LEAF_COLUMNS)[number] | 'friend_today', unknown>): LeafRow {
  return [Number(row.seq), Number(row.pos), row.subject_member_id as string | null, row.outcome as string, row.code as string | null,
    Number(row.released), Number(row.withheld), row.passed_over === null ? null : Number(row.passed_over), Number(row.friend_today)];
}

/**
 * A batch read packed: per request its head, and its subjects as columns (their codes and member
 * numbers) that the replay reads without an object or a string per subject; `read` makes a request
 * of one the general way.
 */
export class PackedRequests {
  readonly length: number;
  /**
   * The batch's distinct entries as logged, each worked out from its code once (a code is too large a
   * number to look up cheaply more often), and each subject's index among them (a segment's as it holds them).
   */
  private readonly lists: PackedLists[];
  private readonly listOf: Int32Array;

  constructor(private readonly batch: PackedBatch, log: ReplayLogRepository, readonly members: ReplayNumbers) {
    this.length = batch.heads.length;
    if (batch.codeIndexes !== undefined) {
      this.lists = batch.codes.map((code) => log.packedLists(code));
      this.listOf = batch.codeIndexes;
      return;
    }
    this.lists = [];
    this.listOf = new Int32Array(batch.codes.length);
    const indexOf = new Map<PackedLists, number>();
    let code = -1;
    let index = -1;
    for (let at = 0; at < batch.codes.length; at++) {
      // A request's friends mostly share a code: a look-up only when it changes.
      if (batch.codes[at] !== code) {
        const lists = log.packedLists(code = batch.codes[at]!);
        index = indexOf.get(lists) ?? -1;
        if (index < 0) { indexOf.set(lists, index = this.lists.length); this.lists.push(lists); }
      }
      this.listOf[at] = index;
    }
  }

  /** The seq of the last row read: the next batch reads after it. */
  get lastSeq(): number {
    return this.batch.lastSeq;
  }

  /** The entry as logged of the subject at `at` (see `first`). */
  entry(at: number): PackedLists {
    return this.lists[this.listOf[at]!]!;
  }

  /**
   * Every subject's kind in the batch, in one pass: its facts' kind in `view` (ReplayNumbers.factsKind,
   * as a friend of its request's token member today or not) times `entrySpan` plus its entry's index;
   * -1 for the token's own member, a `self` entry, no member, facts of their own, or past `factsSpan`
   * facts or `entrySpan` entries (such a subject is decided on its own).
   */
  kinds(view: FactsView, entrySpan: number, factsSpan: number): Int32Array {
    const { numbers, tokens, appended, friends, starts } = this.batch;
    const { lists, listOf, members } = this;
    const kinds = new Int32Array(numbers.length);
    const ends = members.anyFriendshipEnded();
    for (let index = 0; index < this.length; index++) {
      const token = tokens[index]!;
      const listed = friends === undefined && appended[index] === 0;
      for (let at = starts[index]!; at < starts[index + 1]!; at++) {
        const number = numbers[at]!;
        const entry = lists[listOf[at]!]!;
        if (number < 0 || number === token || entry.relation === 'self' || entry.index >= entrySpan) { kinds[at] = -1; continue; }
        // As friendToday: read with the leaves, from the token's list (logged before 0042), or a friend unless that ended since.
        const friend = friends !== undefined ? friends.subjects[at] === 1 : listed ? members.isFriend(token, number) : !ends || !members.friendshipEnded(token, number);
        const facts = members.factsKind(number, friend, view);
        kinds[at] = facts < 0 || facts >= factsSpan ? -1 : facts * entrySpan + entry.index;
      }
    }
    return kinds;
  }

  /** The request at `index` without its subjects' entries (`subjects` empty). */
  head(index: number): LoggedRequest {
    const head = this.batch.heads[index]!;
    return loggedRequest(head, head.outcome as 'served' | 'denied', head.code, head.subject_member_id, head.passed_over, []);
  }

  /** The number of the request's token member (-1: none). */
  tokenNumber(index: number): number {
    return this.batch.tokens[index]!;
  }

  deniedSubjectIsFriend(index: number): boolean {
    const { friends, tokens, denied } = this.batch;
    return friends === undefined ? this.members.isFriend(tokens[index]!, denied[index]!) : friends.denied[index] === 1;
  }

  /** Whether the subject at `at` (a request's, see `first`) is a friend of the request's token member today. */
  friendToday(index: number, at: number): boolean {
    const { friends, tokens, numbers, appended } = this.batch;
    if (friends !== undefined) return friends.subjects[at] === 1;
    if (appended[index] === 0) return this.members.isFriend(tokens[index]!, numbers[at]!);
    // Logged since 0042: shown through a friend, a friend still unless that ended; the token's own member (a `self` entry) is not their own friend.
    return this.entry(at).relation === 'friend' && numbers[at]! >= 0 && !this.members.friendshipEnded(tokens[index]!, numbers[at]!);
  }

  /** The request's subjects are those at first(index) .. first(index + 1) - 1 (code, number). */
  first(index: number): number {
    return this.batch.starts[index]!;
  }

  /** A subject's member number (-1: no member's). */
  number(at: number): number {
    return this.batch.numbers[at]!;
  }

  /** The request's subjects' ids, read only here (a request read the general way, or a third-party app's: whether each uses it is read by id). */
  ids(index: number): readonly string[] {
    if (this.first(index + 1) === this.first(index)) return [];
    const head = this.batch.heads[index]!;
    return this.batch.subjectIds(head.first_seq, head.leaf_count);
  }

  read(index: number): LoggedRequestRead {
    const first = this.first(index);
    const ids = this.ids(index);
    const token = this.tokenNumber(index);
    const subjects: LoggedSubject[] = new Array(ids.length);
    const friendsToday: boolean[] = new Array(ids.length);
    for (let next = 0; next < ids.length; next++) {
      const { relation, released, withheld } = this.entry(first + next);
      subjects[next] = { shown: true, id: ids[next]!, relation, released, withheld };
      friendsToday[next] = this.friendToday(index, first + next);
    }
    const head = this.batch.heads[index]!;
    const request = loggedRequest(head, head.outcome as 'served' | 'denied', head.code, head.subject_member_id, head.passed_over, subjects);
    return { request, friendsToday, deniedSubjectIsFriend: this.deniedSubjectIsFriend(index) };
  }
}

/** A request's head leaf and its subjects, read with the request (RawReplayReads). */
interface HeadRow extends Omit<RequestRow, 'at'> {
  /** As the row holds it, or in milliseconds (a segment's). */
  readonly at: string | number;
  readonly outcome: string;
  readonly code: string | null;
  readonly subject_member_id: string | null;
  readonly passed_over: number | null;
}

function loggedRequest(row: RequestRow | HeadRow, outcome: 'served' | 'denied', code: string | null, subject: string | null, passedOver: number | null,
  subjects: LoggedSubject[]): LoggedRequest {
  return {
    seq: row.first_seq,
    at: typeof row.at === 'number' ? row.at : fromIso(row.at),
    appId: row.app_id,
    partnerId: row.partner_id ?? '',
    agreementId: row.agreement_id,
    agreementVersion: row.agreement_version,
    rulesVersion: row.rules_version,
    tokenMemberId: row.token_member_id,
    purpose: row.purpose ?? '',
    outcome,
    code,
    deniedSubject: outcome === 'denied' ? subject : null,
    passedOver: Number(passedOver ?? 0),
    subjects,
  };
}

function spanOf(requests: readonly RequestRow[]): { first: number; end: number } {
  const last = requests[requests.length - 1]!;
  return { first: requests[0]!.first_seq, end: last.first_seq + last.leaf_count };
}

/**
 * Whether a batch's leaves are read as one range. One agreement's requests are scattered through
 * the log: unless they hold a good part of the range they span (a busy agreement), their leaves
 * are read by request (a range of the primary key each); otherwise, and for a whole-log replay,
 * one range is read (the leaves of other requests left out).
 */
function readsRange(filter: ReplayFilter, requests: readonly RequestRow[]): boolean {
  if (filter.agreementId === undefined) return true;
  const { first, end } = spanOf(requests);
  let leafCount = 0;
  for (const request of requests) leafCount += request.leaf_count;
  return leafCount * SCATTERED >= end - first;
}

/** Between a request's subjects' codes and their ids, as RawReplayReads reads them (char(31)), and between two ids (char(30)). */
const LISTS_SEPARATOR = '\x1f';
/** Between a request's head and its subjects (char(29)). */
const HEAD_SEPARATOR = '\x1d';
/** BatchRow's columns by name. */
const BATCH = { firstSeq: 0, request: 10, deniedFriend: 11, appended: 12 } as const;
const ID_SEPARATOR = '\x1e';

/** A subject's released and withheld lists' ids and its relation (self: no code) in one number (-1 when an id is too large to pack). */
const SUBJECT_CODE = `case when l.released < ${PACKED_ID_SPAN} and l.withheld < ${PACKED_ID_SPAN}
  then (l.released * ${PACKED_ID_SPAN} + l.withheld) * 2 + (l.code is null) else -1 end`;
const FRIEND_OF_TOKEN = (leaf: string) => `exists (select 1 from friendships f where f.member_id = r.token_member_id and f.friend_id = ${leaf}.subject_member_id)`;
/** The same, then whether the subject is a friend of the token's member today (a descent of the friendships' key): its code * 2 + 1 or 0. */
const SUBJECT_CODE_AND_FRIEND = `case when l.released < ${PACKED_ID_SPAN} and l.withheld < ${PACKED_ID_SPAN}
  then ((l.released * ${PACKED_ID_SPAN} + l.withheld) * 2 + (l.code is null)) * 2 + ${FRIEND_OF_TOKEN('l')} else -1 end`;
/**
 * A request's (`r`) subjects as one string, from its leaves: as replaySubjectsOf packs them after
 * the head, the codes made by `code` (SUBJECT_CODE); null when it has none.
 */
const SUBJECTS_FROM_LEAVES = (code = SUBJECT_CODE) => `(select group_concat(${code}, ',') || char(31) || group_concat(coalesce(l.subject_number, ${UNNUMBERED}), ',')
        || char(31) || coalesce(group_concat(case when l.subject_number is null then coalesce(l.subject_member_id, '') end, char(30)), '')
      from audit_leaves l not indexed where l.seq > r.first_seq and l.seq < r.first_seq + r.leaf_count and l.outcome = 'released')`;
/** A request's (`r`) head leaf as replaySubjectsOf packs it: outcome, code, passed over, `=` and the member named; null without one. */
const HEAD_FROM_LEAF = `(select h.outcome || char(31) || coalesce(h.code, '') || char(31) || coalesce(h.passed_over, '') || char(31)
        || coalesce('=' || h.subject_member_id, '') from audit_leaves h where h.seq = r.first_seq and h.pos = 0)`;
/** A request's (`r`) head and subjects from its leaves, as the appender writes them in `replay_subjects` since migration 0042. */
export const REPLAY_SUBJECTS_FROM_LEAVES = (code = SUBJECT_CODE) => `${HEAD_FROM_LEAF} || char(29) || coalesce(${SUBJECTS_FROM_LEAVES(code)}, '')`;
/**
 * The requests a replay reads (Graph API requests with a token member, in the period, optionally
 * of one agreement), each with its head and its subjects (its `released` leaves after the head) in
 * one string (replaySubjectsOf): the head's fields, a group separator, their packed codes, a unit
 * separator, their member numbers as logged (migration 0039; -2 for one logged without), a unit
 * separator, and the ids of those logged without a number only (a record separator between two).
 * A row per request, not per subject: better-sqlite3's cost is per row and per value, and a
 * string's characters cost little. The appender writes that string with the request (migration
 * 0042); for a request logged before, it comes from its leaves (coalesce reads them only then: a
 * look-up of the head and a scan of the rest, a range of the primary key; `not indexed`: never an
 * automatic index on `outcome`, which the planner may otherwise build). Today's friendships are
 * not read here (a look-up per subject in a hundred-million-row index was most of this statement's
 * time) but from what changed since (ended_friendships) or the token members' lists by number:
 * looked up here only when a test asks (readFriendshipsInSql).
 */
const BATCH_SQL = (agreement: string, friendships: boolean) => `select r.first_seq, r.leaf_count, r.at, r.app_id, r.partner_id, r.agreement_id,
    r.agreement_version, r.rules_version, r.token_member_id, r.purpose,
    ${friendships ? REPLAY_SUBJECTS_FROM_LEAVES(SUBJECT_CODE_AND_FRIEND) : `coalesce(r.replay_subjects, ${REPLAY_SUBJECTS_FROM_LEAVES()})`} as request,
    ${friendships ? `(select ${FRIEND_OF_TOKEN('h')} from audit_leaves h where h.seq = r.first_seq and h.pos = 0)` : 0} as denied_friend,
    ${friendships ? 0 : 'r.replay_subjects is not null'} as appended
  from audit_requests r
  where r.app_id is not null and r.token_member_id is not null and r.at >= ? and r.at < ? and r.first_seq > ? and r.first_seq < ?${agreement}
  order by r.first_seq limit ?`;

/** A row of BATCH_SQL, its columns in order. */
type BatchRow = [
  first_seq: number, leaf_count: number, at: string, app_id: string, partner_id: string | null, agreement_id: string | null,
  agreement_version: number | null, rules_version: string, token_member_id: string, purpose: string | null, request: string | null,
  denied_friend: number, appended: number,
];

/** A head and where its request's subjects start in the row's string (-1: none), or undefined for a row that is no request a replay reads. */
function headOf(row: BatchRow): { head: HeadRow; subjectsAt: number } | undefined {
  const [first_seq, leaf_count, at, app_id, partner_id, agreement_id, agreement_version, rules_version, token_member_id, purpose, text] = row;
  if (text === null) return undefined;
  // outcome, code, passed over: no separator in any of them; then the member named, up to the group separator (an id holding one is not packed).
  const codeAt = text.indexOf(LISTS_SEPARATOR) + 1;
  const passedAt = text.indexOf(LISTS_SEPARATOR, codeAt) + 1;
  const subjectAt = text.indexOf(LISTS_SEPARATOR, passedAt) + 1;
  const end = text.indexOf(HEAD_SEPARATOR, subjectAt);
  if (codeAt === 0 || passedAt === 0 || subjectAt === 0 || end < 0) return undefined;
  const outcome = text.slice(0, codeAt - 1);
  if (outcome !== 'served' && outcome !== 'denied') return undefined;
  const head: HeadRow = {
    first_seq, leaf_count, at, app_id, partner_id, agreement_id, agreement_version, rules_version, token_member_id, purpose, outcome,
    code: codeAt === passedAt - 1 ? null : text.slice(codeAt, passedAt - 1),
    passed_over: passedAt === subjectAt - 1 ? null : Number(text.slice(passedAt, subjectAt - 1)),
    subject_member_id: subjectAt === end ? null : text.slice(subjectAt + 1, end),
  };
  return { head, subjectsAt: end + 1 === text.length ? -1 : end + 1 };
}

/** A segment's request as `headOf` makes a row's. */
function segmentHead(head: HeadClass, agreementId: string, segment: ReplaySegment, index: number): HeadRow {
  const [app_id, partner_id, agreement_version, rules_version, purpose, outcome, code] = head;
  const passedOver = segment.passedOver[index]!;
  return {
    first_seq: segment.seqs[index]!, leaf_count: segment.leafCounts[index]!, at: segment.ats[index]!, app_id, partner_id, agreement_id: agreementId,
    agreement_version, rules_version, token_member_id: segment.tokens[index]!, purpose, outcome, code,
    passed_over: passedOver < 0 ? null : passedOver, subject_member_id: segment.named[index]!,
  };
}

/**
 * A row's request as a segment holds it (ReplaySealer); undefined when it cannot: a subject logged
 * without a member number, a code that does not pack (read as rows).
 */
function sealedRequest(row: BatchRow, head: HeadRow, subjectsAt: number): SealedRequest | undefined {
  const codes: number[] = [];
  const numbers: number[] = [];
  if (subjectsAt >= 0) {
    const text = row[BATCH.request]!;
    const end = text.indexOf(LISTS_SEPARATOR, subjectsAt);
    const idsAt = end < 0 ? -1 : text.indexOf(LISTS_SEPARATOR, end + 1);
    // Ids follow only subjects logged without a number.
    if (idsAt < 0 || idsAt + 1 !== text.length) return undefined;
    parseIntegers(text, subjectsAt, end, codes);
    parseIntegers(text, end + 1, idsAt, numbers);
    if (codes.length !== numbers.length || codes.includes(-1) || numbers.some((number) => number < 0)) return undefined;
  }
  return {
    seq: head.first_seq, leafCount: head.leaf_count, at: fromIso(head.at as string), tokenMemberId: head.token_member_id, namedMemberId: head.subject_member_id,
    head: [head.app_id, head.partner_id, head.agreement_version, head.rules_version, head.purpose, head.outcome as 'served' | 'denied', head.code],
    passedOver: head.passed_over ?? -1, appended: row[BATCH.appended] === 1, codes, numbers,
  };
}

/**
 * A batch as RawReplayReads reads it: per request its head, and its subjects as columns over the
 * whole batch (request i's at starts[i] .. starts[i + 1] - 1): packed codes and member numbers.
 */
interface PackedBatch {
  readonly heads: readonly HeadRow[];
  readonly starts: Int32Array;
  /** Each subject's code, or (`codeIndexes` given: a segment's) the distinct codes its subjects index. */
  readonly codes: readonly number[];
  readonly codeIndexes?: Int32Array;
  readonly numbers: Int32Array;
  /** Per request: its token member's number, and that of the member a refused request named (-1: none). */
  readonly tokens: Int32Array;
  readonly denied: Int32Array;
  /** The rows read (requests among them or not), and the last one's seq: where the next batch starts. */
  readonly read: number;
  readonly lastSeq: number;
  /** Its subjects' ids, in order (read only for a request read the general way, or a third-party app's). */
  readonly subjectIds: (firstSeq: number, leafCount: number) => string[];
  /** Read with the leaves: whether each subject, and the member a refused request named, is a friend of the token's member (1). */
  readonly friends?: { readonly subjects: Uint8Array; readonly denied: Uint8Array };
  /**
   * Per request: 1 when its subjects were packed at append (migration 0042, with ended_friendships):
   * a subject shown through a friend is a friend today unless their friendship ended since.
   */
  readonly appended: Uint8Array;
}

/**
 * The replay's read on a better-sqlite3 connection (one statement, prepared once): a batch's
 * requests, a row each, their subjects' codes parsed and their ids looked up as member numbers
 * where they lie in the row's string.
 */
class RawReplayReads {
  private readonly statements: Record<`${'all' | 'agreement' | 'none'}${'' | 'Friends'}`, BetterSqlite3.Statement>;
  private replayNumbers: ReplayNumbers | undefined;
  private grantsOf: BetterSqlite3.Statement | undefined;
  private idsOf: BetterSqlite3.Statement | undefined;
  private segmentBody: BetterSqlite3.Statement | undefined;
  /** Today's friendships read with the leaves, not from the token members' lists. */
  friendshipsInSql = false;

  constructor(private readonly sqlite: BetterSqlite3.Database, private readonly grantsChunk: number, private readonly maxGrantKinds: number) {
    const [agreement, none] = [' and r.agreement_id = ?', ' and r.agreement_id is null'];
    // Rows as arrays (raw): better-sqlite3 makes an object per row a few µs slower than batchRowObject does.
    this.statements = {
      all: sqlite.prepare(BATCH_SQL('', false)).raw(), agreement: sqlite.prepare(BATCH_SQL(agreement, false)).raw(),
      none: sqlite.prepare(BATCH_SQL(none, false)).raw(), allFriends: sqlite.prepare(BATCH_SQL('', true)).raw(),
      agreementFriends: sqlite.prepare(BATCH_SQL(agreement, true)).raw(), noneFriends: sqlite.prepare(BATCH_SQL(none, true)).raw(),
    };
  }

  /** The grants of these members (their ids in one parameter: a statement prepared once, whatever their number). */
  grants(memberIds: readonly string[]): Array<Pick<GrantsTable, (typeof GRANT_COLUMNS)[number]>> {
    this.grantsOf ??= this.sqlite.prepare(`select ${GRANT_COLUMNS.join(', ')} from grants where member_id in (select value from json_each(?))`);
    return this.grantsOf.all(JSON.stringify(memberIds)) as Array<Pick<GrantsTable, (typeof GRANT_COLUMNS)[number]>>;
  }

  /**
   * grantKinds' read (ReplayLogRepository.consentColumns): every grant's member id, kind (an index
   * into `kinds`, which grows as chunks are read) and instant, GRANTS_CHUNK grants a string in rowid
   * order (a chunk whose ids hold a separator as rows); TooManyGrantKinds past MAX_GRANT_KINDS kinds.
   */
  grantKinds(agreementId?: string): { kinds: GrantKindRow[]; chunks: Iterable<string | Array<[string, number, string]>> } | undefined {
    const kinds: GrantKindRow[] = [];
    const agreement = agreementId === undefined ? [] : [agreementId];
    // The kinds are found as chunks meet them (a `distinct` over every grant compared hundreds of bytes a grant, in a b-tree).
    let statements = this.grantChunkStatements(kinds, agreementId !== undefined);
    const read = (statement: BetterSqlite3.Statement, after: number) => statement.all(...kinds.flat(), after, ...agreement);
    const grants = this;
    function* chunks(): Iterable<string | Array<[string, number, string]>> {
      for (let after = -Infinity; ;) {
        const [text, last, count, unknown, odd] = (read(statements.chunk, after) as Array<[string | null, number | null, number, number, number | null]>)[0]!;
        if (count === 0 || text === null || last === null) return;
        if (unknown > 0) {
          kinds.push(...read(statements.unknown, after) as GrantKindRow[]);
          if (kinds.length > grants.maxGrantKinds) throw new TooManyGrantKinds();
          statements = grants.grantChunkStatements(kinds, agreementId !== undefined);
          continue;
        }
        yield odd === 0 ? text : read(statements.rows, after) as Array<[string, number, string]>;
        after = last;
      }
    }
    return { kinds, chunks: chunks() };
  }

  /** grantKinds' statements for a chunk of grants, their kinds told apart among `kinds` (-1: none of them). */
  private grantChunkStatements(kinds: readonly GrantKindRow[], ofAgreement: boolean): Record<'chunk' | 'unknown' | 'rows', BetterSqlite3.Statement> {
    const kindOf = kinds.length === 0 ? '-1'
      : `case ${kinds.map((_, index) => `when app_id = ? and agreement_id is ? and purpose = ? and member_fields = ? and friend_fields = ? then ${index}`).join(' ')} else -1 end`;
    const within = `select rowid, *, ${kindOf} as kind from grants where rowid > ?${ofAgreement ? ' and agreement_id = ?' : ''} order by rowid limit ${this.grantsChunk}`;
    return {
      chunk: this.sqlite.prepare(`select group_concat(member_id || char(31) || kind || char(31) || granted_at, char(30)), max(rowid), count(*), sum(kind < 0),
        sum(instr(member_id, char(30)) > 0 or instr(member_id, char(31)) > 0) from (${within})`).raw(),
      unknown: this.sqlite.prepare(`select distinct app_id, agreement_id, purpose, member_fields, friend_fields from (${within}) where kind < 0`).raw(),
      rows: this.sqlite.prepare(`select member_id, kind, granted_at from (${within})`).raw(),
    };
  }

  /** The grants (of one agreement, when given) of the members with these numbers, each after its member's number: by member, in rowid order. */
  grantsByNumber(numbers: readonly number[], agreementId?: string): Array<[number, ...GrantRow]> {
    const statement = this.sqlite.prepare(`select n.number, ${GRANT_COLUMNS.map((column) => `g.${column}`).join(', ')}
      from member_numbers n join grants g on g.member_id = n.member_id
      where n.number in (select value from json_each(?))${agreementId === undefined ? '' : ' and g.agreement_id = ?'} order by n.number, g.rowid`).raw();
    const json = JSON.stringify(numbers);
    return (agreementId === undefined ? statement.all(json) : statement.all(json, agreementId)) as Array<[number, ...GrantRow]>;
  }

  /** Every grant (of one agreement, when given), in rowid order (a member's as `grants` gives them: its index on member_id keeps rowid order within a member). */
  *allGrants(agreementId?: string): Iterable<GrantRow> {
    // Rows as arrays (raw): an object per row made by better-sqlite3 costs more than the rest of the read. GRANTS_CHUNK
    // rows a statement (grantsChunk; `all`, cheaper a row than `iterate`), from the rowid after the last one read. One
    // agreement's: the others' rows are skipped in SQL, where a row left out costs little (in JS, most of the read).
    const chunk = this.sqlite.prepare(`select ${GRANT_COLUMNS.join(', ')}, rowid from grants where rowid > ?${agreementId === undefined ? '' : ' and agreement_id = ?'}
      order by rowid limit ${this.grantsChunk}`).raw();
    for (let after = -Infinity; ;) {
      const rows = (agreementId === undefined ? chunk.all(after) : chunk.all(after, agreementId)) as Array<[...GrantRow, number]>;
      for (const row of rows) yield row as unknown as GrantRow;
      if (rows.length < this.grantsChunk) return;
      after = rows[rows.length - 1]![GRANT_COLUMNS.length] as number;
    }
  }

  /**
   * Today's members by number, read as batches meet them (the ids' numbers once, when first asked):
   * those a run before this one read on the same connection when nothing changed since.
   */
  members(): ReplayNumbers {
    return this.replayNumbers ??= worldOf(this.sqlite);
  }

  /** The agreement's segments whose requests all lie in the period, in seq order, with their sizes. */
  segmentsWithin(agreementId: string, period: ReplayFilter): Array<SeqRange & FilterSizes> {
    const rows = this.sqlite.prepare(`select first_seq, below_seq, requests, subjects, unappended from replay_segments
      where agreement_id = ? and first_at >= ? and last_at < ? order by first_seq`).raw().all(agreementId, toIso(period.from), toIso(period.to)) as number[][];
    return rows.map(([from, below, requests, subjects, unpacked]) => ({ from: from!, below: below!, requests: requests!, subjects: subjects!, unpacked: unpacked! }));
  }

  /** Whether a sealed segment holds a request of the period. */
  anySegmentIn(period: ReplayFilter): boolean {
    return this.sqlite.prepare('select 1 from replay_segments where first_at < ? and last_at >= ? limit 1').pluck()
      .get(toIso(period.to), toIso(period.from)) !== undefined;
  }

  /**
   * The agreements the log's requests in `seqs` name, in order, then null when some name none: a
   * seek in the requests' agreement index each, not a scan of them.
   */
  loggedAgreements(seqs: SeqRange): Array<string | null> {
    const next = this.sqlite.prepare('select agreement_id from audit_requests where agreement_id > ? order by agreement_id limit 1').pluck();
    const inRange = this.sqlite.prepare('select 1 from audit_requests where agreement_id = ? and first_seq >= ? and first_seq < ? limit 1').pluck();
    const agreements: Array<string | null> = [];
    for (let id = next.get('') as string | undefined; id !== undefined; id = next.get(id) as string | undefined) {
      if (inRange.get(id, seqs.from, seqs.below) !== undefined) agreements.push(id);
    }
    const unnamed = this.sqlite.prepare('select 1 from audit_requests where agreement_id is null and first_seq >= ? and first_seq < ? limit 1').pluck();
    return unnamed.get(seqs.from, seqs.below) === undefined ? agreements : [...agreements, null];
  }

  segmentRanges(agreementId: string): SegmentRange[] {
    const rows = this.sqlite.prepare('select first_seq, below_seq from replay_segments where agreement_id = ? order by first_seq').raw().all(agreementId) as Array<[number, number]>;
    return rows.map(([from, below]) => ({ agreementId, from, below }));
  }

  /**
   * A segment's requests from seq `next` on and below `below`, in the filter's period, as a batch:
   * what `batch` makes of their rows, with no string read, and the token members' numbers found by
   * their ids in today's world as there.
   */
  segmentBatch(filter: ReplayFilter, range: SegmentRange, next: number, below: number): PackedBatch {
    this.segmentBody ??= this.sqlite.prepare('select body from replay_segments where agreement_id = ? and first_seq = ?').pluck();
    const segment = decodeSegment(this.segmentBody.get(range.agreementId, range.from) as Buffer);
    const kept: number[] = [];
    let subjects = 0;
    for (let index = 0; index < segment.length; index++) {
      const seq = segment.seqs[index]!;
      const at = segment.ats[index]!;
      if (seq < next || seq >= below || at < filter.from || at >= filter.to) continue;
      kept.push(index);
      subjects += segment.starts[index + 1]! - segment.starts[index]!;
    }
    const members = this.members();
    const { maxNumber } = members;
    // The whole segment kept, its members all numbered by then (most segments): its columns as they are.
    const whole = kept.length === segment.length && !segment.numbers.some((number) => number > maxNumber);
    const heads: HeadRow[] = new Array(kept.length);
    const starts = whole ? segment.starts : new Int32Array(kept.length + 1);
    const codeIndexes = whole ? segment.codeIndexes : new Int32Array(subjects);
    const numbers = whole ? segment.numbers : new Int32Array(subjects);
    const tokens = new Int32Array(kept.length);
    const denied = new Int32Array(kept.length);
    const appended = new Uint8Array(kept.length);
    const listed: number[] = [];
    let to = 0;
    for (let request = 0; request < kept.length; request++) {
      const index = kept[request]!;
      const head = segmentHead(segment.headClasses[segment.heads[index]!]!, range.agreementId, segment, index);
      heads[request] = head;
      tokens[request] = members.numberOf(head.token_member_id);
      denied[request] = head.subject_member_id === null ? -1 : members.numberOf(head.subject_member_id);
      appended[request] = segment.appended[index]!;
      if (appended[request] !== 1 || denied[request]! >= 0) listed.push(tokens[request]!);
      if (whole) continue;
      starts[request] = to;
      for (let from = segment.starts[index]!; from < segment.starts[index + 1]!; from++, to++) {
        codeIndexes[to] = segment.codeIndexes[from]!;
        const number = segment.numbers[from]!;
        numbers[to] = number > maxNumber ? -1 : number;
      }
    }
    if (!whole) starts[kept.length] = to;
    members.load(numbers, listed);
    members.load(tokens, []);
    members.load(denied, []);
    return {
      heads, starts, codes: segment.codes, codeIndexes, numbers, tokens, denied, appended, read: segment.length, lastSeq: below - 1,
      subjectIds: (first, count) => this.subjectIds(first, count),
    };
  }

  /** ReplayLogRepository.sealable: the agreement's rows read as `batch` reads them, over every instant. */
  sealable(agreementId: string, fromSeq: number, belowSeq: number, limit: number): SealableRows {
    const read = this.statements.agreement.all('', '\uffff', fromSeq - 1, belowSeq, agreementId, limit) as BatchRow[];
    const requests: Array<SealableRows['requests'][number]> = [];
    for (const row of read) {
      const found = headOf(row);
      // Not a request a replay reads (`batch` leaves it out too).
      if (found !== undefined) requests.push({ seq: found.head.first_seq, sealed: sealedRequest(row, found.head, found.subjectsAt) });
    }
    return { requests, nextSeq: read.length < limit ? belowSeq : read[read.length - 1]![BATCH.firstSeq] + 1 };
  }

  /** A batch, or undefined when it cannot be packed (a field-set id too large, a record separator in an id): read it the general way. */
  batch(filter: ReplayFilter, seqs: SeqRange, afterSeq: number, limit: number): PackedBatch | undefined {
    const agreement = typeof filter.agreementId === 'string' ? [filter.agreementId] : [];
    const inSql = this.friendshipsInSql;
    const which = filter.agreementId === undefined ? 'all' : filter.agreementId === null ? 'none' : 'agreement';
    const read = this.statements[`${which}${inSql ? 'Friends' : ''}`]
      .all(toIso(filter.from), toIso(filter.to), Math.max(afterSeq, seqs.from - 1), seqs.below, ...agreement, limit) as BatchRow[];
    const rows: BatchRow[] = [];
    const heads: HeadRow[] = [];
    const subjectsAt: number[] = [];
    for (const row of read) {
      const found = headOf(row);
      if (found === undefined) continue;
      rows.push(row);
      heads.push(found.head);
      subjectsAt.push(found.subjectsAt);
    }
    const members = this.members();
    const starts = new Int32Array(rows.length + 1);
    const codes: number[] = [];
    let numbers: Int32Array = new Int32Array(rows.length * 32);
    const tokens = new Int32Array(rows.length);
    const denied = new Int32Array(rows.length);
    const appended = new Uint8Array(rows.length);
    // The tokens whose friends are read: of requests logged before 0042, and of those naming a member not shown.
    const listed: number[] = [];
    for (let index = 0; index < rows.length; index++) {
      const head = heads[index]!;
      starts[index] = codes.length;
      tokens[index] = members.numberOf(head.token_member_id);
      denied[index] = head.subject_member_id === null ? -1 : members.numberOf(head.subject_member_id);
      appended[index] = rows[index]![BATCH.appended];
      if (appended[index] !== 1 || denied[index]! >= 0) listed.push(tokens[index]!);
      const text = rows[index]![BATCH.request]!;
      const start = subjectsAt[index]!;
      // Codes and numbers hold digits, commas and minus signs only: the first two unit separators end them, whatever the ids hold.
      const end = start < 0 ? -1 : text.indexOf(LISTS_SEPARATOR, start);
      if (end < 0) continue;
      const idsAt = text.indexOf(LISTS_SEPARATOR, end + 1);
      parseIntegers(text, start, end, codes);
      if (numbers.length < codes.length) numbers = grown(numbers, codes.length);
      const found = subjectNumbers(members, text, end + 1, idsAt, numbers, starts[index]!);
      if (found !== codes.length - starts[index]! || codes.includes(-1, starts[index])) return undefined;
    }
    starts[rows.length] = codes.length;
    numbers = numbers.subarray(0, codes.length);
    // The members the batch names and its tokens' friends, read now: a statement per table for those not read before.
    members.load(numbers, inSql ? [] : listed);
    members.load(tokens, []);
    members.load(denied, []);
    const friends = inSql ? splitFriendships(codes, rows) : undefined;
    const lastSeq = read.length === 0 ? afterSeq : read[read.length - 1]![BATCH.firstSeq];
    return { heads, starts, codes, numbers, tokens, denied, appended, read: read.length, lastSeq, subjectIds: (first, count) => this.subjectIds(first, count), friends };
  }

  /** A request's subjects' ids, in seq order (its `released` leaves after the head). */
  private subjectIds(firstSeq: number, leafCount: number): string[] {
    this.idsOf ??= this.sqlite.prepare(`select coalesce(subject_member_id, '') from audit_leaves
      where seq > ? and seq < ? and outcome = 'released' order by seq`).pluck();
    return this.idsOf.all(firstSeq, firstSeq + leafCount) as string[];
  }
}

/** What the replays on a connection read of today's world, and the world's version it was read at. */
const worlds = new WeakMap<BetterSqlite3.Database, { version: number; members: ReplayNumbers }>();


/**
 * Today's world by number for a replay on this connection: the one a replay before read, kept with
 * the connection, while the world is as it was then (world_version, migration 0044: moved on by
 * every change to what a replay reads of it, on any connection); after a few members changed, that
 * one refreshed (their facts, lists and grants read again: world_changes, migration 0045); else read
 * again whole. A simulation after another reads none of it again, on a server writing the log and
 * grants' last use between them too; one after a member changed a setting reads that member's.
 */
function worldOf(sqlite: BetterSqlite3.Database): ReplayNumbers {
  const version = Number(sqlite.prepare('select version from world_version where id = 1').pluck().get());
  const kept = worlds.get(sqlite);
  if (kept?.version === version) return kept.members;
  const change = kept === undefined ? undefined : changeSince(sqlite, kept.version);
  const members = change === undefined ? new ReplayNumbers(sqlite) : kept!.members.refreshed(change);
  worlds.set(sqlite, { version, members });
  return members;
}

/**
 * The members world_changes says changed since `version`; undefined when a refresh cannot say the
 * same as a whole read: the journal does not reach back that far (pruned, or the version moved on
 * before migration 0045), a member lost their number, or so many changed that reading all costs less.
 */
function changeSince(sqlite: BetterSqlite3.Database, version: number): WorldChange | undefined {
  if (sqlite.prepare('select 1 from world_changes where version = ?').pluck().get(version + 1) === undefined) return undefined;
  const numbers = sqlite.prepare('select distinct member_number from world_changes where version > ? and member_number is not null').pluck().all(version) as number[];
  const maxNumber = Number(sqlite.prepare('select coalesce(max(number), -1) from member_numbers').pluck().get());
  if (numbers.length > (maxNumber + 1) / REFRESH_SHARE) return undefined;
  const numbered = sqlite.prepare('select count(*) from member_numbers where number in (select value from json_each(?))').pluck().get(JSON.stringify(numbers));
  return numbered === numbers.length ? { numbers, maxNumber } : undefined;
}

/** Codes read with their friendship bit: the bits taken out, the codes left as `packedLists` reads them. */
function splitFriendships(codes: number[], rows: readonly BatchRow[]): { subjects: Uint8Array; denied: Uint8Array } {
  const subjects = new Uint8Array(codes.length);
  for (let at = 0; at < codes.length; at++) {
    const code = codes[at]!;
    subjects[at] = code % 2;
    codes[at] = (code - (code % 2)) / 2;
  }
  return { subjects, denied: Uint8Array.from(rows, (row) => row[BATCH.deniedFriend]) };
}

/**
 * The subjects' member numbers in `text[start..end)` (comma-separated, as logged), written from `at`;
 * how many. One logged without a number (UNNUMBERED) has its id's looked up: the ids of those,
 * and only those, follow `end` (a record separator between two). A number past the world read
 * (a member numbered since) is no member's (-1), as its id would be.
 */
function subjectNumbers(members: ReplayNumbers, text: string, start: number, end: number, numbers: Int32Array, at: number): number {
  const { maxNumber } = members;
  let found = 0;
  let value = 0;
  let sign = 1;
  let unnumbered = false;
  for (let index = start; index <= end; index++) {
    const char = index < end ? text.charCodeAt(index) : 44;
    if (char === 45) { sign = -1; continue; }
    if (char !== 44) { value = value * 10 + char - 48; continue; }
    const number = sign * value;
    if (number === UNNUMBERED) unnumbered = true;
    if (at + found < numbers.length) numbers[at + found] = number > maxNumber ? -1 : number;
    found++;
    value = 0;
    sign = 1;
  }
  // Ids holding a record separator do not split as logged: -1, and the batch is read the general way.
  return unnumbered && !lookUpUnnumbered(members, text, end + 1, numbers, at, at + found) ? -1 : found;
}

/**
 * The numbers of the ids in `text` from `start` on (a record separator between two), in the
 * UNNUMBERED slots of numbers[at..end); whether there were as many ids as slots.
 */
function lookUpUnnumbered(members: ReplayNumbers, text: string, start: number, numbers: Int32Array, at: number, end: number): boolean {
  let from = start;
  for (let slot = at; slot < end; slot++) {
    if (numbers[slot] !== UNNUMBERED) continue;
    if (from > text.length) return false;
    let to = text.indexOf(ID_SEPARATOR, from);
    if (to < 0) to = text.length;
    numbers[slot] = members.numberIn(text, from, to);
    from = to + 1;
  }
  return from === text.length + 1;
}

function grown(numbers: Int32Array, atLeast: number): Int32Array {
  const bigger = new Int32Array(Math.max(atLeast, numbers.length * 2));
  bigger.set(numbers);
  return bigger;
}

/** Comma-separated integers (-1 among them) in text[start .. end), as group_concat writes them: parsed without a string per number. */
function parseIntegers(text: string, start: number, end: number, into: number[]): void {
  let value = 0;
  let sign = 1;
  for (let index = start; index < end; index++) {
    const char = text.charCodeAt(index);
    if (char === 44) { into.push(sign * value); value = 0; sign = 1; } else if (char === 45) sign = -1; else value = value * 10 + char - 48;
  }
  into.push(sign * value);
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
