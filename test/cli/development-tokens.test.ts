import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('tokens issue says it is for development only and refused in production', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'tokens', 'issue', '--help'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const help = result.stdout.replace(/\s+/g, ' ');
  assert.match(help, /DEVELOPMENT ONLY/);
  assert.match(help, /refuses these tokens when the server runs with DATAPACT_ENV=production/);
  assert.match(help, /partners get tokens through OAuth/);
});
