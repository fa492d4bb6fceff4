/**
 * Scale benchmark (issue 6, issue 11 point 7): does the Graph API's hottest request slow down as the
 * world and its audit log grow?
 *
 * Two SQLite worlds from the seed (`seedDatabase`, what `datapact seed` runs; seed 2018, 150 friends
 * on average): 10,000 and 1,000,000 members. Each is built once and kept in bench/.cache/ (the big
 * one takes minutes and about 11 GB); a file without its `.done` marker is a seed that did not
 * finish, and is built again. Each world keeps its audit signing key beside it (`<world>.data/`),
 * so that its log grows from run to run: a server refuses a log another key signed.
 *
 * Callers drawn at random across each world (bench/lib/callers.ts): members with the platform on
 * and a friend, as many as the requests timed, each given a grant and a token (for a device partner
 * whose agreement names 8 friend fields) before anything is timed. Every request goes to a caller drawn at random, so most pages are read cold.
 *
 * Measured: `GET /v1/me/friends?fields=<8 fields>&limit=25` through `buildApp` (token, rules, every
 * friend decided, audit entries committed before the response: the log grows during the run),
 * sequential requests from a worker thread (so the client does not share the server's event loop),
 * alternating between the two worlds every 100 requests (the machine's other load falls on both
 * alike), p50 and p99 of many samples after a warm-up. Target: p99 at a million members at most
 * twice p99 at ten thousand.
 *
 * Every run adds its callers' grants and tokens and its requests' audit entries to the cached
 * worlds, the same to both; delete bench/.cache/scale-* to start afresh.
 *
 * Run: npm run bench:scale   (--smoke: worlds of 500 and 1,500 members, a hundred requests each)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { loadOrCreateAuditSigningKey, auditSigningKeyPath } from '../src/audit/signing-key.js';
import { openStore } from '../src/cli/open-store.js';
import { WalCheckpointing } from '../src/store/wal-checkpointing.js';
import { withProgressBar } from '../src/cli/progress-bar.js';
import { buildApp } from '../src/http/app.js';
import { UNLIMITED_GRAPH_REQUESTS } from '../src/http/graph/request-limit.js';
import { seedDatabase, type SeedDatabaseReport } from '../src/seed/seed-database.js';
import { callerTokens, FRIEND_FIELDS, FRIENDS_PATH, PAGE } from './lib/callers.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';
import { prng } from './prng.js';

const FULL = { sizes: [10_000, 1_000_000], warmup: 500, samples: 5_000, callers: 5_000 };
const SMOKE = { sizes: [500, 1_500], warmup: 20, samples: 100, callers: 100 };
const SEED = 2018;
const AVG_FRIENDS = 150;
const TARGET_RATIO = 2;
/** Requests to one world before the client turns to the other. */
const BLOCK = 100;
const NOW = Date.parse('2026-11-29T12:00:00Z');
// DATAPACT_BENCH_CACHE: another folder (the smoke test uses a temporary one, so runs never share files).
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

/** The world's data directory: its audit signing key, kept as long as the world. */
const dataDirOf = (path: string) => `${path}.data`;

/**
 * The cached world of `members` members: built by the seed unless a finished one is there whose
 * audit key was kept (a world from before the key was kept has a log no key here can extend).
 */
async function world(members: number, log: (line: string) => void): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `scale-${members}-s${SEED}-f${AVG_FRIENDS}.db`);
  const marker = `${path}.done`;
  const key = auditSigningKeyPath(dataDirOf(path));
  if (existsSync(marker) && existsSync(key)) {
    const report = JSON.parse(readFileSync(marker, 'utf8')) as SeedDatabaseReport;
    log(`${fmt(members)} members: reusing ${path} (seeded in ${fmt(report.ms / 1000, 1)} s, ${fmt(report.bytes / 2 ** 20)} MiB then)`);
    return path;
  }
  if (existsSync(marker)) log(`${fmt(members)} members: ${path} has no audit key kept beside it (an older benchmark's world): seeding it again`);
  for (const suffix of ['', '-wal', '-shm', '.done']) rmSync(path + suffix, { force: true });
  rmSync(dataDirOf(path), { recursive: true, force: true });
  const report = await withProgressBar(`Seeding ${fmt(members)}`, (onProgress) =>
    seedDatabase(path, { members, avgFriends: AVG_FRIENDS, seed: SEED, now: NOW, partners: false, onProgress }),
  );
  loadOrCreateAuditSigningKey(dataDirOf(path));
  writeFileSync(marker, JSON.stringify(report));
  log(`${fmt(members)} members: seeded ${fmt(report.friendships)} friendships in ${fmt(report.ms / 1000, 1)} s, ${fmt(report.bytes / 2 ** 20)} MiB`);
  return path;
}

interface Timed {
  /** Sorted, ms. */
  readonly times: number[];
  readonly failed: number;
  /** The status and body of the first failed request. */
  readonly firstFailure?: string;
}

interface Target {
  readonly url: string;
  /** One bearer token per caller; each request draws one. */
  readonly tokens: readonly string[];
}

/**
 * Sequential requests from a worker thread, alternating between the targets in blocks of `block`
 * requests, so that whatever else the machine does meanwhile falls on every target alike; each
 * request as a caller drawn at random. Latencies in ms, sorted, by target.
 */
function timeRequests(targets: readonly Target[], warmup: number, samples: number, block: number): Promise<Timed[]> {
  const client = `
    const { parentPort, workerData: { targets, warmup, samples, block } } = require('node:worker_threads');
    const once = async ({ url, tokens }) => {
      const headers = { authorization: 'Bearer ' + tokens[Math.floor(Math.random() * tokens.length)] };
      const started = process.hrtime.bigint();
      const response = await fetch(url, { headers });
      const body = await response.text();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      return { ms, ok: response.status === 200, failure: response.status + ' ' + body.slice(0, 300) };
    };
    (async () => {
      const results = targets.map(() => ({ times: [], failed: 0, firstFailure: undefined }));
      for (const target of targets) for (let i = 0; i < warmup; i++) await once(target);
      for (let done = 0; done < samples; done += block) {
        for (const [t, target] of targets.entries()) {
          for (let i = 0; i < Math.min(block, samples - done); i++) {
            const { ms, ok, failure } = await once(target);
            results[t].times.push(ms);
            if (!ok) results[t].firstFailure ??= failure;
            if (!ok) results[t].failed++;
          }
        }
      }
      for (const result of results) result.times.sort((a, b) => a - b);
      parentPort.postMessage(results);
    })();`;
  return new Promise((resolve, reject) => {
    const plain = targets.map(({ url, tokens }) => ({ url, tokens }));
    const worker = new Worker(client, { eval: true, workerData: { targets: plain, warmup, samples, block } });
    worker.once('message', (results: Timed[]) => {
      void worker.terminate();
      resolve(results);
    });
    worker.once('error', reject);
  });
}

const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Serves one world with its kept audit key; checks that a caller's first page is answered. */
async function serve(path: string, members: number, callers: number, random: () => number): Promise<Target & { entries: number; close(): Promise<void> }> {
  const store = await openStore(path);
  let app: FastifyInstance | undefined;
  try {
    const tokens = await callerTokens(store, { seed: SEED, members, count: callers, random, now: NOW });
    const entries = await store.audit.count();
    app = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS, dataDir: dataDirOf(path) });
    const checkpointing = WalCheckpointing.start(store.db, path); // as `datapact serve` runs
    app.addHook('onClose', async () => checkpointing?.stop());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the server is not listening on TCP');
    const url = `http://127.0.0.1:${address.port}${FRIENDS_PATH}`;
    const first = await fetch(url, { headers: { authorization: `Bearer ${tokens[0]}` } });
    if (first.status !== 200) throw new Error(`${path}: a caller's first page answered ${first.status}: ${await first.text()}`);
    const served = app;
    return { url, tokens, entries, close: async () => { await served.close(); await store.close(); } };
  } catch (error) {
    await app?.close();
    await store.close();
    throw error;
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`scale: ${line}`);
  const size = options.smoke ? SMOKE : FULL;
  const [small, large] = size.sizes as [number, number];
  const paths = [await world(small, log), await world(large, log)];
  const random = prng(Date.now());
  const servers = [];
  try {
    for (const [i, path] of paths.entries()) servers.push(await serve(path, size.sizes[i]!, size.callers, random));
    log(`callers: ${fmt(size.callers)} members (platform on, with friends) drawn at random in each world, each request as one of them at random; ` +
      `GET /v1/me/friends, ${PAGE} friends x ${FRIEND_FIELDS.length} fields, rules + audit; ${fmt(size.samples)} sequential requests per world ` +
      `after ${fmt(size.warmup)} of warm-up, the worlds alternating every ${BLOCK}; the audit logs held ` +
      `${servers.map((server, i) => `${fmt(server.entries)} (${fmt(size.sizes[i]!)})`).join(' and ')} entries before the run and grow during it`);
    const timed = await timeRequests(servers, size.warmup, size.samples, BLOCK);
    for (const [i, { firstFailure }] of timed.entries()) if (firstFailure !== undefined) log(`${fmt(size.sizes[i]!)} members: first failure: ${firstFailure}`);
    const [a, b] = timed.map(({ times, failed }) => ({ p50: percentile(times, 0.5), p99: percentile(times, 0.99), failed })) as [Latency, Latency];
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
  return { benchmark: 'scale', ok: a.failed + b.failed === 0, figures: list, notes: [`${fmt(samples)} sequential requests per world, random callers, growing log, SQLite`] };
}

if (isMain(import.meta.url)) await runAsScript(run);
