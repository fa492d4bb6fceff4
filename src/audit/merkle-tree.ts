import { EMPTY_TREE_HASH, HASH_SIZE, nodeHash } from './merkle-hash.js';

/**
 * The audit log's Merkle tree (RFC 9162 §2.1) over stored complete subtrees.
 *
 * The store holds the hash of every complete subtree: node (0, i) is the hash of leaf i and node
 * (level + 1, i) = nodeHash(node(level, 2i), node(level, 2i + 1)), written as soon as both
 * children exist. Node (level, i) covers leaves [i·2^level, (i+1)·2^level) and never changes once
 * written, so the store only grows. Any range the RFC's recursion visits is a prefix of an aligned
 * block, so it splits into at most ⌈log2 n⌉ complete subtrees, read and folded right to left:
 *
 *   MTH(D[a:b]) = nodeHash(node for the largest power of two, MTH(rest)), ...
 *
 * That makes a root popcount(n) reads, an inclusion proof at most about 2·log2 n reads and a
 * consistency proof O(log n) reads.
 *
 * Every operation is a *plan*: which nodes it needs, which depends only on the sizes and indices,
 * and how to assemble the answer from them. The async functions fetch a plan's nodes from a
 * `SubtreeStore` (the database later, which may fetch them in one query); the `…Sync` functions
 * from a `SyncSubtreeStore` (in memory, for tests and benchmarks).
 */

/**
 * Nodes below this level are not stored since migration 0020: each is recomputed from at most
 * 2^(LOWEST_STORED_LEVEL - 1) = 8 leaves when a proof or the compact range needs it (an inclusion
 * proof's lowest siblings are all within one block of 16 leaves), which costs a proof tens of
 * microseconds and saves the log 7 of every 8 node rows. (Those stored before stay, unread.)
 */
export const LOWEST_STORED_LEVEL = 4;

export interface NodeRef {
  readonly level: number;
  readonly index: number;
}

export interface NodeWrite extends NodeRef {
  readonly hash: Buffer;
}

/** Where the complete subtree hashes live (the database will implement it). */
export interface SubtreeStore {
  getNode(level: number, index: number): Promise<Buffer | undefined>;
}

export interface SyncSubtreeStore {
  getNodeSync(level: number, index: number): Buffer | undefined;
}

/** The needed nodes of an operation, and how to compute its answer from them (in the same order). */
export interface MerklePlan<T> {
  readonly reads: readonly NodeRef[];
  assemble(nodes: readonly Buffer[]): T;
}

export interface AppendResult {
  readonly newSize: number;
  /** Every node that became complete, lowest level first: insert them with the entries. */
  readonly writes: NodeWrite[];
}

export class MissingNodeError extends Error {
  override readonly name = 'MissingNodeError';
  constructor(readonly level: number, readonly index: number) {
    super(`subtree store has no node (${level}, ${index})`);
  }
}

/** A synchronous in-memory store, dense per level. */
export class MemorySubtreeStore implements SubtreeStore, SyncSubtreeStore {
  private readonly levels: Buffer[][] = [];

  getNodeSync(level: number, index: number): Buffer | undefined {
    return this.levels[level]?.[index];
  }

  getNode(level: number, index: number): Promise<Buffer | undefined> {
    return Promise.resolve(this.getNodeSync(level, index));
  }

  /** Stores the writes of `appendLeaves`. A node, once written, never changes. */
  put(writes: readonly NodeWrite[]): void {
    for (const { level, index, hash } of writes) {
      const row = (this.levels[level] ??= []);
      const existing = row[index];
      if (existing !== undefined && !existing.equals(hash)) {
        throw new Error(`node (${level}, ${index}) is already stored with another hash`);
      }
      if (index > row.length) throw new Error(`node (${level}, ${index}) written before node (${level}, ${row.length})`);
      row[index] = hash;
    }
  }

  /** How many nodes are stored (about 2n for n leaves). */
  get nodeCount(): number {
    return this.levels.reduce((sum, row) => sum + row.length, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Plans

/** The nodes that appending `leafHashes` to a tree of `size` leaves needs, and the writes it makes. */
export function appendLeavesPlan(size: number, leafHashes: readonly Buffer[]): MerklePlan<AppendResult> {
  checkSize(size, 'size');
  for (const h of leafHashes) checkHash(h);
  const newSize = size + leafHashes.length;
  checkSize(newSize, 'size + leaves');

  // At level l the complete nodes are [0, floor(size / 2^l)); the new ones [lo, hi).
  // The first new parent at level l + 1 needs a stored left child when lo is odd.
  const reads: NodeRef[] = [];
  for (let level = 0, p = 1; ; level++, p *= 2) {
    const lo = Math.floor(size / p);
    const parentsBefore = Math.floor(size / (2 * p));
    const parentsAfter = Math.floor(newSize / (2 * p));
    if (parentsAfter === parentsBefore) break;
    if (lo % 2 === 1) reads.push({ level, index: lo - 1 });
  }

  return {
    reads,
    assemble(nodes) {
      const stored = new Map<number, Buffer>();
      reads.forEach((ref, i) => stored.set(ref.level, nodeAt(nodes, i)));
      const writes: NodeWrite[] = [];
      let current: Buffer[] = [...leafHashes];
      for (let level = 0, p = 1; current.length > 0; level++, p *= 2) {
        const lo = Math.floor(size / p);
        current.forEach((hash, i) => writes.push({ level, index: lo + i, hash }));
        const parentLo = Math.floor(size / (2 * p));
        const parentHi = Math.floor(newSize / (2 * p));
        const child = (index: number): Buffer => {
          if (index >= lo) return current[index - lo] as Buffer;
          const hash = stored.get(level);
          if (hash === undefined) throw new Error(`append plan: no stored node (${level}, ${index})`);
          return hash;
        };
        const parents: Buffer[] = [];
        for (let j = parentLo; j < parentHi; j++) parents.push(nodeHash(child(2 * j), child(2 * j + 1)));
        current = parents;
      }
      return { newSize, writes };
    },
  };
}

/** RFC 9162 §2.1.1 MTH(D[0:size]). */
export function rootHashPlan(size: number): MerklePlan<Buffer> {
  checkSize(size, 'size');
  if (size === 0) return { reads: [], assemble: () => Buffer.from(EMPTY_TREE_HASH) };
  const plan = new PlanBuilder();
  const root = plan.range(0, size);
  return plan.buildOne(root);
}

/** RFC 9162 §2.1.3.1 PATH(index, D[0:size]): the audit path, lowest sibling first. */
export function inclusionProofPlan(index: number, size: number): MerklePlan<Buffer[]> {
  checkSize(size, 'size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`inclusion proof: index ${index} is not in a tree of size ${size}`);
  }
  const plan = new PlanBuilder();
  let a = 0;
  let b = size;
  while (b - a > 1) {
    const k = largestPowerOfTwoBelow(b - a);
    if (index < a + k) {
      plan.range(a + k, b); // PATH(m, D[0:k]) : MTH(D[k:n])
      b = a + k;
    } else {
      plan.range(a, a + k); // PATH(m - k, D[k:n]) : MTH(D[0:k])
      a = a + k;
    }
  }
  return plan.buildBottomUp();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). Empty when m = n, and when
 * m = 0 (the empty tree is a prefix of every tree; the RFC defines proofs for 0 < m < n).
 */
export function consistencyProofPlan(m: number, n: number): MerklePlan<Buffer[]> {
  checkSize(n, 'n');
  if (!Number.isSafeInteger(m) || m < 0 || m > n) {
    throw new RangeError(`consistency proof: m = ${m} is not a size between 0 and ${n}`);
  }
  const plan = new PlanBuilder();
  if (m === 0 || m === n) return plan.buildBottomUp();
  let a = 0;
  let b = n;
  let startFromOldRoot = true;
  for (;;) {
    if (m === b) {
      // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}, the proof's first hash
      if (!startFromOldRoot) return plan.buildBottomUp(plan.range(a, b));
      return plan.buildBottomUp();
    }
    const k = largestPowerOfTwoBelow(b - a);
    if (m <= a + k) {
      plan.range(a + k, b); // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      b = a + k;
    } else {
      plan.range(a, a + k); // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      a = a + k;
      startFromOldRoot = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running plans

export async function runPlan<T>(store: SubtreeStore, plan: MerklePlan<T>): Promise<T> {
  const nodes = await Promise.all(plan.reads.map(async ({ level, index }) => required(await store.getNode(level, index), level, index)));
  return plan.assemble(nodes);
}

export function runPlanSync<T>(store: SyncSubtreeStore, plan: MerklePlan<T>): T {
  return plan.assemble(plan.reads.map(({ level, index }) => required(store.getNodeSync(level, index), level, index)));
}

/**
 * Appends leaves to a tree of `size` leaves. Reads at most one stored node per level and writes
 * nothing: the returned writes (the new leaves and every subtree they complete) go into the
 * store in the same transaction as the entries.
 */
export function appendLeaves(store: SubtreeStore, size: number, leafHashes: readonly Buffer[]): Promise<AppendResult> {
  return runPlan(store, appendLeavesPlan(size, leafHashes));
}

export function rootHash(store: SubtreeStore, size: number): Promise<Buffer> {
  return runPlan(store, rootHashPlan(size));
}

export function inclusionProof(store: SubtreeStore, index: number, size: number): Promise<Buffer[]> {
  return runPlan(store, inclusionProofPlan(index, size));
}

export function consistencyProof(store: SubtreeStore, m: number, n: number): Promise<Buffer[]> {
  return runPlan(store, consistencyProofPlan(m, n));
}

export function appendLeavesSync(store: SyncSubtreeStore, size: number, leafHashes: readonly Buffer[]): AppendResult {
  return runPlanSync(store, appendLeavesPlan(size, leafHashes));
}

export function rootHashSync(store: SyncSubtreeStore, size: number): Buffer {
  return runPlanSync(store, rootHashPlan(size));
}

export function inclusionProofSync(store: SyncSubtreeStore, index: number, size: number): Buffer[] {
  return runPlanSync(store, inclusionProofPlan(index, size));
}

export function consistencyProofSync(store: SyncSubtreeStore, m: number, n: number): Buffer[] {
  return runPlanSync(store, consistencyProofPlan(m, n));
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The largest power of two strictly less than n (n ≥ 2): the RFC's split point k. */
export function largestPowerOfTwoBelow(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`no power of two below ${n} is a split point`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that make up leaves [start, end), largest first. Valid for the ranges the
 * RFC's recursion visits: `start` is a multiple of a power of two ≥ end - start.
 */
export function completeSubtrees(start: number, end: number): NodeRef[] {
  return pushCompleteSubtrees(start, end, []);
}

/** completeSubtrees(start, end) pushed onto `refs`. */
function pushCompleteSubtrees(start: number, end: number, refs: NodeRef[]): NodeRef[] {
  let remaining = end - start;
  let p = 1;
  let level = 0;
  while (p * 2 <= remaining) {
    p *= 2;
    level++;
  }
  let position = start;
  for (; remaining > 0; p /= 2, level--) {
    if (remaining < p) continue;
    if (position % p !== 0) throw new Error(`range [${start}, ${end}) is not aligned`);
    refs.push({ level, index: position / p });
    position += p;
    remaining -= p;
  }
  return refs;
}

/**
 * Builds a plan of ranges, each MTH(D[start:end]) over its complete subtrees, kept as numbers (where
 * its reads start, how many): a proof's plan is made per request, and a closure and arrays per range
 * were most of what making one allocated.
 */
class PlanBuilder {
  private readonly reads: NodeRef[] = [];
  /** Per range: the index of its first read, then its number of reads. */
  private readonly ranges: number[] = [];

  /** Adds MTH(D[start:end]) from the complete subtrees of the range (folded right to left); returns its number. */
  range(start: number, end: number): number {
    const first = this.reads.length;
    pushCompleteSubtrees(start, end, this.reads);
    this.ranges.push(first, this.reads.length - first);
    return this.ranges.length / 2 - 1;
  }

  /** A plan whose answer is `first`'s hash (when given), then every other range's, last added first. */
  buildBottomUp(first?: number): MerklePlan<Buffer[]> {
    const { reads, ranges } = this;
    return {
      reads,
      assemble: (nodes) => {
        checked(nodes, reads.length);
        const hashes: Buffer[] = [];
        if (first !== undefined) hashes.push(fold(nodes, ranges[2 * first]!, ranges[2 * first + 1]!));
        for (let r = ranges.length / 2 - 1; r >= 0; r--) if (r !== first) hashes.push(fold(nodes, ranges[2 * r]!, ranges[2 * r + 1]!));
        return hashes;
      },
    };
  }

  /** A plan whose answer is the one range's hash. */
  buildOne(range: number): MerklePlan<Buffer> {
    const { reads, ranges } = this;
    return { reads, assemble: (nodes) => fold(checked(nodes, reads.length), ranges[2 * range]!, ranges[2 * range + 1]!) };
  }
}

/** MTH of a range from its `count` complete subtrees at nodes[first] on, largest first: folded right to left. */
function fold(nodes: readonly Buffer[], first: number, count: number): Buffer {
  let hash = nodeAt(nodes, first + count - 1);
  for (let i = first + count - 2; i >= first; i--) hash = nodeHash(nodeAt(nodes, i), hash);
  return hash;
}

function checked(nodes: readonly Buffer[], expected: number): readonly Buffer[] {
  if (nodes.length !== expected) throw new Error(`plan needs ${expected} nodes, got ${nodes.length}`);
  return nodes;
}

function nodeAt(nodes: readonly Buffer[], i: number): Buffer {
  const node = nodes[i];
  if (node === undefined) throw new Error(`plan: node ${i} missing`);
  return node;
}

function required(node: Buffer | undefined, level: number, index: number): Buffer {
  if (node === undefined) throw new MissingNodeError(level, index);
  if (node.length !== HASH_SIZE) throw new Error(`node (${level}, ${index}) is ${node.length} bytes, not ${HASH_SIZE}`);
  return node;
}

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${size}`);
}

function checkHash(hash: Buffer): void {
  if (hash.length !== HASH_SIZE) throw new RangeError(`a leaf hash is ${HASH_SIZE} bytes, got ${hash.length}`);
}
