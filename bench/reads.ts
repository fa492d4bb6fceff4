/**
 * Reads under load (issue 11 point 4): do the staff's reports and audit queries hold up the Graph API?
 *
 * One SQLite world (the seed's members and friendships, the demo partners) whose audit log is filled
 * with READS_BENCH_SUBJECTS entries (one per audited subject; default 1,000,000) through the app's own
 * append path (AuditLog.append, group commit, Merkle tree, signed heads), spread over the last 90 days
 * across the demo partners' agreements. It is built once and kept in bench/.cache/ with its audit key
 * beside it; every run's requests grow its log. READS_BENCH_COUNTED_SUBJECTS more subjects (default
 * 4,000,000; 99,000,000 makes the reports read as on a log of 100M) are drawn alike and given to the counts kept
 * on append (src/store/audit-aggregates.ts) without writing their entries, which here would take
 * hours and tens of gigabytes: the inventory, the daily counts and the exposure report read only
 * those counts; the audit entries query reads the log itself (1M entries).
 *
 * The per-member counts are journals, folded into bitmaps by the server's AuditLog every
 * foldAfterRows (20,000) journal rows; the reports read every row not folded yet. The counts
 * given directly are folded after each batch as the server would have; the run's Graph API load
 * then appends rows and folds them as a server does, so the reports read beside a live journal
 * (the soak's case: a journal never folded made the inventory grow with the traffic). A cached
 * world holding a larger backlog (built before the log folded) has it folded first, and the run
 * says so; it prints the rows left unfolded at its end.
 *
 * `buildApp` serves it as `datapact serve` would (openStore: the staff's reads on their worker thread).
 * A Graph API load, `GET /v1/me/friends` (25 friends x 8 fields, rules + audit) from several
 * connections as callers drawn at random (bench/lib/callers.ts), runs alone, then with a staff
 * client beside it asking, one after the other and over again, for the inventory, an audit query
 * (`entries?partner_id=p_huawei`), the daily counts (30 days) and the exposure report (one partner
 * and one month; every partner and twelve months). The two phases alternate for a few
 * rounds, so that the machine's other load falls on both alike. Each client is a worker thread of
 * its own, so that neither shares the server's event loop.
 *
 * Prints each staff query's p50 and max (target: under 1 s) and the Graph API's p99 alone and
 * during the staff reads, and their ratio (target at most 1.5).
 *
 * Run: npm run bench:reads   (--smoke: a small world and log, one-second phases)
 *      READS_BENCH_SUBJECTS=10000000 npm run bench:reads   (a bigger log; filling it is timed and printed)
 *      READS_BENCH_SAME_THREAD=1 npm run bench:reads   (for comparison: the staff's reads on the server's own
 *      connection, on the request thread, as before issue 11)
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import type { AuditEntry } from '../src/audit/audit-entry.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../src/audit/blinding.js';
import { auditSigningKeyPath, loadOrCreateAuditSigningKey } from '../src/audit/signing-key.js';
import { openStore } from '../src/cli/open-store.js';
import { WalCheckpointing } from '../src/store/wal-checkpointing.js';
import { withProgressBar } from '../src/cli/progress-bar.js';
import { FRIEND_OPTED_OUT, RULES_VERSION } from '../src/domain/reason-codes.js';
import { DAY_MS } from '../src/domain/time.js';
import { buildApp } from '../src/http/app.js';
import { UNLIMITED_GRAPH_REQUESTS } from '../src/http/graph/request-limit.js';
import { auditAggregates } from '../src/store/audit-aggregates.js';
import { foldMemberSets, MemberSetBuilder } from '../src/store/member-set-folding.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { seedDatabase } from '../src/seed/seed-database.js';
import { hashPassword } from '../src/store/member-credential-repository.js';
import { createStore, type Store } from '../src/store/store.js';
import { callerTokens, FRIENDS_PATH, PAGE } from './lib/callers.js';
import { migrateCached } from './lib/migrate-cached.js';
import { recipientsOf, type Recipient } from './lib/recipients.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';
import { prng } from './prng.js';

const subjectsFromEnv = Number(process.env.READS_BENCH_SUBJECTS || 0);
const countedFromEnv = process.env.READS_BENCH_COUNTED_SUBJECTS === undefined ? undefined : Number(process.env.READS_BENCH_COUNTED_SUBJECTS);
/**
 * `counted`: audited subjects added to the counts kept on append (audit-aggregates.ts) only, as
 * requests like the log's would add them, without writing their entries: the reports that read
 * those counts (inventory, daily counts, exposure) then answer as on a log of `subjects + counted`
 * subjects. Filling a log of 100M entries through AuditLog would take hours and ~60 GB here.
 */
const FULL = { members: 10_000, avgFriends: 150, subjects: subjectsFromEnv || 1_000_000, counted: countedFromEnv ?? 4_000_000, connections: 8, seconds: 10, warmupSeconds: 3, rounds: 2, callers: 2_000 };
const SMOKE = { members: 500, avgFriends: 40, subjects: subjectsFromEnv || 5_000, counted: countedFromEnv ?? 5_000, connections: 2, seconds: 1, warmupSeconds: 1, rounds: 1, callers: 100 };
const SEED = 2018;
const NOW = Date.parse('2026-11-29T12:00:00Z');
const LOG_DAYS = 90;
const STAFF_TARGET_MS = 1_000;
const GRAPH_TARGET_RATIO = 1.5;
const STAFF_READS = [
  { name: 'inventory', path: '/admin/v1/reports/inventory' },
  { name: 'audit entries of a partner', path: '/admin/v1/audit/entries?partner_id=p_huawei' },
  { name: 'daily counts (30 days)', path: '/admin/v1/audit/daily-counts' },
  { name: 'exposure, 1 partner, 1 month', path: '/admin/v1/reports/exposure?partner_id=p_huawei&from=2026-11&to=2026-11' },
  { name: 'exposure, all, 12 months', path: '/admin/v1/reports/exposure?from=2025-12&to=2026-11' },
] as const;
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');
const SAME_THREAD = process.env.READS_BENCH_SAME_THREAD === '1';
const COUNT_THROUGH_RECORD = process.env.READS_BENCH_COUNT === 'record';

type Size = typeof FULL;

interface Timed {
  readonly times: number[];
  readonly failed: number;
  readonly firstFailure?: string;
}

const dataDirOf = (path: string) => `${path}.data`;

/** The cached world with its filled log, built unless a finished one (and its audit key) is there. */
async function world(size: Size, log: (line: string) => void): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `reads-${size.members}-s${SEED}-f${size.avgFriends}-log${size.subjects}-counted${size.counted}.db`);
  const marker = `${path}.done`;
  if (existsSync(marker) && existsSync(auditSigningKeyPath(dataDirOf(path)))) {
    const built = JSON.parse(readFileSync(marker, 'utf8')) as { fillSeconds: number; countSeconds?: number };
    log(`reusing ${path} (its log of ${fmt(size.subjects)} entries was filled in ${fmt(built.fillSeconds, 1)} s; ` +
      `${fmt(size.counted)} more subjects were counted in ${fmt(built.countSeconds ?? 0, 1)} s)`);
    await migrateCached(path, log);
    return path;
  }
  for (const suffix of ['', '-wal', '-shm', '.done']) rmSync(path + suffix, { force: true });
  rmSync(dataDirOf(path), { recursive: true, force: true });
  await withProgressBar('Seeding', (onProgress) =>
    seedDatabase(path, { members: size.members, avgFriends: size.avgFriends, seed: SEED, now: NOW, partners: true, onProgress }));
  const store = await openStore(path);
  try {
    const started = performance.now();
    await fillLog(store, dataDirOf(path), size);
    const fillSeconds = (performance.now() - started) / 1000;
    log(`filled the log with ${fmt(size.subjects)} entries through AuditLog.append in ${fmt(fillSeconds, 1)} s ` +
      `(${fmt(fillSeconds / (size.subjects / 1e6), 1)} s per million)`);
    const counting = performance.now();
    await countOnly(store, size);
    const countSeconds = (performance.now() - counting) / 1000;
    log(`added ${fmt(size.counted)} more subjects to the counts kept on append (not to the log) in ${fmt(countSeconds, 1)} s ` +
      `(${COUNT_THROUGH_RECORD ? 'journal rows appended and folded after each batch' : 'journal rows folded in memory, each member set written once'})`);
    writeFileSync(marker, JSON.stringify({ fillSeconds, countSeconds }));
  } finally {
    await store.close();
  }
  return path;
}

/** The lists every synthetic subject shares (the counts work out what a list releases once per list). */
const RELEASED: AuditEntry['released'] = ['id', 'name', 'birthday'];
const WITHHELD: AuditEntry['withheld'] = { religion: 'sensitive_field' };

/**
 * `total` entries in batches of about `batchSize`, as requests of the demo partners' apps write
 * them: per request, the friends it released and those left out by their own settings; now and
 * then a refused request. Their instants rise evenly over the LOG_DAYS days before NOW.
 */
function* syntheticBatches(recipients: readonly Recipient[], size: Size, total: number, seed: number, batchSize: number): Generator<AuditEntry[]> {
  const random = prng(seed);
  // Each id once (a hash each): drawn ~30 times per request, 100M times for a log of 100M subjects.
  const ids = Array.from({ length: size.members }, (_, index) => memberIdAt(SEED, index));
  const member = () => ids[Math.floor(random() * size.members)]!;
  const start = NOW - LOG_DAYS * DAY_MS;
  let written = 0;
  while (written < total) {
    const batch: AuditEntry[] = [];
    for (let request = 0; batch.length < batchSize && written + batch.length < total; request++) {
      const at = Math.floor(start + ((written + batch.length) / total) * LOG_DAYS * DAY_MS);
      const recipient = recipients[Math.floor(random() * recipients.length)]!;
      const base = {
        at, requestId: `fill-${seed}-${written + batch.length}`, partnerId: recipient.partnerId, appId: recipient.appId, agreementId: recipient.agreementId, agreementVersion: 1, rulesVersion: RULES_VERSION,
        tokenMemberId: member(), purpose: 'device_experience',
      };
      if (random() < 0.05) {
        batch.push({ ...base, subjectMemberId: null, outcome: 'denied', code: 'not_consented', released: [], withheld: {} });
        continue;
      }
      for (let i = 0; i < PAGE; i++) {
        batch.push({ ...base, subjectMemberId: member(), outcome: 'released', code: 'through_friend', released: RELEASED, withheld: WITHHELD });
      }
      for (let i = Math.floor(random() * 20); i > 0; i--) {
        batch.push({ ...base, subjectMemberId: member(), outcome: 'withheld', code: FRIEND_OPTED_OUT, released: [], withheld: {} });
      }
    }
    const entries = batch.slice(0, total - written);
    written += entries.length;
    yield entries;
  }
}

/** `size.subjects` entries appended through the app's AuditLog (group commit, Merkle nodes, heads signed with the world's key). */
async function fillLog(store: Store, dataDir: string, size: Size): Promise<void> {
  const recipients = await recipientsOf(store, NOW);
  const auditLog = new AuditLog({ db: store.db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(dataDir), blinding: loadOrCreateAuditBlinding(dataDir) });
  await auditLog.start();
  let written = 0;
  await withProgressBar('Filling the audit log', async (onProgress) => {
    for (const entries of syntheticBatches(recipients, size, size.subjects, SEED, 5_000)) {
      await auditLog.append(entries);
      written += entries.length;
      onProgress(written, size.subjects);
    }
  });
  await auditLog.close();
}

/**
 * `size.counted` more subjects, drawn as the log's are, given to the counts kept on append
 * (AuditAggregates.record, as the appenders call it) without their entries, in large batches. By
 * default their member sets are held in memory (MemberSetBuilder) and each written once at the
 * end, what the batches' deltas leave (test/store/audit-aggregates.test.ts); READS_BENCH_COUNT=record
 * writes each batch's deltas, as the server's AuditLog does.
 */
async function countOnly(store: Store, size: Size): Promise<void> {
  const recipients = await recipientsOf(store, NOW);
  const builder = COUNT_THROUGH_RECORD ? undefined : await MemberSetBuilder.open(store.db);
  let counted = 0;
  await withProgressBar('Counting more subjects', async (onProgress) => {
    for (const entries of syntheticBatches(recipients, size, size.counted, SEED + 1, 250_000)) {
      await store.db.transaction().execute((trx) => auditAggregates.record(trx, entries, builder && ((sets) => builder.add(sets)), builder?.memberNumbers));
      counted += entries.length;
      onProgress(counted, size.counted);
    }
  });
  await builder?.write(store.db);
}

/** Rows of the count journals (audit-aggregates.ts) not folded into member sets yet: every report reads them all. */
async function journalRows(store: Store): Promise<number> {
  let rows = 0;
  for (const table of ['audit_release_days', 'audit_exposure', 'audit_token_months'] as const) {
    rows += Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  }
  return rows;
}

/**
 * A world cached by an older benchmark may hold millions of journal rows never folded (the appenders
 * write none since): the backlog is folded first, as `datapact tick` would after an upgrade, and said.
 */
async function foldBacklog(store: Store, log: (line: string) => void): Promise<void> {
  const backlog = await journalRows(store);
  if (backlog === 0) return;
  const started = performance.now();
  await foldMemberSets(store.db);
  log(`count journals: a backlog of ${fmt(backlog)} rows (a world cached before the appends folded them) folded in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

/** A viewer's session token: every staff role may read the reports and the audit queries. */
async function staffToken(store: Store): Promise<string> {
  const staff = await store.staff.create({
    email: `reads-${randomUUID()}@bench.example`, name: 'Reads benchmark', roles: ['viewer'], passwordHash: await hashPassword(randomUUID()),
  }, NOW);
  return (await store.staff.issue(staff.id, 'session', { expiresAt: NOW + 12 * 3_600_000 }, NOW)).secret;
}

/** Runs `code` (CommonJS) in a worker thread with `workerData`; resolves with its one message. */
function inWorker<T>(code: string, workerData: unknown, onStart?: (worker: Worker) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData });
    worker.once('message', (result: T) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
    onStart?.(worker);
  });
}

/** `connections` loops of requests for `seconds`, each as a caller drawn at random. */
function graphLoad(url: string, tokens: readonly string[], connections: number, seconds: number): Promise<Timed> {
  return inWorker(`
    const { parentPort, workerData: { url, tokens, connections, seconds } } = require('node:worker_threads');
    (async () => {
      const times = [];
      let failed = 0, firstFailure;
      const end = performance.now() + seconds * 1000;
      await Promise.all(Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const authorization = 'Bearer ' + tokens[Math.floor(Math.random() * tokens.length)];
          const started = performance.now();
          try {
            const response = await fetch(url, { headers: { authorization } });
            const body = await response.text();
            times.push(performance.now() - started);
            if (response.status !== 200) { failed++; firstFailure ??= response.status + ' ' + body.slice(0, 300); }
          } catch (error) { failed++; firstFailure ??= String(error); }
        }
      }));
      parentPort.postMessage({ times, failed, firstFailure });
    })();`, { url, tokens, connections, seconds });
}

/** The staff client: the staff reads one after the other, whole rounds, until told to stop. */
function staffLoop(base: string, token: string): { stop(): void; results: Promise<Timed[]> } {
  let worker: Worker | undefined;
  const results = inWorker<Timed[]>(`
    const { parentPort, workerData: { base, token, paths } } = require('node:worker_threads');
    let stopped = false;
    parentPort.once('message', () => { stopped = true; });
    (async () => {
      const results = paths.map(() => ({ times: [], failed: 0, firstFailure: undefined }));
      do {
        for (const [i, path] of paths.entries()) {
          const started = performance.now();
          try {
            const response = await fetch(base + path, { headers: { authorization: 'Bearer ' + token } });
            const body = await response.text();
            results[i].times.push(performance.now() - started);
            if (response.status !== 200) { results[i].failed++; results[i].firstFailure ??= response.status + ' ' + body.slice(0, 300); }
          } catch (error) { results[i].failed++; results[i].firstFailure ??= String(error); }
        }
      } while (!stopped);
      parentPort.postMessage(results);
    })();`, { base, token, paths: STAFF_READS.map((read) => read.path) }, (started) => { worker = started; });
  return { stop: () => worker?.postMessage('stop'), results };
}

const sorted = (times: readonly number[]) => [...times].sort((a, b) => a - b);
const percentile = (times: readonly number[], q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;

function merged(parts: readonly Timed[]): Timed {
  return {
    times: sorted(parts.flatMap((part) => part.times)),
    failed: parts.reduce((sum, part) => sum + part.failed, 0),
    ...(parts.find((part) => part.firstFailure !== undefined)?.firstFailure === undefined ? {} : { firstFailure: parts.find((part) => part.firstFailure)!.firstFailure! }),
  };
}

async function serve(store: Store, path: string): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS, dataDir: dataDirOf(path) });
  const checkpointing = WalCheckpointing.start(store.db, path); // as `datapact serve` runs
  app.addHook('onClose', async () => checkpointing?.stop());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server is not listening on TCP');
  return { app, base: `http://127.0.0.1:${address.port}` };
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`reads: ${line}`);
  const size = options.smoke ? SMOKE : FULL;
  const path = await world(size, log);
  const store = await openStore(path);
  let app: FastifyInstance | undefined;
  try {
    const tokens = await callerTokens(store, { seed: SEED, members: size.members, count: size.callers, random: prng(Date.now()), now: NOW });
    const staff = await staffToken(store);
    const entriesBefore = await store.audit.count();
    await foldBacklog(store, log);
    const served = await serve(SAME_THREAD ? createStore(store.db) : store, path);
    app = served.app;
    const url = served.base + FRIENDS_PATH;
    log(`world: ${fmt(size.members)} members, the demo partners; the audit log holds ${fmt(entriesBefore)} entries and grows with the run; ` +
      `the counts kept on append hold ${fmt(size.counted)} more subjects (not in the log): the reports read as on ${fmt(entriesBefore + size.counted)}`);
    log(SAME_THREAD ? 'staff reads: on the server\'s own connection, on the request thread (READS_BENCH_SAME_THREAD=1, for comparison)' : 'staff reads: on their worker thread');
    log(`Graph API: GET /v1/me/friends (${PAGE} friends x 8 fields), ${size.connections} connections, ${fmt(size.callers)} callers at random; ` +
      `${size.rounds} round(s) of ${size.seconds} s alone and ${size.seconds} s beside the staff reads (${STAFF_READS.map((read) => read.path).join(', ')}), ` +
      `after a ${size.warmupSeconds} s warm-up and one round of the staff reads`);
    // The warm-up: the Graph API, and one round of the staff reads (the first starts the read worker's thread).
    await graphLoad(url, tokens, size.connections, size.warmupSeconds);
    const warmStaff = staffLoop(served.base, staff);
    warmStaff.stop();
    await warmStaff.results;
    const alone: Timed[] = [];
    const beside: Timed[] = [];
    const staffRounds: Timed[][] = [];
    for (let round = 0; round < size.rounds; round++) {
      alone.push(await graphLoad(url, tokens, size.connections, size.seconds));
      const staffClient = staffLoop(served.base, staff);
      beside.push(await graphLoad(url, tokens, size.connections, size.seconds));
      staffClient.stop();
      staffRounds.push(await staffClient.results);
    }
    const entriesAfter = await store.audit.count();
    log(`the log grew by ${fmt(entriesAfter - entriesBefore)} entries during the run; its count journals hold ${fmt(await journalRows(store))} rows not folded yet`);
    return figures(merged(alone), merged(beside), STAFF_READS.map((_, i) => merged(staffRounds.map((rounds) => rounds[i]!))), entriesBefore, size.counted, log);
  } finally {
    await app?.close();
    await store.close();
  }
}

function figures(alone: Timed, beside: Timed, staff: readonly Timed[], logSize: number, counted: number, log: (line: string) => void): BenchResult {
  const list: Figure[] = [
    { name: 'audit log entries at start', value: logSize, unit: 'count', kind: 'info' },
    { name: 'subjects in the kept counts only', value: counted, unit: 'count', kind: 'info' },
  ];
  for (const [i, read] of STAFF_READS.entries()) {
    const { times, failed, firstFailure } = staff[i]!;
    const p50 = percentile(times, 0.5);
    const max = times.at(-1) ?? Number.NaN;
    list.push(
      { name: `${read.name} p50`, value: p50, unit: 'ms', kind: 'info' },
      { name: `${read.name} max`, value: max, unit: 'ms', target: { op: '<', value: STAFF_TARGET_MS }, kind: 'performance' },
    );
    log(`${read.name.padEnd(30)} ${String(times.length).padStart(4)} x: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms; ` +
      `target < ${fmt(STAFF_TARGET_MS)} ms: ${verdict(max < STAFF_TARGET_MS)}${failed ? ` (${failed} failed: ${firstFailure})` : ''}`);
  }
  const p99Alone = percentile(alone.times, 0.99);
  const p99Beside = percentile(beside.times, 0.99);
  const ratio = p99Beside / p99Alone;
  for (const [name, timed] of [['alone', alone], ['beside staff reads', beside]] as const) {
    log(`Graph API ${name.padEnd(18)} ${fmt(timed.times.length)} requests: p50 ${percentile(timed.times, 0.5).toFixed(1)} ms, ` +
      `p99 ${percentile(timed.times, 0.99).toFixed(1)} ms${timed.failed ? ` (${timed.failed} failed: ${timed.firstFailure})` : ''}`);
  }
  const failed = alone.failed + beside.failed + staff.reduce((sum, timed) => sum + timed.failed, 0);
  list.push(
    { name: 'Graph API p99 alone', value: p99Alone, unit: 'ms', kind: 'info' },
    { name: 'Graph API p99 beside staff reads', value: p99Beside, unit: 'ms', kind: 'info' },
    { name: 'Graph API p99 beside / alone', value: ratio, unit: 'x', target: { op: '<=', value: GRAPH_TARGET_RATIO }, kind: 'performance' },
    { name: 'failed requests', value: failed, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
  );
  log(`ratio: Graph API p99 beside staff reads / alone = ${ratio.toFixed(2)}; target <= ${GRAPH_TARGET_RATIO}: ${verdict(ratio <= GRAPH_TARGET_RATIO)}`);
  const ranEach = staff.every((timed) => timed.times.length > 0);
  return {
    benchmark: 'reads', ok: failed === 0 && ranEach, figures: list,
    notes: [`SQLite; audit log of ${fmt(logSize)} entries at start; the counts kept on append hold ${fmt(counted)} more subjects `
      + `(reports read as on a log of ${fmt(logSize + counted)} subjects; the audit entries query reads the log itself)`
      + `${SAME_THREAD ? '; staff reads on the request thread (READS_BENCH_SAME_THREAD=1)' : ''}`],
  };
}

if (isMain(import.meta.url)) await runAsScript(run);
