import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import {
  ED25519_NOTE_TYPE, ed25519NoteVerifier, ed25519PublicKeyFromRaw, formatVerifierKey, isValidKeyName, noteKeyId,
  NoteError, parseVerifierKey, rawEd25519PublicKey, signatureLine, type NoteVerifier,
} from './signed-note.js';

/**
 * C2SP `tlog-cosignature`, the Ed25519 `cosignature/v1` (signed-note type 0x04): a witness's
 * statement that, at a time, the checkpoint is the largest consistent one it has seen of the log.
 * The signed message is `cosignature/v1\ntime <seconds>\n` followed by the checkpoint's body; the
 * signature bytes in the note line are the 8-byte big-endian time, then the 64-byte Ed25519
 * signature. The key id is SHA-256(name || 0x0a || 0x04 || public key)[:4].
 */

export const COSIGNATURE_V1_TYPE = 0x04;
const MAX_TIMESTAMP = 2n ** 63n - 1n;

export function cosignatureMessage(checkpointText: string, timeSeconds: number | bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${BigInt(timeSeconds)}\n${checkpointText}`, 'utf8');
}

/** The time (POSIX seconds) a cosignature's bytes carry, or undefined when they are not a cosignature/v1. */
export function cosignatureTime(signature: Buffer): number | undefined {
  if (signature.length !== 8 + 64) return undefined;
  const time = signature.readBigUInt64BE(0);
  return time <= MAX_TIMESTAMP && time <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(time) : undefined;
}

/** A verifier of `name`'s cosignature/v1 with this Ed25519 public key. */
export function cosignatureVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  return {
    name,
    keyId: noteKeyId(name, COSIGNATURE_V1_TYPE, rawEd25519PublicKey(publicKey)),
    verify: (text, signature) => {
      if (signature.length !== 8 + 64 || signature.readBigUInt64BE(0) > MAX_TIMESTAMP) return false;
      return verify(null, cosignatureMessage(text.toString('utf8'), signature.readBigUInt64BE(0)), publicKey, signature.subarray(8));
    },
  };
}

/** The verifier of a vkey: Ed25519 (0x01, a log's key) or Ed25519 cosignature/v1 (0x04, a witness's key). */
export function noteVerifierFromKey(vkey: string): NoteVerifier {
  const key = parseVerifierKey(vkey);
  if (key.publicKey.length !== 32) throw new NoteError('malformed', `invalid verifier key ${JSON.stringify(vkey)}: an Ed25519 key is 32 bytes`);
  const publicKey = ed25519PublicKeyFromRaw(key.publicKey);
  if (key.type === ED25519_NOTE_TYPE) return ed25519NoteVerifier(key.name, publicKey);
  if (key.type === COSIGNATURE_V1_TYPE) return cosignatureVerifier(key.name, publicKey);
  throw new NoteError('malformed', `verifier key ${key.name}: signature type 0x${key.type.toString(16).padStart(2, '0')} is not supported (Ed25519 0x01 or cosignature/v1 0x04)`);
}

/** A witness's signing identity: its name and Ed25519 key. */
export class Cosigner {
  readonly publicKey: KeyObject;
  readonly verifier: NoteVerifier;
  /** `<name>+<key id>+<base64(0x04 || key)>`: what logs and auditors configure to trust this witness. */
  readonly verifierKey: string;

  constructor(readonly name: string, private readonly privateKey: KeyObject) {
    if (!isValidKeyName(name)) throw new NoteError('malformed', `'${name}' cannot name a witness: no spaces or '+'`);
    if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') throw new TypeError('a cosigner needs an Ed25519 private key');
    this.publicKey = createPublicKey(privateKey);
    this.verifier = cosignatureVerifier(name, this.publicKey);
    this.verifierKey = formatVerifierKey(name, COSIGNATURE_V1_TYPE, rawEd25519PublicKey(this.publicKey));
  }

  static generate(name: string): Cosigner {
    return new Cosigner(name, generateKeyPairSync('ed25519').privateKey);
  }

  static fromPem(name: string, pem: string): Cosigner {
    return new Cosigner(name, createPrivateKey({ key: pem, format: 'pem' }));
  }

  /** The cosignature line over a checkpoint's text at `timeSeconds`. */
  cosign(checkpointText: string, timeSeconds: number): string {
    if (!Number.isSafeInteger(timeSeconds) || timeSeconds <= 0) throw new RangeError('a cosignature time is a positive number of seconds');
    const time = Buffer.alloc(8);
    time.writeBigUInt64BE(BigInt(timeSeconds));
    const signature = sign(null, cosignatureMessage(checkpointText, timeSeconds), this.privateKey);
    return signatureLine(this.name, this.verifier.keyId, Buffer.concat([time, signature]));
  }
}
