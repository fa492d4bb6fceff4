import { createHash, hash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../store/secret-files.js';

/** Bytes of blinding per entry (PRODUCT.md §8): enough that no entry can be tested by guessing. */
export const BLIND_SIZE = 16;
const BLIND_DOMAIN = Buffer.from('datapact-audit-blind/v1', 'ascii');
const TOKEN_MEMBER_DOMAIN = Buffer.from('datapact-audit-token-member/v1\n', 'ascii');

export const AUDIT_BLINDING_KEY_FILE = 'audit-blinding.key';

/**
 * The secret that blinds the audit log's entries (issue 11, point 0). Each entry's blinding is a
 * keyed commitment to its leaf index, HMAC-SHA256(key, domain || index as 8 bytes BE) cut to 16
 * bytes: nothing is stored beside the entry, every server with the key derives the same value, and
 * without the key nobody can recompute a leaf hash from what they know of the entry.
 */
export class AuditBlinding {
  /** HMAC's two padded key blocks (RFC 2104), with room after them for the message and the inner digest. */
  private readonly inner: Buffer;
  private readonly outer: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the audit blinding key is at least 32 bytes');
    // Every entry appended or proved is blinded: one-shot hashes over key blocks padded once cost about
    // half of createHmac, which builds an object and pads the key again per entry.
    const block = Buffer.alloc(HMAC_BLOCK);
    (key.length > HMAC_BLOCK ? sha256(key) : key).copy(block);
    this.inner = Buffer.alloc(HMAC_BLOCK + BLIND_DOMAIN.length + 8);
    this.outer = Buffer.alloc(HMAC_BLOCK + 32);
    for (let i = 0; i < HMAC_BLOCK; i++) {
      this.inner[i] = block[i]! ^ 0x36;
      this.outer[i] = block[i]! ^ 0x5c;
    }
    BLIND_DOMAIN.copy(this.inner, HMAC_BLOCK);
  }

  /** Entry `leafIndex`'s blinding, base64url. */
  blind(leafIndex: number): string {
    this.inner.writeBigUInt64BE(BigInt(leafIndex), HMAC_BLOCK + BLIND_DOMAIN.length);
    sha256(this.inner).copy(this.outer, HMAC_BLOCK);
    return sha256(this.outer).subarray(0, BLIND_SIZE).toString('base64url');
  }
}

/** SHA-256's block size: HMAC pads its key to it. */
const HMAC_BLOCK = 64;

/**
 * How a blinded entry names the member whose token was used: a commitment, not the id, so that a
 * member shown an entry about them (released through a friend's token) can check its leaf hash
 * without learning which friend it was; staff, who see the id, check the commitment.
 */
export function tokenMemberCommitment(blind: string, tokenMemberId: string): string {
  return sha256(Buffer.concat([TOKEN_MEMBER_DOMAIN, Buffer.from(blind, 'base64url'), Buffer.from(tokenMemberId, 'utf8')])).toString('base64url');
}

// crypto.hash (Node 20.12+): one call, no Hash object. Hex, then a Buffer: see merkle-hash.ts.
const sha256: (data: Buffer) => Buffer = typeof hash === 'function'
  ? (data) => Buffer.from(hash('sha256', data, 'hex'), 'hex')
  : (data) => createHash('sha256').update(data).digest();

export function auditBlindingKeyPath(dataDir: string): string {
  return join(dataDir, 'secrets', AUDIT_BLINDING_KEY_FILE);
}

/**
 * The blinding key, created on first start in `<dataDir>/secrets/audit-blinding.key` (32 random
 * bytes, base64url, mode 0600): every server on one log must share it, like the signing key.
 * Without a data directory (tests) a fresh key is made in memory.
 */
export function loadOrCreateAuditBlinding(dataDir: string | undefined): AuditBlinding {
  if (dataDir === undefined) return new AuditBlinding(randomBytes(32));
  const text = loadOrCreateSecret(auditBlindingKeyPath(dataDir), () => randomBytes(32).toString('base64url'));
  return new AuditBlinding(Buffer.from(text.trim(), 'base64url'));
}
