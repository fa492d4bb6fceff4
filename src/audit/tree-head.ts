import { sign, verify, type KeyObject } from 'node:crypto';
import { HASH_SIZE } from './merkle-hash.js';

/**
 * Signed tree heads of the audit log: the server's Ed25519 signature over a tree size, the Merkle
 * root of that many entries (RFC 9162, see merkle-tree.ts) and the time it was signed.
 *
 * The signing input is a fixed 70-byte layout that any tool can rebuild:
 *
 *   offset  length  content
 *        0      22  the ASCII bytes `datapact-tree-head-v1` followed by one line feed (0x0a)
 *       22       8  tree_size, unsigned 64-bit big-endian
 *       30       8  timestamp, milliseconds since 1970-01-01T00:00:00Z, unsigned 64-bit big-endian
 *       38      32  root_hash, the SHA-256 Merkle tree hash of the first tree_size entries
 *
 * The signature is plain Ed25519 (RFC 8032, "pure", no pre-hash and no context) of those 70 bytes:
 * 64 bytes, checked with `crypto.verify(null, input, publicKey, signature)` or
 * `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in input.bin -sigfile sig.bin`.
 *
 * The JSON form is `{ "tree_size": 3, "root_hash": "<base64>", "timestamp": "<ISO 8601, ms, Z>",
 * "signature": "<base64>" }` with standard padded base64 (RFC 4648 §4), as in RFC 6962's get-sth.
 * The timestamp's ISO form is exactly `Date.prototype.toISOString()`, which keeps the milliseconds,
 * so it converts back to the signed number without loss.
 */

export interface TreeHead {
  readonly size: number;
  readonly root: Buffer;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly signature: Buffer;
}

export interface TreeHeadJson {
  readonly tree_size: number;
  readonly root_hash: string;
  readonly timestamp: string;
  readonly signature: string;
}

export const TREE_HEAD_DOMAIN = 'datapact-tree-head-v1\n';
export const TREE_HEAD_SIGNING_INPUT_SIZE = TREE_HEAD_DOMAIN.length + 8 + 8 + HASH_SIZE;
export const ED25519_SIGNATURE_SIZE = 64;
/** 9999-12-31T23:59:59.999Z: the last instant whose ISO form has a four-digit year. */
export const MAX_TREE_HEAD_TIMESTAMP = 253_402_300_799_999;

const DOMAIN_BYTES = Buffer.from(TREE_HEAD_DOMAIN, 'ascii');

/** A tree head's JSON is malformed: the message names the field. */
export class TreeHeadFormatError extends Error {
  override readonly name = 'TreeHeadFormatError';
}

function isSize(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isTimestamp(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= MAX_TREE_HEAD_TIMESTAMP;
}

/** The exact bytes that are signed (see the layout above). Throws RangeError on invalid values. */
export function treeHeadSigningInput(size: number, root: Uint8Array, timestamp: number): Buffer {
  if (!isSize(size)) throw new RangeError('treeHeadSigningInput: size must be a non-negative safe integer');
  if (!isTimestamp(timestamp)) {
    throw new RangeError(`treeHeadSigningInput: timestamp must be an integer number of ms in [0, ${MAX_TREE_HEAD_TIMESTAMP}]`);
  }
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE) {
    throw new RangeError(`treeHeadSigningInput: root must be ${HASH_SIZE} bytes`);
  }
  const out = Buffer.alloc(TREE_HEAD_SIGNING_INPUT_SIZE);
  let at = DOMAIN_BYTES.copy(out, 0);
  at = out.writeBigUInt64BE(BigInt(size), at);
  at = out.writeBigUInt64BE(BigInt(timestamp), at);
  out.set(root, at);
  return out;
}

function requireEd25519(key: KeyObject, type: 'private' | 'public', fn: string): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`${fn}: expected an Ed25519 ${type} key`);
  }
}

export function signTreeHead(privateKey: KeyObject, size: number, root: Uint8Array, timestamp: number): TreeHead {
  requireEd25519(privateKey, 'private', 'signTreeHead');
  const input = treeHeadSigningInput(size, root, timestamp);
  return { size, root: Buffer.from(root), timestamp, signature: sign(null, input, privateKey) };
}

/**
 * Whether `head` carries a valid signature by `publicKey` over its size, root and timestamp. A
 * head with out-of-range fields is simply not valid (false); a key that is not an Ed25519 public
 * key is a programming error (TypeError).
 */
export function verifyTreeHead(head: TreeHead, publicKey: KeyObject): boolean {
  requireEd25519(publicKey, 'public', 'verifyTreeHead');
  if (!isSize(head.size) || !isTimestamp(head.timestamp)) return false;
  if (!(head.root instanceof Uint8Array) || head.root.length !== HASH_SIZE) return false;
  if (!(head.signature instanceof Uint8Array) || head.signature.length !== ED25519_SIGNATURE_SIZE) return false;
  return verify(null, treeHeadSigningInput(head.size, head.root, head.timestamp), publicKey, head.signature);
}

export function treeHeadToJson(head: TreeHead): TreeHeadJson {
  if (!isSize(head.size)) throw new RangeError('treeHeadToJson: size must be a non-negative safe integer');
  if (!isTimestamp(head.timestamp)) throw new RangeError('treeHeadToJson: timestamp out of range');
  return {
    tree_size: head.size,
    root_hash: Buffer.from(head.root).toString('base64'),
    timestamp: new Date(head.timestamp).toISOString(),
    signature: Buffer.from(head.signature).toString('base64'),
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIELDS = ['tree_size', 'root_hash', 'timestamp', 'signature'] as const;

function decodeBase64(value: unknown, field: string, bytes: number): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new TreeHeadFormatError(`${field} must be a string of standard padded base64`);
  }
  const decoded = Buffer.from(value, 'base64');
  // Canonical only: non-zero padding bits would let two strings mean the same bytes.
  if (decoded.length !== bytes || decoded.toString('base64') !== value) {
    throw new TreeHeadFormatError(`${field} must be the canonical base64 of exactly ${bytes} bytes`);
  }
  return decoded;
}

/**
 * Parses a tree head's JSON form (the text, or the parsed value), strictly: exactly the four
 * fields, nothing else. Throws TreeHeadFormatError naming what is wrong. It does not verify the
 * signature: call verifyTreeHead.
 */
export function treeHeadFromJson(json: unknown): TreeHead {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json) as unknown;
    } catch (error) {
      throw new TreeHeadFormatError(`tree head is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TreeHeadFormatError('tree head must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknownKeys.length > 0) throw new TreeHeadFormatError(`tree head has unknown field(s): ${unknownKeys.join(', ')}`);
  for (const field of FIELDS) {
    if (!Object.hasOwn(record, field)) throw new TreeHeadFormatError(`tree head is missing ${field}`);
  }

  const size = record['tree_size'];
  if (!isSize(size)) throw new TreeHeadFormatError('tree_size must be a non-negative safe integer');

  const iso = record['timestamp'];
  if (typeof iso !== 'string' || !ISO_MS_UTC.test(iso)) {
    throw new TreeHeadFormatError('timestamp must be an ISO 8601 UTC time with milliseconds, like 2026-01-02T03:04:05.678Z');
  }
  const timestamp = Date.parse(iso);
  if (!isTimestamp(timestamp) || new Date(timestamp).toISOString() !== iso) {
    throw new TreeHeadFormatError(`timestamp is not a valid time at or after 1970-01-01T00:00:00.000Z: ${iso}`);
  }

  return {
    size,
    root: decodeBase64(record['root_hash'], 'root_hash', HASH_SIZE),
    timestamp,
    signature: decodeBase64(record['signature'], 'signature', ED25519_SIGNATURE_SIZE),
  };
}
