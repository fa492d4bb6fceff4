import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../../src/cli/open-store.js';
import { demoClientSecret } from '../../src/seed/demo-partners.js';
import { DEMO_MEMBER_ID, DEMO_PASSWORD, seedDemoWorld } from '../../src/seed/demo-world.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-production-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const PUBLIC_URL = 'https://datapact.example';

function productionEnv(database: string): NodeJS.ProcessEnv {
  return {
    ...process.env, DATAPACT_ENV: 'production', DATAPACT_PUBLIC_URL: PUBLIC_URL,
    DATAPACT_CONTROLLER_NAME: 'Example Social Ltd', DATAPACT_CONTROLLER_COUNTRY: 'IE', DATAPACT_DATABASE_URL: '', DATAPACT_DATABASE: database,
    DATAPACT_DATA_DIR: join(folder, 'data'), DATAPACT_SEED_DEMO: '', DATAPACT_TICK_SECONDS: '0', LOG_LEVEL: 'silent',
  };
}

function datapact(database: string, ...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], { encoding: 'utf8', env: productionEnv(database) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `datapact serve` in production: either it listens (its URL, and a stop) or it exits (its code and message). */
async function serve(database: string): Promise<{ url?: string; code?: number | null; stderr: string; stop: () => Promise<number | null> }> {
  const server = spawn(process.execPath, ['bin/datapact.js', 'serve', '--port', '0'], { env: productionEnv(database) });
  const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
  let stderr = '';
  const url = await new Promise<string | undefined>((resolve) => {
    server.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /Datapact is running on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]);
    });
    void exited.then(() => resolve(undefined));
  });
  const stop = async () => {
    server.kill('SIGTERM');
    return exited;
  };
  if (url === undefined) return { code: await exited, stderr, stop };
  return { url, stderr, stop };
}

describe('datapact serve in production (DATAPACT_ENV=production)', () => {
  test('on an empty database: starts without seeding, shows no demo login, builds URLs from DATAPACT_PUBLIC_URL', async () => {
    const database = join(folder, 'empty.db');
    const server = await serve(database);
    try {
      assert.ok(server.url, `serve did not start: ${server.stderr}`);
      assert.doesNotMatch(server.stderr, /datapact-demo|demo login|demo staff|seeding/i);
      assert.match(server.stderr, /production/);
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      const discovery = await fetch(`${server.url}/oauth/.well-known/openid-configuration`, {
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
      });
      assert.equal(((await discovery.json()) as { issuer: string }).issuer, `${PUBLIC_URL}/oauth`);
      assert.equal((await fetch(`${server.url}/v1/me`)).status, 421, 'plain http past the proxy');
    } finally {
      assert.equal(await server.stop(), 0);
    }
    const store = await openStore(database);
    try {
      assert.equal(await store.members.count(), 0);
      assert.equal(await store.staff.count(), 0);
      assert.deepEqual(await store.partners.apps(), []);
    } finally {
      await store.db.destroy();
    }
  });

  test('on a database holding the demo world: refuses to start, naming each demo credential and how to remove it', async () => {
    const database = join(folder, 'demo.db');
    const seeding = await openStore(database);
    await seedDemoWorld(seeding, { now: Date.now() });
    await seeding.db.destroy();

    const refused = await serve(database);
    if (refused.url) await refused.stop();
    assert.equal(refused.url, undefined, 'serve started on the demo world');
    assert.equal(refused.code, 1);
    const message = refused.stderr;
    assert.match(message, /Refusing to start in production: the database holds \d+ demo credential/);
    for (const email of ['admin@datapact.example', 'privacy2@datapact.example']) {
      assert.match(message, new RegExp(`staff account ${email} \\(st_\\w+\\) has the demo password`));
    }
    assert.match(message, /2000 member\(s\) \(m_\w+, m_\w+, m_\w+, …\) have the demo password/);
    assert.match(message, /app app_lenovo \(partner p_lenovo\) has its demo client secret/);
    assert.match(message, /app app_zte \(partner p_zte\) has the plain-http redirect URI http:\/\/127\.0\.0\.1:9999\/callback/);
    assert.match(message, /Remove them all with `datapact demo-credentials remove`/);
    assert.doesNotMatch(message, /datapact-demo/, 'the message does not repeat the password');

    assert.equal(datapact(database, 'demo-credentials', 'check').status, 1);
    const removed = datapact(database, 'demo-credentials', 'remove');
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(removed.stderr, /Disabled staff account admin@datapact\.example/);
    assert.match(removed.stderr, /Deleted the demo password of 2000 member\(s\)/);
    assert.match(removed.stderr, /Removed redirect URI http:\/\/127\.0\.0\.1:9999\/callback from app app_lenovo/);
    const secrets = new Map(removed.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
    assert.equal(secrets.size, 7);
    assert.match(secrets.get('app_lenovo') ?? '', /^dpcs_[\w-]{43}$/);
    const checked = datapact(database, 'demo-credentials', 'check');
    assert.equal(checked.status, 0, checked.stderr);

    const store = await openStore(database);
    try {
      assert.equal(await store.staff.verifyPassword('admin@datapact.example', DEMO_PASSWORD), undefined);
      assert.equal(await store.credentials.verify(DEMO_MEMBER_ID, DEMO_PASSWORD), undefined);
      const lenovo = await store.partners.oauthClient('app_lenovo');
      assert.equal(lenovo?.clientSecret, secrets.get('app_lenovo'));
      assert.notEqual(lenovo?.clientSecret, demoClientSecret('app_lenovo'));
      assert.deepEqual(lenovo?.redirectUris.filter((uri) => uri.startsWith('http:')), []);
      const entries = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('actor', '=', 'system').execute();
      assert.ok(entries.some((entry) => entry.action === 'app.rotate_secret'));
      assert.ok(entries.some((entry) => entry.action === 'staff.update'));
    } finally {
      await store.db.destroy();
    }

    const started = await serve(database);
    try {
      assert.ok(started.url, `serve did not start once the demo credentials were removed: ${started.stderr}`);
    } finally {
      if (started.url) assert.equal(await started.stop(), 0);
    }
  });
});
