/**
 * Several instances on one PostgreSQL database (issue 6): two `datapact serve` processes, started
 * at the same moment on one data directory (shared secrets) and one database, behind a "load
 * balancer" that is this test choosing the instance per request. A member consents on one, the
 * app exchanges the code and reads on the other, a revocation made on one is seen by the other on
 * its next request, the scheduler applies a due transition exactly once although both run it, and
 * the one audit log holds both instances' entries under heads that `datapact audit verify` accepts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import * as client from 'openid-client';
import { addDays } from '../../src/domain/time.js';
import { AgreementLifecycleRepository } from '../../src/store/agreement-lifecycle-repository.js';
import { createStore, type Store } from '../../src/store/store.js';
import { POSTGRES_SERVER_URL, testDatabase } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner } from '../helpers/fixtures.js';
import { Browser, DEVICE_PARTNER, FRIENDS, PASSWORD, REDIRECT_URI, authorizationRequest, consent, freePort, logIn } from '../oauth/oauth-world.js';
import { PROJECT_ROOT } from '../../src/project-root.js';


interface Instance {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** pino's lines (LOG_LEVEL=info): the scheduler logs each transition it applied. */
  readonly stdout: () => string;
  /** What it printed at start (the welcome text says whether this server seeded the demo world). */
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** `datapact serve` from the sources on `port`; resolves once it says where it listens. */
function serve(name: string, port: number, env: NodeJS.ProcessEnv, running: Set<ChildProcess>): Promise<Instance> {
  const child = spawn(process.execPath, ['bin/datapact.js', 'serve', '--port', String(port)], {
    cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (/Datapact is running on/.test(stderr)) resolve({ name, url: `http://127.0.0.1:${port}`, child, stdout: () => stdout, stderr: () => stderr, exited });
    });
    void exited.then((code) => reject(new Error(`${name} exited (${code}) before listening:\n${stderr}`)));
  });
}

/**
 * Two servers started together on one fresh data directory and the database at `databaseUrl`, with
 * `settings` on top of the test's environment; killed, and the directory removed, when the test ends.
 */
async function startTwo(t: TestContext, databaseUrl: string, ports: readonly [number, number], settings: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-two-'));
  const running = new Set<ChildProcess>();
  t.after(() => {
    for (const child of running) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = { ...process.env, DATAPACT_DATA_DIR: dataDir, DATAPACT_DATABASE_URL: databaseUrl, DATAPACT_ENV: 'development' };
  delete env.PORT;
  delete env.DATAPACT_PUBLIC_URL;
  Object.assign(env, settings);
  const [a, b] = await Promise.all([serve('A', ports[0], env, running), serve('B', ports[1], env, running)]);
  return { a, b, env };
}

/** What the load balancer does: the public URL's requests go to `instance`, TLS ended in front of it, the public host forwarded. */
function via(publicUrl: string, instance: Instance) {
  return (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    const target = String(url);
    if (!target.startsWith(publicUrl)) return fetch(url, init);
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-proto', 'https');
    headers.set('x-forwarded-host', new URL(publicUrl).host);
    return fetch(instance.url + target.slice(publicUrl.length), { ...init, headers });
  };
}

/** A Graph API request through the load balancer (the test): it ended TLS, and says so. */
async function graph(instance: Instance, path: string, token: string) {
  const response = await fetch(`${instance.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-proto': 'https' } });
  return { status: response.status, body: await response.json() as any, requestId: response.headers.get('x-request-id')! };
}

/** `me` with six friends (f0, f2, f4 share via friends), a device partner `dev`, and `old` whose agreement ended yesterday. */
async function seedWorld(store: Store, now: number) {
  await addMembers(store, [{ id: 'me' }, ...FRIENDS.map((id, i) => ({ id, shareViaFriends: i % 2 === 0 }))], now);
  await addFriendships(store, FRIENDS.map((id) => ['me', id] as const), now);
  await store.credentials.setPassword('me', PASSWORD, now);
  const dev = await addPartner(store, 'dev', { agreement: { ...DEVICE_PARTNER.agreement, endsAt: addDays(now, 300) } }, now);
  await store.partners.setClientSecret(dev.appId, 'dev-secret');
  await store.partners.setRedirectUris(dev.appId, [REDIRECT_URI]);
  await addPartner(store, 'old', { agreement: { startsAt: addDays(now, -60), endsAt: addDays(now, -1) } }, now);
  return dev;
}

describe('two instances on one PostgreSQL database', { skip: POSTGRES_SERVER_URL === undefined && 'no PostgreSQL server (npm test starts one)' }, () => {
  test('consent on one, token and reads on the other, revocation seen by both, the scheduler once, one audit log', async (t) => {
    const database = await testDatabase(t, 'postgres');
    const store = createStore(database.db);
    const dev = await seedWorld(store, Date.now());

    const [portA, portB] = [await freePort(), await freePort()];
    const publicUrl = `https://127.0.0.1:${portA}`;
    // Started together: both make the data directory's secrets at once, and both schedulers run at once.
    const { a, b, env } = await startTwo(t, database.url!, [portA, portB], {
      DATAPACT_PUBLIC_URL: publicUrl, DATAPACT_SEED_DEMO: 'false', DATAPACT_TICK_SECONDS: '1', LOG_LEVEL: 'info',
    });

    // Login and consent on A.
    const discover = (instance: Instance) => client.discovery(new URL(`${publicUrl}/oauth`), dev.appId, 'dev-secret', client.ClientSecretBasic('dev-secret'), {
      execute: [client.allowInsecureRequests],
      [client.customFetch]: (url, init) => via(publicUrl, instance)(url, init as RequestInit),
    });
    const [configA, configB] = [await discover(a), await discover(b)];
    const request = await authorizationRequest(configA, { scope: 'openid name birthday friends friends.name friends.birthday', purpose: 'device_experience' });
    const browser = new Browser(publicUrl, a.url);
    const consentPage = await logIn(browser, await browser.visit(request.url));
    assert.match(consentPage.html, /Share your data with dev app\?/);
    const done = await consent(browser, consentPage);
    assert.ok(done.left, 'A returns the member to the app with a code');

    // The code exchanged on B; the token read on B and on A.
    const tokens = await client.authorizationCodeGrant(configB, done.left, { pkceCodeVerifier: request.verifier, expectedState: request.state });
    const onB = await graph(b, '/v1/me/friends?fields=name,birthday', tokens.access_token);
    assert.equal(onB.status, 200, JSON.stringify(onB.body));
    assert.deepEqual(onB.body.data.map((f: { id: string }) => f.id), ['f0', 'f2', 'f4']);
    const onA = await graph(a, '/v1/me?fields=name', tokens.access_token);
    assert.equal(onA.status, 200);

    // Refreshed on A, revoked on B: A refuses the very next request, and the refresh, on either.
    const refreshed = await client.refreshTokenGrant(configA, tokens.refresh_token!);
    assert.equal((await graph(b, '/v1/me', refreshed.access_token)).status, 200);
    await client.tokenRevocation(configB, refreshed.refresh_token!);
    const refused = await graph(a, '/v1/me', refreshed.access_token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'invalid_token');
    assert.equal((await graph(b, '/v1/me', refreshed.access_token)).status, 401);
    await assert.rejects(client.refreshTokenGrant(configA, refreshed.refresh_token!), { error: 'invalid_grant' });

    // Both schedulers have run (each at start, then every second); stop both cleanly.
    for (const instance of [a, b]) instance.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);

    // The ended agreement's transitions, each applied once, by one instance or the other.
    const history = await new AgreementLifecycleRepository(store.db).history('agr_old');
    assert.deepEqual(history.map((h) => [h.version, h.action]), [
      [1, 'created'], [2, 'expire'], [3, 'phase_reached:no_new_grants'], [4, 'phase_reached:no_friend_data'], [5, 'phase_reached:access_ended'],
    ]);
    const logged = (a.stdout() + b.stdout()).split('\n').filter((line) => line.includes('agr_old v2 expire'));
    assert.equal(logged.length, 1, 'one instance applied the expiry; the other found nothing due');
    const expiries = await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'agreement.expire').execute();
    assert.equal(expiries.length, 1);

    // One log: both instances' entries in it, every head signed with the one shared key, and it verifies.
    assert.ok((await store.audit.byRequest(onB.requestId)).length > 0, 'B\'s entries');
    assert.ok((await store.audit.byRequest(onA.requestId)).length > 0, 'A\'s entries');
    assert.ok((await store.audit.byRequest(refused.requestId)).length > 0, 'the refusal on A');
    const heads = await store.audit.heads();
    assert.equal(new Set(heads.map((h) => h.keyId)).size, 1);
    assert.equal(heads.at(-1)!.size, await store.audit.count());
    const verify = spawnSync(process.execPath, ['bin/datapact.js', 'audit', 'verify'], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  test('started together on an empty database with the demo seed on: one seeds, the other waits and serves the same world', async (t) => {
    const database = await testDatabase(t, 'postgres');
    const { a, b } = await startTwo(t, database.url!, [await freePort(), await freePort()], {
      DATAPACT_SEED_DEMO: 'true', DATAPACT_TICK_SECONDS: '0', LOG_LEVEL: 'silent',
    });
    const seeders = [a, b].filter((instance) => /demo world seeded now/.test(instance.stderr()));
    assert.equal(seeders.length, 1, 'exactly one server seeded');
    const store = createStore(database.db);
    const members = await store.members.count();
    assert.ok(members >= 2000, `the demo world, once: ${members} members`);
    for (const instance of [a, b]) assert.equal((await fetch(`${instance.url}/health`)).status, 200);
    for (const instance of [a, b]) instance.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
    assert.equal(await store.members.count(), members);
  });
});
