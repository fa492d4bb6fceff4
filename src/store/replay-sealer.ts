import { sql } from 'kysely';
import { toIso } from './columns.js';
import type { Db } from './database.js';
import { ReplayLogRepository } from './replay-log-repository.js';
import { encodeSegment, type SealedRequest } from './replay-segment.js';

export interface SealOptions {
  /** An agreement's newest requests stay rows while they are fewer than this (default 4,096): sealed with those that follow. */
  readonly minRequests?: number;
  /** Requests per segment (default 8,192): what a simulation reads at once, and between two reports of its progress. */
  readonly segmentRequests?: number;
  /** Told after each agreement: how many are done, of how many. */
  readonly onProgress?: (agreements: number, of: number) => void;
}

export interface SealResult {
  readonly segments: number;
  readonly requests: number;
  readonly subjects: number;
}

const MIN_REQUESTS = 4_096;
const SEGMENT_REQUESTS = 8_192;
/** Segments written per transaction: memory stays flat however much of the log is sealed at once. */
const SEGMENTS_PER_WRITE = 16;
/** Rows read a statement: a few milliseconds, after which a server's other work has its turn. */
const READ_ROWS = 1_024;

interface Segment {
  readonly from: number;
  readonly below: number;
  readonly requests: readonly SealedRequest[];
}

/**
 * Packs each agreement's logged requests into replay segments (migration 0043) as the log grows:
 * from the end of its last segment up to the newest request logged when the run began (the appender
 * writes a request and its leaves in one transaction, with seqs in commit order: nothing below that
 * can come later). A request a segment cannot hold ends one there and stays a row. Idempotent and
 * safe beside another sealer: a write goes in only over the segment it follows, else that agreement
 * is left to the other. On SQLite only (PostgreSQL replays read rows); nothing on PostgreSQL.
 */
export class ReplaySealer {
  constructor(private readonly db: Db) {}

  async seal(options: SealOptions = {}): Promise<SealResult> {
    const log = new ReplayLogRepository(this.db);
    const newest = await this.db.selectFrom('audit_requests').select(sql<number | null>`max(first_seq)`.as('seq')).executeTakeFirst();
    const end = Number(newest?.seq ?? -1) + 1;
    const agreements = await this.db.selectFrom('agreements').select('id').distinct().orderBy('id').execute();
    let result: SealResult = { segments: 0, requests: 0, subjects: 0 };
    for (const [index, { id }] of agreements.entries()) {
      const sealed = await this.sealAgreement(log, id, end, options);
      if (sealed === undefined) break;
      result = { segments: result.segments + sealed.segments, requests: result.requests + sealed.requests, subjects: result.subjects + sealed.subjects };
      options.onProgress?.(index + 1, agreements.length);
    }
    return result;
  }

  /** Undefined when the log cannot be read so (PostgreSQL). */
  private async sealAgreement(log: ReplayLogRepository, agreementId: string, end: number, options: SealOptions): Promise<SealResult | undefined> {
    const minRequests = options.minRequests ?? MIN_REQUESTS;
    const perSegment = options.segmentRequests ?? SEGMENT_REQUESTS;
    const start = await this.sealedUpTo(this.db, agreementId);
    const done: Segment[] = [];
    let result: SealResult = { segments: 0, requests: 0, subjects: 0 };
    let written = start;
    let from = start;
    let pending: SealedRequest[] = [];
    const close = (below: number) => {
      if (pending.length > 0) done.push({ from, below, requests: pending });
      pending = [];
      from = below;
    };
    for (let next = start; next < end;) {
      const rows = log.sealable(agreementId, next, end, READ_ROWS);
      if (rows === undefined) return undefined;
      await new Promise((resolve) => setImmediate(resolve));
      for (const { seq, sealed } of rows.requests) {
        if (sealed === undefined) { close(seq); from = seq + 1; continue; }
        pending.push(sealed);
        if (pending.length === perSegment) close(seq + 1);
      }
      next = rows.nextSeq;
      if (next >= end && pending.length >= minRequests) close(end);
      if (done.length >= SEGMENTS_PER_WRITE || next >= end) {
        const wrote = await this.write(agreementId, written, done.splice(0));
        if (wrote === undefined) return result;
        result = { segments: result.segments + wrote.segments, requests: result.requests + wrote.requests, subjects: result.subjects + wrote.subjects };
        written = wrote.below ?? written;
      }
    }
    return result;
  }

  /** Where the agreement's last segment ends (0: none yet). */
  private async sealedUpTo(db: Db, agreementId: string): Promise<number> {
    const row = await db.selectFrom('replay_segments').select(sql<number | null>`max(below_seq)`.as('below')).where('agreement_id', '=', agreementId).executeTakeFirst();
    return Number(row?.below ?? 0);
  }

  /** Writes segments that follow `after` (where the agreement's segments ended when this run read it); undefined if another sealer wrote since. */
  private async write(agreementId: string, after: number, segments: readonly Segment[]): Promise<(SealResult & { below: number | undefined }) | undefined> {
    if (segments.length === 0) return { segments: 0, requests: 0, subjects: 0, below: undefined };
    return this.db.transaction().execute(async (trx) => {
      if (await this.sealedUpTo(trx, agreementId) !== after) return undefined;
      let requests = 0;
      let subjects = 0;
      for (const segment of segments) {
        const count = segment.requests.reduce((sum, request) => sum + request.codes.length, 0);
        const ats = segment.requests.map((request) => request.at);
        await trx.insertInto('replay_segments').values({
          agreement_id: agreementId, first_seq: segment.from, below_seq: segment.below, requests: segment.requests.length, subjects: count,
          unappended: segment.requests.filter((request) => !request.appended).length,
          first_at: toIso(Math.min(...ats)), last_at: toIso(Math.max(...ats)), body: encodeSegment(segment.requests),
        }).execute();
        requests += segment.requests.length;
        subjects += count;
      }
      return { segments: segments.length, requests, subjects, below: segments[segments.length - 1]!.below };
    });
  }
}
