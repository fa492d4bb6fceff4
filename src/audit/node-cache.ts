import type { MerklePlan, NodeRef } from './merkle-tree.js';

/** Reads a plan's nodes from the store, in the plan's order. */
export type NodeFetch = (refs: readonly NodeRef[]) => Promise<Buffer[]>;

/**
 * The upper levels of the audit tree, kept in memory for proofs. A stored node never changes once
 * written, so a cached one is never stale; and the nodes at `minLevel` and above are few (n / 2^minLevel)
 * yet make up most of every proof's reads, so a proof reads only its lowest levels from the database.
 */
export class NodeCache {
  private readonly nodes = new Map<string, Buffer>();

  constructor(
    private readonly fetch: NodeFetch,
    private readonly minLevel = 8,
    private readonly capacity = 200_000,
  ) {}

  async run<T>(plan: MerklePlan<T>): Promise<T> {
    const found: (Buffer | undefined)[] = plan.reads.map((ref) => this.nodes.get(key(ref)));
    const missing = plan.reads.filter((_, i) => found[i] === undefined);
    const fetched = missing.length === 0 ? [] : await this.fetch(missing);
    let next = 0;
    const nodes = found.map((node, i) => {
      if (node !== undefined) return node;
      const read = fetched[next++]!;
      this.remember(plan.reads[i]!, read);
      return read;
    });
    return plan.assemble(nodes);
  }

  private remember(ref: NodeRef, hash: Buffer): void {
    if (ref.level < this.minLevel || this.nodes.size >= this.capacity) return;
    this.nodes.set(key(ref), hash);
  }
}

function key(ref: NodeRef): string {
  return `${ref.level}:${ref.index}`;
}
