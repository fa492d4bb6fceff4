/**
 * Does a friend list answer more slowly when the member has hidden friends? (issue 11 point 0: no
 * timing a partner can observe may vary with the number of hidden friends.) It prints what a partner
 * timing its own requests would see; the scan reads only friends the app's class could see
 * (migration 0038), so the two should match.
 *
 * For each app class, a SQLite file holds two members with the same 25 visible friends (platform on,
 * sharing with friends' apps on and, for a third-party app, using it); the second also has
 * HIDDEN_TIMING_FRIENDS more (default 300), whose ids sort before the visible ones: for a device
 * partner's app they turned sharing off, for a third-party app they do not use it. One app of the
 * class holds a token of each. `GET /v1/me/friends?limit=25`
 * through `buildApp` (app.inject, one request at a time, the two members alternating, the audit
 * entries committed as always), 4,000 requests, the first 400 not counted; p10, p50, p90 of each.
 *
 * Run: npm run bench:hidden-timing   (HIDDEN_TIMING_FRIENDS=41: the bench:http page's hidden friends;
 *      --smoke: 200 requests)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/http/app.js';
import { UNLIMITED_GRAPH_REQUESTS } from '../src/http/graph/request-limit.js';
import { migrateToLatest, openSqlite } from '../src/store/database.js';
import { createStore, type Store } from '../src/store/store.js';
import { addFriendships, addMembers, addPartner, fullProfile, grantToken } from '../test/helpers/fixtures.js';
import { isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const HIDDEN = Number(process.env.HIDDEN_TIMING_FRIENDS ?? 300);
const REQUESTS = 4000;
const WARM_UP = 400;
const FIELDS = ['id', 'name', 'birthday'] as const;

type AppClass = 'device_partner' | 'third_party';

/**
 * Two members' tokens: one with 25 visible friends, one with the same and `HIDDEN` hidden ones before
 * them. For a device partner's app the hidden friends turned sharing off; for a third-party app they
 * share but do not use the app, while the visible ones do.
 */
async function world(store: Store, appClass: AppClass): Promise<{ alone: string; hiding: string }> {
  const visible = Array.from({ length: 25 }, (_, i) => `v${String(i).padStart(4, '0')}`);
  const hidden = Array.from({ length: HIDDEN }, (_, i) => `h${String(i).padStart(4, '0')}`);
  await addMembers(store, [
    { id: 'm_alone' }, { id: 'm_hiding' },
    ...visible.map((id) => ({ id, shareViaFriends: true, profile: fullProfile(id) })),
    ...hidden.map((id) => ({ id, shareViaFriends: appClass === 'third_party', profile: fullProfile(id) })),
  ], NOW);
  await addFriendships(store, [
    ...visible.flatMap((id) => [['m_alone', id] as const, ['m_hiding', id] as const]),
    ...hidden.map((id) => ['m_hiding', id] as const),
  ], NOW);
  const { appId, agreementId } = await addPartner(store, 'probe', { appClass, agreement: { memberFields: ['id', 'friends'], friendFields: [...FIELDS] } }, NOW);
  const token = async (memberId: string) => (await grantToken(store, {
    memberId, appId, agreementId, memberFields: ['id', 'friends'], friendFields: [...FIELDS], tokenTtlMs: 86_400_000,
  }, NOW)).token;
  if (appClass === 'third_party') for (const id of visible) await token(id);
  return { alone: await token('m_alone'), hiding: await token('m_hiding') };
}

const percentile = (sorted: readonly number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

/** The target: the p50 with hidden friends within this fraction of the p50 without (issue 11 point 0 asks for none). */
const TOLERANCE = 0.02;

/** Response times of both members' pages, alternating, the warm-up left out, sorted. */
async function measure(appClass: AppClass, requests: number, warmUp: number) {
  const dir = mkdtempSync(join(tmpdir(), 'datapact-bench-hidden-'));
  const db = openSqlite(join(dir, 'bench.db'));
  try {
    await migrateToLatest(db);
    const store = createStore(db);
    const tokens = await world(store, appClass);
    const app = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS });
    const times = { alone: [] as number[], hiding: [] as number[] };
    try {
      for (let i = 0; i < requests; i++) {
        const who = i % 2 === 0 ? 'alone' : 'hiding';
        const started = process.hrtime.bigint();
        const response = await app.inject({ url: '/v1/me/friends?fields=name,birthday&limit=25', headers: { authorization: `Bearer ${tokens[who]}` } });
        const micros = Number(process.hrtime.bigint() - started) / 1000;
        if (response.statusCode !== 200 || response.json().data.length !== 25) throw new Error(`${who}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        if (i >= warmUp) times[who].push(micros);
      }
    } finally {
      await app.close();
    }
    for (const t of Object.values(times)) t.sort((a, b) => a - b);
    return times;
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`hidden-timing: ${line}`);
  const requests = options.smoke ? 200 : REQUESTS;
  const warmUp = options.smoke ? 20 : WARM_UP;
  const figures: Figure[] = [];
  for (const appClass of ['device_partner', 'third_party'] as const) {
    const times = await measure(appClass, requests, warmUp);
    const line = (name: string, t: readonly number[]) =>
      `${name} p10 ${percentile(t, 0.1).toFixed(0)} µs, p50 ${percentile(t, 0.5).toFixed(0)} µs, p90 ${percentile(t, 0.9).toFixed(0)} µs`;
    const hiddenAre = appClass === 'third_party' ? 'not using the app' : 'sharing off';
    log(`${appClass} app: ${(requests - warmUp) / 2} friend-list pages of 25 each, one at a time, the two members alternating`);
    log(line('  no hidden friend:          ', times.alone));
    log(line(`  ${String(HIDDEN).padEnd(5)} hidden friends first:`, times.hiding) + ` (${hiddenAre})`);
    const extra = (percentile(times.hiding, 0.5) - percentile(times.alone, 0.5)) / percentile(times.alone, 0.5);
    const growth: Figure = {
      name: `${appClass}: p50 longer with hidden friends`, value: extra * 100, unit: '%', target: { op: '<=', value: TOLERANCE * 100 }, kind: 'performance',
    };
    figures.push(
      { name: `${appClass}: p50 without hidden friends`, value: percentile(times.alone, 0.5), unit: 'µs', kind: 'info' },
      { name: `${appClass}: p50 with ${HIDDEN} hidden friends`, value: percentile(times.hiding, 0.5), unit: 'µs', kind: 'info' },
      growth,
    );
    log(`  the p50 grows by ${(extra * 100).toFixed(1)}% with ${HIDDEN} hidden friends; target <= ${TOLERANCE * 100}% (issue 11 point 0: none): ${verdict(passes(growth))}`);
  }
  return { benchmark: 'hidden-timing', ok: true, figures };
}

if (isMain(import.meta.url)) await runAsScript(run);
