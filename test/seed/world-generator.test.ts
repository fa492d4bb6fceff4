import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { notInEffectCause } from '../../src/domain/agreement.js';
import { defaultAudience } from '../../src/domain/audience.js';
import { fieldBit, fieldsOf, FIELD_CLASS, type ObjectField } from '../../src/domain/field-catalog.js';
import { addDays, DAY_MS } from '../../src/domain/time.js';
import { windDownPhase } from '../../src/domain/wind-down.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { createStore, type Store } from '../../src/store/store.js';
import { demoAgreementId, demoAppId, demoPartnerId, seedDemoPartners } from '../../src/seed/demo-partners.js';
import { DEMO_MEMBER_ID, seedDemoWorld } from '../../src/seed/demo-world.js';
import { seedMembers, type SeedMembersOptions } from '../../src/seed/world-generator.js';

const NOW = Date.parse('2026-11-15T12:00:00Z');
const SHAPE = { members: 600, avgFriends: 20, now: NOW } as const;

async function freshStore(): Promise<Store> {
  const db = openSqlite(':memory:');
  await migrateToLatest(db);
  return createStore(db);
}

async function seeded(options: SeedMembersOptions) {
  const store = await freshStore();
  const progress: Array<[number, number]> = [];
  const summary = await seedMembers(store, { ...options, onProgress: (done, total) => progress.push([done, total]) });
  return { store, summary, progress };
}

async function snapshot(store: Store) {
  const { db } = store;
  return {
    members: await db.selectFrom('members').selectAll().orderBy('id').execute(),
    profiles: await db.selectFrom('profile_values').selectAll().orderBy('member_id').orderBy('field').execute(),
    audiences: await db.selectFrom('field_audiences').selectAll().orderBy('member_id').orderBy('field').execute(),
    friendships: await db.selectFrom('friendships').selectAll().orderBy('member_id').orderBy('friend_id').execute(),
  };
}

// One world shared by the property tests below.
const world = seeded({ ...SHAPE, seed: 7 });

test('the same seed writes the same world; another seed a different one', async () => {
  const [first, again, other] = await Promise.all([world, seeded({ ...SHAPE, seed: 7 }), seeded({ ...SHAPE, seed: 8 })]);
  const a = await snapshot(first.store);
  const b = await snapshot(again.store);
  assert.equal(a.members.length, SHAPE.members);
  assert.deepEqual(b.members.map((m) => m.id), a.members.map((m) => m.id));
  assert.equal(await again.store.friendships.count(), await first.store.friendships.count());
  assert.deepEqual(b, a, 'names, settings, audiences and edges are identical too');
  assert.deepEqual(again.summary.friendships, first.summary.friendships);

  const c = await snapshot(other.store);
  const ids = new Set(a.members.map((m) => m.id));
  assert.ok(c.members.filter((m) => ids.has(m.id)).length < 5, 'another seed gives other ids');
  assert.notDeepEqual(c.profiles.map((p) => p.value), a.profiles.map((p) => p.value));
});

test('member ids are opaque, unique and well formed; profiles are plausible', async () => {
  const { store } = await world;
  const { members, profiles } = await snapshot(store);
  assert.equal(new Set(members.map((m) => m.id)).size, members.length);
  for (const m of members) assert.match(m.id, /^m_[0-9a-z]{10}$/);
  const byField = new Map<string, number>();
  for (const row of profiles) {
    byField.set(row.field, (byField.get(row.field) ?? 0) + 1);
    const value: unknown = JSON.parse(row.value);
    if (['work', 'education', 'events', 'likes', 'photos'].includes(row.field)) {
      assert.ok(Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'), `${row.field} is a list of strings`);
    } else {
      assert.equal(typeof value, 'string', `${row.field} is a string`);
    }
    if (row.field === 'picture') assert.equal(value, `https://pictures.example/${row.member_id}.jpg`);
    if (row.field === 'birthday') assert.match(value as string, /^\d{4}-\d{2}-\d{2}$/);
  }
  for (const field of ['name', 'picture', 'email', 'birthday', 'location']) assert.equal(byField.get(field), members.length, field);
  for (const field of ['religion', 'political_views', 'events']) {
    const share = (byField.get(field) ?? 0) / members.length;
    assert.ok(share > 0.1 && share < 0.9, `${field} is filled in by some members only (${share})`);
  }
});

test('about a third share via friends, nearly all have the platform on, audiences vary', async () => {
  const { store } = await world;
  const { members, audiences } = await snapshot(store);
  const share = members.filter((m) => m.share_via_friends === 1).length / members.length;
  assert.ok(share > 0.26 && share < 0.41, `share_via_friends ${share}`);
  const enabled = members.filter((m) => m.platform_enabled === 1).length / members.length;
  assert.ok(enabled > 0.93 && enabled < 1, `platform_enabled ${enabled}`);

  const seen = new Set<string>();
  for (const row of audiences) {
    const field = row.field as ObjectField;
    assert.notEqual(FIELD_CLASS[field], 'basic');
    assert.notEqual(row.audience, defaultAudience(field), 'only audiences that differ from the default are stored');
    seen.add(row.audience);
  }
  assert.deepEqual([...seen].sort(), ['friends', 'only_me', 'public']);
});

test('friendships: average near the target, no self loops, symmetric, dated after both joined', async () => {
  const { store, summary, progress } = await world;
  const { db } = store;
  const friendships = await store.friendships.count();
  assert.equal(friendships, summary.friendships);
  const average = (2 * friendships) / SHAPE.members;
  assert.ok(Math.abs(average - SHAPE.avgFriends) < 0.1 * SHAPE.avgFriends, `average ${average}`);

  const selfLoops = await db.selectFrom('friendships').select('member_id').whereRef('member_id', '=', 'friend_id').execute();
  assert.equal(selfLoops.length, 0);

  const oneWay = await db
    .selectFrom('friendships as f')
    .select('f.member_id')
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('friendships as r').select('r.member_id').whereRef('r.member_id', '=', 'f.friend_id').whereRef('r.friend_id', '=', 'f.member_id').whereRef('r.since', '=', 'f.since'))),
    )
    .execute();
  assert.equal(oneWay.length, 0, 'every friendship is stored in both directions with the same date');

  const late = await db
    .selectFrom('friendships as f')
    .innerJoin('members as a', 'a.id', 'f.member_id')
    .innerJoin('members as b', 'b.id', 'f.friend_id')
    .select('f.since')
    .where((eb) => eb.or([eb('f.since', '>=', new Date(NOW).toISOString()), eb('f.since', '<', eb.ref('a.created_at')), eb('f.since', '<', eb.ref('b.created_at'))]))
    .execute();
  assert.equal(late.length, 0);

  // What the friend list's scan reads (migration 0038), written by the generator: each friend's place in the
  // list in id order, and whether the friend has the platform on and shares through friends' apps.
  const { rows: [kept] } = await sql<{ n: number; ordinals: number; shares: number; sharing: number }>`
    select count(*) as n, sum(case when f.friend_ordinal = f.rn then 1 else 0 end) as ordinals,
           sum(case when f.friend_shares = (case when m.platform_enabled = 1 and m.share_via_friends = 1 then 1 else 0 end) then 1 else 0 end) as shares,
           sum(f.friend_shares) as sharing
    from (select member_id, friend_id, friend_shares, friend_ordinal, row_number() over (partition by member_id order by friend_id) as rn
          from friendships) f join members m on m.id = f.friend_id`.execute(db);
  assert.equal(kept!.n, 2 * friendships);
  assert.equal(kept!.ordinals, kept!.n, 'every ordinal is the friend\'s place in id order');
  assert.equal(kept!.shares, kept!.n, 'every sharing flag is the friend\'s settings');
  assert.ok(kept!.sharing > 0 && kept!.sharing < kept!.n, 'some friends share, some do not');

  const first = progress[0]!;
  const last = progress.at(-1)!;
  assert.equal(first[1], 3 * SHAPE.members, 'members written, friendships generated, friendships written');
  assert.deepEqual(last, [3 * SHAPE.members, 3 * SHAPE.members]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0], 'progress never goes back');
});

test('the demo partners are in their documented states', async () => {
  const store = await freshStore();
  const summary = await seedDemoPartners(store, NOW);
  assert.deepEqual(summary, { partners: 7, apps: 7, agreements: 6 });

  const agreement = async (key: Parameters<typeof demoAppId>[0]) => {
    const found = await store.agreements.currentForApp(demoAppId(key), Date.now());
    assert.ok(found, `${key} has an agreement`);
    assert.equal(found.id, demoAgreementId(key));
    assert.ok(found.endsAt - found.startsAt <= 730 * DAY_MS, `${key} ends within 24 months of its start`);
    const history = await store.agreements.history(found.id);
    assert.deepEqual(history.map((h) => [h.actor, h.action, h.version]), [['seed', 'created', 1]]);
    return found;
  };

  const huawei = await agreement('huawei');
  assert.equal(notInEffectCause(huawei, NOW), null);
  assert.equal(huawei.status, 'winding_down');
  assert.equal(windDownPhase(huawei.windDown, NOW), 'no_new_grants');
  assert.equal(windDownPhase(huawei.windDown, addDays(NOW, 30)), 'no_friend_data');
  assert.equal(notInEffectCause(huawei, addDays(NOW, 60)), 'access_ended');
  const huaweiPartner = await store.partners.partner(demoPartnerId('huawei'));
  assert.deepEqual(huaweiPartner?.riskFlags, ['state_influence']);
  assert.equal(huaweiPartner?.country, 'CN');

  assert.equal(notInEffectCause(await agreement('lenovo'), NOW), null);

  const oppo = await agreement('oppo');
  assert.equal(oppo.status, 'active');
  assert.equal(notInEffectCause(oppo, NOW), 'expired');

  const tcl = await agreement('tcl');
  assert.equal(tcl.status, 'suspended');
  assert.equal(tcl.statusReason, 'certification_overdue');
  assert.ok(tcl.certificationDueAt < addDays(NOW, -60));
  assert.equal(notInEffectCause(tcl, NOW), 'certification_overdue');

  const blackberry = await agreement('blackberry');
  assert.equal(notInEffectCause(blackberry, NOW), null);
  for (const field of ['religion', 'birthday', 'location', 'work'] as const) {
    assert.ok(blackberry.friendFields & fieldBit(field), `BlackBerry asks for friends' ${field}`);
  }
  assert.equal((await store.partners.partner(demoPartnerId('blackberry')))?.country, 'CA');

  assert.ok(await store.partners.app(demoAppId('zte')));
  assert.equal(await store.agreements.currentForApp(demoAppId('zte'), Date.now()), undefined, 'ZTE has no agreement');

  const thirdParty = await agreement('pixelharbour');
  assert.equal(notInEffectCause(thirdParty, NOW), null);
  assert.deepEqual(thirdParty.purposes, ['login']);
  assert.ok(fieldsOf(thirdParty.memberFields).includes('friends'));
  assert.equal(thirdParty.friendFields, 0);
  assert.equal((await store.partners.app(demoAppId('pixelharbour')))?.class, 'third_party');

  for (const key of ['huawei', 'lenovo', 'oppo', 'tcl', 'blackberry', 'zte'] as const) {
    assert.equal((await store.partners.app(demoAppId(key)))?.class, 'device_partner', key);
  }
  for (const key of ['huawei', 'lenovo', 'oppo', 'tcl', 'blackberry'] as const) {
    assert.ok((await agreement(key)).memberFields & fieldBit('friends'), `${key} may read friend lists`);
  }
  const storages = new Set((await store.partners.partners()).map((p) => p.storage.location));
  assert.deepEqual([...storages].sort(), ['on_device', 'partner_servers']);
});

test('the demo world: a showcase member with many opted-in friends, some of whom use the third-party app', async () => {
  const store = await freshStore();
  const summary = await seedDemoWorld(store, { now: NOW });
  assert.equal(summary.members, 2000);
  assert.equal(summary.demoMemberId, DEMO_MEMBER_ID);
  const average = (2 * summary.friendships) / summary.members;
  assert.ok(Math.abs(average - 150) < 10, `average ${average}`);

  const friends = await store.friendships.page(DEMO_MEMBER_ID, null, 10_000);
  assert.ok(friends.length > 400, `the demo member has ${friends.length} friends`);
  const settings = await store.members.settings([DEMO_MEMBER_ID, ...friends]);
  assert.equal(settings.get(DEMO_MEMBER_ID)?.platformEnabled, true);
  const optedIn = friends.filter((id) => settings.get(id)?.shareViaFriends && settings.get(id)?.platformEnabled);
  assert.ok(optedIn.length > 100, `${optedIn.length} friends opted in`);

  const appUsers = await store.grants.activeUsersOf(demoAppId('pixelharbour'), [DEMO_MEMBER_ID, ...friends], NOW);
  assert.ok(appUsers.has(DEMO_MEMBER_ID));
  assert.ok(appUsers.size >= 6, `${appUsers.size - 1} friends use the third-party app`);
  for (const key of ['huawei', 'lenovo', 'blackberry'] as const) {
    const users = await store.grants.activeUsersOf(demoAppId(key), [DEMO_MEMBER_ID], NOW);
    assert.ok(users.has(DEMO_MEMBER_ID), `the demo member uses ${key}`);
  }
});
