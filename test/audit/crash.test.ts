/**
 * The audit log survives a crash (issue 5): the real server (`datapact serve`, a child process) is
 * killed with SIGKILL while Graph API requests are in flight, then restarted on the same data
 * directory. Whatever a client got a 200 for must be in the log, the stored Merkle tree must be
 * whole and agree with the entries and the signed heads, and the restarted server must append
 * after the old entries with the same key.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditBlinding, loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { storedLeafHash } from '../../src/audit/entry-leaf.js';
import { LOWEST_STORED_LEVEL, MemorySubtreeStore, appendLeavesSync, rootHashPlan, rootHashSync } from '../../src/audit/merkle-tree.js';
import { verifyConsistency } from '../../src/audit/merkle-verify.js';
import { AUDIT_SIGNING_KEY_FILE } from '../../src/audit/signing-key.js';
import { treeHeadFromJson, verifyTreeHead } from '../../src/audit/tree-head.js';
import { openStore } from '../../src/cli/open-store.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import type { Store } from '../../src/store/store.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

/** A small world (a few seconds to seed); its first member has about 150 friends. */
const SEED = 7;
const MEMBER = memberIdAt(SEED, 0);
/** Requests kept in flight by the load, and the count of 200s after which the server is killed. */
const CONCURRENCY = 16;
const KILL_AFTER = 200;

/** A fresh data directory with its own environment, so nothing of the developer's leaks in. */
function environment(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATAPACT_DATA_DIR: dataDir,
    DATAPACT_DATABASE: join(dataDir, 'datapact.db'),
    // Development tokens are refused in production; the world is seeded by `datapact seed` below.
    DATAPACT_ENV: 'development',
    DATAPACT_SEED_DEMO: 'false',
    DATAPACT_TICK_SECONDS: '0',
    LOG_LEVEL: 'silent',
  };
  delete env.PORT;
  delete env.DATAPACT_PUBLIC_URL;
  delete env.DATAPACT_DATABASE_URL; // it would win over DATAPACT_DATABASE
  return env;
}

/** `datapact …` from the sources, as the other CLI tests run it. */
function datapact(env: NodeJS.ProcessEnv, ...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(result.status, 0, `datapact ${args.join(' ')}: ${result.stderr}`);
  return result;
}

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `datapact serve` on a port the system picks, and resolves once it says where it listens.
 * The server joins `servers`, which the test's t.after kills, whatever happened.
 */
function startServer(servers: Set<Server>, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, ['bin/datapact.js', 'serve', '--port', '0'], {
    cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const server = { url: '', child, exited };
  servers.add(server);
  let stderr = '';
  return new Promise<Server>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /Datapact is running on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve({ ...server, url: match[1]! });
    });
    void exited.then(({ code, signal }) => reject(new Error(`serve exited (${code ?? signal}) before listening: ${stderr}`)));
  });
}

interface Load {
  /** Request ids of every 200 a client received, with what was asked and, when read whole, the body. */
  readonly ok: Array<{ id: string; friends: boolean; body: unknown }>;
  /** Requests still waiting for their response when the kill was sent. */
  readonly inFlightAtKill: number;
  /** Requests that failed: only after the kill, with the connection cut. */
  readonly cut: number;
}

/**
 * CONCURRENCY clients, each asking in turn for the member and a page of friends, until the
 * KILL_AFTER-th 200 arrives: then the server is SIGKILLed on the spot, with the other requests
 * still in flight. Resolves when every client has seen its last request end.
 */
async function loadUntilKilled(server: Server, token: string): Promise<Load> {
  const ok: Load['ok'] = [];
  let waiting = 0;
  let inFlightAtKill = -1;
  let cut = 0;
  let killed = false;
  const unexpected: string[] = [];
  const client = async (n: number) => {
    for (let i = n; !killed; i++) {
      const friends = i % 2 === 0;
      const url = friends ? `${server.url}/v1/me/friends?fields=name,birthday&limit=25` : `${server.url}/v1/me?fields=id,name,birthday`;
      try {
        waiting++;
        // The timeout only guards against a hang; a killed server's sockets close at once.
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) })
          .finally(() => waiting--);
        if (response.status !== 200) {
          unexpected.push(`${response.status} ${await response.text().catch(() => '')}`);
          return;
        }
        // The status line leaves only after the entries are committed: it counts, body or not.
        const record: Load['ok'][number] = { id: response.headers.get('x-request-id')!, friends, body: undefined };
        ok.push(record);
        if (ok.length === KILL_AFTER) {
          inFlightAtKill = waiting;
          killed = true;
          server.child.kill('SIGKILL');
        }
        record.body = await response.json().catch(() => undefined);
      } catch (error) {
        if (!killed) unexpected.push(String(error));
        cut++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => client(n)));
  assert.deepEqual(unexpected, [], 'before the kill, every request succeeds');
  return { ok, inFlightAtKill, cut };
}

/**
 * The stored log checked against itself: entries without gaps, each stored leaf hash that of the
 * entry's canonical bytes, every stored subtree node (level 4 and up) that of the tree recomputed from the entries
 * (nothing half-written), and every kept head signed by the key over the recomputed root.
 */
async function checkStoredTree(store: Store, publicKeyPem: string, blinding: AuditBlinding) {
  const publicKey = createPublicKey(publicKeyPem);
  const keyId = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
  const stored = await store.audit.hashedEntries(0, 10_000_000);
  const size = stored.length;
  assert.equal(await store.audit.treeSize(), size);
  assert.deepEqual(stored.map((s) => s.entry.seq), Array.from({ length: size }, (_, i) => i + 1), 'no gap in seq');
  const hashes = stored.map(({ entry }) => storedLeafHash(entry, blinding));
  stored.forEach((s, i) => assert.equal(s.leafHash, null, `a blinded leaf hash is never stored (seq ${i + 1})`));
  const tree = new MemorySubtreeStore();
  tree.put(appendLeavesSync(tree, 0, hashes).writes);

  for (let level = LOWEST_STORED_LEVEL, width = 2 ** level; width <= size; level++, width *= 2) {
    const nodes = await store.audit.nodesAt(level, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(nodes.length, Math.floor(size / width), `complete subtrees at level ${level}`);
    for (const { idx, hash } of nodes) assert.deepEqual(hash, tree.getNodeSync(level, idx), `node (${level}, ${idx})`);
  }
  assert.equal((await store.audit.nodesAt(Math.ceil(Math.log2(size + 1)) + 1, 0, Number.MAX_SAFE_INTEGER)).length, 0);

  const heads = await store.audit.heads();
  assert.ok(heads.length > 0, 'a head was signed before the kill');
  const latest = heads.at(-1)!;
  assert.ok(latest.size <= size);
  for (const head of heads) {
    assert.deepEqual(head.root, rootHashSync(tree, head.size), `the head of size ${head.size} has the recomputed root`);
    assert.ok(verifyTreeHead(head, publicKey), `the head of size ${head.size} is signed by the key`);
    assert.equal(head.keyId, keyId);
  }
  // The stored nodes, read as the server reads them, give the same roots.
  const audit = store.audit.withBlinding(blinding);
  assert.deepEqual(await audit.run(rootHashPlan(latest.size)), latest.root);
  assert.deepEqual(await audit.run(rootHashPlan(size)), rootHashSync(tree, size));
  return { size, latest, keyId };
}

test('SIGKILL under load: every 200 is in the log, the tree is whole, and the restarted server carries on', { timeout: 300_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-crash-'));
  const servers = new Set<Server>();
  // Even on failure: no server outlives the test, and each is gone before its directory is.
  t.after(async () => {
    for (const { child, exited } of servers) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = environment(dataDir);
  const database = env.DATAPACT_DATABASE!;

  datapact(env, 'seed', '--members', '300', '--avg-friends', '40', '--seed', String(SEED));
  const token = datapact(env, 'tokens', 'issue', '--member', MEMBER, '--app', 'app_blackberry', '--purpose', 'device_experience',
    '--fields', 'id,name,birthday,friends', '--friend-fields', 'name,birthday').stdout.trim();
  assert.match(token, /^\S{20,}$/);

  // --- Load, then the kill.
  const first = await startServer(servers, env);
  const load = await loadUntilKilled(first, token);
  assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
  assert.ok(load.ok.length >= KILL_AFTER);
  assert.ok(load.inFlightAtKill >= 1, `other requests were in flight at the kill (${load.inFlightAtKill})`);
  t.diagnostic(`${load.ok.length} responses received, ${load.inFlightAtKill} in flight at the kill, ${load.cut} cut`);

  // --- What the killed server left.
  const keyPem = createPublicKey(readFileSync(join(dataDir, 'secrets', AUDIT_SIGNING_KEY_FILE))).export({ format: 'pem', type: 'spki' }).toString();
  let store = await openStore(database);
  let before: Awaited<ReturnType<typeof checkStoredTree>>;
  try {
    for (const { id, friends, body } of load.ok) {
      const entries = await store.audit.byRequest(id);
      assert.ok(entries.length > 0, `request ${id} got a 200, so its entries were committed`);
      for (const e of entries) {
        assert.equal(e.tokenMemberId, MEMBER);
        assert.equal(e.appId, 'app_blackberry');
      }
      if (!friends) {
        assert.deepEqual(entries.map((e) => [e.subjectMemberId, e.outcome]), [[null, 'served'], [MEMBER, 'released']]);
      } else if (body !== undefined) {
        // Each friend in the page the client read is a `released` entry of that request.
        const shown = (body as { data: Array<{ id: string }> }).data.map((f) => f.id);
        assert.ok(shown.length > 0);
        const released = new Set(entries.filter((e) => e.outcome === 'released').map((e) => e.subjectMemberId));
        assert.equal(released.size, shown.length);
        for (const friend of shown) assert.ok(released.has(friend), `friend ${friend} of ${id}`);
      }
    }
    before = await checkStoredTree(store, keyPem, loadOrCreateAuditBlinding(dataDir));
    assert.ok(before.size >= load.ok.length);
    // Requests committed but never answered are allowed (the kill came between commit and send).
    const answered = new Set(load.ok.map((r) => r.id));
    const logged = new Set((await store.audit.hashedEntries(0, 10_000_000)).map(({ entry }) => entry.requestId));
    t.diagnostic(`${logged.size} requests in the log, ${[...logged].filter((id) => !answered.has(id)).length} of them never answered`);
  } finally {
    await store.db.destroy();
  }

  // --- The restart, on the same data directory.
  const second = await startServer(servers, env);
  const publicKey = await fetch(`${second.url}/v1/audit/public-key`);
  assert.equal(publicKey.headers.get('x-key-id'), before.keyId, 'the same signing key after the restart');
  assert.equal((await publicKey.text()).trim(), keyPem.trim());
  const newIds: string[] = [];
  for (const url of ['/v1/me', '/v1/me/friends?limit=5']) {
    const response = await fetch(`${second.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, await response.text());
    newIds.push(response.headers.get('x-request-id')!);
  }
  // The restarted server signs a head over what the crash left unsigned (when it starts, or with
  // its first batch); the new entries are under a head within a second, or at the clean stop below.
  const headResponse = await fetch(`${second.url}/v1/audit/tree-head`);
  assert.equal(headResponse.status, 200);
  const { key_id: headKeyId, ...signed } = (await headResponse.json()) as Record<string, unknown>;
  assert.equal(headKeyId, before.keyId);
  const head = treeHeadFromJson(signed);
  assert.ok(verifyTreeHead(head, createPublicKey(keyPem)));
  assert.ok(head.size >= before.size, `the new head (${head.size}) covers the old log (${before.size})`);
  const consistency = await fetch(`${second.url}/v1/audit/consistency?from=${before.latest.size}&to=${head.size}`);
  assert.equal(consistency.status, 200);
  const proof = ((await consistency.json()) as { proof: string[] }).proof.map((h) => Buffer.from(h, 'base64'));
  assert.ok(verifyConsistency(before.latest.size, head.size, before.latest.root, head.root, proof), 'the old head is a prefix of the new');

  second.child.kill('SIGTERM');
  assert.deepEqual(await second.exited, { code: 0, signal: null }, 'a clean stop');

  // --- After a clean stop: the new entries follow the old ones, and the whole log checks out.
  store = await openStore(database);
  try {
    for (const id of newIds) {
      const entries = await store.audit.byRequest(id);
      assert.ok(entries.length > 0);
      for (const e of entries) assert.ok(e.seq > before.size, `entry ${e.seq} of ${id} is after the old log's ${before.size}`);
    }
    const after = await checkStoredTree(store, keyPem, loadOrCreateAuditBlinding(dataDir));
    assert.equal(after.latest.size, after.size, 'the clean stop signed a last head over everything');
  } finally {
    await store.db.destroy();
  }
  // And the product's own verifier agrees: every hash, node, head and signature.
  const verified = datapact(env, 'audit', 'verify');
  assert.match(verified.stdout, /^OK: verified /m);
});
