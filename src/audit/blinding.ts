import { createHash, createHmac, hash, randomBytes } from 'node:crypto';
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
  /** HMAC's inner padded key followed by its message, and the outer padded key followed by the inner hash (RFC 2104). */
  private readonly inner: Buffer;
  private readonly outer: Buffer;

  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('the audit blinding key is at least 32 bytes');
    const block = Buffer.alloc(SHA256_BLOCK);
    (key.length > SHA256_BLOCK ? createHash('sha256').update(key).digest() : key).copy(block);
    this.inner = Buffer.alloc(SHA256_BLOCK + BLIND_DOMAIN.length + 8);
    this.outer = Buffer.alloc(SHA256_BLOCK + 32);
    for (let i = 0; i < SHA256_BLOCK; i++) {
      this.inner[i] = block[i]! ^ 0x36;
      this.outer[i] = block[i]! ^ 0x5c;
    }
    BLIND_DOMAIN.copy(this.inner, SHA256_BLOCK);
  }

  /** Entry `leafIndex`'s blinding, base64url. */
  blind(leafIndex: number): string {
    if (typeof hash !== 'function') return this.blindWithHmacObject(leafIndex);
    // The same HMAC spelled out with two one-shot hashes: the appender blinds every entry, and a
    // Hmac object per entry cost about three times as much (test/audit/blinding.test.ts checks the bytes).
    // (A proof reads 16 entries and blinds each: no BigInt, and the digest's first 16 bytes in base64url
    // taken from the whole digest's, which differ only in the last character's low four bits.)
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) throw new RangeError(`a leaf index is a non-negative integer, got ${leafIndex}`);
    this.inner.writeUInt32BE(Math.floor(leafIndex / 2 ** 32), SHA256_BLOCK + BLIND_DOMAIN.length);
    this.inner.writeUInt32BE(leafIndex >>> 0, SHA256_BLOCK + BLIND_DOMAIN.length + 4);
    this.outer.write(hash('sha256', this.inner, 'hex'), SHA256_BLOCK, 'hex');
    const digest = hash('sha256', this.outer, 'base64url');
    return digest.slice(0, BLIND_CHARS - 1) + LAST_BLIND_CHAR[digest.charCodeAt(BLIND_CHARS - 1)]!;
  }

  private blindWithHmacObject(leafIndex: number): string {
    const index = Buffer.alloc(8);
    index.writeBigUInt64BE(BigInt(leafIndex));
    return createHmac('sha256', this.key).update(BLIND_DOMAIN).update(index).digest().subarray(0, BLIND_SIZE).toString('base64url');
  }
}

const SHA256_BLOCK = 64;
/** Characters of a blinding in base64url: the last holds 2 of its bits and 4 zero bits. */
const BLIND_CHARS = Math.ceil((BLIND_SIZE * 8) / 6);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** By character code: the base64url character with the same top two of its six bits and the rest zero. */
const LAST_BLIND_CHAR: string[] = [];
for (let value = 0; value < 64; value++) LAST_BLIND_CHAR[BASE64URL.charCodeAt(value)] = BASE64URL[value & 0b110000]!;
/** tokenMemberCommitment's input: TOKEN_MEMBER_DOMAIN, the blind's bytes, the id's; reused, grown for a longer id. */
let commitmentInput = Buffer.alloc(TOKEN_MEMBER_DOMAIN.length + BLIND_SIZE + 64);
TOKEN_MEMBER_DOMAIN.copy(commitmentInput);

/**
 * How a blinded entry names the member whose token was used: a commitment, not the id, so that a
 * member shown an entry about them (released through a friend's token) can check its leaf hash
 * without learning which friend it was; staff, who see the id, check the commitment.
 */
export function tokenMemberCommitment(blind: string, tokenMemberId: string): string {
  if (typeof hash !== 'function') {
    return createHash('sha256').update(TOKEN_MEMBER_DOMAIN).update(Buffer.from(blind, 'base64url')).update(tokenMemberId, 'utf8')
      .digest('base64url');
  }
  const most = TOKEN_MEMBER_DOMAIN.length + 3 * blind.length + 3 * tokenMemberId.length;
  if (commitmentInput.length < most) {
    commitmentInput = Buffer.alloc(most);
    TOKEN_MEMBER_DOMAIN.copy(commitmentInput);
  }
  const blindBytes = commitmentInput.write(blind, TOKEN_MEMBER_DOMAIN.length, 'base64url');
  const idBytes = commitmentInput.write(tokenMemberId, TOKEN_MEMBER_DOMAIN.length + blindBytes, 'utf8');
  return hash('sha256', commitmentInput.subarray(0, TOKEN_MEMBER_DOMAIN.length + blindBytes + idBytes), 'base64url');
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
