import type { KeyObject } from 'node:crypto';
import type { AuditRepository } from '../store/audit-repository.js';
import { checkpointBody, verifierKey, verifyCheckpointSignature } from './checkpoint.js';
import { validCosignatures, type CosignatureStore } from './checkpoint-witnessing.js';
import { verifyTreeHead } from './tree-head.js';

/**
 * The latest signed tree head as a report states it (the regulator's pack, PRODUCT.md §6, §8):
 * checked when the report is written with the log's public key (the head's signature and its
 * checkpoint's), against the entries the log holds, and with the cosignatures of the configured
 * witnesses that verify over its checkpoint. It states what it found; it does not throw on a bad head.
 */

export interface LatestHeadCheckOptions {
  readonly publicKey: KeyObject;
  /** The checkpoints' origin line as configured (a head's own checkpoint names the origin it was signed under). */
  readonly origin: string;
  /** The witnesses' cosignature/v1 verifier keys, and how many cosignatures a head needs. */
  readonly witnessKeys: readonly string[];
  readonly quorum: number;
}

export interface WitnessCosignature {
  /** The witness's name (its verifier key's first part). */
  readonly witness: string;
  readonly verifier_key: string;
  readonly cosigned_at: string;
}

export interface LatestHeadCheck {
  /** The log's signed-note verifier key: what auditors and witnesses configure to trust it. */
  readonly verifier_key: string;
  /** Entries the log holds now (entries after the head wait for the next one). */
  readonly entries: number;
  /** Null while no head is signed. */
  readonly head: {
    readonly tree_size: number;
    /** Standard base64 of the 32-byte RFC 9162 root. */
    readonly root_hash: string;
    readonly signed_at: string;
    readonly origin: string;
    /** The tree head's Ed25519 signature verifies with the log's public key. */
    readonly signature_valid: boolean;
    /** The C2SP checkpoint's signature verifies; null for a head signed before checkpoints were. */
    readonly checkpoint_signature_valid: boolean | null;
    /** Signatures valid and the log still holds every entry the head covers. */
    readonly verified: boolean;
  } | null;
  readonly witnesses: {
    readonly configured: number;
    readonly quorum: number;
    /** The configured witnesses whose cosignature over the head verifies. */
    readonly cosignatures: readonly WitnessCosignature[];
    readonly under_quorum: boolean;
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

export async function checkLatestHead(
  audit: AuditRepository, cosignatures: Pick<CosignatureStore, 'forSizes'>, options: LatestHeadCheckOptions,
): Promise<LatestHeadCheck> {
  const [head, entries] = await Promise.all([audit.latestHead(), audit.treeSize()]);
  const witnesses = { configured: options.witnessKeys.length, quorum: options.quorum };
  // The log's name is the origin its heads were signed under, whatever this process was configured with.
  const origin = head?.checkpoint?.origin ?? options.origin;
  const base = { verifier_key: verifierKey(origin, options.publicKey), entries };
  if (head === undefined) return { ...base, head: null, witnesses: { ...witnesses, cosignatures: [], under_quorum: options.quorum > 0 } };

  const signatureValid = verifyTreeHead(head, options.publicKey);
  const checkpointValid = head.checkpoint === undefined
    ? null
    : verifyCheckpointSignature(options.publicKey, origin, head.size, head.root, head.checkpoint.signature);
  const stored = (await cosignatures.forSizes([head.size])).get(head.size) ?? [];
  const valid = new Set(validCosignatures(checkpointBody(origin, head.size, head.root), stored.map((c) => c.signatureLine), options.witnessKeys));
  const cosigned = options.witnessKeys.filter((vkey) => valid.has(vkey)).map((vkey) => ({
    witness: vkey.split('+')[0]!,
    verifier_key: vkey,
    cosigned_at: iso((stored.find((c) => c.witness === vkey)?.cosignedAt ?? 0) * 1000),
  }));
  return {
    ...base,
    head: {
      tree_size: head.size,
      root_hash: head.root.toString('base64'),
      signed_at: iso(head.timestamp),
      origin,
      signature_valid: signatureValid,
      checkpoint_signature_valid: checkpointValid,
      verified: signatureValid && checkpointValid !== false && entries >= head.size,
    },
    witnesses: { ...witnesses, cosignatures: cosigned, under_quorum: cosigned.length < options.quorum },
  };
}
