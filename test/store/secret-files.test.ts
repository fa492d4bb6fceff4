/**
 * Secrets in the data directory (issue 6): servers that share a data directory and start at the
 * same moment end up with one secret, whole, and no leftover drafts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOrCreateSecret } from '../../src/store/secret-files.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

const MODULE = join(PROJECT_ROOT, 'src', 'store', 'secret-files.ts');

/** A process that creates (or reads) the secret at `path` and prints what it got. */
function processReading(path: string): Promise<string> {
  const script = `import { loadOrCreateSecret } from ${JSON.stringify(MODULE)};
    process.stdout.write(loadOrCreateSecret(${JSON.stringify(path)}, () => 'secret of ' + process.pid + ' '.repeat(65536)));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`)))));
}

test('servers starting at once on one data directory all get the same whole secret', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'datapact-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'secrets', 'cookie-secret');
  const seen = await Promise.all(Array.from({ length: 4 }, () => processReading(path)));
  const kept = readFileSync(path, 'utf8');
  assert.match(kept, /^secret of \d+ {65536}$/);
  assert.deepEqual(seen, Array(4).fill(kept));
  assert.deepEqual(readdirSync(join(dir, 'secrets')), ['cookie-secret'], 'no draft left behind');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(loadOrCreateSecret(path, () => 'never made'), kept, 'a later start reads it');
});
