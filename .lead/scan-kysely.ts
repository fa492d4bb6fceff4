// The friend scan through the store, old way (join, then exclusions by id list) against the new one statement, alternating.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { memberIdAt } = await import('../src/seed/member-ids.js');
const { seedMembers } = await import('../src/seed/world-generator.js');
const { migrateToLatest, openSqlite } = await import('../src/store/database.js');
const { createStore } = await import('../src/store/store.js');
const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'sk-')), 'x.db'));
await migrateToLatest(db);
const store = createStore(db);
await seedMembers(store, { members: 1000, avgFriends: 100, seed: 2018, now: Date.parse('2026-11-29T12:00:00Z') });
const caller = memberIdAt(2018, 0);
const reader = { appId: 'a_x', partnerId: 'p_x' };
const oldWay = async () => {
  const rows = await db.selectFrom('friendships as f').leftJoin('members as m', 'm.id', 'f.friend_id')
    .select(['f.friend_id', 'm.platform_enabled', 'm.share_via_friends']).where('f.member_id', '=', caller).orderBy('f.friend_id').limit(75).execute();
  await store.members.friendExclusions(rows.filter((r) => r.platform_enabled === 1).map((r) => r.friend_id));
};
const newWay = () => store.friendships.pageWithSettings(caller, null, 75, reader);
const fieldsAll = async () => { const ids = (await newWay()).slice(0, 25).map((f) => f.id); await store.members.friendsAudiences(ids); };
const fieldsAsked = async () => { const ids = (await newWay()).slice(0, 25).map((f) => f.id); await store.members.friendsAudiences(ids, ['hometown', 'location', 'work', 'education', 'religion']); };
const ways = { oldWay, newWay, fieldsAll, fieldsAsked } as Record<string, () => Promise<unknown>>;
const ms: Record<string, number> = {};
for (let round = 0; round < 3000; round++) for (const [k, f] of Object.entries(ways)) { const t = performance.now(); await f(); ms[k] = (ms[k] ?? 0) + performance.now() - t; }
for (const [k, v] of Object.entries(ms)) console.log(`${k.padEnd(12)} ${(v / 3000 * 1000).toFixed(0)} µs`);
