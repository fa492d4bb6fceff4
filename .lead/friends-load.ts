import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const timing = new Map<string, { n: number; ms: number }>();
const proto = (Database as any).prototype;
const origPrepare = proto.prepare;
proto.prepare = function (source: string) {
  const st = origPrepare.call(this, source);
  for (const m of ['all', 'run', 'get', 'iterate', 'raw']) {
    const orig = st[m];
    if (typeof orig !== 'function') continue;
    st[m] = function (...args: unknown[]) {
      const t = performance.now();
      try { return orig.apply(this, args); } finally {
        const k = source.replace(/\s+/g, ' ').slice(0, 110);
        const e = timing.get(k) ?? { n: 0, ms: 0 }; e.n++; e.ms += performance.now() - t; timing.set(k, e);
      }
    };
  }
  return st;
};
const { buildApp } = await import('../src/http/app.js');
const { UNLIMITED_GRAPH_REQUESTS } = await import('../src/http/graph/request-limit.js');
const { memberIdAt } = await import('../src/seed/member-ids.js');
const { seedMembers } = await import('../src/seed/world-generator.js');
const { migrateToLatest, openSqlite } = await import('../src/store/database.js');
const { createStore } = await import('../src/store/store.js');
const { addPartner, grantToken } = await import('../test/helpers/fixtures.js');
const NOW = Date.parse('2026-11-29T12:00:00Z');
const FIELDS = ['name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'religion'];
const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'fp-')), 'x.db'));
await migrateToLatest(db);
const store = createStore(db);
await seedMembers(store, { members: 1000, avgFriends: 100, seed: 2018, now: NOW });
const caller = memberIdAt(2018, 0);
const { appId, agreementId } = await addPartner(store, 'bench', { agreement: { memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: ['id', ...FIELDS] } } as any, NOW);
const { token } = await grantToken(store, { memberId: caller, appId, agreementId, memberFields: ['id', 'name', 'picture', 'birthday', 'friends'], friendFields: ['id', ...FIELDS], tokenTtlMs: 86400000 } as any, NOW);
const app = await buildApp({ store, clock: () => NOW, logger: false, graphRateLimit: UNLIMITED_GRAPH_REQUESTS });
const url = `/v1/me/friends?fields=${FIELDS.join(',')}&limit=25`;
const N = Number(process.env.N ?? 400);
const go1 = async (n: number) => { for (let i = 0; i < n; i++) { const r = await app.inject({ url, headers: { authorization: `Bearer ${token}` } }); if (r.statusCode !== 200) throw new Error(r.body); } };
const C = Number(process.env.C ?? 20);
const go = (n: number) => Promise.all(Array.from({ length: C }, () => go1(Math.ceil(n / C))));
await go(100);
timing.clear();
const cpu0 = process.cpuUsage();
const t = performance.now();
await go(N);
const cpu = process.cpuUsage(cpu0);
const total = performance.now() - t;
console.log(`${N} requests at concurrency ${C}: ${(total / N).toFixed(2)} ms each, CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms each`);
const sql = [...timing].sort((a, b) => b[1].ms - a[1].ms);
console.log(`SQL: ${(sql.reduce((s, [, e]) => s + e.ms, 0) / N).toFixed(2)} ms per request`);
for (const [k, e] of sql.slice(0, 18)) console.log(`${(e.ms / N).toFixed(3)} ms/req ${(e.n / N).toFixed(1)}x  ${k}`);
await app.close();
