/**
 * Replaying the audit log (issue 15): `datapact audit replay` and a 90-day simulation of one busy
 * agreement, end to end (reading the log included), on one core.
 *
 * A SQLite world from the seed (`seedDatabase`, seed 2018): SIMULATE_BENCH_MEMBERS members (default
 * 20,000) with SIMULATE_BENCH_FRIENDS friends on average (default 100) and the demo partners. Its
 * log holds SIMULATE_BENCH_SUBJECTS subjects (default 1,000,000) of synthetic Graph API requests over
 * the 89 days before `now`, each decided by the real engine as the route decides it (planAccess, the
 * friend list scanned for visible friends, decideSubject with the friends' audiences), in memory over
 * the world read once per member (ReplayMembers): a token member
 * drawn at random reads a page of up to 25 visible friends (one request in ten also reads itself),
 * six in ten under BlackBerry's agreement, three in ten Lenovo's, one in ten Huawei's. The rows are
 * written straight into audit_requests / audit_leaves / audit_field_sets as the appender stores them
 * (each subject with its member number, migration 0039; no Merkle tree: a replay reads none). A log
 * cached before 0039 gets its numbers once (SIMULATE_BENCH_UNNUMBERED=1 replays it without: subjects
 * looked up by id, as in a log appended before the migration). World and log are built once into bench/.cache/ (or
 * DATAPACT_BENCH_CACHE).
 *
 * Measured:
 * - `audit replay` of the whole log: subject decisions per second, reading included (target
 *   >= 1,000,000/s), and where the time goes: the log read (with today's world around it) alone, and
 *   the decisions alone over requests already in memory;
 * - a simulation of BlackBerry's agreement without `birthday` among its friend fields over the last
 *   90 days (target < 5 s);
 * - correctness: the replay reproduces every logged outcome, and a simulation of the unchanged
 *   agreement changes nothing.
 *
 * Run: npm run bench:simulate   (--smoke: a tiny world and log, a few seconds)
 *      SIMULATE_BENCH_MEMBERS=1000000 SIMULATE_BENCH_SUBJECTS=100000000 npm run bench:simulate
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEntry } from '../src/audit/audit-entry.js';
import { openStore, openStoreToRead } from '../src/cli/open-store.js';
import { withProgressBar } from '../src/cli/progress-bar.js';
import { planAccess, type AccessPlan } from '../src/domain/access-plan.js';
import { notInEffectCause, type Agreement } from '../src/domain/agreement.js';
import { DatapactError } from '../src/domain/errors.js';
import { fieldsOf, maskOf, type FieldMask } from '../src/domain/field-catalog.js';
import { FRIEND_OPTED_OUT, RULES_VERSION } from '../src/domain/reason-codes.js';
import { compareOutcomes, loggedOutcome, ReplayDecisions, replayRequest, type LoggedRequest } from '../src/domain/replay.js';
import {
  decideSubject, selfFacts, subjectVisibility, type SubjectDecision, type SubjectFacts,
} from '../src/domain/subject-decision.js';
import { DAY_MS } from '../src/domain/time.js';
import { auditReplay } from '../src/reports/audit-replay.js';
import { LogReplayer } from '../src/reports/log-replay.js';
import { simulate } from '../src/reports/simulation.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { seedDatabase } from '../src/seed/seed-database.js';
import { toIso } from '../src/store/columns.js';
import { replaySubjectsOf } from '../src/store/audit-rows.js';
import { ReplayLogRepository, REPLAY_SUBJECTS_FROM_LEAVES } from '../src/store/replay-log-repository.js';
import { ReplayMembers } from '../src/store/replay-members.js';
import { ReplaySealer } from '../src/store/replay-sealer.js';
import type { Store } from '../src/store/store.js';
import { fmt, isMain, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';
import { migrateCached } from './lib/migrate-cached.js';
import { prng } from './prng.js';

const env = (name: string, fallback: number) => Number(process.env[name] || fallback);
const FULL = { members: env('SIMULATE_BENCH_MEMBERS', 20_000), avgFriends: env('SIMULATE_BENCH_FRIENDS', 100), subjects: env('SIMULATE_BENCH_SUBJECTS', 1_000_000) };
const SMOKE = { members: 500, avgFriends: 20, subjects: 5_000 };
type Size = typeof FULL;

const SEED = 2018;
const NOW = Date.parse('2026-11-29T12:00:00Z');
/**
 * The days the log spans (SIMULATE_BENCH_DAYS): 89 by default, so that the 90-day simulation reads all
 * of its agreement's requests. A log of a hundred million subjects spans years (1,095 days: 91,000
 * subjects a day), of which the simulation reads its 90 days; the demo agreements started 90 to 750
 * days before `now`, and a request is made under one in effect at its instant (agreementAt): over a
 * year, Huawei's alone at first, then Lenovo's, BlackBerry's for the last 90 days.
 */
const LOG_DAYS = env('SIMULATE_BENCH_DAYS', 89);
const PAGE = 25;
/** Subjects kept in memory to time the decisions alone. */
const IN_MEMORY_SUBJECTS = 300_000;
const RATE_TARGET = 1_000_000;
const SIMULATION_TARGET_MS = 5_000;
const BUSY = 'agr_blackberry';
const SHARES: ReadonlyArray<readonly [string, number]> = [['blackberry', 0.6], ['lenovo', 0.3], ['huawei', 0.1]];
const REQUESTED = maskOf(['name', 'picture', 'birthday', 'location', 'work', 'religion']);
const SELF_REQUESTED = maskOf(['name', 'email', 'birthday']);
const CACHE = process.env.DATAPACT_BENCH_CACHE || join(import.meta.dirname, '.cache');

const log = (line: string) => console.log(`simulate: ${line}`);
/** CPU time (user and system) since `since`: what a run costs whatever else the machine is doing. */
const cpuMs = (since: NodeJS.CpuUsage) => { const used = process.cpuUsage(since); return (used.user + used.system) / 1000; };
const removeDatabase = (path: string) => { for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true }); };

/** `numbered`: the log's subjects carry their member numbers (migration 0039); absent in a log cached before, which gets them (numberCachedLog). */
interface LogRecord {
  seconds: number; requests: number; subjects: number; seedSeconds?: number; logCpuSeconds?: number; numbered?: boolean; packed?: boolean | number;
  /** The replay segments' layout the log is sealed in (SEALED_FORMAT), and what sealing it cost. */
  sealed?: number; sealCpuSeconds?: number;
}

/** SIMULATE_BENCH_UNNUMBERED=1: a log cached without numbers is replayed so (subjects looked up by id, as a log appended before 0039). */
const KEEP_UNNUMBERED = process.env.SIMULATE_BENCH_UNNUMBERED === '1';

/**
 * A log cached before migration 0039 gets its subjects' numbers as the appender would have logged
 * them (the members' own), once, timed apart from every figure.
 */
function numberCachedLog(path: string, marker: string, record: LogRecord): void {
  const started = performance.now();
  const sqlite = new Database(path);
  try {
    sqlite.pragma('cache_size = -2000000');
    sqlite.prepare(`update audit_leaves set subject_number = (select number from members m where m.id = subject_member_id)
      where subject_member_id is not null and subject_number is null`).run();
  } finally {
    sqlite.close();
  }
  record.numbered = true;
  writeFileSync(marker, JSON.stringify(record));
  log(`cache: the log's subjects numbered as the appender numbers them in ${fmt((performance.now() - started) / 1000, 1)} s (not part of any figure)`);
}

/** The layout of `replay_subjects` the cached log holds (2: with its head entry). */
const PACKED_FORMAT = 2;

/**
 * A log cached before migration 0042 (or packed in an earlier layout) gets each request's packed subjects as the appender writes
 * them (replaySubjectsOf; the same string the replay otherwise builds from the leaves), once, timed
 * apart from every figure.
 */
function packCachedLog(path: string, marker: string, record: LogRecord): void {
  const started = performance.now();
  const sqlite = new Database(path);
  try {
    sqlite.pragma('cache_size = -2000000');
    sqlite.pragma('synchronous = off');
    rewriteRequests(sqlite, `case when r.app_id is not null and r.token_member_id is not null then ${REPLAY_SUBJECTS_FROM_LEAVES()} end`);
  } finally {
    sqlite.close();
  }
  record.packed = PACKED_FORMAT;
  writeFileSync(marker, JSON.stringify(record));
  log(`cache: each request's subjects packed as the appender packs them in ${fmt((performance.now() - started) / 1000, 1)} s (not part of any figure)`);
}

/**
 * audit_requests written again in seq order with `replaySubjects` (SQL over `r`) as each row's
 * packed subjects, its indexes made again: rows packed as an appender lays them out, where updating
 * them in place (each a little longer) would split most pages of the table and leave it part empty.
 */
function rewriteRequests(sqlite: Database.Database, replaySubjects: string): void {
  const table = sqlite.prepare(`select sql from sqlite_master where type = 'table' and name = 'audit_requests'`).pluck().get() as string;
  const indexes = sqlite.prepare(`select sql from sqlite_master where type = 'index' and tbl_name = 'audit_requests' and sql is not null`).pluck().all() as string[];
  const columns = (sqlite.prepare('select name from pragma_table_info(?)').pluck().all('audit_requests') as string[]).filter((name) => name !== 'replay_subjects');
  sqlite.pragma('legacy_alter_table = on');
  sqlite.transaction(() => {
    sqlite.exec(table.replace('"audit_requests"', '"audit_requests_packed"'));
    sqlite.exec(`insert into audit_requests_packed (${columns.join(', ')}, replay_subjects)
      select ${columns.map((name) => `r.${name}`).join(', ')}, ${replaySubjects} from audit_requests r order by r.first_seq`);
    sqlite.exec('drop table audit_requests');
    sqlite.exec('alter table audit_requests_packed rename to audit_requests');
    for (const index of indexes) sqlite.exec(index);
  })();
  sqlite.pragma('legacy_alter_table = off');
}

/** The layout of the replay segments the cached log is sealed in (migration 0043's). */
const SEALED_FORMAT = 1;

/**
 * The cached log sealed into replay segments as the server's scheduler seals a log as it grows
 * (ReplaySealer), once, timed apart from every figure: what it costs a request is printed.
 */
async function sealCachedLog(path: string, marker: string, record: LogRecord): Promise<void> {
  const store = await openStore(path);
  try {
    await store.db.deleteFrom('replay_segments').execute();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const sealed = await withProgressBar('Sealing', (onProgress) => new ReplaySealer(store.db).seal({ minRequests: 1, onProgress }));
    record.sealed = SEALED_FORMAT;
    record.sealCpuSeconds = cpuMs(cpu) / 1000;
    writeFileSync(marker, JSON.stringify(record));
    log(`cache: ${fmt(sealed.requests)} requests sealed into ${fmt(sealed.segments)} replay segments in ${fmt((performance.now() - started) / 1000, 1)} s, `
      + `${fmt((record.sealCpuSeconds * 1e6) / Math.max(1, sealed.requests), 1)} µs of CPU a request (the scheduler's cost as the log grows; not part of any figure)`);
  } finally {
    await store.close();
  }
}

/** The world and its log, built once into the cache. */
async function loggedWorld(size: Size): Promise<{ path: string; record: LogRecord; reused: boolean }> {
  mkdirSync(CACHE, { recursive: true });
  // Logs spanning more than 89 days are made of requests under agreements in effect only since v2 (agreementAt).
  const path = join(CACHE, `simulate-${size.members}-s${SEED}-f${size.avgFriends}-subjects${size.subjects}${LOG_DAYS === 89 ? '' : `-days${LOG_DAYS}-v2`}.db`);
  const marker = `${path}.done`;
  if (existsSync(marker) && existsSync(path)) {
    // A world cached by an older version gets the migrations since (the replay opens it read-only).
    await migrateCached(path, log);
    const record = JSON.parse(readFileSync(marker, 'utf8')) as LogRecord;
    if (record.numbered !== true && !KEEP_UNNUMBERED) numberCachedLog(path, marker, record);
    if (record.packed !== PACKED_FORMAT && !KEEP_UNNUMBERED) {
      packCachedLog(path, marker, record);
      record.sealed = undefined;
    }
    if (record.sealed !== SEALED_FORMAT) await sealCachedLog(path, marker, record);
    return { path, record, reused: true };
  }
  removeDatabase(path);
  const started = performance.now();
  // bench:reports seeds its world with the same call: a copy of it, when cached, saves the seeding (20 minutes at a million members).
  const seeded = join(CACHE, `reports-world-${size.members}-s${SEED}-f${size.avgFriends}.db`);
  if (existsSync(`${seeded}.done`) && existsSync(seeded)) {
    copyFileSync(seeded, path);
    log(`world: copied from ${basename(seeded)}`);
  } else {
    await withProgressBar('Seeding', (onProgress) =>
      seedDatabase(path, { members: size.members, avgFriends: size.avgFriends, seed: SEED, now: NOW, partners: true, onProgress }));
  }
  const seedSeconds = (performance.now() - started) / 1000;
  const store = await openStore(path);
  try {
    const cpu = process.cpuUsage();
    const totals = await writeLog(store, path, size);
    const used = process.cpuUsage(cpu);
    const record: LogRecord = { seconds: (performance.now() - started) / 1000, ...totals, seedSeconds, logCpuSeconds: (used.user + used.system) / 1e6, numbered: true, packed: PACKED_FORMAT };
    writeFileSync(marker, JSON.stringify(record));
    await store.close();
    await sealCachedLog(path, marker, record);
    return { path, record, reused: false };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** One subject's entry as the route writes it: the released fields and, per field, why it was withheld (each distinct decision written out once). */
function entryLists(decision: Extract<SubjectDecision, { visible: true }>): { released: string; withheld: string } {
  const key = `${decision.released}/${decision.withheld.map(({ reason, fields }) => `${reason}:${fields}`).join(',')}`;
  let lists = ENTRY_LISTS.get(key);
  if (lists === undefined) {
    const withheld: Record<string, string> = {};
    for (const { reason, fields } of decision.withheld) for (const field of fieldsOf(fields)) if (field !== 'friends') withheld[field] = reason;
    lists = { released: JSON.stringify(fieldsOf(decision.released).filter((field) => field !== 'friends')), withheld: JSON.stringify(withheld) };
    ENTRY_LISTS.set(key, lists);
  }
  return lists;
}
const ENTRY_LISTS = new Map<string, { released: string; withheld: string }>();

interface Leaf { subject: string | null; outcome: string; code: string | null; released: string; withheld: string; passedOver: number | null }

/**
 * One request decided as the Graph API route decides it (graph-reader.ts: the first page of the
 * friend list scanned in friend id order, up to three pages' worth, for friends visible under the
 * plan): its leaves, request entry first. The world is today's, read into memory once per member
 * (ReplayMembers: facts and sorted friend lists), so a request costs no query.
 */
function decideRequest(members: ReplayMembers, plan: AccessPlan, self: boolean): Leaf[] {
  members.load([], [plan.memberId]);
  const scanned = members.friendsOf(plan.memberId).slice(0, PAGE * 3);
  members.load(scanned, []);
  const shown: SubjectFacts[] = [];
  let hidden = 0;
  for (const id of scanned) {
    const friend = members.factsOf(id)?.friend;
    if (friend === undefined || shown.length === PAGE) continue;
    if (subjectVisibility(plan, friend) === 'friend') shown.push(friend);
    else hidden++;
  }
  const leaves: Leaf[] = [{ subject: null, outcome: 'served', code: null, released: '[]', withheld: '{}', passedOver: hidden }];
  if (self) {
    const decision = decideSubject(plan, selfFacts(plan.memberId), SELF_REQUESTED) as Extract<SubjectDecision, { visible: true }>;
    leaves.push({ subject: plan.memberId, outcome: 'released', code: null, ...entryLists(decision), passedOver: null });
  }
  for (const friend of shown) {
    const decision = decideSubject(plan, friend, REQUESTED) as Extract<SubjectDecision, { visible: true }>;
    leaves.push({ subject: friend.id, outcome: 'released', code: 'through_friend', ...entryLists(decision), passedOver: null });
  }
  return leaves;
}

/** Writes requests and their leaves as the appender stores them (lean rows, field sets by id), and the grants they name. */
class LogWriter {
  private readonly fieldSets = new Map<string, number>();
  /** Members' numbers, which the appender logs with each subject (migration 0039). */
  private readonly numbers = new Map<string, number>();
  private readonly insertSet;
  private readonly insertRequest;
  private readonly insertLeaf;
  private readonly insertGrant;
  private seq: number;

  constructor(private readonly sqlite: Database.Database) {
    // The log's indexes by member take rows in random order: a cache that holds their pages, not SQLite's 2 MB; and no sync
    // per transaction (a build cut short is built again: the marker is written last).
    sqlite.pragma('cache_size = -2000000');
    sqlite.pragma('synchronous = off');
    for (const row of sqlite.prepare('select id, json from audit_field_sets').all() as Array<{ id: number; json: string }>) this.fieldSets.set(row.json, row.id);
    this.insertSet = sqlite.prepare('insert into audit_field_sets (id, json) values (?, ?)');
    this.insertRequest = sqlite.prepare(`insert into audit_requests (first_seq, leaf_count, at, request_id, app_id, partner_id, agreement_id,
      agreement_version, rules_version, token_member_id, purpose, replay_subjects) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertLeaf = sqlite.prepare(`insert into audit_leaves (seq, pos, subject_member_id, outcome, code, released, withheld, passed_over,
      passed_over_reason, subject_number) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const [id, number] of sqlite.prepare('select id, number from members').raw().iterate() as Iterable<[string, number]>) this.numbers.set(id, number);
    this.insertGrant = sqlite.prepare(`insert or ignore into grants (id, member_id, app_id, agreement_id, agreement_version, purpose, member_fields,
      friend_fields, granted_at, last_used_at, revoked_at, end_reason) values (?, ?, ?, ?, ?, ?, ?, ?, ?, null, null, null)`);
    const last = sqlite.prepare('select max(seq) as n from (select max(seq) as seq from audit_leaves union all select max(seq) from audit_entries)').get() as { n: number | null };
    this.seq = Number(last.n ?? 0) + 1;
  }

  private setId(json: string): number {
    let id = this.fieldSets.get(json);
    if (id === undefined) {
      id = this.fieldSets.size + 1_000_000;
      this.fieldSets.set(json, id);
      this.insertSet.run(id, json);
    }
    return id;
  }

  write(batch: readonly LoggedSynthetic[]): void {
    this.sqlite.transaction(() => {
      for (const { at, agreement, member, leaves } of batch) {
        this.insertGrant.run(grantIdOf(agreement, member), member, agreement.appIds[0], agreement.id, agreement.version, 'device_experience',
          JSON.stringify(fieldsOf(agreement.memberFields)), JSON.stringify(fieldsOf(agreement.friendFields)), toIso(GRANTED_AT));
        const setIds = leaves.flatMap((leaf) => [this.setId(leaf.released), this.setId(leaf.withheld)]);
        const entries = leaves.map((leaf) => ({
          appId: agreement.appIds[0]!, tokenMemberId: member, outcome: leaf.outcome as AuditEntry['outcome'], code: leaf.code,
          subjectMemberId: leaf.subject, subjectNumber: leaf.subject === null ? undefined : this.numbers.get(leaf.subject),
          passedOver: leaf.passedOver === null ? null : { count: leaf.passedOver, reason: FRIEND_OPTED_OUT },
        }));
        this.insertRequest.run(this.seq, leaves.length, toIso(at), `bench-${this.seq}`, agreement.appIds[0], agreement.partnerId, agreement.id,
          agreement.version, RULES_VERSION, member, 'device_experience', replaySubjectsOf(entries, 0, entries.length, setIds));
        leaves.forEach((leaf, pos) => this.insertLeaf.run(this.seq + pos, pos, leaf.subject, leaf.outcome, leaf.code, setIds[2 * pos],
          setIds[2 * pos + 1], leaf.passedOver, leaf.passedOver === null ? null : FRIEND_OPTED_OUT, entries[pos]!.subjectNumber ?? null));
        this.seq += leaves.length;
      }
    })();
  }
}

interface LoggedSynthetic { at: number; agreement: Agreement; member: string; leaves: Leaf[] }

/** The grants the log's requests are made under: before its first request. */
const GRANTED_AT = NOW - (LOG_DAYS + 11) * DAY_MS;
const grantIdOf = (agreement: Agreement, member: string) => `g_bench_${agreement.id}_${member}`;

/**
 * The agreement a request at `at` is made under, by its share of the traffic among those in effect
 * then: a partner's devices ask nothing before its agreement starts (nobody can have consented yet).
 * While all are (an 89-day log), the pick is as it always was, so cached logs stay valid.
 */
function agreementAt(agreements: readonly Agreement[], at: number, pick: number): Agreement {
  const parts = SHARES.map(([, part], index) => notInEffectCause(agreements[index]!, at) === null ? part : 0);
  const everyone = parts.every((part, index) => part === SHARES[index]![1]);
  const total = parts.reduce((sum, part) => sum + part, 0);
  const scaled = everyone ? pick : pick * total;
  let share = 0;
  const index = parts.findIndex((part) => part > 0 && scaled < (share += part));
  return agreements[index >= 0 ? index : everyone || total === 0 ? 0 : parts.findLastIndex((part) => part > 0)]!;
}

/** One synthetic request at `at`: an agreement by its share of the traffic, a member at random, decided as the route decides. */
function syntheticRequest(members: ReplayMembers, agreements: readonly Agreement[], size: Size, at: number, random: () => number): LoggedSynthetic {
  const agreement = agreementAt(agreements, at, random());
  const member = memberIdAt(SEED, Math.floor(random() * size.members));
  const grant = {
    id: grantIdOf(agreement, member), memberId: member, appId: agreement.appIds[0]!, agreementId: agreement.id, agreementVersion: agreement.version,
    purpose: 'device_experience' as const, memberFields: agreement.memberFields, friendFields: agreement.friendFields,
    grantedAt: GRANTED_AT, lastUsedAt: at, revokedAt: null,
  };
  members.load([member], []);
  const platformEnabled = members.factsOf(member)?.other.platformEnabled ?? false;
  try {
    const plan = planAccess({
      token: { grantId: grant.id, expiresAt: Number.MAX_SAFE_INTEGER, revokedAt: null }, grant, agreement,
      app: { id: grant.appId, partnerId: agreement.partnerId, name: grant.appId, class: 'device_partner', status: 'active' },
      member: { id: member, platformEnabled },
    }, at);
    return { at, agreement, member, leaves: decideRequest(members, plan, random() < 0.1) };
  } catch (error) {
    if (!(error instanceof DatapactError)) throw error;
    return { at, agreement, member, leaves: [{ subject: null, outcome: 'denied', code: error.code, released: '[]', withheld: '{}', passedOver: 0 }] };
  }
}

/** Requests written per transaction. */
const WRITE_BATCH = 5_000;

/**
 * Synthetic requests decided by the engine, written as the appender stores them, until `subjects`
 * subjects are logged: decided in memory over today's world (read once per member), written with
 * prepared statements in transactions of WRITE_BATCH requests.
 */
async function writeLog(store: Store, path: string, size: Size): Promise<Omit<LogRecord, 'seconds'>> {
  const agreements: Agreement[] = [];
  for (const [key] of SHARES) agreements.push((await store.agreements.get(`agr_${key}`))!);
  const sqlite = new Database(path);
  const writer = new LogWriter(sqlite);
  const members = new ReplayMembers(sqlite);
  members.loadAllFacts();
  const random = prng(SEED);
  const totals = { requests: 0, subjects: 0 };
  const start = NOW - LOG_DAYS * DAY_MS;
  try {
    await withProgressBar('Logging requests', async (onProgress) => {
      while (totals.subjects < size.subjects) {
        const batch: LoggedSynthetic[] = [];
        for (let i = 0; i < WRITE_BATCH && totals.subjects < size.subjects; i++, totals.requests++) {
          const at = Math.floor(start + (totals.subjects / size.subjects) * (NOW - DAY_MS - start));
          const request = syntheticRequest(members, agreements, size, at, random);
          batch.push(request);
          totals.subjects += request.leaves.length - 1;
        }
        writer.write(batch);
        onProgress(Math.min(totals.subjects, size.subjects), size.subjects);
        // Let the progress bar draw.
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  } finally {
    sqlite.close();
  }
  return totals;
}

/**
 * Reading alone: every request read as the replay reads it (as columns where it can: its subjects'
 * entries, numbers and today's facts, no object per subject; else as a step), nothing decided.
 * The requests holding the first IN_MEMORY_SUBJECTS subjects are also kept as steps, to time the decisions alone: that
 * (a read of their ids each) is timed apart and left out (`keptCpuMs`, `keptMs`).
 */
async function readOnly(store: Store): Promise<{ ms: number; subjects: number; kept: LoggedRequest[]; worlds: Parameters<typeof replayRequest>[2][]; keptMs: number; keptCpuMs: number }> {
  const started = performance.now();
  let subjects = 0;
  let keptMs = 0;
  let keptCpuMs = 0;
  const kept: LoggedRequest[] = [];
  const worlds: Parameters<typeof replayRequest>[2][] = [];
  let touched = 0;
  for await (const batch of new LogReplayer(new ReplayLogRepository(store.readDb)).batches({ from: 0, to: NOW })) {
    for (let index = 0; index < batch.length; index++) {
      const columns = batch.columns(index);
      if (columns !== undefined) {
        const { subjects: read } = columns;
        for (let at = 0; at < read.length; at++) if (read.facts(at) !== undefined && read.logged(at).shown) touched++;
        subjects += read.length;
      }
      // Requests with subjects only are kept: a whole log is read agreement by agreement, and one's may begin with months of refusals.
      if (columns === undefined || (subjects <= IN_MEMORY_SUBJECTS && columns.subjects.length > 0)) {
        const since = performance.now();
        const cpu = process.cpuUsage();
        const step = batch.step(index);
        if (columns === undefined) subjects += step.request.subjects.length;
        if (step.world !== undefined && subjects <= IN_MEMORY_SUBJECTS && step.request.subjects.length > 0) { kept.push(step.request); worlds.push(step.world); }
        if (columns !== undefined) { keptMs += performance.now() - since; keptCpuMs += cpuMs(cpu); }
      }
    }
  }
  if (touched < 0) throw new Error('unreachable: keeps the facts read');
  return { ms: performance.now() - started - keptMs, subjects, kept, worlds, keptMs, keptCpuMs };
}

/** Members who change a setting between two simulations (a server's world as it runs). */
const CHANGED_MEMBERS = 1_000;

/**
 * `measure` run after CHANGED_MEMBERS members, spread over the world, switched sharing via friends
 * (written on a connection of its own, as the server's writes), then switched back: the cached
 * world is as it was (a run stopped between the two leaves it changed: delete the cache).
 */
async function afterMembersChanged(path: string, size: Size, measure: () => Promise<number>): Promise<{ ms: number; changed: number }> {
  const sqlite = new Database(path);
  const stride = Math.max(1, Math.floor(size.members / CHANGED_MEMBERS));
  const toggle = sqlite.prepare(`update members set share_via_friends = 1 - share_via_friends where number % ${stride} = 0 and number / ${stride} < ${CHANGED_MEMBERS}`);
  try {
    const { changes } = toggle.run();
    return { ms: await measure(), changed: changes };
  } finally {
    toggle.run();
    sqlite.close();
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const size = options.smoke ? SMOKE : FULL;
  const world = await loggedWorld(size);
  const { requests, subjects, seconds } = world.record;
  log(`world: ${fmt(size.members)} members, ${fmt(size.avgFriends)} friends on average, the demo partners; log: ${fmt(requests)} requests, `
    + `${fmt(subjects)} subjects over ${LOG_DAYS} days, ${world.record.numbered === true ? 'each with its member number' : 'without member numbers (looked up by id, as a log appended before migration 0039)'}; `
    + `${world.reused ? 'reused' : `built in ${fmt(seconds, 1)} s`}`);
  const store = await openStoreToRead(world.path);
  const figures: Figure[] = [];
  const loadBefore = loadavg();
  try {
    let started = performance.now();
    let cpu = process.cpuUsage();
    const replay = await auditReplay(store, { from: 0, to: NOW, now: NOW });
    const replayMs = performance.now() - started;
    const replayCpuMs = cpuMs(cpu);
    const rate = replay.subject_decisions / (replayMs / 1000);
    log(`audit replay: ${fmt(replay.requests)} requests, ${fmt(replay.subject_decisions)} subject decisions in ${fmt(replayMs)} ms: ${fmt(rate)}/s `
      + `(target >= ${fmt(RATE_TARGET)}/s) ${verdict(rate >= RATE_TARGET)}; per CPU second ${fmt(replay.subject_decisions / (replayCpuMs / 1000))}/s (${fmt(replayCpuMs)} ms of CPU, `
      + `${fmt((replayCpuMs * 1000) / replay.subject_decisions, 2)} µs a subject)`);

    cpu = process.cpuUsage();
    const read = await readOnly(store);
    const readCpuMs = cpuMs(cpu) - read.keptCpuMs;
    const terms = new Map<string, Agreement>();
    for (const [key] of SHARES) terms.set(`agr_${key}`, (await store.agreements.get(`agr_${key}`))!);
    started = performance.now();
    let decided = 0;
    let differences = 0;
    const decisions = new ReplayDecisions();
    for (let index = 0; index < read.kept.length; index++) {
      const request = read.kept[index]!;
      const replayed = replayRequest(request, terms.get(request.agreementId!)!, read.worlds[index]!, decisions);
      if (compareOutcomes(request, loggedOutcome(request), replayed) !== null) differences++;
      decided += request.subjects.length;
    }
    const decideMs = performance.now() - started;
    log(`where the time goes: reading the log with today's world around it ${fmt(read.subjects / (read.ms / 1000))} subjects/s (${fmt(read.ms)} ms; `
      + `${fmt((readCpuMs * 1000) / read.subjects, 2)} µs of CPU a subject); deciding alone the general way (${fmt(decided)} subjects in memory, an object each; the replay decides most by kind) ${fmt(decided / (decideMs / 1000))} subjects/s `
      + `(${fmt((decideMs * 1000) / decided, 2)} µs a subject)`);

    const busy = await store.agreements.get(BUSY);
    const withoutBirthday = fieldsOf(busy!.friendFields & ~maskOf(['birthday']));
    started = performance.now();
    cpu = process.cpuUsage();
    const simulation = await simulate(store, { agreementId: BUSY, proposal: { friend_fields: withoutBirthday }, now: NOW });
    const simulationMs = performance.now() - started;
    const simulationCpuMs = cpuMs(cpu);
    const birthday = simulation.fields.find((line) => line.field === 'birthday');
    log(`simulation of ${BUSY} without birthday among its friend fields, last 90 days: ${fmt(simulation.requests)} requests, `
      + `${fmt(simulation.subject_decisions)} subject decisions in ${fmt(simulationMs)} ms (target < ${fmt(SIMULATION_TARGET_MS)} ms) ${verdict(simulationMs < SIMULATION_TARGET_MS)}, `
      + `${fmt(simulation.subject_decisions / (simulationMs / 1000))} subject decisions/s (the replay's target: >= ${fmt(RATE_TARGET)}/s); `
      + `birthday released less ${fmt(birthday?.released_less ?? 0)} times, to ${fmt(birthday?.members_less_through_friends ?? 0)} members through friends; `
      + `${fmt(simulationCpuMs)} ms of CPU`);
    const unchanged = await simulate(store, { agreementId: BUSY, proposal: { friend_fields: fieldsOf(busy!.friendFields) }, now: NOW });
    // The other agreements, each with its share of the traffic: where the 5 s holds (a simulation decides each subject twice).
    const others: string[] = [];
    for (const [key] of SHARES.slice(1)) {
      const agreement = (await store.agreements.get(`agr_${key}`))!;
      const since = performance.now();
      const other = await simulate(store, { agreementId: agreement.id, proposal: { friend_fields: fieldsOf(agreement.friendFields & ~maskOf(['birthday'])) }, now: NOW });
      const ms = performance.now() - since;
      others.push(`${agreement.id} ${fmt(other.requests)} requests, ${fmt(other.subject_decisions)} subject decisions in ${fmt(ms)} ms ${verdict(ms < SIMULATION_TARGET_MS)}`);
    }
    log(`the same simulation of the other agreements: ${others.join('; ')}`);
    // A server's world changes as it runs: between two simulations, some members change a setting (read again, world_changes).
    const { ms: changedMs, changed } = await afterMembersChanged(world.path, size, async () => {
      const since = performance.now();
      await simulate(store, { agreementId: BUSY, proposal: { friend_fields: withoutBirthday }, now: NOW });
      return performance.now() - since;
    });
    log(`the busy simulation after ${fmt(changed)} members changed a setting since the one before (today's world kept, those members read again): ${fmt(changedMs)} ms`);
    // A server just started, or one after many members changed (one in 16), reads today's world first, as a connection that has read nothing.
    const fresh = await openStoreToRead(world.path);
    let freshMs: number;
    try {
      const since = performance.now();
      await simulate(fresh, { agreementId: BUSY, proposal: { friend_fields: withoutBirthday }, now: NOW });
      freshMs = performance.now() - since;
    } finally {
      await fresh.close();
    }
    log(`the busy simulation with today's world read first (a connection that has read nothing: a server just started, or after one member in 16 changed something): ${fmt(freshMs)} ms`);

    const wrong = replay.differences.rules + replay.differences.member_settings + replay.skipped.length + differences + unchanged.requests_changed;
    figures.push(
      { name: 'audit replay subject decisions/s (reading included)', value: Math.round(rate), unit: '/s', target: { op: '>=', value: RATE_TARGET }, kind: 'performance' },
      { name: 'audit replay subject decisions per CPU second', value: Math.round(replay.subject_decisions / (replayCpuMs / 1000)), unit: '/s', kind: 'info' },
      { name: '90-day simulation CPU time', value: Math.round(simulationCpuMs), unit: 'ms', kind: 'info' },
      { name: '90-day simulation subject decisions/s', value: Math.round(simulation.subject_decisions / (simulationMs / 1000)), unit: '/s', kind: 'info' },
      { name: 'reading the log subjects/s (no decisions)', value: Math.round(read.subjects / (read.ms / 1000)), unit: '/s', kind: 'info' },
      { name: 'deciding subjects/s (log in memory)', value: Math.round(decided / (decideMs / 1000)), unit: '/s', kind: 'info' },
      { name: '90-day simulation of one busy agreement', value: Math.round(simulationMs), unit: 'ms', target: { op: '<', value: SIMULATION_TARGET_MS }, kind: 'performance' },
      { name: '90-day simulation of one busy agreement, world read first', value: Math.round(freshMs), unit: 'ms', kind: 'info' },
      { name: '90-day simulation of one busy agreement after members changed a setting', value: Math.round(changedMs), unit: 'ms', kind: 'info' },
      { name: 'correctness: replay and unchanged simulation differences', value: wrong, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    );
    const loadAfter = loadavg();
    const load = `load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' ')} after`;
    log(`correctness: ${wrong} differences (replay ${replay.differences.rules} rules / ${replay.differences.member_settings} settings, `
      + `${replay.skipped.length} kinds skipped; unchanged simulation ${unchanged.requests_changed}); ${verdict(wrong === 0)}; ${load}`);
    return {
      benchmark: 'simulate', ok: wrong === 0, figures,
      notes: [`SQLite; ${fmt(size.members)} members, ${fmt(size.avgFriends)} friends on average, ${fmt(subjects)} logged subjects`
        + `${world.record.numbered === true ? '' : ' without member numbers'}; ${load}`],
    };
  } finally {
    await store.close();
  }
}

if (isMain(import.meta.url)) await runAsScript(run);
