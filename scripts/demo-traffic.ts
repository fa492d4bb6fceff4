/**
 * Graph API traffic on the demo world, for showing the reports with something in them:
 * `node --import tsx scripts/demo-traffic.ts <database file> <ISO instant the world is seeded at>`.
 *
 * Seeds the demo world into the (new) SQLite file, then for 14 days has 40 members a day grant
 * BlackBerry's or Huawei's app (minted as `datapact tokens issue` does: no consent page) and read
 * themselves and a page of 25 friends through the real app, each request (or refusal) audited as in production.
 * The audit keys go to DATAPACT_DATA_DIR (default ./data), as `datapact serve` would put them.
 */
import { maskOf } from '../src/domain/field-catalog.js';
import { buildApp } from '../src/http/app.js';
import { DEMO_MEMBER_ID, seedDemoWorld } from '../src/seed/demo-world.js';
import { memberIdAt } from '../src/seed/member-ids.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import { createStore } from '../src/store/store.js';

const [file, seededAt] = process.argv.slice(2);
if (file === undefined || seededAt === undefined || Number.isNaN(Date.parse(seededAt))) {
  console.error('usage: node --import tsx scripts/demo-traffic.ts <database file> <ISO instant the world is seeded at>');
  process.exit(2);
}
const T0 = Date.parse(seededAt);
const db = openDatabase(file);
await migrateToLatest(db);
const store = createStore(db);
await seedDemoWorld(store, { now: T0 });
let now = T0;
const app = await buildApp({ store, clock: () => now, dataDir: process.env.DATAPACT_DATA_DIR ?? 'data' } as Parameters<typeof buildApp>[0]);
let requests = 0;
let refused = 0;
for (let day = 0; day < 14; day++) {
  for (let user = 0; user < 40; user++) {
    now = T0 + day * 86_400_000 + user * 60_000 + 3_600_000;
    const key = user % 2 === 0 ? 'blackberry' : 'huawei';
    const memberId = user === 0 ? DEMO_MEMBER_ID : memberIdAt(2018, (day * 97 + user * 13) % 2000);
    const grantId = `g_demo_${day}_${user}`;
    await store.grants.insertMany([{
      id: grantId, memberId, appId: `app_${key}`, agreementId: `agr_${key}`, agreementVersion: 1, purpose: 'device_experience',
      memberFields: maskOf(['id', 'name', 'birthday', 'friends']), friendFields: maskOf(['id', 'name', 'birthday', 'location', 'religion']),
      grantedAt: now, lastUsedAt: null, revokedAt: null,
    }]);
    const { token } = await store.tokens.issue(grantId, now, 3_600_000);
    for (const url of ['/v1/me?fields=name,birthday,email', '/v1/me/friends?fields=name,birthday,location,religion&limit=25']) {
      const answer = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      // A member with apps turned off is refused (and the refusal audited), as in production.
      if (answer.statusCode >= 500) throw new Error(`${url}: ${answer.statusCode} ${answer.body}`);
      requests++;
      if (answer.statusCode !== 200) refused++;
    }
  }
}
await app.close();
await db.destroy();
console.log(`${requests} Graph API requests (${refused} refused) by 560 members' tokens, the last at ${new Date(now).toISOString()}`);
