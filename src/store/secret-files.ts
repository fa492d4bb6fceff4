import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Reads a secret kept in the data directory, creating it on first start. Written with mode 0600
 * and never logged; `create` runs only when the file does not exist yet.
 */
export function loadOrCreateSecret(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const secret = create();
  writeFileSync(path, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
