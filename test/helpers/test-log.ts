import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { checkpointNote, signCheckpoint, verifierKey } from '../../src/audit/checkpoint.js';
import { leafHash } from '../../src/audit/merkle-hash.js';
import { appendLeavesSync, consistencyProofSync, MemorySubtreeStore, rootHashSync } from '../../src/audit/merkle-tree.js';

/** A log in memory with its own key: checkpoints and consistency proofs, to feed a witness. */
export class TestLog {
  private readonly tree = new MemorySubtreeStore();
  size = 0;

  constructor(
    readonly origin = 'log.example/audit',
    readonly keys: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ed25519'),
  ) {}

  get vkey(): string {
    return verifierKey(this.origin, this.keys.publicKey);
  }

  /** Appends `count` entries whose content starts with `tag` (two logs with other tags differ from there). */
  append(count: number, tag = 'entry'): this {
    const leaves = Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`${tag} ${this.size + i}`)));
    this.tree.put(appendLeavesSync(this.tree, this.size, leaves).writes);
    this.size += count;
    return this;
  }

  root(size = this.size): Buffer {
    return rootHashSync(this.tree, size);
  }

  checkpoint(size = this.size, root = this.root(size)): string {
    return checkpointNote(this.origin, size, root, this.keys.publicKey, signCheckpoint(this.keys.privateKey, this.origin, size, root));
  }

  proof(from: number, to = this.size): Buffer[] {
    return from === 0 ? [] : consistencyProofSync(this.tree, from, to);
  }

  /** An add-checkpoint body: `old`, the proof from it, a blank line, the checkpoint. */
  submission(old: number, size = this.size, proof = this.proof(old, size)): string {
    return `old ${old}\n${proof.map((hash) => `${hash.toString('base64')}\n`).join('')}\n${this.checkpoint(size)}`;
  }
}
