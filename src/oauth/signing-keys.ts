import { generateKeyPairSync, randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../store/secret-files.js';

/** The algorithm of the server's own signing key (ID tokens): ECDSA over P-256. */
export const SIGNING_ALGORITHM = 'ES256';

export interface PrivateJwks {
  readonly keys: JsonWebKey[];
}

function newSigningKeys(): PrivateJwks {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomUUID(), alg: SIGNING_ALGORITHM, use: 'sig' }] };
}

function secretsPath(dataDir: string, name: string): string {
  return join(dataDir, 'secrets', name);
}

/**
 * The authorization server's signing keys: generated on first start and kept (mode 0600) in
 * `<dataDir>/secrets/oauth-jwks.json`, so ID tokens stay verifiable across restarts. Without a
 * data directory (tests) a fresh key is made in memory.
 */
export function loadSigningKeys(dataDir: string | undefined): PrivateJwks {
  if (dataDir === undefined) return newSigningKeys();
  const text = loadOrCreateSecret(secretsPath(dataDir, 'oauth-jwks.json'), () => JSON.stringify(newSigningKeys(), null, 2));
  return JSON.parse(text) as PrivateJwks;
}

/** The keys that sign the authorization server's cookies, kept beside the signing keys. */
export function loadCookieKeys(dataDir: string | undefined): string[] {
  const create = () => randomBytes(32).toString('base64url');
  if (dataDir === undefined) return [create()];
  return [loadOrCreateSecret(secretsPath(dataDir, 'oauth-cookie-key'), create).trim()];
}
