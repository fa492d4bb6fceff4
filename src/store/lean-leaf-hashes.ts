import type { AuditBlinding } from '../audit/blinding.js';
import { LeafWriter, releasedBytes, requestBytes, withheldBytes, type RequestBytes } from '../audit/canonical-entry-v2.js';
import { MissingBlindingKeyError } from '../audit/entry-leaf.js';
import { HASH_SIZE, sha256Into } from '../audit/merkle-hash.js';
import { LEAF_COLUMNS, REQUEST_COLUMNS } from './audit-rows.js';
import { fromIso } from './columns.js';

/** An audit_leaves row as an array, its columns in LEAF_COLUMNS' order. */
export type LeafRow = readonly unknown[];
/** An audit_requests row as an array, its columns in REQUEST_PART_COLUMNS' order. */
export type RequestRow = readonly unknown[];

/** What a request's leaves share: REQUEST_COLUMNS without first_seq and leaf_count. */
export const REQUEST_PART_COLUMNS = REQUEST_COLUMNS.slice(2) as Exclude<(typeof REQUEST_COLUMNS)[number], 'first_seq' | 'leaf_count'>[];

const leafColumn = (name: (typeof LEAF_COLUMNS)[number]) => LEAF_COLUMNS.indexOf(name);
const SEQ = leafColumn('seq');
const POS = leafColumn('pos');
const SUBJECT = leafColumn('subject_member_id');
const OUTCOME = leafColumn('outcome');
const CODE = leafColumn('code');
const RELEASED = leafColumn('released');
const WITHHELD = leafColumn('withheld');
const PASSED_OVER = leafColumn('passed_over');
const PASSED_OVER_REASON = leafColumn('passed_over_reason');
const ACTOR = leafColumn('actor');
const ACTION = leafColumn('action');
const DETAIL = leafColumn('detail');

/** Kept requests and field lists beyond which the caches start again (a proof needs one or two of each). */
const MOST_REQUESTS = 1024;
const MOST_LISTS = 4096;

/**
 * The leaf hashes of lean entries (audit_leaves, migration 0020) from their stored columns, as proofs
 * read them, 16 to a block: each request's shared bytes and each field list's canonical bytes made
 * once and kept, each entry written into one reused Buffer (LeafWriter). The same hashes as
 * storedLeafHash(entryFromRow(row)) of the audit_log view's row, its values read as entryFromRow
 * reads them (test/store/proof-reads.test.ts).
 *
 * Kept values are never stale: a request's row and a field list's row are only ever inserted, and
 * proofs read leaves under a signed head, whose rows are committed.
 */
export class LeanLeafHashes {
  private readonly requests = new Map<number, RequestBytes>();
  private readonly lists = new Map<number, string>();
  private readonly released = new Map<number, Buffer>();
  private readonly withheld = new Map<number, Buffer>();
  private readonly writer = new LeafWriter();

  /** The first seqs of the requests and the ids of the field lists these rows need and lack; undefined when none. */
  wanted(rows: readonly LeafRow[]): { requests: number[]; lists: number[] } | undefined {
    if (this.requests.size > MOST_REQUESTS) this.requests.clear();
    if (this.lists.size > MOST_LISTS) {
      this.lists.clear();
      this.released.clear();
      this.withheld.clear();
    }
    let wanted: { requests: number[]; lists: number[] } | undefined;
    for (const row of rows) {
      const first = Number(row[SEQ]) - Number(row[POS]);
      if (!this.requests.has(first) && !wanted?.requests.includes(first)) (wanted ??= { requests: [], lists: [] }).requests.push(first);
      wanted = this.wantList(Number(row[RELEASED]), wanted);
      wanted = this.wantList(Number(row[WITHHELD]), wanted);
    }
    return wanted;
  }

  private wantList(id: number, wanted: { requests: number[]; lists: number[] } | undefined) {
    if (!this.lists.has(id) && !wanted?.lists.includes(id)) (wanted ??= { requests: [], lists: [] }).lists.push(id);
    return wanted;
  }

  /** A request's row (as entryFromRow reads its columns). */
  learnRequest(firstSeq: number, row: RequestRow): void {
    const [at, requestId, appId, partnerId, agreementId, agreementVersion, rulesVersion, tokenMemberId, purpose] = row;
    this.requests.set(firstSeq, requestBytes({
      at: fromIso(at as string), requestId: requestId as string, appId: appId as string | null, partnerId: partnerId as string | null,
      agreementId: agreementId as string | null, agreementVersion: agreementVersion === null ? null : Number(agreementVersion),
      rulesVersion: rulesVersion as string, tokenMemberId: tokenMemberId as string | null, purpose: purpose as string | null,
    }));
  }

  /** A field list's JSON text (audit_field_sets). */
  learnList(id: number, json: string): void {
    this.lists.set(id, json);
  }

  /** The leaf hashes of `rows` (seqs start + 1 to start + rows.length), leaf start + i at i·32 of `out`; their requests and lists learnt. */
  hashInto(rows: readonly LeafRow[], start: number, out: Buffer, blinding: AuditBlinding | undefined): void {
    if (blinding === undefined) throw new MissingBlindingKeyError();
    for (const row of rows) {
      const seq = Number(row[SEQ]);
      const first = seq - Number(row[POS]);
      const request = this.requests.get(first);
      if (request === undefined) throw new Error(`audit log: the request of leaf ${seq - 1} (first seq ${first}) is missing`);
      const detail = row[DETAIL];
      const input = this.writer.leafHashInput(request, {
        subjectMemberId: row[SUBJECT] as string | null,
        outcome: row[OUTCOME] as string,
        code: row[CODE] as string | null,
        released: this.list(this.released, Number(row[RELEASED]), (json) => releasedBytes(JSON.parse(json) as unknown[])),
        withheld: this.list(this.withheld, Number(row[WITHHELD]), (json) => withheldBytes(JSON.parse(json))),
        passedOver: row[PASSED_OVER] == null ? null : { count: Number(row[PASSED_OVER]), reason: (row[PASSED_OVER_REASON] as string | null) ?? '' },
        actor: (row[ACTOR] as string | null) ?? null,
        action: (row[ACTION] as string | null) ?? null,
        detail: detail == null ? null : (JSON.parse(detail as string) as Record<string, unknown>),
      }, blinding.blind(seq - 1));
      sha256Into(input, out, (seq - 1 - start) * HASH_SIZE);
    }
  }

  private list(made: Map<number, Buffer>, id: number, make: (json: string) => Buffer): Buffer {
    const kept = made.get(id);
    if (kept !== undefined) return kept;
    const json = this.lists.get(id);
    if (json === undefined) throw new Error(`audit log: field list ${id} is missing`);
    const bytes = make(json);
    made.set(id, bytes);
    return bytes;
  }
}
