import { createHash, createHmac, randomBytes } from 'node:crypto';
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
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('the audit blinding key is at least 32 bytes');
  }

  /** Entry `leafIndex`'s blinding, base64url. */
  blind(leafIndex: number): string {
    const index = Buffer.alloc(8);
    index.writeBigUInt64BE(BigInt(leafIndex));
    return createHmac('sha256', this.key).update(BLIND_DOMAIN).update(index).digest().subarray(0, BLIND_SIZE).toString('base64url');
  }
}

/**
 * How a blinded entry names the member whose token was used: a commitment, not the id, so that a
 * member shown an entry about them (released through a friend's token) can check its leaf hash
 * without learning which friend it was; staff, who see the id, check the commitment.
 */
export function tokenMemberCommitment(blind: string, tokenMemberId: string): string {
  return createHash('sha256').update(TOKEN_MEMBER_DOMAIN).update(Buffer.from(blind, 'base64url')).update(tokenMemberId, 'utf8')
    .digest('base64url');
}

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
