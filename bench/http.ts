/**
 * HTTP benchmark (issue 6): what the rules and the audit cost at the door.
 *
 * One SQLite file (a temporary one, WAL, as the product runs) holds a seeded world (src/seed, the
 * generator behind `datapact seed`) and a device partner whose agreement and grant name 8 friend
 * fields. Two servers read it, loaded one after the other with the same autocannon settings:
 *
 * - rules + audit: the product (`buildApp`), `GET /v1/me/friends?fields=<8 fields>&limit=25` with a
 *   bearer token: token and request-level rules, the friend scan with every subject decided,
 *   the audit entries committed (group commit) before the response;
 * - bare: a second Fastify instance, registered here only (never in the product), whose one route
 *   reads the same 25 friends' rows from the same database, unfiltered, with no token, no rules and
 *   no audit, and returns them.
 *
 * Prints requests/s, p50 and p99 latency of each, and their ratio (target: rules + audit at least
 * 0.5× the bare route), and the server thread's CPU a request of each (Linux) with the same ratio. To show the figure is not bought by skipping work, the audit log is counted
 * before and after the measured run: it must have grown by exactly (responses served) × (entries one
 * request writes).
 *
 * autocannon fires from a worker thread, so the load generator does not share the servers' thread.
 *
 * Run: npm run bench:http   (--smoke: a small world, one-second runs; --checkpoint-on-commit: the WAL
 *      checkpointed by the server's connection in its commits, as before WalCheckpointing)
 *      npm run bench:http:postgres   (the same on a throwaway PostgreSQL, scripts/with-postgres.mjs)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ObjectField } from '../src/domain/field-catalog.js';
import { buildApp } from '../src/http/app.js';
import { UNLIMITED_GRAPH_REQUESTS } from '../src/http/graph/request-limit.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { seedMembers } from '../src/seed/world-generator.js';
import { migrateToLatest, openSqlite, type Db } from '../src/store/database.js';
import { createStore, type Store } from '../src/store/store.js';
import { WalCheckpointing } from '../src/store/wal-checkpointing.js';
import { POSTGRES_SERVER_URL, freshDatabase } from '../test/helpers/dialects.js';
import { addPartner, grantToken } from '../test/helpers/fixtures.js';
import { address } from './lib/listen-address.js';
import { mainThreadCpuMs } from './lib/thread-cpu.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';

const FULL = { members: 1_000, avgFriends: 100, connections: 20, seconds: 10, warmupSeconds: 3 };
const SMOKE = { members: 200, avgFriends: 40, connections: 4, seconds: 1, warmupSeconds: 1 };
const SEED = 2018;
const PAGE = 25;
const TARGET_RATIO = 0.5;
/** Eight fields a device partner's app would show of a friend; religion is withheld (sensitive_field) by the rules. */
const FIELDS: readonly ObjectField[] = ['name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'religion'];
const NOW = Date.parse('2026-11-29T12:00:00Z');

interface Load {
  readonly requestsPerSecond: number;
  /** The server thread's CPU per response (µs; undefined off Linux): the work, whatever the machine's load. */
  readonly cpuPerRequestUs: number | undefined;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly other: number;
  readonly errors: number;
}

async function load(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<Load> {
  // A response slower than 60 s is counted as an error; autocannon's default, 10 s, is met on a loaded machine.
  const cpuBefore = mainThreadCpuMs();
  const result = await autocannon({ url, headers, connections, duration: seconds, workers: 1, timeout: 60 });
  const cpuAfter = mainThreadCpuMs();
  const responses = result['2xx'] + result.non2xx;
  return {
    requestsPerSecond: result.requests.average,
    cpuPerRequestUs: cpuBefore === undefined || cpuAfter === undefined || responses === 0 ? undefined : ((cpuAfter - cpuBefore) * 1000) / responses,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    other: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function countAuditEntries(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(db);
  return Number(rows[0]!.n);
}

/** The baseline: the same rows, read straight from the database, nothing checked, nothing written. */
async function bareServer(store: Store, caller: string, ids: readonly string[]): Promise<FastifyInstance> {
  const bare = Fastify({ logger: false });
  bare.get('/bare/friends', async () => {
    const rows = await store.db
      .selectFrom('friendships')
      .select('friend_id')
      .where('member_id', '=', caller)
      .where('friend_id', 'in', ids)
      .orderBy('friend_id')
      .execute();
    const friendIds = rows.map((row) => row.friend_id);
    const profiles = await store.members.profiles(friendIds, FIELDS);
    return { data: friendIds.map((id) => ({ id, ...profiles.get(id) })) };
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  return bare;
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`http: ${line}`);
  const size = options.smoke ? SMOKE : FULL;
  const database = await benchDatabase();
  const db = database.db;
  let rules: FastifyInstance | undefined;
  let bare: FastifyInstance | undefined;
  try {
    const store = createStore(db);
    const seeded = await seedMembers(store, { members: size.members, avgFriends: size.avgFriends, seed: SEED, now: NOW });
    const caller = memberIdAt(SEED, 0); // the world's showcase member: the most friends, platform on
    const { appId, agreementId } = await addPartner(store, 'bench', {
      agreement: { memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: ['id', ...FIELDS] },
    }, NOW);
    const { token } = await grantToken(store, {
      memberId: caller, appId, agreementId, memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: ['id', ...FIELDS],
      tokenTtlMs: 24 * 3_600_000,
    }, NOW);

    rules = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS });
    let served = 0;
    const inFlight = new Set<string>();
    rules.addHook('onRequest', async (request) => { inFlight.add(request.id); });
    rules.addHook('onResponse', async (request) => { inFlight.delete(request.id); });
    // A request the load generator gives up on at the end of a run is answered to no one: its entries may or may not
    // have been committed when the connection closed, so it is counted apart.
    let aborted = 0;
    rules.addHook('onRequestAbort', async (request) => {
      inFlight.delete(request.id);
      if (request.url.startsWith('/v1/me/friends')) aborted++;
    });
    rules.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 200 && request.url.startsWith('/v1/me/friends')) served++;
    });
    await rules.listen({ host: '127.0.0.1', port: 0 });
    const rulesUrl = `${address(rules)}/v1/me/friends?fields=${FIELDS.join(',')}&limit=${PAGE}`;
    const headers = { authorization: `Bearer ${token}` };

    // One request by hand: the page it returns, and how many audit entries one request writes.
    const before = await countAuditEntries(db);
    const first = await fetch(rulesUrl, { headers });
    const body = (await first.json()) as { data: Array<{ id: string; withheld: Record<string, string> }> };
    if (first.status !== 200 || body.data.length !== PAGE) {
      throw new Error(`the rules route answered ${first.status} with ${body.data?.length} friends; the world needs at least ${PAGE} visible friends`);
    }
    const perRequest = (await countAuditEntries(db)) - before;
    const ids = body.data.map((friend) => friend.id);
    bare = await bareServer(store, caller, ids);
    const bareUrl = `${address(bare)}/bare/friends`;
    const bareBody = (await (await fetch(bareUrl)).json()) as { data: Array<{ id: string }> };
    if (bareBody.data.map((f) => f.id).join() !== ids.join()) throw new Error('the bare route does not read the same friends');

    log(
      `world: ${fmt(seeded.members)} members, ${fmt(seeded.friendships)} friendships (seed ${SEED}); caller ${caller}; ` +
        `one page = ${PAGE} visible friends x ${FIELDS.length} fields (${FIELDS.join(',')}); one request writes ${perRequest} audit entries ` +
        `(one for the request, counting the friends left out by their own settings, and ${perRequest - 1} released)`,
    );
    log(`database: ${database.dialect}`);
    log(`load: autocannon, ${size.connections} connections, ${size.seconds} s each after a ${size.warmupSeconds} s warm-up, from a worker thread`);

    await load(rulesUrl, headers, size.connections, size.warmupSeconds);
    await load(bareUrl, {}, size.connections, size.warmupSeconds);

    const auditBefore = await countAuditEntries(db);
    const servedBefore = served;
    const abortedBefore = aborted;
    const withRules = await load(rulesUrl, headers, size.connections, size.seconds);
    // Requests cut off by the end of the run still finish on the server: wait until none is left.
    for (let waited = 0; inFlight.size > 0 && waited < 30_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const servedDuringRun = served - servedBefore;
    const abortedDuringRun = aborted - abortedBefore;
    const auditGrowth = (await countAuditEntries(db)) - auditBefore;
    const expectedGrowth = servedDuringRun * perRequest;
    const mostGrowth = (servedDuringRun + abortedDuringRun) * perRequest;
    const growthOff = auditGrowth < expectedGrowth ? expectedGrowth - auditGrowth : Math.max(0, auditGrowth - mostGrowth);
    const withoutRules = await load(bareUrl, {}, size.connections, size.seconds);

    const ratio = withRules.requestsPerSecond / withoutRules.requestsPerSecond;
    const line = (name: string, l: Load) =>
      `${name} ${fmt(l.requestsPerSecond)} req/s, latency p50 ${l.p50} ms, p99 ${l.p99} ms ` +
      `(${fmt(l.ok)} 2xx, ${fmt(l.other)} other, ${fmt(l.errors)} errors)` +
      (l.cpuPerRequestUs === undefined ? '' : `; ${fmt(Math.round(l.cpuPerRequestUs))} µs of the server thread's CPU a request`);
    log(line('rules + audit:', withRules));
    log(line('bare:         ', withoutRules));
    const figures: Figure[] = [
      { name: 'rules + audit requests/s', value: withRules.requestsPerSecond, unit: '/s', kind: 'info' },
      { name: 'rules + audit p50', value: withRules.p50, unit: 'ms', kind: 'info' },
      { name: 'rules + audit p99', value: withRules.p99, unit: 'ms', kind: 'info' },
      { name: 'bare requests/s', value: withoutRules.requestsPerSecond, unit: '/s', kind: 'info' },
      { name: 'bare p50', value: withoutRules.p50, unit: 'ms', kind: 'info' },
      { name: 'bare p99', value: withoutRules.p99, unit: 'ms', kind: 'info' },
      { name: 'rules + audit / bare', value: ratio, unit: 'x', target: { op: '>=', value: TARGET_RATIO }, kind: 'performance' },
      {
        name: 'audit entries missing or extra',
        value: growthOff,
        unit: 'count',
        target: { op: '==', value: 0 },
        kind: 'correctness',
      },
      {
        name: 'failed requests',
        value: withRules.other + withRules.errors + withoutRules.other + withoutRules.errors,
        unit: 'count',
        target: { op: '==', value: 0 },
        kind: 'correctness',
      },
    ];
    for (const [name, l] of [['rules + audit', withRules], ['bare', withoutRules]] as const) {
      if (l.cpuPerRequestUs !== undefined) figures.push({ name: `${name} server thread CPU a request`, value: l.cpuPerRequestUs, unit: 'µs', kind: 'info' });
    }
    log(`ratio: rules + audit / bare = ${ratio.toFixed(2)}; target >= ${TARGET_RATIO}: ${verdict(passes(figures[6]!))}`);
    if (withRules.cpuPerRequestUs !== undefined && withoutRules.cpuPerRequestUs !== undefined) {
      log(`CPU: bare / rules + audit = ${(withoutRules.cpuPerRequestUs / withRules.cpuPerRequestUs).toFixed(2)} (the same ratio in the server thread's CPU a request, which the machine's other load moves less)`);
    }
    log(
      `audit: the log grew by ${fmt(auditGrowth)} entries during the rules run; expected ${fmt(servedDuringRun)} responses served x ${perRequest} = ` +
        `${fmt(expectedGrowth)}` + (abortedDuringRun > 0 ? ` (to ${fmt(mostGrowth)} with the ${fmt(abortedDuringRun)} requests the load generator gave up on)` : '') +
        `: ${growthOff === 0 ? 'PASS' : 'FAIL'}` +
        (withRules.ok > servedDuringRun ? ` (autocannon counted ${fmt(withRules.ok)} 2xx, more than the server served!)` : ''),
    );
    const ok = growthOff === 0 && withRules.ok <= servedDuringRun && servedDuringRun > 0 && figures[8]!.value === 0;
    if (!ok) log('FAIL: every response of the rules route must have its audit entries, and every request must succeed');
    return { benchmark: 'http', ok, figures, notes: [`${size.connections} connections, ${size.seconds} s per server`] };
  } finally {
    await bare?.close();
    await rules?.close();
    await database.drop();
  }
}

/**
 * A temporary SQLite file (WAL, as the product runs), or with `--postgres` a fresh database on the
 * server DATAPACT_TEST_DATABASE_URL names (npm run bench:http:postgres starts a throwaway one).
 */
async function benchDatabase(): Promise<{ db: Db; dialect: string; drop(): Promise<void> }> {
  if (process.argv.includes('--postgres')) {
    if (!POSTGRES_SERVER_URL) throw new Error('--postgres needs a PostgreSQL server: run `npm run bench:http:postgres`');
    const fresh = await freshDatabase('postgres');
    return { db: fresh.db, dialect: 'PostgreSQL', drop: () => fresh.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'datapact-bench-http-'));
  const path = join(dir, 'bench.db');
  const db = openSqlite(path);
  await migrateToLatest(db);
  // As `datapact serve` runs: the WAL checkpointed on a thread of its own, not in a request's commit.
  const checkpointing = process.argv.includes('--checkpoint-on-commit') ? undefined : WalCheckpointing.start(db, path);
  return {
    db,
    dialect: checkpointing === undefined ? 'SQLite, WAL checkpoints in the commits (--checkpoint-on-commit)' : 'SQLite, WAL checkpoints on their own thread',
    async drop() {
      await checkpointing?.stop();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (isMain(import.meta.url)) await runAsScript(run);
