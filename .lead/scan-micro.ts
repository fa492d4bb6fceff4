// Times candidate statements of the friend scan on the bench world, alternating, to compare them on a shared machine.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
const { memberIdAt } = await import('../src/seed/member-ids.js');
const { seedMembers } = await import('../src/seed/world-generator.js');
const { migrateToLatest, openSqlite } = await import('../src/store/database.js');
const { createStore } = await import('../src/store/store.js');
const file = join(mkdtempSync(join(tmpdir(), 'sm-')), 'x.db');
const db = openSqlite(file);
await migrateToLatest(db);
await seedMembers(createStore(db), { members: 1000, avgFriends: 100, seed: 2018, now: Date.parse('2026-11-29T12:00:00Z') });
await db.destroy();
const raw = new Database(file);
const caller = memberIdAt(2018, 0);
const ids = raw.prepare('select friend_id from friendships where member_id = ? order by friend_id limit 25').pluck().all(caller) as string[];
const q: Record<string, [string, unknown[]]> = JSON.parse(process.env.Q ?? '{}');
const defaults: Record<string, [string, unknown[]]> = {
  join: ['select f.friend_id, m.platform_enabled, m.share_via_friends from friendships f left join members m on m.id = f.friend_id where f.member_id = ? order by f.friend_id limit 75', [caller]],
  exists: [`select f.friend_id, m.platform_enabled, m.share_via_friends,
    exists (select 1 from member_friend_exclusions e where e.member_id = f.friend_id and e.kind = 'app' and e.target_id = ?) as xa,
    exists (select 1 from member_friend_exclusions e where e.member_id = f.friend_id and e.kind = 'partner' and e.target_id = ?) as xp
    from friendships f left join members m on m.id = f.friend_id where f.member_id = ? order by f.friend_id limit 75`, ['a', 'p', caller]],
  excl: [`select member_id, kind, target_id from member_friend_exclusions where member_id in (${ids.map(() => '?').join()}, ${ids.map(() => '?').join()})`, [...ids, ...ids]],
  aud: [`select member_id, field, audience from field_audiences where member_id in (${ids.map(() => '?').join()})`, ids],
  audf: [`select member_id, field, audience from field_audiences where member_id in (${ids.map(() => '?').join()}) and field in ('hometown','location','work','education','religion')`, ids],
};
for (const v of Object.values(q)) v[1] = v[1].map((x) => (x === "CALLER" ? caller : x));
const all = { ...defaults, ...q };
const st = Object.fromEntries(Object.entries(all).map(([k, [s, p]]) => [k, { s: raw.prepare(s), p, ms: 0, rows: 0 }]));
for (let round = 0; round < 2000; round++) for (const v of Object.values(st)) { const t = performance.now(); v.rows = v.s.all(...v.p).length; v.ms += performance.now() - t; }
for (const [k, v] of Object.entries(st)) console.log(`${k.padEnd(10)} ${(v.ms / 2000 * 1000).toFixed(1)} µs  (${v.rows} rows)`);
