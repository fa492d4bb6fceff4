import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP `signed-note` (c2sp.org/signed-note, the format of Go's golang.org/x/mod/sumdb/note): a
 * text ending in a line feed, a blank line, then one or more lines `— <key name> <base64(key id ||
 * signature)>`. A key is named by (name, 4-byte id); signatures by keys the reader does not know
 * are ignored, a known key's signature that fails rejects the whole note, and a note with no
 * verified signature is rejected. Written to the spec and checked against Go's test vectors
 * (test/audit/signed-note.test.ts), so notes read here read the same in Go's `note.Open`.
 */

export const ED25519_NOTE_TYPE = 0x01;
/** Go's `note.Open` stops at 100 signatures; the spec asks for at least 16. */
export const MAX_NOTE_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 ';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type NoteErrorKind = 'malformed' | 'invalid_signature' | 'unverified' | 'ambiguous_key';

export class NoteError extends Error {
  override readonly name = 'NoteError';
  constructor(readonly kind: NoteErrorKind, message: string) {
    super(message);
  }
}

/** A key a reader trusts: its name and 4-byte id (big-endian uint32), and how it checks a signature of the note text. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Buffer, signature: Buffer): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the key id. */
  readonly signature: Buffer;
  /** The whole line, with its line feed: what to copy into another note. */
  readonly line: string;
}

export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface OpenedNote {
  readonly text: string;
  readonly verified: readonly NoteSignature[];
  readonly unverified: readonly NoteSignature[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Go's unicode.IsSpace: what a key name may not contain (with `+`). */
const SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

export function isValidKeyName(name: string): boolean {
  return name !== '' && !SPACE.test(name) && !name.includes('+');
}

function malformed(why: string): NoteError {
  return new NoteError('malformed', `malformed note: ${why}`);
}

/** SHA-256(name || 0x0a || type || public key)[:4], as a uint32. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, type)).update(publicKey).digest().readUInt32BE(0);
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** `— <name> <base64(key id || signature)>` and a line feed. */
export function signatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyId);
  return `${SIGNATURE_PREFIX}${name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

function decodeNote(note: string | Uint8Array): string {
  if (typeof note === 'string') return note;
  try {
    return UTF8.decode(note);
  } catch {
    throw malformed('not valid UTF-8');
  }
}

/** Splits a note into its text and signature lines, checking only their syntax. */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const message = decodeNote(note);
  if (CONTROL.test(message)) throw malformed('control characters other than line feeds');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('the signatures must be lines ending in a line feed');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed(`not a signature line: ${JSON.stringify(line.slice(0, 80))}`);
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const encoded = space < 0 ? '' : rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed(`bad key name ${JSON.stringify(name)}`);
  if (!BASE64.test(encoded)) throw malformed(`the signature of ${name} is not base64`);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length < 5) throw malformed(`the signature of ${name} is too short`);
  return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4), line: `${line}\n` };
}

/**
 * Parses and verifies a note against the keys the reader trusts (Go's `note.Open`): every
 * signature of a known key must verify, at least one must, unknown ones are kept apart. Throws
 * NoteError: `malformed`, `invalid_signature` (a known key's signature fails), `unverified` (no
 * known key signed), `ambiguous_key` (two trusted keys share a name and id).
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const textBytes = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const signature of signatures) {
    const matching = verifiers.filter((v) => v.name === signature.name && v.keyId === signature.keyId);
    const key = `${signature.name}+${keyIdHex(signature.keyId)}`;
    if (matching.length > 1) throw new NoteError('ambiguous_key', `ambiguous key ${key}`);
    const verifier = matching[0];
    if (verifier === undefined) {
      if (!unverified.some((u) => u.line === signature.line)) unverified.push(signature);
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    if (!verifier.verify(textBytes, signature.signature)) throw new NoteError('invalid_signature', `invalid signature for key ${key}`);
    verified.push(signature);
  }
  if (verified.length === 0) throw new NoteError('unverified', 'note has no verifiable signatures');
  return { text, verified, unverified };
}

/** A verifier key (vkey) `<name>+<hex key id>+<base64(type || public key)>`, its id checked against its key. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Buffer;
}

export function parseVerifierKey(vkey: string): VerifierKey {
  // Cut at the first two `+` only, as Go does: the base64 key may hold more.
  const [name = '', hex = '', ...rest] = vkey.split('+');
  const encoded = rest.join('+');
  const bad = (why: string) => new NoteError('malformed', `invalid verifier key ${JSON.stringify(vkey)}: ${why}`);
  if (!isValidKeyName(name)) throw bad('expected <name>+<key id>+<key>');
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw bad('the key id is 8 hex digits');
  if (!BASE64.test(encoded) || encoded === '') throw bad('the key is base64');
  const typed = Buffer.from(encoded, 'base64');
  const keyId = Number.parseInt(hex, 16);
  if (noteKeyId(name, typed[0]!, typed.subarray(1)) !== keyId) throw bad('the key id does not match the key');
  return { name, keyId, type: typed[0]!, publicKey: typed.subarray(1) };
}

/** The vkey string of a key. */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('malformed', `'${name}' cannot name a key: no spaces or '+'`);
  const typed = Buffer.concat([Uint8Array.of(type), publicKey]);
  return `${name}+${keyIdHex(noteKeyId(name, type, publicKey))}+${typed.toString('base64')}`;
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawEd25519PublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
}

export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new NoteError('malformed', 'an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A signed-note Ed25519 (type 0x01) verifier: plain Ed25519 over the note text. */
export function ed25519NoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  return {
    name,
    keyId: noteKeyId(name, ED25519_NOTE_TYPE, rawEd25519PublicKey(publicKey)),
    verify: (text, signature) => signature.length === 64 && verify(null, text, publicKey, signature),
  };
}
