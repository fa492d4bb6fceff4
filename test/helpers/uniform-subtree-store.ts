import { leafHash, nodeHash } from '../../src/audit/merkle-hash.js';
import type { SubtreeStore, SyncSubtreeStore } from '../../src/audit/merkle-tree.js';

/**
 * A synthetic tree of `size` equal leaves: node (l, i) = H_l for every complete subtree, so the
 * store is a real, consistent tree of any size without building it. It refuses reads of
 * incomplete subtrees and counts the rest (tests of read counts, the proof benchmark).
 */
export class UniformStore implements SyncSubtreeStore, SubtreeStore {
  reads = 0;
  private readonly byLevel: Buffer[] = [leafHash(Buffer.from('same'))];
  constructor(readonly size: number) {
    for (let l = 1; 2 ** l <= size; l++) {
      const below = this.byLevel[l - 1] as Buffer;
      this.byLevel.push(nodeHash(below, below));
    }
  }
  getNodeSync(level: number, index: number): Buffer | undefined {
    this.reads++;
    return (index + 1) * 2 ** level <= this.size ? this.byLevel[level] : undefined;
  }
  getNode(level: number, index: number): Promise<Buffer | undefined> {
    return Promise.resolve(this.getNodeSync(level, index));
  }
}
