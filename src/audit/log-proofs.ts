import { BadRequest, NotFound } from '../domain/errors.js';
import type { AuditRepository, StoredTreeHead } from '../store/audit-repository.js';
import { consistencyProofPlan, inclusionProofPlan } from './merkle-tree.js';
import { NodeCache } from './node-cache.js';

/**
 * What an outsider may ask of the log without trusting the server: the latest signed head, and
 * proofs (RFC 9162 §2.1.3, §2.1.4) against sizes that a kept head has signed, so every answer can
 * be checked against a signature.
 */
export class LogProofs {
  private readonly nodes: NodeCache;

  constructor(private readonly audit: AuditRepository) {
    this.nodes = new NodeCache(audit);
  }

  async latestHead(): Promise<StoredTreeHead> {
    const head = await this.audit.latestHead();
    if (head === undefined) throw new NotFound('No tree head has been signed yet: the log is empty or its first batch is still being committed.');
    return head;
  }

  /** The audit path of leaf `index` in the tree of `size` leaves (default: the latest head's size). */
  async inclusion(index: number, size?: number): Promise<{ size: number; leafHash: Buffer; path: Buffer[] }> {
    const latest = await this.latestSize();
    const treeSize = size ?? latest;
    await this.requireSigned(treeSize, latest);
    if (index >= treeSize) throw new BadRequest('leaf_index_out_of_range', `leaf_index must be below tree_size (${treeSize}).`);
    return this.leafAndPath(index, treeSize);
  }

  /** Leaf `index`'s hash and audit path in the tree of `size` leaves; the caller has checked both against a signed head. */
  leafAndPath(index: number, size: number): Promise<{ size: number; leafHash: Buffer; path: Buffer[] }> {
    const path = inclusionProofPlan(index, size);
    // The leaf and its path in one plan: one round of reads.
    return this.nodes.run({
      reads: [{ level: 0, index }, ...path.reads],
      assemble: ([leafHash, ...nodes]) => ({ size, leafHash: leafHash!, path: path.assemble(nodes) }),
    }, size);
  }

  /** The proof that the tree of `from` leaves is a prefix of the tree of `to` leaves. */
  async consistency(from: number, to: number): Promise<Buffer[]> {
    if (from > to) throw new BadRequest('invalid_parameter', '`from` must not be larger than `to`.');
    const latest = await this.latestSize();
    await this.requireSigned(to, latest);
    if (from > 0) await this.requireSigned(from, latest);
    return this.nodes.run(consistencyProofPlan(from, to), to);
  }

  /** The latest signed head's size: all a proof needs of it (its signatures are not read for each proof). */
  private async latestSize(): Promise<number> {
    const size = await this.audit.latestHeadSize();
    if (size === undefined) return (await this.latestHead()).size; // none: latestHead says so
    return size;
  }

  /** Only sizes a kept head signed: a proof against any other size could not be checked against a signature. */
  private async requireSigned(size: number, latest: number): Promise<void> {
    if (size > latest) {
      throw new BadRequest('tree_size_not_signed', `The latest signed tree head has tree_size ${latest}; ask for a size up to it.`);
    }
    // The empty tree is the size-0 head every log starts from.
    if (size !== 0 && size !== latest && (await this.audit.heads(size, size)).length === 0) {
      throw new BadRequest('tree_size_not_signed', `No kept tree head signed tree_size ${size}; ask for the size of a signed head (the latest is ${latest}).`);
    }
  }
}
