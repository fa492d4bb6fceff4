/**
 * Scale benchmark (issue 6): does the Graph API's hottest request slow down as the world grows?
 *
 * Two SQLite worlds from the seed (`seedDatabase`, what `datapact seed` runs; seed 2018, 150 friends
 * on average): 10,000 and 1,000,000 members. Each is built once and kept in bench/.cache/ (the big
 * one takes minutes and about 9 GB); a file without its `.done` marker is a seed that did not
 * finish, and is built again. In each world the same caller, the same way: the world's first
 * member (the showcase, same id in both worlds, hundreds of friends, a third of them shared
 * through friends), a device partner whose agreement and grant name 8 friend fields, a token.
 *
 * Measured: `GET /v1/me/friends?fields=<8 fields>&limit=25` through `buildApp` (token, rules, every
 * friend decided, audit entries committed before the response), sequential requests from a worker
 * thread (so the client does not share the server's event loop), alternating between the two
 * worlds every 100 requests (the machine's other load falls on both alike), p50 and p99 of many
 * samples after a warm-up. Target: p99 at a million members at most twice p99 at ten thousand.
 *
 * Every run adds a grant, a token and its requests' audit entries to the cached worlds, the same
 * to both; delete bench/.cache/scale-* to start afresh.
 *
 * Run: npm run bench:scale   (--smoke: worlds of 2,000 and 6,000 members, a few hundred requests)
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { withProgressBar } from '../src/cli/progress-bar.js';
import { maskOf, type Field, type ObjectField } from '../src/domain/field-catalog.js';
import { buildApp } from '../src/http/app.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { seedDatabase, type SeedDatabaseReport } from '../src/seed/seed-database.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { createStore, type Store } from '../src/store/store.js';
import { addPartner } from '../test/helpers/fixtures.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';

const FULL = { sizes: [10_000, 1_000_000], warmup: 500, samples: 5_000 };
const SMOKE = { sizes: [2_000, 6_000], warmup: 50, samples: 300 };
const SEED = 2018;
const AVG_FRIENDS = 150;
const PAGE = 25;
const TARGET_RATIO = 2;
/** Requests to one world before the client turns to the other. */
const BLOCK = 100;
/** The same eight friend fields as bench/http.ts; religion is withheld about a friend by the rules. */
const FIELDS: readonly ObjectField[] = ['name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'religion'];
const MEMBER_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'birthday', 'friends'];
const NOW = Date.parse('2026-11-29T12:00:00Z');
// DATAPACT_BENCH_CACHE: another folder (the smoke test uses a temporary one, so runs never share files).
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

/** The cached world of `members` members: built by the seed unless a finished one is there. */
async function world(members: number, log: (line: string) => void): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `scale-${members}-s${SEED}-f${AVG_FRIENDS}.db`);
  const marker = `${path}.done`;
  if (existsSync(marker)) {
    const report = JSON.parse(readFileSync(marker, 'utf8')) as SeedDatabaseReport;
    log(`${fmt(members)} members: reusing ${path} (seeded in ${fmt(report.ms / 1000, 1)} s, ${fmt(report.bytes / 2 ** 20)} MiB then)`);
    return path;
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const report = await withProgressBar(`Seeding ${fmt(members)}`, (onProgress) =>
    seedDatabase(path, { members, avgFriends: AVG_FRIENDS, seed: SEED, now: NOW, partners: false, onProgress }),
  );
  writeFileSync(marker, JSON.stringify(report));
  log(`${fmt(members)} members: seeded ${fmt(report.friendships)} friendships in ${fmt(report.ms / 1000, 1)} s, ${fmt(report.bytes / 2 ** 20)} MiB`);
  return path;
}

/** A device partner (once per world) and a new grant and token of the showcase member for it. */
async function callerToken(store: Store, caller: string): Promise<string> {
  let appId = 'app_scale';
  if (!(await store.partners.app(appId))) {
    ({ appId } = await addPartner(store, 'scale', { agreement: { memberFields: [...MEMBER_FIELDS], friendFields: ['id', ...FIELDS] } }, NOW));
  }
  const grantId = `g_scale_${randomUUID()}`;
  await store.grants.insertMany([{
    id: grantId, memberId: caller, appId, agreementId: 'agr_scale', agreementVersion: 1, purpose: 'device_experience',
    memberFields: maskOf(MEMBER_FIELDS), friendFields: maskOf(['id', ...FIELDS]), grantedAt: NOW, lastUsedAt: null, revokedAt: null,
  }]);
  return (await store.tokens.issue(grantId, NOW, 24 * 3_600_000)).token;
}

interface Target {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/**
 * Sequential requests from a worker thread, alternating between the targets in blocks of `block`
 * requests, so that whatever else the machine does meanwhile falls on every target alike.
 * Latencies in ms, sorted, by target.
 */
function timeRequests(targets: readonly Target[], warmup: number, samples: number, block: number): Promise<Array<{ times: number[]; failed: number }>> {
  const client = `
    const { parentPort, workerData: { targets, warmup, samples, block } } = require('node:worker_threads');
    const once = async ({ url, headers }) => {
      const started = process.hrtime.bigint();
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, ok: response.status === 200 };
    };
    (async () => {
      const results = targets.map(() => ({ times: [], failed: 0 }));
      for (const target of targets) for (let i = 0; i < warmup; i++) await once(target);
      for (let done = 0; done < samples; done += block) {
        for (const [t, target] of targets.entries()) {
          for (let i = 0; i < Math.min(block, samples - done); i++) {
            const { ms, ok } = await once(target);
            results[t].times.push(ms);
            if (!ok) results[t].failed++;
          }
        }
      }
      for (const result of results) result.times.sort((a, b) => a - b);
      parentPort.postMessage(results);
    })();`;
  return new Promise((resolve, reject) => {
    const plain = targets.map(({ url, headers }) => ({ url, headers }));
    const worker = new Worker(client, { eval: true, workerData: { targets: plain, warmup, samples, block } });
    worker.once('message', (results: Array<{ times: number[]; failed: number }>) => {
      void worker.terminate();
      resolve(results);
    });
    worker.once('error', reject);
  });
}

const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * Every run starts from the world as seeded: the entries earlier runs appended (some 440,000 a run)
 * are deleted, so that the worlds do not grow from run to run, and so are their heads, which each
 * run's app signed with a key of its own (it has no data directory): a log is refused to an app
 * whose key did not sign it.
 */
async function emptyAuditLog(db: Db): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const table of ['audit_heads', 'audit_nodes', 'audit_entries'] as const) await trx.deleteFrom(table).execute();
  });
}

/** Serves one world; checks that the caller's first page has 25 visible friends. */
async function serve(path: string): Promise<Target & { close(): Promise<void> }> {
  const db = openDatabase(path);
  let app: FastifyInstance | undefined;
  try {
    const store = createStore(db);
    await emptyAuditLog(db);
    const token = await callerToken(store, memberIdAt(SEED, 0));
    app = await buildApp({ store, clock: () => NOW, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the server is not listening on TCP');
    const url = `http://127.0.0.1:${address.port}/v1/me/friends?fields=${FIELDS.join(',')}&limit=${PAGE}`;
    const headers = { authorization: `Bearer ${token}` };
    const first = await fetch(url, { headers });
    const body = (await first.json()) as { data?: unknown[] };
    if (first.status !== 200 || body.data?.length !== PAGE) throw new Error(`${path}: ${first.status}, ${body.data?.length} friends; the caller needs ${PAGE} visible friends`);
    const served = app;
    return { url, headers, close: async () => { await served.close(); await db.destroy(); } };
  } catch (error) {
    await app?.close();
    await db.destroy();
    throw error;
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`scale: ${line}`);
  const size = options.smoke ? SMOKE : FULL;
  const [small, large] = size.sizes as [number, number];
  const paths = [await world(small, log), await world(large, log)];
  log(`caller ${memberIdAt(SEED, 0)} (the world's first member) in both; GET /v1/me/friends, ${PAGE} friends x ${FIELDS.length} fields, ` +
    `rules + audit; ${fmt(size.samples)} sequential requests per world after ${fmt(size.warmup)} of warm-up, the worlds alternating every ${BLOCK}`);
  const servers = [];
  try {
    for (const path of paths) servers.push(await serve(path));
    const [a, b] = (await timeRequests(servers, size.warmup, size.samples, BLOCK)).map(({ times, failed }) => ({
      p50: percentile(times, 0.5), p99: percentile(times, 0.99), failed,
    })) as [Latency, Latency];
    for (const [members, result] of [[small, a], [large, b]] as const) {
      log(`${fmt(members).padStart(9)} members: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${result.failed} failed)`);
    }
    return figures(small, large, a, b, size.samples, log);
  } finally {
    for (const server of servers) await server.close();
  }
}

function figures(small: number, large: number, a: Latency, b: Latency, samples: number, log: (line: string) => void): BenchResult {
  const list: Figure[] = [
    { name: `p50 at ${fmt(small)} members`, value: a.p50, unit: 'ms', kind: 'info' },
    { name: `p99 at ${fmt(small)} members`, value: a.p99, unit: 'ms', kind: 'info' },
    { name: `p50 at ${fmt(large)} members`, value: b.p50, unit: 'ms', kind: 'info' },
    { name: `p99 at ${fmt(large)} members`, value: b.p99, unit: 'ms', kind: 'info' },
    { name: `p99 ${fmt(large)} / p99 ${fmt(small)}`, value: b.p99 / a.p99, unit: 'x', target: { op: '<=', value: TARGET_RATIO }, kind: 'performance' },
    { name: 'failed requests', value: a.failed + b.failed, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
  ];
  log(`ratio: p99(${fmt(large)}) / p99(${fmt(small)}) = ${(b.p99 / a.p99).toFixed(2)}; target <= ${TARGET_RATIO}: ${verdict(passes(list[4]!))}`);
  return { benchmark: 'scale', ok: a.failed + b.failed === 0, figures: list, notes: [`${fmt(samples)} sequential requests per world, SQLite`] };
}

if (isMain(import.meta.url)) await runAsScript(run);
