import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { openStore } from '../../src/cli/open-store.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-cli-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function datapact(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('datapact --version prints the version of package.json', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const result = datapact(flag);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  }
});

describe('datapact seed and tokens issue', () => {
  const database = join(folder, 'world.db');

  test('seed writes a world and reports its size; a second seed into it is refused', () => {
    const seeded = datapact('seed', '--members', '60', '--avg-friends', '6', '--seed', '7', '--database', database);
    assert.equal(seeded.status, 0, seeded.stderr);
    assert.match(seeded.stdout, /Seeded 60 members and \d+ friendships in [\d.]+ s; .*world\.db is [\d.]+ MiB\./);
    const again = datapact('seed', '--members', '60', '--database', database);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds 60 members/);
  });

  test('tokens issue prints a token that the Graph API accepts', async () => {
    const store = await openStore(database);
    const member = (await store.db.selectFrom('members').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow()).id;
    const issued = datapact('tokens', 'issue', '--member', member, '--app', 'app_lenovo', '--purpose', 'device_experience',
      '--fields', 'id,name', '--database', database);
    assert.equal(issued.status, 0, issued.stderr);
    assert.match(issued.stderr, /Development token/);
    const token = issued.stdout.trim();
    const app = await buildApp({ store });
    try {
      const response = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().id, member);
    } finally {
      await app.close();
      await store.db.destroy();
    }
  });

  test('bad arguments are refused with a clear message', () => {
    const cases: Array<[string[], RegExp]> = [
      [['seed', '--members', '-5', '--database', join(folder, 'x.db')], /members: a whole number/],
      [['seed', '--members', 'lots', '--database', join(folder, 'x.db')], /members: a whole number/],
      [['tokens', 'issue', '--member', 'm', '--app', 'a', '--purpose', 'spying', '--fields', 'id', '--database', database], /not a purpose/],
      [['tokens', 'issue', '--member', 'm', '--app', 'a', '--purpose', 'login', '--fields', 'id,shoe_size', '--database', database], /unknown field\(s\): shoe_size/],
      [['tokens', 'issue', '--member', 'nobody', '--app', 'app_lenovo', '--purpose', 'login', '--fields', 'id', '--database', database], /no member nobody/],
    ];
    for (const [args, message] of cases) {
      const result = datapact(...args);
      assert.notEqual(result.status, 0, args.join(' '));
      assert.match(result.stderr, message);
    }
  });
});

describe('datapact serve', () => {
  test('migrates an empty database, serves, says where, and stops cleanly on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const server = spawn(process.execPath, ['bin/datapact.js', 'serve', '--port', '0'], {
      env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: join(folder, 'serve'), DATAPACT_SEED_DEMO: 'false', LOG_LEVEL: 'silent' },
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      server.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /Datapact is running on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    try {
      assert.match(stderr, /datapact tokens issue --member \S+ --app app_blackberry/);
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      const me = await fetch(`${url}/v1/me`);
      assert.equal(me.status, 401);
      assert.equal(((await me.json()) as { error: { code: string } }).error.code, 'invalid_token');
    } finally {
      const exited = new Promise((resolve) => server.on('exit', resolve));
      server.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
