/**
 * A database cached in bench/.cache/ by an older version gets the migrations since when it is used
 * again (a new index over a 100M-subject log can take minutes): done once, on the cached file
 * itself, and timed apart from every figure.
 */
import { basename } from 'node:path';
import { openStore } from '../../src/cli/open-store.js';
import { fmt } from './figures.js';

export async function migrateCached(path: string, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await (await openStore(path, 'existing')).close();
  log(`cache: ${basename(path)} migrated to this version's schema in ${fmt((performance.now() - started) / 1000, 1)} s (not part of any figure)`);
}
