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
import type { Db } from './database.js';
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

  constructor(private readonly db: Db) {}

  /** Up to `limit` Graph API requests after `afterSeq`, in seq order, each with the subjects its response carried. */
  async requests(filter: ReplayFilter, afterSeq: number, limit: number): Promise<LoggedRequest[]> {
    let query = this.db.selectFrom('audit_requests')
      .select(['first_seq', 'leaf_count', 'at', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'rules_version', 'token_member_id', 'purpose'])
      .where('app_id', 'is not', null).where('token_member_id', 'is not', null)
      .where('at', '>=', toIso(filter.from)).where('at', '<', toIso(filter.to))
      .where('first_seq', '>', afterSeq);
    if (filter.agreementId !== undefined) query = query.where('agreement_id', '=', filter.agreementId);
    const requests = await query.orderBy('first_seq').limit(limit).execute();
    if (requests.length === 0) return [];
    const first = Number(requests[0]!.first_seq);
    const last = requests[requests.length - 1]!;
    const end = Number(last.first_seq) + Number(last.leaf_count);
    // One agreement's requests are scattered through the log: their leaves are read by request (a
    // range of the primary key each, in one query); a whole-log replay reads one range.
    const leaves = filter.agreementId === undefined
      ? await this.leavesBetween(first, end)
      : await this.leavesOf(requests.map((r) => Number(r.first_seq)));
    await this.loadFieldSets(leaves);
    const byRequest = new Map<number, typeof leaves>();
    for (const leaf of leaves) {
      const key = Number(leaf.seq) - Number(leaf.pos);
      let group = byRequest.get(key);
      if (group === undefined) byRequest.set(key, group = []);
      group.push(leaf);
    }
    const result: LoggedRequest[] = [];
    for (const request of requests) {
      const group = byRequest.get(Number(request.first_seq)) ?? [];
      const head = group[0];
      if (head === undefined || (head.outcome !== 'served' && head.outcome !== 'denied')) continue;
      result.push({
        seq: Number(request.first_seq),
        at: fromIso(request.at),
        appId: request.app_id!,
        partnerId: request.partner_id ?? '',
        agreementId: request.agreement_id,
        agreementVersion: request.agreement_version === null ? null : Number(request.agreement_version),
        rulesVersion: request.rules_version,
        tokenMemberId: request.token_member_id!,
        purpose: request.purpose ?? '',
        outcome: head.outcome,
        code: head.code,
        deniedSubject: head.outcome === 'denied' ? head.subject_member_id : null,
        passedOver: Number(head.passed_over ?? 0),
        subjects: group.slice(1).filter((leaf) => leaf.outcome === 'released').map((leaf) => this.subjectOf(leaf)),
      });
    }
    return result;
  }

  private leavesBetween(first: number, end: number) {
    return this.db.selectFrom('audit_leaves')
      .select(['seq', 'pos', 'subject_member_id', 'outcome', 'code', 'released', 'withheld', 'passed_over'])
      .where('seq', '>=', first).where('seq', '<', end).orderBy('seq').execute();
  }

  /** The leaves of these requests (by first seq), in one read: each request's range of the primary key. */
  private leavesOf(firstSeqs: readonly number[]) {
    return this.db.selectFrom('audit_requests as r')
      .innerJoin('audit_leaves as l', (join) => join.on('l.seq', '>=', sql.ref('r.first_seq')).on('l.seq', '<', sql`r.first_seq + r.leaf_count`))
      .select(['l.seq', 'l.pos', 'l.subject_member_id', 'l.outcome', 'l.code', 'l.released', 'l.withheld', 'l.passed_over'])
      .where('r.first_seq', 'in', firstSeqs).orderBy('l.seq').execute();
  }

  private subjectOf(leaf: { subject_member_id: string | null; code: string | null; released: number; withheld: number }): LoggedSubject {
    return {
      id: leaf.subject_member_id ?? '',
      relation: leaf.code === null ? 'self' : 'friend',
      released: this.fieldSets.get(Number(leaf.released))!.released,
      withheld: this.fieldSets.get(Number(leaf.withheld))!.withheld,
    };
  }

  private async loadFieldSets(leaves: ReadonlyArray<{ released: number; withheld: number }>): Promise<void> {
    const missing = new Set<number>();
    for (const leaf of leaves) {
      if (!this.fieldSets.has(Number(leaf.released))) missing.add(Number(leaf.released));
      if (!this.fieldSets.has(Number(leaf.withheld))) missing.add(Number(leaf.withheld));
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
   * Which of these (member, other) pairs are friends today, as `member other` keys: the friendships
   * a replay asks about, read by primary key, not each member's whole friend list.
   */
  async friendPairs(pairs: ReadonlyArray<readonly [string, string]>): Promise<Set<string>> {
    const found = new Set<string>();
    for (const batch of chunks(pairs, PAIRS_PER_QUERY)) {
      const rows = await this.db.selectFrom('friendships').select(['member_id', 'friend_id'])
        .where((eb) => eb(eb.refTuple('member_id', 'friend_id'), 'in', batch.map(([a, b]) => eb.tuple(a, b))))
        .execute();
      for (const row of rows) found.add(`${row.member_id} ${row.friend_id}`);
    }
    return found;
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
