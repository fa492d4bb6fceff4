/**
 * The soak of issue 11: five connections asking for friend lists of 100 for five minutes, as the
 * review that found the log's cost ran it, and what it leaves behind.
 *
 * A temporary SQLite file (WAL, as the product runs) with a seeded world (2,000 members, 150 friends
 * on average, like the demo) and a device partner whose agreement names 8 friend fields. Every
 * member with the platform on gets a token; autocannon (worker thread) sends `GET /v1/me/friends?limit=100`
 * with a token drawn at random for each request, so pages are read across the world, not one hot key.
 * Meanwhile, every `SOAK_REPORT_EVERY` seconds, a staff member asks for the inventory report while
 * `/health` is asked every 20 ms: the soak prints the report's latency and the slowest `/health`
 * answer while it ran (a report must not hold up the gateway), beside the slowest over a tenth of the
 * interval just before it, without a report (under this load `/health` waits behind the friend lists).
 * The scheduler runs as `datapact serve` runs it (DATAPACT_TICK_SECONDS, 60 by default), and the
 * audit log folds its count journals as it appends, as a server's does.
 *
 * It prints the database's growth (after a WAL checkpoint, so that bytes not yet copied back count
 * once), the audit log's growth, and both per request and per subject the responses carried,
 * beside the target of issue 11 (≤ 150 bytes per audited subject), and that growth table by table
 * (SQLite's dbstat, each table with its indexes, and the free pages SQLite reuses before growing).
 *
 * Run: npm run bench:soak   (SOAK_SECONDS=300 by default; --smoke: 5 s on a small world)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ObjectField } from '../src/domain/field-catalog.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { startScheduler, type RunningScheduler } from '../src/scheduler/scheduler.js';
import { UNLIMITED_GRAPH_REQUESTS } from '../src/http/graph/request-limit.js';
import { hashPassword } from '../src/store/member-credential-repository.js';
import { seedMembers } from '../src/seed/world-generator.js';
import { migrateToLatest, openReadDatabase, openSqlite, type Db } from '../src/store/database.js';
import { WalCheckpointing } from '../src/store/wal-checkpointing.js';
import { databaseBytes } from '../src/store/database-size.js';
import { createStore, type Store } from '../src/store/store.js';
import { addPartner, grantToken } from '../test/helpers/fixtures.js';
import { address } from './lib/listen-address.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';

const FULL = { members: 2_000, avgFriends: 150, connections: 5, seconds: Number(process.env.SOAK_SECONDS ?? 300), reportEvery: 30 };
const SMOKE = { members: 300, avgFriends: 40, connections: 2, seconds: 5, reportEvery: 2 };
const SEED = 2018;
const TARGET_BYTES_PER_SUBJECT = 150;
const FIELDS: readonly ObjectField[] = ['name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'religion'];
const NOW = Date.parse('2026-11-29T12:00:00Z');

async function tokensForEveryone(store: Store, appId: string, agreementId: string): Promise<string[]> {
  const tokens: string[] = [];
  const memberFields = ['id', 'name', 'picture', 'friends'] as const;
  // Members who turned the platform off are refused (403): the soak is about friend lists served.
  const enabled = await store.db.selectFrom('members').select('id').where('platform_enabled', '=', 1).orderBy('id').execute();
  for (const { id: memberId } of enabled) {
    const { token } = await grantToken(store, {
      memberId, appId, agreementId, memberFields: [...memberFields], friendFields: ['id', ...FIELDS], tokenTtlMs: 24 * 3_600_000,
    }, NOW);
    tokens.push(token);
  }
  return tokens;
}

async function staffSession(store: Store): Promise<string> {
  const staff = await store.staff.create(
    { email: 'soak@staff.example', name: 'Soak', roles: ['viewer'], passwordHash: await hashPassword('a long soak password') }, NOW,
  );
  const { secret } = await store.staff.issue(staff.id, 'session', { expiresAt: NOW + 24 * 3_600_000 }, NOW);
  return secret;
}

interface HealthBeside { reportMs: number; healthMaxMs: number; healthCount: number; aloneMaxMs: number; aloneCount: number }

/** `/health` asked every 20 ms until `done` settles: how many answers, and the slowest. */
async function healthWhile(base: string, done: Promise<unknown>): Promise<{ maxMs: number; count: number }> {
  let running = true;
  void done.finally(() => { running = false; }).catch(() => {});
  let maxMs = 0;
  let count = 0;
  while (running) {
    const started = performance.now();
    await (await fetch(`${base}/health`)).arrayBuffer();
    maxMs = Math.max(maxMs, performance.now() - started);
    count++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { maxMs, count };
}

/**
 * The inventory's latency and the slowest `/health` answer while it ran, beside the slowest over as
 * long just before it without a report: under the soak's load `/health` waits its turn behind the
 * friend lists, which is not the report's doing.
 */
async function reportBesideHealth(base: string, staffToken: string, aloneMs: number): Promise<HealthBeside> {
  const alone = await healthWhile(base, new Promise((resolve) => setTimeout(resolve, aloneMs)));
  const started = performance.now();
  const report = (async () => {
    const response = await fetch(`${base}/admin/v1/reports/inventory`, { headers: { authorization: `Bearer ${staffToken}` } });
    await response.arrayBuffer();
    return response.status;
  })();
  const beside = await healthWhile(base, report);
  const status = await report;
  const reportMs = performance.now() - started;
  if (status !== 200) throw new Error(`the inventory answered ${status}`);
  return { reportMs, healthMaxMs: beside.maxMs, healthCount: beside.count, aloneMaxMs: alone.maxMs, aloneCount: alone.count };
}

/** Bytes per table, its indexes counted with it (SQLite's dbstat), and the free pages as `(free pages)`. */
async function bytesPerTable(db: Db): Promise<Map<string, number>> {
  const { rows } = await sql<{ name: string; bytes: number }>`
    select coalesce(s.tbl_name, d.name) as name, sum(d.pgsize) as bytes
    from dbstat d left join sqlite_schema s on s.name = d.name group by 1`.execute(db);
  const tables = new Map(rows.map((row) => [row.name, Number(row.bytes)]));
  const { rows: [free] } = await sql<{ n: number }>`select freelist_count * page_size as n from pragma_freelist_count, pragma_page_size`.execute(db);
  tables.set('(free pages)', Number(free!.n));
  return tables;
}

/** What each table grew by, the largest first; those that grew by less than 0.1% of the total left out. */
function grownPerTable(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): [string, number][] {
  const grown = [...after].map(([table, bytes]): [string, number] => [table, bytes - (before.get(table) ?? 0)]);
  const total = grown.reduce((sum, [, bytes]) => sum + Math.abs(bytes), 0);
  return grown.filter(([, bytes]) => Math.abs(bytes) >= total / 1000).sort((a, b) => b[1] - a[1]);
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`soak: ${line}`);
  const size = options.smoke ? SMOKE : FULL;
  const dir = mkdtempSync(join(tmpdir(), 'datapact-bench-soak-'));
  const file = join(dir, 'soak.db');
  const db = openSqlite(file);
  let app: FastifyInstance | undefined;
  let scheduler: RunningScheduler | undefined;
  // As `datapact serve` opens it: staff reads on their own worker-thread connection.
  const store = createStore(db, openReadDatabase(file, db));
  try {
    await migrateToLatest(db);
    const seeded = await seedMembers(store, { members: size.members, avgFriends: size.avgFriends, seed: SEED, now: NOW });
    const { appId, agreementId } = await addPartner(store, 'soak', {
      agreement: { memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: ['id', ...FIELDS] },
    }, NOW);
    const tokens = await tokensForEveryone(store, appId, agreementId);
    const staffToken = await staffSession(store);

    app = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS });
    const checkpointing = WalCheckpointing.start(db, file); // as `datapact serve` runs
    app.addHook('onClose', async () => checkpointing?.stop());
    let served = 0;
    let subjects = 0;
    app.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode === 200 && request.url.startsWith('/v1/me/friends') && typeof payload === 'string') {
        served++;
        subjects += payload.match(/"id":"/g)?.length ?? 0;
      }
      return payload;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = address(app);
    const url = `${base}/v1/me/friends?fields=${FIELDS.join(',')}&limit=100`;

    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    const bytesBefore = await databaseBytes(db, file);
    const tablesBefore = await bytesPerTable(db);
    const leavesBefore = await store.audit.treeSize();
    log(`world: ${fmt(seeded.members)} members, ${fmt(seeded.friendships)} friendships (seed ${SEED}); ${fmt(tokens.length)} tokens, one drawn at random per request`);
    log(`load: autocannon, ${size.connections} connections, ${size.seconds} s, GET /v1/me/friends?limit=100 (8 friend fields); the inventory every ${size.reportEvery} s beside /health`);
    log(`before: database ${fmt(bytesBefore / 1e6, 1)} MB, audit log ${fmt(leavesBefore)} entries`);

    process.env.SOAK_TOKENS_FILE = join(dir, 'tokens.json');
    writeFileSync(process.env.SOAK_TOKENS_FILE, JSON.stringify(tokens));
    const reports: HealthBeside[] = [];
    let loading = true;
    // As `datapact serve` runs it: the scheduler (lifecycle, grant endings, folding) every DATAPACT_TICK_SECONDS.
    const tickSeconds = loadConfig().tickSeconds;
    scheduler = startScheduler({ db, clock: () => NOW, intervalSeconds: tickSeconds });
    log(tickSeconds > 0 ? `scheduler: every ${tickSeconds} s (DATAPACT_TICK_SECONDS), as \`datapact serve\` runs it` : 'scheduler: off (DATAPACT_TICK_SECONDS=0)');
    const reporting = (async () => {
      while (loading) {
        await new Promise((resolve) => setTimeout(resolve, size.reportEvery * 1000));
        if (loading) reports.push(await reportBesideHealth(base, staffToken, size.reportEvery * 100));
      }
    })();
    const result = await autocannon({
      url, connections: size.connections, duration: size.seconds, workers: 1,
      requests: [{ setupRequest: fileURLToPath(new URL('./lib/random-token-request.cjs', import.meta.url)) }],
    });
    loading = false;
    await reporting;
    await scheduler.stop();
    scheduler = undefined;
    await app.close(); // commits what is queued
    app = undefined;

    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    const tablesAfter = await bytesPerTable(db);
    const grown = (await databaseBytes(db, file)) - bytesBefore;
    const leaves = (await store.audit.treeSize()) - leavesBefore;
    const perSubject = grown / Math.max(1, subjects);
    log(`requests: ${fmt(served)} friend lists served (${fmt(result.non2xx)} non-2xx, ${fmt(result.errors + result.timeouts)} errors), ${fmt(subjects)} friends in them`);
    log(`after: the database grew ${fmt(grown / 1e6, 1)} MB; the audit log by ${fmt(leaves)} entries`);
    log(`per request: ${fmt(leaves / Math.max(1, served), 1)} entries, ${fmt(grown / Math.max(1, served))} bytes`);
    log(`per audited subject: ${fmt(perSubject)} bytes; target <= ${TARGET_BYTES_PER_SUBJECT}: ${verdict(perSubject <= TARGET_BYTES_PER_SUBJECT)}`);
    log(`growth per audited subject by table (its indexes included; free pages are space SQLite reuses before growing the file):`);
    for (const [table, bytes] of grownPerTable(tablesBefore, tablesAfter)) log(`  ${table}: ${fmt(bytes / Math.max(1, subjects), 1)} B`);
    for (const r of reports) {
      log(`inventory ${fmt(r.reportMs)} ms; /health answered ${r.healthCount} times meanwhile, slowest ${fmt(r.healthMaxMs, 1)} ms ` +
        `(just before, without a report: ${r.aloneCount} times, slowest ${fmt(r.aloneMaxMs, 1)} ms)`);
    }

    const figures: Figure[] = [
      { name: 'friend lists served', value: served, unit: 'count', kind: 'info' },
      { name: 'audit entries per request', value: leaves / Math.max(1, served), unit: 'count', kind: 'info' },
      { name: 'database bytes per request', value: grown / Math.max(1, served), unit: 'B', kind: 'info' },
      { name: 'database bytes per audited subject', value: perSubject, unit: 'B', target: { op: '<=', value: TARGET_BYTES_PER_SUBJECT }, kind: 'performance' },
      { name: 'inventory during the soak (slowest)', value: Math.max(0, ...reports.map((r) => r.reportMs)), unit: 'ms', target: { op: '<', value: 1000 }, kind: 'performance' },
      { name: '/health beside the inventory (slowest)', value: Math.max(0, ...reports.map((r) => r.healthMaxMs)), unit: 'ms', kind: 'info' },
      { name: '/health without a report (slowest)', value: Math.max(0, ...reports.map((r) => r.aloneMaxMs)), unit: 'ms', kind: 'info' },
      { name: 'failed requests', value: result.non2xx + result.errors + result.timeouts, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    ];
    const ok = passes(figures[7]!) === true && served > 0;
    return { benchmark: 'soak', ok, figures, notes: [`${size.connections} connections, ${size.seconds} s`] };
  } finally {
    await scheduler?.stop();
    await app?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runAsScript(run);
