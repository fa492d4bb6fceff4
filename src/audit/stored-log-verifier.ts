import type { AuditRepository, StoredTreeHead } from '../store/audit-repository.js';
import { entryFromColumnsJson, type StoredAuditEntry } from '../store/audit-rows.js';
import type { AuditBlinding } from './blinding.js';
import { verifyCheckpointSignature } from './checkpoint.js';
import { canonicalTextAt } from './entry-leaf.js';
import {
  CompactRange,
  HeadChecker,
  MerkleHasher,
  collectResult,
  fail,
  seqRange,
  truncated,
  type HexHash,
  type NodeSink,
  type VerifyKey,
  type VerifyProgress,
  type VerifyResult,
} from './log-verifier.js';
import { LOWEST_STORED_LEVEL, consistencyProofPlan } from './merkle-tree.js';
import { verifyConsistency } from './merkle-verify.js';

/**
 * `datapact audit verify` against the database: the whole log, streamed in `seq` order in keyset
 * pages (never the table in memory). Beyond what an export allows, it compares what the server
 * stored for itself: each entry's leaf hash, every stored interior node (level ≥ 4), and a consistency
 * proof built from those nodes between consecutive heads, as the proof API would serve it. The
 * first problem stops it and is named.
 */
export interface StoredLogOptions {
  readonly key: VerifyKey;
  /** The blinding key (secrets/audit-blinding.key): blinded entries cannot be hashed without it. */
  readonly blinding?: AuditBlinding;
  /** Entries read per query. Default 10,000. */
  readonly pageSize?: number;
  readonly onProgress?: VerifyProgress;
}

export function verifyStoredLog(audit: AuditRepository, options: StoredLogOptions): Promise<VerifyResult> {
  const run = new StoredLogRun(options.blinding === undefined ? audit : audit.withBlinding(options.blinding), options);
  return collectResult(performance.now(), () => run.run(), () => run.stats());
}

class StoredLogRun {
  private readonly hasher = new MerkleHasher();
  private readonly range = new CompactRange(this.hasher);
  private readonly nodes: StoredNodes;
  private readonly heads: HeadChecker;
  private readonly pageSize: number;

  constructor(
    private readonly audit: AuditRepository,
    private readonly options: StoredLogOptions,
  ) {
    this.nodes = new StoredNodes(audit);
    this.heads = new HeadChecker(options.key, 0, {
      source: 'the entries',
      range: (start, end) => `leaf indices ${start}..${end - 1} (${seqRange(start, end)})`,
    });
    this.pageSize = options.pageSize ?? 10_000;
  }

  stats() {
    return { from: 0, entries: this.range.size, heads: this.heads.count, lastGoodHead: this.heads.lastGood?.size };
  }

  async run(): Promise<void> {
    const total = await this.audit.treeSize();
    this.nodes.signedUpTo((await this.audit.latestHead())?.size ?? 0);
    for (const head of await this.audit.heads(0, 0)) await this.checkHead(head);
    for (let page = await this.audit.entriesAsJson(0, this.pageSize); page.length > 0; ) {
      await this.checkPage(page);
      this.options.onProgress?.(this.range.size, total);
      page = await this.audit.entriesAsJson(this.range.size, this.pageSize);
    }
    await this.checkNothingBeyond(this.range.size);
  }

  /** The page's entries in order, with the stored nodes they complete and the heads they reach. */
  private async checkPage(page: readonly string[]): Promise<void> {
    const start = this.range.size;
    const end = start + page.length;
    // Gaps are caught entry by entry below, before any node or head past them is needed.
    await this.nodes.load(start, end);
    const heads = await this.audit.heads(start + 1, end);
    let next = 0;
    for (const json of page) {
      this.range.append(this.checkedLeaf(json), this.nodes);
      while (heads[next]?.size === this.range.size) await this.checkHead(heads[next++]!);
    }
  }

  /** The next entry's leaf hash, recomputed from its columns and compared with the stored one. */
  private checkedLeaf(json: string): HexHash {
    const seq = this.range.size + 1;
    const { entry, stored } = this.read(json, seq);
    const at = { seq, leafIndex: seq - 1 };
    if (entry.seq !== seq) fail({ kind: 'missing-entry', ...at, message: `entry seq ${seq} is missing (the next stored entry is seq ${entry.seq})` });
    const leaf = this.leafOf(entry, seq);
    // A blinded entry's leaf hash is never stored: only its content, rehashed here, counts.
    if (entry.format === 2) return leaf;
    if (stored === null) fail({ kind: 'missing-hash', ...at, message: `entry seq ${seq} has no stored leaf hash` });
    if (leaf !== stored) fail({ kind: 'leaf-hash-mismatch', ...at, message: `entry seq ${seq}: its content does not match its leaf hash` });
    return leaf;
  }

  /** The row's entry and stored leaf hash; columns that are not what entryFromRow reads are not canonical. */
  private read(json: string, seq: number): { entry: StoredAuditEntry; stored: HexHash | null } {
    try {
      const { entry, leafHashHex } = entryFromColumnsJson(json);
      return { entry, stored: leafHashHex };
    } catch (error) {
      fail({ kind: 'not-canonical', seq, leafIndex: seq - 1, message: `entry seq ${seq} cannot be read: ${(error as Error).message}` });
    }
  }

  private leafOf(entry: StoredAuditEntry, seq: number): HexHash {
    let text: string;
    try {
      text = canonicalTextAt(entry, seq - 1, this.options.blinding);
    } catch (error) {
      fail({ kind: 'not-canonical', seq, leafIndex: seq - 1, message: `entry seq ${seq} cannot be encoded canonically: ${(error as Error).message}` });
    }
    return this.hasher.leafOfText(text);
  }

  /**
   * The head itself and the checkpoint signed with it (what GET /v1/audit/checkpoint serves), then
   * its consistency with the previous head by a proof from the stored nodes.
   */
  private async checkHead(head: StoredTreeHead): Promise<void> {
    const previous = this.heads.lastGood;
    this.heads.check(head, this.range);
    const { checkpoint } = head;
    if (checkpoint !== undefined && !verifyCheckpointSignature(this.options.key.publicKey, checkpoint.origin, head.size, head.root, checkpoint.signature)) {
      fail({
        kind: 'bad-signature', treeSize: head.size,
        message: `tree head ${head.size}: its checkpoint signature (origin ${checkpoint.origin}) does not verify with the given public key`,
      });
    }
    if (previous === undefined) return;
    const proof = await this.audit.run(consistencyProofPlan(previous.size, head.size));
    if (!verifyConsistency(previous.size, head.size, previous.root, head.root, proof)) {
      fail({
        kind: 'inconsistent-heads', treeSize: head.size, leafRange: [previous.size, head.size],
        message: `tree heads ${previous.size} and ${head.size}: the consistency proof built from the stored nodes does not verify`,
      });
    }
  }

  /** After the last entry: no head, and no stored node, may cover more entries than are present. */
  private async checkNothingBeyond(size: number): Promise<void> {
    const latest = await this.audit.latestHead();
    if (latest !== undefined && latest.size > size) truncated(size, latest.size);
    await this.nodes.checkNoneBeyond(size);
  }
}

/** One level's stored nodes for a page: all of them in one hex string, or (when some are missing) each on its own. */
interface LevelNodes {
  readonly lo: number;
  readonly dense: string | undefined;
  readonly sparse: readonly (HexHash | undefined)[];
}

const HEX_HASH_LENGTH = 64;

/**
 * The stored interior nodes that one page of leaves completes, read level by level (at level l,
 * leaves [start, end) complete nodes [⌊start/2^l⌋, ⌊end/2^l⌋)), and compared as the compact range
 * computes them.
 */
class StoredNodes implements NodeSink {
  private levels: LevelNodes[] = [];
  private signed = 0;

  constructor(private readonly audit: AuditRepository) {}

  async load(start: number, end: number): Promise<void> {
    this.levels = [];
    for (let level = LOWEST_STORED_LEVEL, p = 2 ** level; ; level++, p *= 2) {
      const lo = Math.floor(start / p);
      const hi = Math.floor(end / p);
      if (hi === lo) break; // and so at every level above
      this.levels[level] = await this.loadLevel(level, lo, hi);
    }
  }

  private async loadLevel(level: number, lo: number, hi: number): Promise<LevelNodes> {
    const { count, hex } = await this.audit.nodesAtHex(level, lo, hi);
    if (count === hi - lo && hex.length === count * HEX_HASH_LENGTH) return { lo, dense: hex, sparse: [] };
    // Some node is missing (or not 32 bytes): read them one by one, to name it.
    const sparse = new Array<HexHash | undefined>(hi - lo);
    for (const { idx, hash } of await this.audit.nodesAt(level, lo, hi)) sparse[idx - lo] = hash.toString('hex');
    return { lo, dense: undefined, sparse };
  }

  /**
   * Nodes over entries beyond the latest signed head may not be stored yet (entries appended in a
   * staff action's transaction get theirs when the server next signs): only those under a head must be.
   */
  signedUpTo(size: number): void {
    this.signed = size;
  }

  node(level: number, index: number, hash: HexHash): void {
    // Nodes below are never read (proofs fold them from their leaves): any stored from before migration 0020 are left aside.
    if (level < LOWEST_STORED_LEVEL) return;
    const row = this.levels[level];
    const at = index - (row?.lo ?? 0);
    const present = row?.dense !== undefined || row?.sparse[at] !== undefined;
    if (!present && (index + 1) * 2 ** level > this.signed) return;
    const same = row?.dense !== undefined ? row.dense.startsWith(hash, at * HEX_HASH_LENGTH) : row?.sparse[at] === hash;
    if (!same) this.fail(level, index, row?.dense !== undefined || row?.sparse[at] !== undefined);
  }

  private fail(level: number, index: number, stored: boolean): never {
    const first = index * 2 ** level;
    const end = first + 2 ** level;
    const where = `node (${level}, ${index}) over leaf indices ${first}..${end - 1} (${seqRange(first, end)})`;
    if (!stored) fail({ kind: 'missing-hash', leafRange: [first, end], message: `audit_nodes has no ${where}` });
    fail({ kind: 'node-mismatch', leafRange: [first, end], message: `stored ${where} does not match the hash recomputed from those entries` });
  }

  /**
   * Nodes are written in order, so a node past the last entry is left from entries that are gone.
   * One look per level at the first index that would cover leaf `size`.
   */
  async checkNoneBeyond(size: number): Promise<void> {
    for (let level = LOWEST_STORED_LEVEL, p = 2 ** level; level <= 52; level++, p *= 2) {
      const index = Math.floor(size / p);
      const [stray] = await this.audit.nodesAt(level, index, index + 1);
      if (stray !== undefined) {
        const end = (index + 1) * p;
        fail({
          kind: 'truncated', seq: size + 1, leafRange: [size, end],
          message: `the log ends at ${size} entries but audit_nodes holds node (${level}, ${index}) over leaf indices ${index * p}..${end - 1}: `
            + `entries from seq ${size + 1} are missing`,
        });
      }
      if (index === 0) return; // a node (l + 1, 0) is only written after (l, 0)
    }
  }
}
