import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Reads a secret kept in the data directory, creating it on first start. Written with mode 0600
 * and never logged; `create` runs only when the file does not exist yet.
 *
 * Servers sharing a data directory may start at the same moment: the secret is written whole to
 * a file of its own and then linked into place, which fails if another server got there first;
 * that server's secret is then the one read. So every server ends up with the same secret, and
 * none ever reads a half-written file.
 */
export function loadOrCreateSecret(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(draft, create(), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  return readFileSync(path, 'utf8');
}
