import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../store/secret-files.js';

/** The audit log's signing key (tree heads): Ed25519. */
export interface AuditSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), what openssl's `-pubin -inkey` reads. */
  readonly publicKeyPem: string;
  /** Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo: `openssl pkey -pubin -in pub.pem -outform DER | sha256sum`. */
  readonly keyId: string;
}

export const AUDIT_SIGNING_KEY_FILE = 'audit-ed25519.pem';

function newPrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function fromPrivateKeyPem(pem: string, source: string): AuditSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new Error(`audit signing key ${source} is not a readable private key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`audit signing key ${source} is ${privateKey.asymmetricKeyType ?? 'unknown'}, expected ed25519`);
  }
  return { privateKey, ...publicParts(createPublicKey(privateKey)) };
}

/** The public half of the audit key: what verifies heads. */
export type AuditPublicKey = Omit<AuditSigningKey, 'privateKey'>;

function publicParts(publicKey: KeyObject): AuditPublicKey {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: createHash('sha256').update(der).digest('hex'),
  };
}

/**
 * A public key to verify heads with, from a PEM: the published public key, or the private key file
 * itself (its public half). Throws, naming `source`, on anything that is not an Ed25519 key.
 */
export function auditPublicKeyFromPem(pem: string, source: string): AuditPublicKey {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new Error(`${source} is not a readable PEM key: ${(error as Error).message}`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`${source} is ${publicKey.asymmetricKeyType ?? 'unknown'}, expected ed25519`);
  return publicParts(publicKey);
}

/** Where the data directory keeps the audit signing key (nothing is created). */
export function auditSigningKeyPath(dataDir: string): string {
  return join(dataDir, 'secrets', AUDIT_SIGNING_KEY_FILE);
}

/**
 * The key that signs tree heads: generated on first start and kept as PKCS#8 PEM (mode 0600) in
 * `<dataDir>/secrets/audit-ed25519.pem`, so heads signed before a restart stay verifiable with the
 * published public key. Without a data directory (tests) a fresh key is made in memory.
 */
export function loadOrCreateAuditSigningKey(dataDir: string | undefined): AuditSigningKey {
  if (dataDir === undefined) return fromPrivateKeyPem(newPrivateKeyPem(), '(in memory)');
  const path = auditSigningKeyPath(dataDir);
  return fromPrivateKeyPem(loadOrCreateSecret(path, newPrivateKeyPem), path);
}
