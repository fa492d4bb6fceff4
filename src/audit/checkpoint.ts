import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { HASH_SIZE } from './merkle-hash.js';

/**
 * Tree heads as C2SP `tlog-checkpoint` notes signed per C2SP `signed-note` (Ed25519), so that
 * transparency tools that were not written here (Go's sumdb `note` package, tessera, sigsum's and
 * the witness network's tools) read and check them.
 *
 * A checkpoint's body is three lines, each ending in a line feed:
 *
 *   <origin>                 the log's name, a schema-less URL such as `datapact.example/audit`
 *   <tree size>              decimal, no leading zeros
 *   <root hash>              standard base64 (RFC 4648 §4, padded) of the 32-byte RFC 9162 root
 *
 * The log's signature is plain Ed25519 over those bytes. In the note it is the line
 * `— <key name> <base64(key id || signature)>` after a blank line, where the key name is the
 * origin and the key id is the first 4 bytes of SHA-256(key name || 0x0a || 0x01 || public key).
 */

/** signed-note's signature type byte for Ed25519 keys. */
const ED25519_TYPE = 0x01;
const EM_DASH_PREFIX = '\u2014 ';

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

/** A key name (and so an origin): non-empty, printable, no spaces or `+` (signed-note). */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0000-\u001f\u007f]/u.test(name);
}

function requireKeyName(name: string): void {
  if (!isKeyName(name)) throw new CheckpointFormatError(`'${name}' cannot name a log: no spaces, '+' or control characters`);
}

/** The checkpoint's body: the exact bytes the log signs. */
export function checkpointBody(origin: string, size: number, root: Uint8Array): string {
  requireKeyName(origin);
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointFormatError('a tree size is a non-negative integer');
  if (root.length !== HASH_SIZE) throw new CheckpointFormatError(`a root hash is ${HASH_SIZE} bytes`);
  return `${origin}\n${size}\n${Buffer.from(root).toString('base64')}\n`;
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  // An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte prefix and the 32-byte key.
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
}

/** signed-note's 4-byte key id of an Ed25519 key under `name`. */
export function noteKeyId(name: string, publicKey: KeyObject): Buffer {
  const digest = createHash('sha256').update(name).update(Buffer.from([0x0a, ED25519_TYPE])).update(rawPublicKey(publicKey)).digest();
  return digest.subarray(0, 4);
}

/** The verifier key string others configure to trust this log: `<name>+<key id hex>+<base64(0x01 || key)>`. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  requireKeyName(name);
  const typed = Buffer.concat([Buffer.from([ED25519_TYPE]), rawPublicKey(publicKey)]);
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${typed.toString('base64')}`;
}

/** The log's 64-byte Ed25519 signature over the checkpoint of (size, root). */
export function signCheckpoint(privateKey: KeyObject, origin: string, size: number, root: Uint8Array): Buffer {
  return sign(null, Buffer.from(checkpointBody(origin, size, root), 'utf8'), privateKey);
}

export function verifyCheckpointSignature(
  publicKey: KeyObject, origin: string, size: number, root: Uint8Array, signature: Uint8Array,
): boolean {
  return signature.length === 64 && verify(null, Buffer.from(checkpointBody(origin, size, root), 'utf8'), publicKey, signature);
}

/** The whole signed note: body, blank line, the log's signature line. */
export function checkpointNote(origin: string, size: number, root: Uint8Array, publicKey: KeyObject, signature: Uint8Array): string {
  const line = Buffer.concat([noteKeyId(origin, publicKey), signature]).toString('base64');
  return `${checkpointBody(origin, size, root)}\n${EM_DASH_PREFIX}${origin} ${line}\n`;
}
