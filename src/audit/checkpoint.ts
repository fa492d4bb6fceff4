import { sign, verify, type KeyObject } from 'node:crypto';
import { HASH_SIZE } from './merkle-hash.js';
import {
  ED25519_NOTE_TYPE, ed25519NoteVerifier, formatVerifierKey, isValidKeyName, noteKeyId, NoteError, openNote,
  rawEd25519PublicKey, signatureLine, type NoteVerifier, type OpenedNote,
} from './signed-note.js';

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

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

/** A key name (and so an origin): non-empty, no spaces or `+` (signed-note). */
export const isKeyName = isValidKeyName;

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

/**
 * The origin a log gets unless it is configured (DATAPACT_LOG_ORIGIN): its public URL's host (and
 * port) and `/audit`, e.g. `datapact.example/audit`.
 */
export function defaultLogOrigin(publicUrl: string): string {
  return `${new URL(publicUrl).host}/audit`;
}

/** signed-note's 4-byte key id of an Ed25519 key under `name`. */
export function noteKeyIdBytes(name: string, publicKey: KeyObject): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(noteKeyId(name, ED25519_NOTE_TYPE, rawEd25519PublicKey(publicKey)));
  return id;
}

/** The verifier key string others configure to trust this log: `<name>+<key id hex>+<base64(0x01 || key)>`. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  requireKeyName(name);
  return formatVerifierKey(name, ED25519_NOTE_TYPE, rawEd25519PublicKey(publicKey));
}

/**
 * The log's 64-byte Ed25519 signature over the checkpoint of (size, root). Called only by the
 * AuditLog as it signs a head: serving a checkpoint reads the stored signature.
 */
export function signCheckpoint(privateKey: KeyObject, origin: string, size: number, root: Uint8Array): Buffer {
  return sign(null, Buffer.from(checkpointBody(origin, size, root), 'utf8'), privateKey);
}

export function verifyCheckpointSignature(
  publicKey: KeyObject, origin: string, size: number, root: Uint8Array, signature: Uint8Array,
): boolean {
  return signature.length === 64 && verify(null, Buffer.from(checkpointBody(origin, size, root), 'utf8'), publicKey, signature);
}

/** The log's signature line on the checkpoint of (size, root). */
export function checkpointSignatureLine(origin: string, publicKey: KeyObject, signature: Uint8Array): string {
  return signatureLine(origin, noteKeyId(origin, ED25519_NOTE_TYPE, rawEd25519PublicKey(publicKey)), signature);
}

/** The whole signed note: body, blank line, the log's signature line, then any further lines (cosignatures). */
export function checkpointNote(
  origin: string, size: number, root: Uint8Array, publicKey: KeyObject, signature: Uint8Array, moreLines: readonly string[] = [],
): string {
  return `${checkpointBody(origin, size, root)}\n${checkpointSignatureLine(origin, publicKey, signature)}${moreLines.join('')}`;
}

/** A checkpoint's body, parsed. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  /** Lines after the root (opaque, rarely used); empty for Datapact's own. */
  readonly extensions: readonly string[];
  /** The body as signed. */
  readonly text: string;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses a note's text as a checkpoint (tlog-checkpoint): origin, size, root, then non-empty extension lines. */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointFormatError('a checkpoint ends in a line feed');
  const [origin = '', sizeLine = '', rootLine = '', ...extensions] = text.slice(0, -1).split('\n');
  if (origin === '') throw new CheckpointFormatError('a checkpoint starts with its origin line');
  if (!DECIMAL.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) {
    throw new CheckpointFormatError(`the second line must be the tree size in decimal, got ${JSON.stringify(sizeLine.slice(0, 40))}`);
  }
  const root = Buffer.from(rootLine, 'base64');
  if (!BASE64.test(rootLine) || root.length !== HASH_SIZE) throw new CheckpointFormatError('the third line must be the base64 of a 32-byte root hash');
  if (extensions.some((line) => line === '')) throw new CheckpointFormatError('extension lines must not be empty');
  return { origin, size: Number(sizeLine), root, extensions, text };
}

/** The log's Ed25519 note verifier: its signature line is named by the origin. */
export function logVerifier(origin: string, publicKey: KeyObject): NoteVerifier {
  return ed25519NoteVerifier(origin, publicKey);
}

/**
 * Opens a checkpoint note: verified by `verifiers` (the log's key, and any witness keys), its text
 * parsed as a checkpoint. Throws NoteError or CheckpointFormatError.
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): { checkpoint: Checkpoint; note: OpenedNote } {
  const opened = openNote(note, verifiers);
  return { checkpoint: parseCheckpointText(opened.text), note: opened };
}

export { NoteError };
