/**
 * Benchmark of the audit log (issue 5), on a SQLite file like the product's:
 *
 * 1. appends: 256 concurrent "requests" of 10 entries each (a page of friends) through the group
 *    commit of AuditLog, each one waiting for the commit that holds its entries; entries per second,
 *    and the same requests with one transaction each (no group commit) as the baseline; and what
 *    keeping the reports' counts costs them (issue 14), on requests shaped as the Graph API logs them
 *    (audit-traffic.ts). Every log's members are numbered before it is appended to, and every entry
 *    carries its members' numbers, as members are numbered when they join and the Graph API reads
 *    the numbers with the members' rows (migration 0037);
 * 2. verification: `audit verify` over the 10M-entry log of 3. (every hash recomputed, every
 *    stored node, head, signature and consistency proof checked), entries per second;
 * 3. inclusion proofs at 10,000,000 entries (the log is built once and kept in bench/.cache/):
 *    p50 and p99 of a proof read from the database, as the public endpoint serves it;
 * 4. appends on that 10M-entry log (a copy of it): the same concurrent requests through the group
 *    commit, entries (audited subjects) per second;
 * 5. storage: bytes of database growth per audited subject, over 300 friend-list pages of 100
 *    (a request's entry and 100 friends shown each), as the Graph API appends them.
 *
 * Run: npm run bench:audit   (AUDIT_BENCH_ENTRIES=200000 for a quicker run on a smaller log;
 *      AUDIT_BENCH_VERIFY=0 to leave out the verification of the whole log;
 *      AUDIT_BENCH_ONLY=proofs for the inclusion proofs alone, building the proof log if it is missing)
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { AuditEntry, NumberedEntry } from '../src/audit/audit-entry.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../src/audit/blinding.js';
import { LogProofs } from '../src/audit/log-proofs.js';
import { verifyStoredLog } from '../src/audit/stored-log-verifier.js';
import { loadOrCreateAuditSigningKey, type AuditSigningKey } from '../src/audit/signing-key.js';
import type { Field } from '../src/domain/field-catalog.js';
import { RULES_VERSION } from '../src/domain/reason-codes.js';
import { migrateToLatest, openSqlite, type Db } from '../src/store/database.js';
import { createStore } from '../src/store/store.js';
import { graphRequest, numberOf, WORLD } from './audit-traffic.js';
import { prng } from './prng.js';

const CONCURRENT_REQUESTS = 256;
const ENTRIES_PER_REQUEST = 10;
/** Seconds of sustained appends per measure (AUDIT_BENCH_APPEND_SECONDS; the smoke run takes 1). */
const APPEND_SECONDS = Number(process.env.AUDIT_BENCH_APPEND_SECONDS || 10);
const PROOF_LOG_SIZE = Number(process.env.AUDIT_BENCH_ENTRIES ?? 10_000_000);
/** Random inclusion proofs timed (AUDIT_BENCH_PROOFS; the smoke run takes 500), after a tenth as many of warm-up. */
const PROOFS = Number(process.env.AUDIT_BENCH_PROOFS || 10_000);
// DATAPACT_BENCH_CACHE: another folder for the kept log (the smoke test uses a temporary one).
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');
/** Kept with the cached logs: their blinded entries are hashed with it on later runs too. */
const blinding = loadOrCreateAuditBlinding(CACHE);
const key = loadOrCreateAuditSigningKey(undefined);
const now = Date.parse('2026-11-29T12:00:00Z');

// Released field lists shared by the entries that released the same fields, as the Graph API shares them (RequestEntries).
const FRIEND_FIELDS: readonly Field[] = Object.freeze(['id', 'name', 'birthday']);
const FRIEND_NO_BIRTHDAY: readonly Field[] = Object.freeze(['id', 'name']);

/**
 * A released friend as the Graph API records it; with `numbers` (member m_i's number at i), with its
 * members' numbers, as the Graph API reads them with the members' rows.
 */
function entry(request: number, i: number, numbers?: Int32Array): NumberedEntry {
  const token = (request * 7919) % 1_000_000;
  const subject = (request * 31 + i) % 1_000_000;
  return {
    at: now + request, requestId: `bench-${request}`, appId: 'app_blackberry', partnerId: 'p_blackberry',
    agreementId: 'agr_blackberry', agreementVersion: 1, rulesVersion: RULES_VERSION, tokenMemberId: `m_${token}`,
    subjectMemberId: `m_${subject}`, purpose: 'device_experience', outcome: 'released', code: null,
    released: FRIEND_FIELDS, withheld: { religion: 'audience_restricted' },
    subjectNumber: numbers?.[subject], tokenMemberNumber: numbers?.[token],
  };
}

/** Entry `i` of a friend-list page: the request's entry (friends passed over counted), then the friends shown. */
function pageEntry(request: number, i: number): AuditEntry {
  const friend = entry(request, i);
  if (i > 0) return { ...friend, code: 'through_friend', released: i % 3 ? FRIEND_FIELDS : FRIEND_NO_BIRTHDAY };
  return { ...friend, subjectMemberId: null, outcome: 'served', released: [], withheld: {}, passedOver: { count: 41, reason: 'friend_opted_out' } };
}

/** Bytes of database growth per audited subject over 300 friend-list pages of 100 (issue 11's measure). */
async function storageFigure(dir: string): Promise<void> {
  const db = await freshDb(dir, 'storage.db');
  const log = new AuditLog({ db, clock: Date.now, signingKey: key, blinding });
  const bytes = async () => {
    const { rows } = await sql<{ n: number }>`select page_count * page_size as n from pragma_page_count(), pragma_page_size()`.execute(db);
    return Number(rows[0]!.n);
  };
  const page = (request: number) => Array.from({ length: 101 }, (_, i) => pageEntry(request, i));
  for (let request = 0; request < 10; request++) await log.append(page(request));
  const before = await bytes();
  const pages = 300;
  await Promise.all(Array.from({ length: pages }, (_, r) => log.append(page(10 + r))));
  await log.close();
  const perSubject = (await bytes() - before) / (pages * 100);
  await db.destroy();
  console.log(`  storage: ${perSubject.toFixed(0)} bytes of database growth per audited subject (${pages} friend-list pages of 100); target <= 150: ${perSubject <= 150 ? 'PASS' : 'FAIL'}`);
}

/** Appends through the group commit on a copy of the 10M-entry log: how the log's size weighs on them. */
async function bigLogAppendFigure(dir: string, path: string): Promise<void> {
  const copy = join(dir, 'big.db');
  copyFileSync(path, copy);
  const db = openSqlite(copy);
  const size = await createStore(db).audit.treeSize();
  const log = new AuditLog({ db, clock: Date.now, signingKey: loadOrCreateAuditSigningKey(CACHE), blinding });
  await log.start();
  // The members' numbers, which the Graph API reads with their rows (migration 0037): read from this log before the clock starts.
  const numbers = new Int32Array(1_000_000);
  for (const row of await db.selectFrom('member_numbers').select(['member_id', 'number']).execute()) numbers[Number(row.member_id.slice(2))] = Number(row.number);
  const numbered = (r: number): NumberedEntry[] => Array.from({ length: ENTRIES_PER_REQUEST }, (_, i) => entry(r, i, numbers));
  const cost = new AppendCost();
  const perSecond = await sustained((entries) => log.append(entries), CONCURRENT_REQUESTS, APPEND_SECONDS, numbered, cost);
  const perSubject = cost.perSubject();
  await log.close();
  await db.destroy();
  console.log(`  appends on a log of ${fmt(size)} entries: ${fmt(perSecond)} subjects/s (${CONCURRENT_REQUESTS} concurrent requests of ${ENTRIES_PER_REQUEST}${perSubject}); target >= 50,000: ${perSecond >= 50_000 ? 'PASS' : 'FAIL'}`);
}

/**
 * What appending cost this process per subject, which the machine's other load does not change as it does
 * the rate: CPU time, and bytes written and read (WAL and checkpoints; Linux's /proc/self/io, left out elsewhere).
 */
class AppendCost {
  private subjects = 0;
  private readonly cpu = process.cpuUsage();
  private readonly io = ioBytes();

  add(subjects: number): void {
    this.subjects += subjects;
  }

  /** `, N µs of CPU, N bytes written and N read per subject` since this was made. */
  perSubject(): string {
    const { user, system } = process.cpuUsage(this.cpu);
    const cpu = `${((user + system) / this.subjects).toFixed(1)} µs of CPU`;
    const io = ioBytes();
    if (this.io === undefined || io === undefined) return `, ${cpu} per subject`;
    return `, ${cpu}, ${fmt((io.written - this.io.written) / this.subjects)} bytes written and ${fmt((io.read - this.io.read) / this.subjects)} read per subject`;
  }
}

function ioBytes(): { written: number; read: number } | undefined {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const count = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1]);
    const io = { written: count('wchar'), read: count('rchar') };
    return Number.isFinite(io.written) && Number.isFinite(io.read) ? io : undefined;
  } catch {
    return undefined;
  }
}

async function freshDb(dir: string, name: string): Promise<Db> {
  const db = openSqlite(join(dir, name));
  await migrateToLatest(db);
  return db;
}

/** The entries of request `r` of sustained(): ENTRIES_PER_REQUEST released friends of fresh subjects. */
const friendEntries = (r: number): AuditEntry[] => Array.from({ length: ENTRIES_PER_REQUEST }, (_, i) => entry(r, i, WORLD_NUMBERS));
/** Member m_i's number in a log whose world was numbered by numberTheWorld(). */
const WORLD_NUMBERS = Int32Array.from({ length: WORLD }, (_, i) => numberOf(i));

/** Runs `concurrency` request loops for `seconds`; returns entries per second. */
async function sustained(
  append: (entries: AuditEntry[]) => Promise<void>, concurrency: number, seconds: number, request = friendEntries, cost?: AppendCost,
): Promise<number> {
  let next = 0;
  let committed = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const entries = request(next++);
      await append(entries);
      committed += entries.length;
      cost?.add(entries.length);
    }
  }));
  return committed / ((performance.now() - start) / 1000);
}

async function appendFigures(dir: string): Promise<void> {
  const grouped = await freshDb(dir, 'grouped.db');
  await numberTheWorld(grouped);
  const log = new AuditLog({ db: grouped, clock: Date.now, signingKey: key, blinding });
  const cost = new AppendCost();
  const withGroupCommit = await sustained((entries) => log.append(entries), CONCURRENT_REQUESTS, APPEND_SECONDS, friendEntries, cost);
  const groupCommitCost = cost.perSubject();
  await log.close();
  const heads = (await createStore(grouped).audit.heads()).length;
  await grouped.destroy();
  await countsCostFigure(dir);

  const single = await freshDb(dir, 'single.db');
  await numberTheWorld(single);
  const store = createStore(single);
  const oneEach = await sustained(async (entries) => { await store.audit.append(entries); }, CONCURRENT_REQUESTS, APPEND_SECONDS / 2);
  await single.destroy();

  const per = `${CONCURRENT_REQUESTS} concurrent requests of ${ENTRIES_PER_REQUEST} entries`;
  console.log(`  appends, group commit:            ${fmt(withGroupCommit)} entries/s (${per}, ${heads} heads signed in ${APPEND_SECONDS} s${groupCommitCost}); target >= 50,000: ${withGroupCommit >= 50_000 ? 'PASS' : 'FAIL'}`);
  console.log(`  appends, one transaction each:    ${fmt(oneEach)} entries/s (baseline); group commit = ${(withGroupCommit / oneEach).toFixed(1)}x`);
}

/**
 * What keeping the reports' counts current costs the appends (issue 14: at most 10%): group commit on two
 * fresh logs, one keeping the counts and one not (AuditLog's `keepCounts`), in alternating rounds so that
 * the machine's other load falls on both alike; Graph API requests as graphRequest() draws them. Each
 * round ends once its log has committed and folded what it was given (flush), so a fold is counted in
 * the round that caused it. The world's members are numbered beforehand, as `members`' trigger numbers
 * every member when it is inserted (migrations 0028, 0037): a member is in `members` before the Graph
 * API can release it, and the Graph API reads the number with the member's row, so its entries carry
 * their members' numbers (graphRequest() makes them with the Graph API's RequestEntries) and the
 * appender looks none up. The log without the counts gets the same entries and ignores the numbers.
 * CPU time per entry is printed too: the machine's other load moves it less than the rate.
 */
async function countsCostFigure(dir: string): Promise<void> {
  const rates = { with: 0, without: 0 };
  const cpu = { with: 0, without: 0 };
  const entries = { with: 0, without: 0 };
  const logs = await Promise.all((['with', 'without'] as const).map(async (kind) => {
    const db = await freshDb(dir, `counts-${kind}.db`);
    await numberTheWorld(db);
    return { kind, db, log: new AuditLog({ db, clock: Date.now, signingKey: key, blinding, keepCounts: kind === 'with' }) };
  }));
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    for (const { kind, log } of round % 2 === 0 ? logs : [...logs].reverse()) {
      const before = process.cpuUsage();
      const start = performance.now();
      let appended = 0;
      await sustained(async (request) => { await log.append(request); appended += request.length; }, CONCURRENT_REQUESTS, APPEND_SECONDS / rounds, graphRequest);
      await log.flush();
      const used = process.cpuUsage(before);
      rates[kind] += appended / ((performance.now() - start) / 1000) / rounds;
      cpu[kind] += used.user + used.system; // µs
      entries[kind] += appended;
    }
  }
  for (const { log, db } of logs) {
    await log.close();
    await db.destroy();
  }
  const cost = 1 - rates.with / rates.without;
  const [cpuWith, cpuWithout] = [cpu.with / entries.with, cpu.without / entries.without];
  console.log(`  appends keeping the counts:       ${fmt(rates.with)} entries/s, without them ${fmt(rates.without)}: they cost ${(cost * 100).toFixed(1)}%; `
    + `CPU ${cpuWith.toFixed(1)} µs an entry against ${cpuWithout.toFixed(1)} (${((1 - cpuWithout / cpuWith) * 100).toFixed(1)}% of throughput); target <= 10%: ${cost <= 0.1 ? 'PASS' : 'FAIL'}`);
}

/** Numbers for the members audit-traffic.ts draws from, as if they had been inserted into `members`. */
async function numberTheWorld(db: Db): Promise<void> {
  const ids = Array.from({ length: WORLD }, (_, i) => `m_${i}`);
  for (let start = 0; start < ids.length; start += 50_000) {
    await sql`insert into member_numbers (number, member_id) select key + ${numberOf(start)}, value from json_each(${JSON.stringify(ids.slice(start, start + 50_000))})`.execute(db);
  }
}

/** Where the proof log is kept: `lean` since migration 0020 (a log cached before it would be all legacy rows). */
function proofLogPath(): string {
  return join(CACHE, `audit-lean-${PROOF_LOG_SIZE}.db`);
}

/** The 10M-entry log, built once (with a head signed every 100,000 entries) and kept for later runs. */
async function proofLog(signer: AuditSigningKey): Promise<Db> {
  const cache = CACHE;
  mkdirSync(cache, { recursive: true });
  const db = openSqlite(proofLogPath());
  await migrateToLatest(db);
  const audit = createStore(db).audit;
  const log = new AuditLog({ db, clock: Date.now, signingKey: signer, blinding });
  let size = await audit.treeSize();
  const started = performance.now();
  for (let request = size; size < PROOF_LOG_SIZE; request++) {
    const batch = Array.from({ length: Math.min(5000, PROOF_LOG_SIZE - size) }, (_, i) => entry(request, i));
    size = (await audit.append(batch)).size;
    if (size % 100_000 === 0) await log.signHeadIfBehind();
    if (request % 100 === 0) process.stderr.write(`\r  building a log of ${fmt(PROOF_LOG_SIZE)} entries: ${fmt(size)} (${fmt(size / ((performance.now() - started) / 1000))}/s)   `);
  }
  await log.close();
  process.stderr.write('\n');
  return db;
}

async function proofFigures(db: Db): Promise<void> {
  const proofs = new LogProofs(createStore(db).audit.withBlinding(blinding));
  const { size } = await proofs.latestHead();
  const random = prng(0x5eed_2026);
  const samples: number[] = [];
  const warmUp = Math.ceil(PROOFS / 10);
  // Scavenges and heap allocated per proof: unlike the timings, the machine's other load does not move them.
  let scavenges = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  });
  const allocated: number[] = [];
  // The CPU time of each proof (GC threads' included): the machine's other load takes the CPU from a proof, which
  // lengthens its time, not its CPU time; so the CPU time's 99th percentile is the proof's own tail, scavenges included.
  const cpuTimes: number[] = [];
  for (let n = 0; n < PROOFS + warmUp; n++) {
    if (n === warmUp) gc.observe({ entryTypes: ['gc'] });
    // Each proof a request of its own, as the server gets them: the event loop turns between them (the
    // node cache loads its levels in steps that wait for the loop's turn, and would wait for ever here).
    await new Promise((resolve) => setImmediate(resolve));
    const index = Math.floor(random() * size);
    const cpu = process.cpuUsage();
    const heap = getHeapStatistics().used_heap_size;
    const t = process.hrtime.bigint();
    await proofs.inclusion(index);
    if (n < warmUp) continue;
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
    const grown = getHeapStatistics().used_heap_size - heap;
    if (grown >= 0) allocated.push(grown); // a scavenge during the proof shrinks the heap: that proof is not counted
    const used = process.cpuUsage(cpu);
    cpuTimes.push(used.user + used.system);
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // the observer hears of the last scavenges
  gc.disconnect();
  const [p, cpuP] = [samples, cpuTimes].map((values) => {
    values.sort((a, b) => a - b);
    return (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
  }) as [(q: number) => number, (q: number) => number];
  const kb = allocated.reduce((sum, bytes) => sum + bytes, 0) / allocated.length / 1024;
  const cpu = `CPU p50 ${cpuP(0.5).toFixed(0)} µs p99 ${cpuP(0.99).toFixed(0)} µs`;
  console.log(`  inclusion proof at ${fmt(size)} entries: p50 ${p(0.5).toFixed(0)} µs  p90 ${p(0.9).toFixed(0)} µs  p99 ${p(0.99).toFixed(0)} µs  (from the database, ${fmt(PROOFS)} random leaves; ${cpu}, ${kb.toFixed(0)} KB of heap a proof, ${scavenges} scavenges); target p99 < 1 ms: ${p(0.99) < 1000 ? 'PASS' : 'FAIL'}`);
}

/** `datapact audit verify` over the whole proof log: every leaf, node, head, signature and consistency proof. */
async function verifyFigures(db: Db, signer: AuditSigningKey): Promise<void> {
  const result = await verifyStoredLog(createStore(db).audit, { key: signer, blinding });
  if (!result.ok) throw new Error(`the benchmark's own log does not verify: ${result.problem.message}`);
  const perSecond = result.entries / result.seconds;
  console.log(`  verification: ${fmt(perSecond)} entries/s (${fmt(result.entries)} entries, ${fmt(result.heads)} heads, ${result.seconds.toFixed(1)} s, database mode); target >= 500,000: ${perSecond >= 500_000 ? 'PASS' : 'FAIL'}`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

// AUDIT_BENCH_ONLY=proofs: the proof figures alone, repeatable back to back while the proof path is worked on.
const proofsOnly = process.env.AUDIT_BENCH_ONLY === 'proofs';
const dir = mkdtempSync(join(tmpdir(), 'datapact-bench-audit-'));
try {
  console.log('audit log (SQLite file, WAL, synchronous=NORMAL):');
  if (!proofsOnly) await appendFigures(dir);
  const signer = loadOrCreateAuditSigningKey(CACHE);
  const db = await proofLog(signer);
  // AUDIT_BENCH_VERIFY=0 skips the verification of the whole 10M log (minutes), for the other figures alone.
  if (process.env.AUDIT_BENCH_VERIFY !== '0' && !proofsOnly) await verifyFigures(db, signer);
  await proofFigures(db);
  await db.destroy();
  const path = proofLogPath();
  if (!proofsOnly) {
    await bigLogAppendFigure(dir, path);
    await storageFigure(dir);
  }
  if (existsSync(path)) console.log(`  (proof log kept at ${path}: ${fmt(statSync(path).size / 1e6)} MB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
