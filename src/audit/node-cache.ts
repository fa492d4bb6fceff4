import { HASH_SIZE } from './merkle-hash.js';
import type { MerklePlan, NodeRef } from './merkle-tree.js';

/** Where the cache reads the tree from (AuditRepository's proof reads). */
export interface NodeSource {
  /** These nodes' hashes, in order (those below the stored levels recomputed from their leaves). */
  nodes(refs: readonly NodeRef[]): Promise<Buffer[]>;
  /** The stored nodes (level, from) to (level, to - 1), their hashes concatenated in idx order; throws when one is missing. */
  nodeRun(level: number, from: number, to: number): Promise<Buffer>;
}

/**
 * Nodes per read when a level is loaded, the thread given back between reads: on SQLite a read holds
 * the thread, and at level 8 each node is a page read of its own (tens of µs on a loaded machine).
 */
const RUN_LENGTH = 1024;

/**
 * The upper levels of the audit tree, kept in memory for proofs: every node at `minLevel` and above
 * of the largest tree a proof was asked against, as one flat Buffer per level (node i at i·32).
 * They are n / 2^(minLevel - 1) nodes, 32 bytes each (n/4 bytes at the default level 8: 2.5 MB at
 * 10M entries, 25 MB at 100M) and most of every proof's reads; a proof reads only the levels below
 * from the store. A stored node never changes once written, so a cached one is never stale.
 *
 * The levels are loaded as proofs ask for larger trees, a run of nodes per level (all of them from the
 * first proof on), never one object per node: a scavenge has next to nothing of the cache to copy. The
 * load runs beside the proofs, which read the nodes it has not reached yet from the store: the nodes
 * at level 8 are scattered through audit_nodes (a page read each), and loading them takes seconds at
 * 10M entries on a loaded machine.
 * The nodes below `minLevel` in the tree's last, incomplete block of 2^minLevel leaves (the right
 * edge every proof at that size reads, some of them folded from leaves) are kept too until the
 * block is complete: at most 2^(minLevel + 1) of them.
 */
export class NodeCache {
  /** levels[l - minLevel]: the nodes (l, 0) .. (l, count - 1). */
  private readonly levels: { hashes: Buffer; count: number }[] = [];
  /** The largest tree a load was started for. */
  private target = 0;
  private loading: Promise<void> = Promise.resolve();
  /** Nodes below minLevel in the block from `edgeStart` (a leaf index) on, by `edgeKey`. */
  private readonly edge = new Map<number, Buffer>();
  private edgeStart = 0;

  constructor(
    private readonly source: NodeSource,
    private readonly minLevel = 8,
  ) {}

  /** Runs a plan over the tree of `size` leaves (a plan reads only complete subtrees of it). */
  async run<T>(plan: MerklePlan<T>, size: number): Promise<T> {
    if (size > this.target) this.cover(size);
    const found: Buffer[] = [];
    let missing: NodeRef[] | undefined;
    for (const ref of plan.reads) {
      const hash = ref.level >= this.minLevel ? this.upper(ref) : this.edge.get(edgeKey(ref));
      if (hash === undefined) (missing ??= []).push(ref);
      found.push(hash!);
    }
    if (missing !== undefined) {
      const fetched = await this.source.nodes(missing);
      let next = 0;
      for (let i = 0; i < found.length; i++) {
        if (found[i] !== undefined) continue;
        const ref = plan.reads[i]!;
        found[i] = fetched[next++]!;
        if (ref.level < this.minLevel && (ref.index + 1) * 2 ** ref.level > this.edgeStart) this.edge.set(edgeKey(ref), found[i]!);
      }
    }
    return plan.assemble(found);
  }

  /** Settles when the loads started so far are done (tests). */
  ready(): Promise<void> {
    return this.loading;
  }

  private upper(ref: NodeRef): Buffer | undefined {
    const level = this.levels[ref.level - this.minLevel];
    if (level === undefined || ref.index >= level.count) return undefined;
    return level.hashes.subarray(ref.index * HASH_SIZE, (ref.index + 1) * HASH_SIZE);
  }

  /**
   * Starts loading every level's nodes up to the tree of `size` leaves: one load at a time, each from
   * where the last stopped. A load that fails (a node missing) is tried again by the next larger tree;
   * the proofs meanwhile read from the store, and fail there.
   */
  private cover(size: number): void {
    this.target = size;
    const blockStart = Math.floor(size / 2 ** this.minLevel) * 2 ** this.minLevel;
    if (blockStart > this.edgeStart) {
      this.edge.clear();
      this.edgeStart = blockStart;
    }
    this.loading = this.loading.then(() => this.extend(size)).catch(() => {
      this.target = Math.min(this.target, size - 1);
    });
  }

  private async extend(size: number): Promise<void> {
    for (let level = this.minLevel; 2 ** level <= size; level++) {
      const slot = (this.levels[level - this.minLevel] ??= { hashes: Buffer.alloc(0), count: 0 });
      const count = Math.floor(size / 2 ** level);
      for (let from = slot.count; from < count; from += RUN_LENGTH) {
        const run = await this.source.nodeRun(level, from, Math.min(count, from + RUN_LENGTH));
        append(slot, run);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}

/** Appends a run of nodes to a level, growing its Buffer by half again when full (few copies as the log grows). */
function append(slot: { hashes: Buffer; count: number }, run: Buffer): void {
  const used = slot.count * HASH_SIZE;
  if (used + run.length > slot.hashes.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(used + run.length, Math.ceil(slot.hashes.length * 1.5)));
    slot.hashes.copy(grown, 0, 0, used);
    slot.hashes = grown;
  }
  run.copy(slot.hashes, used);
  slot.count += run.length / HASH_SIZE;
}

function edgeKey(ref: NodeRef): number {
  return ref.index * 64 + ref.level;
}
