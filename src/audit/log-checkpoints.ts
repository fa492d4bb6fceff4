import type { AuditRepository, StoredTreeHead } from '../store/audit-repository.js';
import { checkpointBody, checkpointNote, signCheckpoint, verifierKey } from './checkpoint.js';
import type { CheckpointLog, Cosignature, CosignatureStore, SignedCheckpoint } from './checkpoint-witnessing.js';
import { LogProofs } from './log-proofs.js';
import type { AuditSigningKey } from './signing-key.js';
import { verifyTreeHead } from './tree-head.js';

/**
 * The audit log's checkpoints (C2SP tlog-checkpoint) from its kept heads: the note with the log's
 * signature, and with the cosignatures witnesses gave for that size.
 */

/** How a kept head yields the log's checkpoint signature over (origin, size, root). */
export type CheckpointSignatureOf = (head: StoredTreeHead) => Buffer;

/** Heads whose `signature` column is the checkpoint signature (`signCheckpoint`, made as the head is signed). */
export const storedCheckpointSignature: CheckpointSignatureOf = (head) => head.signature;

/**
 * Heads signed in the datapact-tree-head-v1 format (before checkpoints were signed with heads):
 * the head's signature is checked with the log's key first, and only then is the checkpoint of
 * the same size and root signed, so nothing the log did not sign as a head gets a checkpoint
 * signature. Ed25519 is deterministic: the same head always gives the same note.
 */
export function checkpointSignatureFromSignedHead(key: AuditSigningKey, origin: string): CheckpointSignatureOf {
  let last: { size: number; signature: Buffer } | undefined;
  return (head) => {
    if (last?.size === head.size) return last.signature;
    if (!verifyTreeHead(head, key.publicKey)) throw new Error(`tree head ${head.size} does not verify with the log's key: no checkpoint is signed for it`);
    last = { size: head.size, signature: signCheckpoint(key.privateKey, origin, head.size, head.root) };
    return last.signature;
  };
}

/** The default origin: the public URL's host (and port) and `/audit`, e.g. `datapact.example/audit`. */
export function defaultLogOrigin(publicUrl: string): string {
  return `${new URL(publicUrl).host}/audit`;
}

export interface CheckpointView {
  readonly head: StoredTreeHead;
  readonly note: string;
  readonly cosignatures: readonly Cosignature[];
  readonly quorum: number;
  /** Fewer cosignatures than the quorum. */
  readonly underQuorum: boolean;
}

export class LogCheckpoints implements CheckpointLog {
  private readonly proofs: LogProofs;

  constructor(
    private readonly audit: AuditRepository,
    private readonly cosignatures: CosignatureStore,
    readonly origin: string,
    private readonly key: Pick<AuditSigningKey, 'publicKey'>,
    private readonly signatureOf: CheckpointSignatureOf,
    /** The witnesses' verifier keys whose cosignatures count, and how many a head needs. */
    readonly witnessKeys: readonly string[] = [],
    readonly quorum = 0,
  ) {
    this.proofs = new LogProofs(audit);
  }

  /** The log's verifier key: what witnesses and auditors configure to trust its checkpoints. */
  get verifierKey(): string {
    return verifierKey(this.origin, this.key.publicKey);
  }

  body(head: StoredTreeHead): string {
    return checkpointBody(this.origin, head.size, head.root);
  }

  async latest(): Promise<SignedCheckpoint | undefined> {
    const head = await this.audit.latestHead();
    if (head === undefined) return undefined;
    return { size: head.size, root: head.root, note: this.noteOf(head) };
  }

  consistencyProof(from: number, to: number): Promise<Buffer[]> {
    return from === 0 ? Promise.resolve([]) : this.proofs.consistency(from, to);
  }

  /** The latest head's checkpoint with its cosignatures (NotFound while no head is signed). */
  async latestView(): Promise<CheckpointView> {
    const [view] = await this.views([await this.proofs.latestHead()]);
    return view!;
  }

  /** Each head's checkpoint and cosignatures (those of the configured witnesses, over that head's root). */
  async views(heads: readonly StoredTreeHead[]): Promise<CheckpointView[]> {
    const stored = await this.cosignatures.forSizes(heads.map((head) => head.size));
    return heads.map((head) => {
      const cosignatures = (stored.get(head.size) ?? [])
        .filter((c) => c.rootHash.equals(head.root) && (this.witnessKeys.length === 0 || this.witnessKeys.includes(c.witness)));
      return {
        head,
        note: this.noteOf(head, cosignatures.map((c) => c.signatureLine)),
        cosignatures,
        quorum: this.quorum,
        underQuorum: cosignatures.length < this.quorum,
      };
    });
  }

  private noteOf(head: StoredTreeHead, cosignatureLines: readonly string[] = []): string {
    return checkpointNote(this.origin, head.size, head.root, this.key.publicKey, this.signatureOf(head), cosignatureLines);
  }
}
