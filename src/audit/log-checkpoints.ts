import type { KeyObject } from 'node:crypto';
import { NotFound } from '../domain/errors.js';
import type { AuditRepository, StoredTreeHead } from '../store/audit-repository.js';
import { checkpointBody, checkpointNote, verifierKey } from './checkpoint.js';
import type { CheckpointLog, Cosignature, CosignatureStore, SignedCheckpoint } from './checkpoint-witnessing.js';
import { LogProofs } from './log-proofs.js';
import type { AuditSigningKey } from './signing-key.js';

/**
 * The audit log's checkpoints (C2SP tlog-checkpoint) from its kept heads: the note with the
 * signature the log made as it signed the head (nothing is signed here), and with the
 * cosignatures witnesses gave for that size. Heads signed before checkpoints were (migration
 * 0022) have no checkpoint, except the latest at the upgrade (AuditLog.start).
 */

export interface CheckpointView {
  readonly head: StoredTreeHead;
  /** Undefined for a head signed before checkpoints were. */
  readonly note: string | undefined;
  readonly cosignatures: readonly Cosignature[];
  readonly quorum: number;
  /** Fewer cosignatures than the quorum. */
  readonly underQuorum: boolean;
}

export class LogCheckpoints implements CheckpointLog {
  /** The log's proofs: one node cache (log-proofs.ts) for every route of the server that serves them. */
  readonly proofs: LogProofs;

  constructor(
    private readonly audit: AuditRepository,
    private readonly cosignatures: CosignatureStore,
    readonly origin: string,
    private readonly key: Pick<AuditSigningKey, 'publicKey'>,
    /** The witnesses' verifier keys whose cosignatures count, and how many a head needs. */
    readonly witnessKeys: readonly string[] = [],
    readonly quorum = 0,
  ) {
    this.proofs = new LogProofs(audit);
  }

  /** The key the log's heads and checkpoints are signed with. */
  get publicKey(): KeyObject {
    return this.key.publicKey;
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
    const note = head === undefined ? undefined : this.noteOf(head);
    if (head === undefined || note === undefined) return undefined;
    return { size: head.size, root: head.root, note };
  }

  consistencyProof(from: number, to: number): Promise<Buffer[]> {
    return from === 0 ? Promise.resolve([]) : this.proofs.consistency(from, to);
  }

  /** The latest head's checkpoint with its cosignatures (NotFound while no head is signed). */
  async latestView(): Promise<CheckpointView & { note: string }> {
    const [view] = await this.views([await this.proofs.latestHead()]);
    const { note } = view!;
    if (note === undefined) throw new NotFound('The latest tree head was signed before the log signed checkpoints: the next head will have one.');
    return { ...view!, note };
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

  /** The note as signed with the head: its stored origin and signature, byte for byte. */
  private noteOf(head: StoredTreeHead, cosignatureLines: readonly string[] = []): string | undefined {
    const { checkpoint } = head;
    if (checkpoint === undefined) return undefined;
    return checkpointNote(checkpoint.origin, head.size, head.root, this.key.publicKey, checkpoint.signature, cosignatureLines);
  }
}
