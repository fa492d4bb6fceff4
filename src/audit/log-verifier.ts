import * as crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { EMPTY_TREE_HASH, HASH_SIZE } from './merkle-hash.js';
import { verifyTreeHead, type TreeHead } from './tree-head.js';

/**
 * The streaming core of `datapact audit verify` (issue 5): it takes the log's leaves in order and
 * keeps only a compact range, the hashes of the complete subtrees of the prefix seen so far (at
 * most ⌈log2 n⌉ of them), so a log of any length is checked in constant memory. At each signed
 * head's tree size it folds the range to a root and checks the head against it.
 *
 * The drivers feed it: stored-log-verifier.ts (the database, which also compares every stored leaf and
 * interior node) and export-verifier.ts (an export file, with no database). Everything here is
 * synchronous and allocation-light, since it runs once or twice per entry.
 */

// ---------------------------------------------------------------------------------------------
// Problems and results

export type ProblemKind =
  /** An entry's bytes (export) or columns (database) do not encode canonically. */
  | 'not-canonical'
  /** A sequence number is absent: `entry seq N is missing`. */
  | 'missing-entry'
  /** The database's leaf hash differs from the one recomputed from the entry (a changed byte, a swap). */
  | 'leaf-hash-mismatch'
  /** A complete subtree has no stored hash, or an entry no stored leaf hash. */
  | 'missing-hash'
  /** A stored interior node differs from the one recomputed from the leaves under it. */
  | 'node-mismatch'
  /** A head's signature does not verify with the given public key. */
  | 'bad-signature'
  /** A head names another signing key than the given one, or an export carries another public key. */
  | 'wrong-key'
  /** A head's root differs from the root recomputed from the entries. */
  | 'root-mismatch'
  /** Two consecutive heads are not consistent (RFC 9162 §2.1.4) by a proof from the stored nodes. */
  | 'inconsistent-heads'
  /** The log (or export) ends before a head's tree size, or before what it says it holds. */
  | 'truncated'
  /** An export's header or layout is wrong (not the format, heads out of range, extra lines). */
  | 'bad-export';

export interface VerifyProblem {
  readonly kind: ProblemKind;
  /** One line that names the place: a seq, a head's tree size, a line of the export. */
  readonly message: string;
  readonly seq?: number;
  readonly leafIndex?: number;
  readonly treeSize?: number;
  /** The export's line number (the header is line 1). */
  readonly line?: number;
  /** Leaf indices [start, end) that hold the problem (a bad node's, or the entries since the last good head). */
  readonly leafRange?: readonly [number, number];
}

export interface VerifyStats {
  /** Leaf index of the first entry checked. */
  readonly from: number;
  /** How many entries were checked (leaf indices [from, from + entries)). */
  readonly entries: number;
  /** How many heads were checked in full. */
  readonly heads: number;
  /** The largest tree size of a head that passed, if any: entries past it are covered by no signature. */
  readonly lastGoodHead: number | undefined;
  /** An export's largest head past its last entry, its signature checked (its root cannot be from the file). */
  readonly signedBeyond?: number | undefined;
  readonly seconds: number;
}

export type VerifyResult = (VerifyStats & { readonly ok: true }) | (VerifyStats & { readonly ok: false; readonly problem: VerifyProblem });

/** Thrown inside the verifiers at the first problem; the drivers turn it into a result. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(readonly problem: VerifyProblem) {
    super(problem.message);
  }
}

export function fail(problem: VerifyProblem): never {
  throw new ProblemError(problem);
}

/** Progress of a long run: entries done of the total expected. */
export type VerifyProgress = (done: number, total: number) => void;

/** The leaf range [start, end) as the seq numbers people see in the admin API: `seq 5..8`. */
export function seqRange(start: number, end: number): string {
  return end - start === 1 ? `seq ${start + 1}` : `seq ${start + 1}..${end}`;
}

// ---------------------------------------------------------------------------------------------
// Hashing

/**
 * A hash as 64 lowercase hex digits. Measured on the 2-core machine this was written on: SHA-256
 * of 65 bytes costs ~0.4 µs when `crypto.hash` returns hex and ~1.2 µs when it returns a Buffer
 * (each Buffer is its own ArrayBuffer for the allocator and the GC); a short string is also cheap
 * to keep and compare, and SQLite's hex() hands stored hashes over in the same form.
 */
export type HexHash = string;

const EMPTY_TREE_HEX: HexHash = EMPTY_TREE_HASH.toString('hex');

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object; older Node 20s fall back.
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;
const sha256Hex: (data: Uint8Array) => HexHash =
  typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * RFC 9162 hashes (the same bytes as merkle-hash.ts; the tests compare them), with their inputs
 * assembled in reused scratch buffers so that a call allocates nothing but its result.
 */
export class MerkleHasher {
  private readonly nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);
  private leafInput = Buffer.alloc(4096);

  /** SHA-256(0x01 || left || right). */
  node(left: HexHash, right: HexHash): HexHash {
    this.nodeInput.write(left, 1, 'hex');
    this.nodeInput.write(right, 1 + HASH_SIZE, 'hex');
    return sha256Hex(this.nodeInput);
  }

  /** SHA-256(0x00 || bytes). */
  leaf(bytes: Uint8Array): HexHash {
    this.reserve(bytes.length);
    this.leafInput.set(bytes, 1);
    return sha256Hex(this.leafInput.subarray(0, 1 + bytes.length));
  }

  /** SHA-256(0x00 || UTF-8 of text), without making the text's bytes separately. */
  leafOfText(text: string): HexHash {
    this.reserve(3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 code unit
    const length = this.leafInput.write(text, 1, 'utf8');
    return sha256Hex(this.leafInput.subarray(0, 1 + length));
  }

  private reserve(bytes: number): void {
    if (this.leafInput.length < 1 + bytes) this.leafInput = Buffer.alloc(2 * (1 + bytes));
    this.leafInput[0] = 0x00;
  }
}

// ---------------------------------------------------------------------------------------------
// The compact range

/** Hears of every interior node a leaf completes: level ≥ 1, covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeSink {
  node(level: number, index: number, hash: HexHash): void;
}

/** How many complete subtrees make up a prefix of `size` leaves (its binary ones). */
export function popcount(size: number): number {
  let count = 0;
  for (let n = size; n > 0; n = Math.floor(n / 2)) count += n % 2;
  return count;
}

/**
 * The complete subtrees of leaves [0, size), largest first: exactly `completeSubtrees(0, size)`
 * of merkle-tree.ts. Appending leaf `size` merges it with the smaller subtrees it completes, as a
 * binary counter carries; the root is the subtrees folded right to left (PlanBuilder.range).
 */
export class CompactRange {
  private readonly hashes: HexHash[];
  private count: number;

  /** Starts after `size` leaves whose complete subtrees (largest first) are `prefix`. */
  constructor(
    private readonly hasher: MerkleHasher,
    size = 0,
    prefix: readonly Uint8Array[] = [],
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`compact range: size ${size} is not a leaf count`);
    if (prefix.length !== popcount(size)) {
      throw new RangeError(`compact range: a prefix of ${size} leaves has ${popcount(size)} complete subtrees, got ${prefix.length} hashes`);
    }
    if (prefix.some((h) => h.length !== HASH_SIZE)) throw new RangeError(`compact range: hashes are ${HASH_SIZE} bytes`);
    this.hashes = prefix.map((h) => Buffer.from(h).toString('hex'));
    this.count = size;
  }

  get size(): number {
    return this.count;
  }

  /** Appends the next leaf; `sink` hears of each interior node it completes, lowest first. */
  append(leaf: HexHash, sink?: NodeSink): void {
    let hash = leaf;
    let index = this.count;
    let level = 0;
    // An odd index at this level has its left sibling on top of the stack.
    while (index % 2 === 1) {
      hash = this.hasher.node(this.hashes.pop() as HexHash, hash);
      index = (index - 1) / 2;
      level++;
      sink?.node(level, index, hash);
    }
    this.hashes.push(hash);
    this.count++;
  }

  /** The complete subtrees' hashes, largest first: with `size`, what a copy starts from. */
  subtrees(): Buffer[] {
    return this.hashes.map((hash) => Buffer.from(hash, 'hex'));
  }

  /** MTH of the leaves so far (the empty tree's hash for none). */
  root(): HexHash {
    const last = this.hashes.length - 1;
    if (last < 0) return EMPTY_TREE_HEX;
    let hash = this.hashes[last] as HexHash;
    for (let i = last - 1; i >= 0; i--) hash = this.hasher.node(this.hashes[i] as HexHash, hash);
    return hash;
  }
}

// ---------------------------------------------------------------------------------------------
// Heads

/** A signed head as kept (database) or exported, with the id of the key it names. */
export interface KeyedTreeHead extends TreeHead {
  readonly keyId: string;
}

export interface VerifyKey {
  readonly publicKey: KeyObject;
  /** Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo, as signing-key.ts computes it. */
  readonly keyId: string;
}

/** How a verifier names what it read, for messages. */
export interface SourceWords {
  /** What roots are recomputed from: `the entries`, `the export`. */
  readonly source: string;
  /** Leaf indices [start, end) as the reader will find them: `leaf indices 3..9 (seq 4..10)`, or lines of a file. */
  range(start: number, end: number): string;
  /** What stands for the leaves before the first one read, if any: `the header's prefix`. */
  readonly prefix?: string;
}

/**
 * Checks each head when the leaves reach its tree size: the signature, the key it names, and its
 * root against the compact range's. Remembers the last head that passed, so a root mismatch can
 * name the leaves that changed since.
 */
export class HeadChecker {
  private good: KeyedTreeHead | undefined;
  private checked = 0;

  constructor(
    private readonly key: VerifyKey,
    /** Where the stream started: before any head passes, changes are sought from here. */
    private readonly from: number,
    private readonly words: SourceWords,
  ) {}

  get lastGood(): KeyedTreeHead | undefined {
    return this.good;
  }

  get count(): number {
    return this.checked;
  }

  /** Checks `head` against the leaves so far (`range.size` must equal its tree size). */
  check(head: KeyedTreeHead, range: CompactRange): void {
    if (head.size !== range.size) throw new Error(`head of ${head.size} checked at ${range.size} leaves`);
    this.checkSignature(head);
    if (head.root.toString('hex') !== range.root()) this.rootMismatch(head);
    this.good = head;
    this.checked++;
  }

  /** The head's signature and the key it names, not its root: for a head past the leaves there are. */
  checkSignature(head: KeyedTreeHead): void {
    const at = `tree head ${head.size}`;
    if (!verifyTreeHead(head, this.key.publicKey)) {
      const other = head.keyId === this.key.keyId ? '' : ` (it names key ${short(head.keyId)}, the given key is ${short(this.key.keyId)})`;
      fail({ kind: 'bad-signature', treeSize: head.size, message: `${at}: the signature does not verify with the given public key${other}` });
    }
    if (head.keyId !== this.key.keyId) {
      fail({ kind: 'wrong-key', treeSize: head.size, message: `${at}: names key ${short(head.keyId)} but was signed by the given key ${short(this.key.keyId)}` });
    }
  }

  private rootMismatch(head: KeyedTreeHead): never {
    const since = this.good?.size ?? this.from;
    const prefix = this.good === undefined ? this.words.prefix : undefined;
    let where: string;
    if (since === head.size) where = `${prefix ?? 'the empty tree'} does not fold to it`;
    else {
      const what = `${this.words.range(since, head.size)}${prefix === undefined ? '' : ` or ${prefix}`}`;
      where = `something in ${what} changed ${this.good === undefined ? '(no earlier head narrows it down)' : `since the last good head (tree size ${since})`}`;
    }
    fail({
      kind: 'root-mismatch', treeSize: head.size, leafRange: [since, head.size],
      message: `tree head ${head.size}: its root_hash does not match the root recomputed from ${this.words.source}: ${where}`,
    });
  }
}

function short(keyId: string): string {
  return keyId.length > 16 ? `${keyId.slice(0, 16)}…` : keyId;
}

/** `the log ends at N entries but a head signed M`: what a head past the last entry means. */
export function truncated(present: number, head: number, what = 'the log'): never {
  fail({
    kind: 'truncated', treeSize: head, leafRange: [present, head], seq: present + 1,
    message: `${what} ends at ${present} entries but a head signed ${head}: entries from seq ${present + 1} are missing`,
  });
}

/** Runs a verifier body and turns its first problem into a result (anything else is a bug and rethrown). */
export async function collectResult(
  started: number,
  body: () => Promise<void>,
  stats: () => Omit<VerifyStats, 'seconds'>,
): Promise<VerifyResult> {
  try {
    await body();
    return { ok: true, ...stats(), seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    return { ok: false, problem: error.problem, ...stats(), seconds: (performance.now() - started) / 1000 };
  }
}
