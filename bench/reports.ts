/**
 * The staff's reports at scale (issue 14: "answers in under a second at a million members and a
 * hundred million audited subjects").
 *
 * A SQLite world from the seed (`seedDatabase`, seed 2018): REPORTS_BENCH_MEMBERS members (default
 * 100,000) with REPORTS_BENCH_FRIENDS friends on average (default 100) and the demo partners. Its
 * counts are filled with REPORTS_BENCH_SUBJECTS audited subjects (default 2,000,000) through the
 * append side's own code, `auditAggregates.record` (what every append of the audit log calls in its
 * transaction), without writing the log entries themselves: synthetic Graph API requests of the
 * demo partners' apps spread over the 12 months before `now`, each a token member drawn at random
 * across the world, then (one in twenty is refused instead) its served entry and a page of 25 of that
 * member's friends read from `friendships`, released with the agreement's friend fields (sensitive
 * ones withheld; one friend in ten passed over by their settings). The world and the filled
 * database are built once into bench/.cache/ (or DATAPACT_BENCH_CACHE); each run works on a copy.
 *
 * Measured, each report called REPORTS_BENCH_REPEATS times (default 5) through `openStore` (the
 * staff's reads on their worker thread, as `datapact serve` reads them): the first call (cold) apart,
 * then p50 and max of the others, target < 1 s:
 * - the exposure (one partner, one month; every partner, 12 months) and the inventory on the counts as
 *   appended, before `foldMemberSets` (the `rows` lines: a baseline while the appenders wrote per-member
 *   journal rows; they now write the sets' deltas, so these read the sets as appended and the fold finds
 *   nothing), then the same after folding (its time and rows printed);
 * - the counterfactual (every partner, 12 months): with no reach indexed (the baseline: the report
 *   reads every token member's two hops itself; one call, as it takes minutes), after `indexReach` (its time printed), then after
 *   REPORTS_BENCH_NEW_REQUESTS more requests (default 300, new token members): first with the newcomers not
 *   indexed (a baseline: the report expands them itself), then once indexed as the server's scheduler does
 *   (ReachIndexing: one run starts a worker thread that finds their reach on its own read-only connection and
 *   cuts it into pieces, the next runs store a fixed number of pieces each, one transaction a piece; the time to
 *   find, the runs, their time and the longest step printed): the incremental case;
 * - the records of processing;
 * - the least privilege of every agreement (its uses and the live grants, grouped).
 * Correctness: the exposure and counterfactual reports must be the same before and after folding,
 * indexing, and (the incremental case) with the newcomers expanded by the report, indexed by the scheduler, and after indexReach.
 *
 * REPORTS_BENCH_FILL=bulk fills the counts from the same requests through the same record, its
 * member sets held in memory (MemberSetBuilder) and each written once: nothing to measure before
 * folding. REPORTS_BENCH_BASELINES=0 leaves out the baselines (rows, counterfactual
 * not indexed), saying so. --smoke also builds the bulk fill and compares every report with the other.
 *
 * Run: npm run bench:reports   (--smoke: a tiny world, two calls each)
 *      REPORTS_BENCH_FILL=bulk REPORTS_BENCH_BASELINES=0 REPORTS_BENCH_MEMBERS=1000000 REPORTS_BENCH_SUBJECTS=100000000 npm run bench:reports
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEntry } from '../src/audit/audit-entry.js';
import { openStore } from '../src/cli/open-store.js';
import { withProgressBar } from '../src/cli/progress-bar.js';
import { DEMO_CONTROLLER } from '../src/domain/controller.js';
import { FIELD_CLASS } from '../src/domain/field-catalog.js';
import { FRIEND_OPTED_OUT, RULES_VERSION } from '../src/domain/reason-codes.js';
import { DAY_MS } from '../src/domain/time.js';
import { counterfactualReport } from '../src/reports/counterfactual.js';
import { exposureReport } from '../src/reports/exposure.js';
import { inventoryReport } from '../src/reports/inventory.js';
import { leastPrivilegeReport } from '../src/reports/least-privilege.js';
import { recordsOfProcessing } from '../src/reports/records-of-processing.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { seedDatabase } from '../src/seed/seed-database.js';
import { auditAggregates } from '../src/store/audit-aggregates.js';
import { foldMemberSets, MemberSetBuilder } from '../src/store/member-set-folding.js';
import { indexReach } from '../src/store/reach.js';
import { PIECES_PER_RUN, ReachIndexing } from '../src/store/reach-indexing.js';
import type { Store } from '../src/store/store.js';
import { PAGE } from './lib/callers.js';
import { fmt, isMain, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';
import { migrateCached } from './lib/migrate-cached.js';
import { recipientsOf, type Recipient } from './lib/recipients.js';
import { prng } from './prng.js';

const env = (name: string, fallback: number) => Number(process.env[name] || fallback);
/**
 * How the counts are filled: `record`, through auditAggregates.record writing the sets' deltas, as
 * the appenders do; `bulk`, the same requests through the same record, its member sets held in
 * memory and each written once (MemberSetBuilder).
 */
type Fill = 'record' | 'bulk';
function fillFromEnv(): Fill {
  const fill = process.env.REPORTS_BENCH_FILL || 'record';
  if (fill !== 'record' && fill !== 'bulk') throw new Error(`REPORTS_BENCH_FILL: record or bulk, not ${fill}`);
  return fill;
}
const FULL = {
  members: env('REPORTS_BENCH_MEMBERS', 100_000), avgFriends: env('REPORTS_BENCH_FRIENDS', 100), subjects: env('REPORTS_BENCH_SUBJECTS', 2_000_000),
  repeats: env('REPORTS_BENCH_REPEATS', 5), newRequests: env('REPORTS_BENCH_NEW_REQUESTS', 300),
  fill: fillFromEnv(), baselines: process.env.REPORTS_BENCH_BASELINES !== '0',
};
const SMOKE = { members: 500, avgFriends: 20, subjects: 8_000, repeats: 2, newRequests: 30, fill: 'record' as Fill, baselines: true };
type Size = typeof FULL;

const SEED = 2018;
const NOW = Date.parse('2026-11-29T12:00:00Z');
const LOG_DAYS = 365;
const TARGET_MS = 1_000;
const REFUSED = 1 / 20;
const PASSED_OVER = 1 / 10;
/** Requests counted per call of `auditAggregates.record` (one transaction each, as a large group commit). */
const REQUESTS_PER_BATCH = 2_000;
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');

const log = (line: string) => console.log(`reports: ${line}`);

/** Removes a SQLite file with its journal files. */
const removeDatabase = (path: string) => { for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true }); };

/** Builds `path` with `build` unless its `.done` marker says a finished one is there; returns the marker's record. */
async function cached<T>(path: string, build: () => Promise<T>): Promise<{ record: T; reused: boolean }> {
  const marker = `${path}.done`;
  if (existsSync(marker) && existsSync(path)) return { record: JSON.parse(readFileSync(marker, 'utf8')) as T, reused: true };
  removeDatabase(path);
  rmSync(marker, { force: true });
  const record = await build();
  writeFileSync(marker, JSON.stringify(record));
  return { record, reused: false };
}

/** The seeded world, then a copy of it with its counts filled: both kept in the cache. */
async function filledWorld(size: Size, fill: Fill = size.fill): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const worldPath = join(CACHE, `reports-world-${size.members}-s${SEED}-f${size.avgFriends}.db`);
  const world = await cached(worldPath, async () => {
    const started = performance.now();
    await withProgressBar('Seeding', (onProgress) =>
      seedDatabase(worldPath, { members: size.members, avgFriends: size.avgFriends, seed: SEED, now: NOW, partners: true, onProgress }));
    return { seconds: (performance.now() - started) / 1000 };
  });
  log(`world: ${fmt(size.members)} members, ${fmt(size.avgFriends)} friends on average, the demo partners; ${world.reused ? 'reused, ' : ''}seeded in ${fmt(world.record.seconds, 1)} s`);
  const filledPath = join(CACHE, `reports-${size.members}-s${SEED}-f${size.avgFriends}-subjects${size.subjects}${fill === 'bulk' ? '-bulk' : ''}.db`);
  const filled = await cached(filledPath, async () => {
    copyFileSync(worldPath, filledPath);
    const store = await openStore(filledPath);
    try {
      return await (fill === 'bulk' ? fillInBulk(store, filledPath, size) : fillThroughRecord(store, size));
    } finally {
      await store.close();
    }
  });
  if (filled.reused) await migrateCached(filledPath, log);
  const { seconds, cpuSeconds: cpu, subjects, entries, requests, sets } = filled.record;
  const how = fill === 'bulk' ? `in bulk (auditAggregates.record, its member sets held in memory: ${fmt(sets ?? 0)} written once)` : 'through auditAggregates.record';
  log(`counts: ${fmt(subjects)} audited subjects (${fmt(entries)} entries, ${fmt(requests)} requests over ${LOG_DAYS} days) ${how}; ` +
    `${filled.reused ? 'reused, ' : ''}filled in ${fmt(seconds, 1)} s (${fmt(subjects / seconds)} subjects/s)` +
    (cpu === undefined ? '' : `, ${fmt(cpu, 1)} s of CPU (${fmt(subjects / cpu)} subjects per CPU second)`));
  return filledPath;
}

interface FillRecord { seconds: number; cpuSeconds?: number; subjects: number; entries: number; requests: number; sets?: number }

/** CPU seconds (user and system) of this process since `since`: what a build costs whatever else the machine runs. */
const cpuSeconds = (since: NodeJS.CpuUsage) => { const used = process.cpuUsage(since); return (used.user + used.system) / 1e6; };

/** One synthetic Graph API request's entries, as its route logs them (src/http/graph/request-entries.ts). */
async function requestEntries(friendsOf: (memberId: string) => Promise<string[]>, recipient: Recipient, tokenMemberId: string, at: number, requestId: string, random: () => number): Promise<AuditEntry[]> {
  const base = {
    at, requestId, partnerId: recipient.partnerId, appId: recipient.appId, agreementId: recipient.agreementId, agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId, purpose: 'device_experience', released: [], withheld: {},
  } as const;
  if (random() < REFUSED) return [{ ...base, subjectMemberId: null, outcome: 'denied', code: 'not_consented', passedOver: { count: 0, reason: FRIEND_OPTED_OUT } }];
  const released = recipient.friendFields.filter((field) => FIELD_CLASS[field] !== 'sensitive');
  const withheld = Object.fromEntries(recipient.friendFields.filter((field) => FIELD_CLASS[field] === 'sensitive').map((field) => [field, 'sensitive_field']));
  const friends = await friendsOf(tokenMemberId);
  const shown = friends.filter(() => random() >= PASSED_OVER);
  return [
    { ...base, subjectMemberId: null, outcome: 'served', code: null, passedOver: { count: friends.length - shown.length, reason: FRIEND_OPTED_OUT } },
    ...shown.map((friend): AuditEntry => ({ ...base, subjectMemberId: friend, outcome: 'released', code: 'through_friend', released, withheld })),
  ];
}

/**
 * Requests at instants rising evenly from `start` to `end`, until `subjects` subjects were released,
 * counted in batches through the append side's `auditAggregates.record`.
 */
async function countRequests(store: Store, size: Size, { subjects, start, end, seed, maxRequests = Infinity, builder, pages = new Map() }: {
  subjects: number; start: number; end: number; seed: number; maxRequests?: number; builder?: MemberSetBuilder; pages?: Map<string, string[]>;
}): Promise<Omit<FillRecord, 'seconds'>> {
  const recipients = (await recipientsOf(store, NOW)).filter((recipient) => recipient.friendFields.length > 0);
  const random = prng(seed);
  const totals = { subjects: 0, entries: 0, requests: 0 };
  // A token member's id (a hash) and first page, worked out once: the world does not change while counting.
  const ids: string[] = [];
  // A token member's first page, read once: the world does not change while counting (a member is drawn ~5 times at 100M subjects).
  const friendsOf = async (memberId: string) => pages.get(memberId) ?? pages.set(memberId, await store.friendships.page(memberId, null, PAGE)).get(memberId)!;
  // The instants rise with the share of the subjects (or of the requests) counted so far.
  const done = () => Number.isFinite(subjects) ? totals.subjects / subjects : totals.requests / maxRequests;
  const more = () => totals.subjects < subjects && totals.requests < maxRequests;
  await withProgressBar('Counting audited subjects', async (onProgress) => {
    while (more()) {
      const batch: AuditEntry[] = [];
      for (let i = 0; i < REQUESTS_PER_BATCH && more(); i++, totals.requests++) {
        const at = Math.min(end, Math.floor(start + done() * (end - start)));
        const recipient = recipients[Math.floor(random() * recipients.length)]!;
        const index = Math.floor(random() * size.members);
        const token = ids[index] ??= memberIdAt(SEED, index);
        const entries = await requestEntries(friendsOf, recipient, token, at, `bench-${seed}-${totals.requests}`, random);
        batch.push(...entries);
        totals.subjects += entries.filter((entry) => entry.outcome === 'released').length;
      }
      await store.db.transaction().execute((trx) => auditAggregates.record(trx, batch, builder && ((sets) => builder.add(sets)), builder?.memberNumbers));
      totals.entries += batch.length;
      onProgress(Math.round(done() * 1000), 1000);
    }
  });
  return totals;
}

const FILL_WINDOW = { start: NOW - LOG_DAYS * DAY_MS, end: NOW - DAY_MS, seed: SEED } as const;

async function fillThroughRecord(store: Store, size: Size): Promise<FillRecord> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const totals = await countRequests(store, size, { subjects: size.subjects, ...FILL_WINDOW });
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(cpu), ...totals };
}

/**
 * Every member's first page of friends (`friendships.page(member, null, PAGE)`), in one scan of the
 * table in its key's order: a query per token member reads the 8 GB world of a million members at
 * random, from disk when it is not cached (~17,000 subjects/s here).
 */
function firstPages(path: string): Map<string, string[]> {
  const sqlite = new Database(path, { readonly: true });
  try {
    const pages = new Map<string, string[]>();
    const rows = sqlite.prepare(`select member_id, friend_id from (select member_id, friend_id, row_number() over (partition by member_id order by friend_id) as n
      from friendships) where n <= ?`).raw().iterate(PAGE) as IterableIterator<[string, string]>;
    for (const [member, friend] of rows) (pages.get(member) ?? pages.set(member, []).get(member)!).push(friend);
    return pages;
  } finally {
    sqlite.close();
  }
}

/** The same requests, their member sets held in memory and each written once at the end. */
async function fillInBulk(store: Store, path: string, size: Size): Promise<FillRecord> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const builder = await MemberSetBuilder.open(store.db);
  const pages = firstPages(path);
  log(`first pages of friends: ${fmt(pages.size)} members' read in one scan in ${fmt((performance.now() - started) / 1000, 1)} s`);
  const totals = await countRequests(store, size, { subjects: size.subjects, ...FILL_WINDOW, builder, pages });
  const sets = await builder.write(store.db);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(cpu), ...totals, sets };
}

interface Timing { readonly cold: number; readonly p50: number; readonly max: number; readonly calls: number }

const median = (times: readonly number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;

/** The first call apart (cold), then `repeats - 1` more (a single call is its own p50 and max); returns the timing and the last answer. */
async function timed<T>(repeats: number, call: () => Promise<T>): Promise<{ timing: Timing; answer: T }> {
  const times: number[] = [];
  let answer: T | undefined;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    answer = await call();
    times.push(performance.now() - started);
  }
  const warm = times.length > 1 ? times.slice(1) : times;
  return { timing: { cold: times[0]!, p50: median(warm), max: Math.max(...warm), calls: times.length }, answer: answer! };
}

/** The reports without what changes between calls (`generated_at`), to compare answers. */
const comparable = (report: { data: unknown; by_partner?: unknown; by_storage?: unknown }) =>
  JSON.stringify({ data: report.data, by_partner: report.by_partner, by_storage: report.by_storage });

const TWELVE_MONTHS = { from: '2025-12', to: '2026-11' } as const;

/**
 * The bulk fill proved against the append side's: the same world filled both ways (the other one
 * built too), every report compared; returns the mismatches.
 */
async function compareFills(size: Size): Promise<number> {
  const reports = async (fill: Fill) => {
    const path = join(CACHE, `reports-compare-${fill}-${process.pid}.db`);
    copyFileSync(await filledWorld(size, fill), path);
    const store = await openStore(path);
    try {
      return [
        comparable(await exposureReport(store, { now: NOW, from: '2026-11', to: '2026-11', partnerId: 'p_huawei' })),
        comparable(await exposureReport(store, { now: NOW, ...TWELVE_MONTHS })),
        comparable(await inventoryReport(store, NOW)),
        comparable(await counterfactualReport(store, { now: NOW, ...TWELVE_MONTHS })),
        comparable(await leastPrivilegeReport(store, NOW)),
        comparable(await recordsOfProcessing(store, DEMO_CONTROLLER, NOW)),
      ];
    } finally {
      await store.close();
      removeDatabase(path);
    }
  };
  const [record, bulk] = [await reports('record'), await reports('bulk')];
  const mismatches = record.filter((answer, i) => answer !== bulk[i]).length;
  log(`bulk fill vs record fill: ${record.length} reports compared (exposure twice, inventory, counterfactual, least privilege, records of processing), ` +
    `${mismatches} differ; ${verdict(mismatches === 0)}`);
  return mismatches;
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const size = options.smoke ? SMOKE : FULL;
  const filled = await filledWorld(size);
  const path = join(CACHE, `reports-run-${process.pid}.db`);
  copyFileSync(filled, path);
  const store = await openStore(path);
  const figures: Figure[] = [];
  let mismatches = 0;
  /** `targeted` false: a baseline, printed without the target. */
  const measure = async <T>(name: string, call: () => Promise<T>, repeats = size.repeats, targeted = true) => {
    const { timing, answer } = await timed(repeats, call);
    figures.push(
      { name: `${name} cold`, value: timing.cold, unit: 'ms', kind: 'info' },
      { name: `${name} p50`, value: timing.p50, unit: 'ms', kind: 'info' },
      targeted
        ? { name: `${name} max`, value: timing.max, unit: 'ms', target: { op: '<', value: TARGET_MS }, kind: 'performance' }
        : { name: `${name} max`, value: timing.max, unit: 'ms', kind: 'info' },
    );
    log(`${name.padEnd(58)} cold ${timing.cold.toFixed(1).padStart(8)} ms, p50 ${timing.p50.toFixed(1).padStart(8)} ms, ` +
      `max ${timing.max.toFixed(1).padStart(8)} ms (${timing.calls} calls)${targeted ? `; target < ${fmt(TARGET_MS)} ms: ${verdict(timing.max < TARGET_MS)}` : ' (baseline)'}`);
    return answer;
  };
  const same = (what: string, before: string, after: string) => {
    if (before === after) return;
    mismatches++;
    log(`MISMATCH: ${what} differs`);
  };
  const info = (name: string, value: number, unit: string) => figures.push({ name, value, unit, kind: 'info' });
  try {
    const loadBefore = loadavg();
    // The staff's read worker starts on the first read: not a report's time.
    await store.readDb.selectFrom('partners').select('id').limit(1).execute();
    const exposureOne = () => exposureReport(store, { now: NOW, from: '2026-11', to: '2026-11', partnerId: 'p_huawei' });
    const exposureAll = () => exposureReport(store, { now: NOW, ...TWELVE_MONTHS });
    const counterfactual = () => counterfactualReport(store, { now: NOW, ...TWELVE_MONTHS });
    const inventory = () => inventoryReport(store, NOW);

    // The reports on the counts as appended (once per-member journal rows, a baseline; now the sets' deltas), before any fold.
    const rows = size.fill === 'record' && size.baselines ? {
      one: comparable(await measure('rows: exposure, 1 partner, 1 month', exposureOne)),
      all: comparable(await measure('rows: exposure, all, 12 months', exposureAll)),
      inventory: comparable(await measure('rows: inventory', inventory)),
    } : undefined;
    if (rows === undefined) {
      log(size.fill === 'bulk'
        ? 'rows: not measured: the counts were built in bulk, straight into bitmaps; REPORTS_BENCH_FILL=record writes them as the appenders do'
        : 'rows: not measured (REPORTS_BENCH_BASELINES=0)');
    }

    const folding = performance.now();
    const folded = await foldMemberSets(store.db);
    const foldMs = performance.now() - folding;
    info('foldMemberSets', foldMs, 'ms');
    info('rows folded', folded.rows, 'count');
    log(`foldMemberSets: ${fmt(folded.rows)} rows in ${fmt(folded.groups)} groups folded into bitmaps in ${fmt(foldMs / 1000, 1)} s`);

    const bitmaps = {
      one: comparable(await measure('bitmaps: exposure, 1 partner, 1 month', exposureOne)),
      all: comparable(await measure('bitmaps: exposure, all, 12 months', exposureAll)),
      inventory: comparable(await measure('bitmaps: inventory', inventory)),
    };
    if (rows !== undefined) {
      same('exposure, 1 partner, 1 month', rows.one, bitmaps.one);
      same('exposure, all, 12 months', rows.all, bitmaps.all);
      same('inventory', rows.inventory, bitmaps.inventory);
    }

    // The baseline reads every token member's two hops at report time: one call, it takes minutes (30 s at 100,000 members).
    const unindexed = size.baselines ? comparable(await measure('not indexed: counterfactual, all, 12 months', counterfactual, 1)) : undefined;
    if (unindexed === undefined) log('not indexed: counterfactual: not run (REPORTS_BENCH_BASELINES=0); the indexed answer is compared with the incremental one only');
    const indexing = performance.now();
    const indexed = await indexReach(store.db);
    const indexMs = performance.now() - indexing;
    info('indexReach', indexMs, 'ms');
    info('token members indexed', indexed, 'count');
    log(`indexReach: ${fmt(indexed)} token members' two hops indexed in ${fmt(indexMs / 1000, 1)} s`);
    const indexedAnswer = comparable(await measure('indexed: counterfactual, all, 12 months', counterfactual));
    if (unindexed !== undefined) same('counterfactual (indexed)', unindexed, indexedAnswer);

    const added = await countRequests(store, size, { subjects: Infinity, start: NOW - DAY_MS / 2, end: NOW, seed: SEED + 1, maxRequests: size.newRequests });
    log(`appended ${fmt(added.requests)} more requests (${fmt(added.subjects)} subjects) in the month of now`);
    // Before the scheduler's next runs: the report expands every newcomer itself.
    const expanded = comparable(await measure('newcomers not indexed: counterfactual, all, 12 months', counterfactual, size.repeats, false));
    // What the server's scheduler does (reach-indexing.ts): one run starts a worker thread that finds the newcomers'
    // reach on a read-only connection of its own and cuts it into pieces; the next runs store a fixed number of
    // pieces each, one same-shaped transaction on the writer per piece (padded when fewer are queued).
    const scheduled = new ReachIndexing(store.db, path);
    await scheduled.run(); // a server's first run, at its start, starts no worker
    const finding = performance.now();
    await scheduled.run();
    await scheduled.settled();
    const findMs = performance.now() - finding;
    const pieces = scheduled.pending;
    let newTokens = 0;
    let runs = 0;
    let storeMs = 0;
    let longestRunMs = 0;
    let padding = 0;
    const stepMs: number[] = [];
    while (scheduled.pending > 0) {
      const storing = performance.now();
      newTokens += await scheduled.run();
      const runMs = performance.now() - storing;
      runs++;
      storeMs += runMs;
      longestRunMs = Math.max(longestRunMs, runMs);
      stepMs.push(...scheduled.lastRun.stepMs);
      padding += scheduled.lastRun.padding;
    }
    await scheduled.stop();
    stepMs.sort((a, b) => a - b);
    const stepAt = (q: number) => stepMs[Math.min(stepMs.length - 1, Math.floor(q * stepMs.length))] ?? 0;
    info('newcomers indexed by the scheduler', newTokens, 'count');
    info('reach found off the writer (worker thread)', findMs, 'ms');
    info('reach stored on the writer (the runs, all steps)', storeMs, 'ms');
    info('store step on the writer (one piece, one transaction), p50', stepAt(0.5), 'ms');
    info('store step on the writer (one piece, one transaction), max', stepAt(1), 'ms');
    log(`scheduler's reach indexing: ${fmt(newTokens)} new token members' two hops found in ${fmt(findMs)} ms by its worker thread (off the writer), ` +
      `cut into ${fmt(pieces)} pieces, stored in ${fmt(runs)} run(s) of ${fmt(PIECES_PER_RUN)} steps (${fmt(padding)} padding) in ${fmt(storeMs, 1)} ms ` +
      `(the longest run ${fmt(longestRunMs, 1)} ms); a step (one transaction on the writer) p50 ${fmt(stepAt(0.5), 2)} ms, p99 ${fmt(stepAt(0.99), 2)} ms, max ${fmt(stepAt(1), 2)} ms`);
    const incremental = comparable(await measure('incremental: counterfactual, all, 12 months', counterfactual));
    same('counterfactual (newcomers expanded by the report)', expanded, incremental);
    const left = await indexReach(store.db);
    info('token members left for indexReach', left, 'count');
    log(`${fmt(left)} token members left for the scheduler's indexReach`);
    same('counterfactual (incremental)', incremental, comparable(await counterfactual()));

    await measure('records of processing', () => recordsOfProcessing(store, DEMO_CONTROLLER, NOW));
    await measure('least privilege, every agreement', () => leastPrivilegeReport(store, NOW));

    if (options.smoke || process.env.REPORTS_BENCH_COMPARE_FILLS === '1') mismatches += await compareFills(size);
    figures.push({ name: 'correctness: mismatches before/after folding and indexing', value: mismatches, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' });
    const loadAfter = loadavg();
    const load = `load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' ')} after`;
    log(`correctness: ${mismatches} mismatches; ${verdict(mismatches === 0)}; ${load}`);
    return {
      benchmark: 'reports', ok: mismatches === 0, figures,
      notes: [`SQLite; ${fmt(size.members)} members, ${fmt(size.avgFriends)} friends on average, ${fmt(size.subjects)} audited subjects counted (${size.fill}); ${load}`],
    };
  } finally {
    await store.close();
    removeDatabase(path);
  }
}

if (isMain(import.meta.url)) await runAsScript(run);
