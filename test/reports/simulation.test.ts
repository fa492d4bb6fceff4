/**
 * Issue 15's exactness targets, on a generated world and a log filled by real Graph API requests:
 * replaying the log with the versions it records reproduces every logged outcome (`audit replay`),
 * a simulation of the unchanged agreement changes nothing, and one that removes a friend field
 * withholds exactly the releases of that field the export of the log counts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { decodeBlindedLeaf, type BlindedLeaf } from '../../src/audit/canonical-entry-v2.js';
import { verifyExport } from '../../src/audit/export-verifier.js';
import { writeExport } from '../../src/audit/log-export.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { fieldsOf, type Field } from '../../src/domain/field-catalog.js';
import { auditReplay } from '../../src/reports/audit-replay.js';
import { LogReplayer } from '../../src/reports/log-replay.js';
import { prepareSimulation, runSimulation, simulate } from '../../src/reports/simulation.js';
import { demoAgreementId, demoAppId, seedDemoPartners, type DemoPartnerKey } from '../../src/seed/demo-partners.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import { Prng } from '../../src/seed/random.js';
import { seedMembers } from '../../src/seed/world-generator.js';
import { ReplaySealer } from '../../src/store/replay-sealer.js';
import { ReplayLogRepository, REPLAY_SUBJECTS_FROM_LEAVES, type LoggedRequestRead, type ReplayFilter } from '../../src/store/replay-log-repository.js';
import { createStore, type Store } from '../../src/store/store.js';
import { build, type Built } from '../helpers/build.js';
import { grantToken } from '../helpers/fixtures.js';

const SEED = 15;
const MEMBERS = 1_500;
const SEEDED_AT = Date.parse('2026-10-20T08:00:00Z');
const TRAFFIC_AT = Date.parse('2026-10-21T09:00:00Z');
const PARTNERS: readonly DemoPartnerKey[] = ['lenovo', 'blackberry'];
const MEMBER_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'email', 'birthday', 'location', 'friends'];
const FRIEND_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'birthday', 'location', 'work'];

test('replaying the log: the recorded versions reproduce every outcome, an unchanged agreement changes nothing, a removed friend field withholds exactly its releases', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-simulation-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const built = await build(t, SEEDED_AT, { dataDir });
  await seedMembers(built.store, { members: MEMBERS, avgFriends: 20, seed: SEED, now: SEEDED_AT, workers: 0 });
  await seedDemoPartners(built.store, SEEDED_AT);
  const end = await graphTraffic(built);
  const now = end + 60_000;

  const replay = await auditReplay(built.store, { from: SEEDED_AT, to: now, now });
  assert.ok(replay.requests > 100 && replay.subject_decisions > 300, `${replay.requests} requests, ${replay.subject_decisions} subjects replayed`);
  assert.deepEqual(replay.skipped, []);
  assert.deepEqual({ ...replay.differences, listed: replay.listed }, { rules: 0, member_settings: 0, listed: [] });
  assert.equal(replay.same, replay.requests);
  await packedAsTheLeavesSay(built.store, replay.requests);
  await sameReadsEitherWay(built.store, { from: SEEDED_AT, to: now }, replay.requests);
  await sameConsentsEitherWay(built.store, { from: SEEDED_AT, to: now });
  await sameConsentsEitherWay(built.store, { agreementId: demoAgreementId('blackberry'), from: SEEDED_AT, to: now }, 50);
  await sameWithoutNumbers(built.store, { from: SEEDED_AT, to: now, now }, replay);

  const blackberry = demoAgreementId('blackberry');
  const terms = (await built.store.agreements.get(blackberry))!;
  const unchanged = await simulate(built.store, { agreementId: blackberry, proposal: { friend_fields: fieldsOf(terms.friendFields) }, now });
  assert.ok(unchanged.requests > 50);
  assert.deepEqual([unchanged.requests_changed, unchanged.differ_from_log_today, unchanged.fields, unchanged.refused, unchanged.served_instead], [0, 0, [], [], 0]);

  const withoutBirthday = fieldsOf(terms.friendFields).filter((field) => field !== 'birthday');
  const removed = await simulate(built.store, { agreementId: blackberry, proposal: { friend_fields: withoutBirthday }, now });
  const leaves = await exportedLeaves(built.store, dataDir);
  const birthdays = leaves.filter((leaf) => leaf.outcome === 'released' && leaf.agreementId === blackberry && leaf.code === 'through_friend'
    && leaf.released.includes('birthday'));
  // Withheld before for another reason (not consented, an audience): withheld now because the agreement leaves it out.
  const otherReason = leaves.filter((leaf) => leaf.outcome === 'released' && leaf.agreementId === blackberry && leaf.code === 'through_friend'
    && leaf.withheld.birthday !== undefined && leaf.withheld.birthday !== 'not_in_agreement').length;
  assert.ok(birthdays.length > 50, `${birthdays.length} birthdays released through friends`);
  assert.deepEqual(removed.fields, [{
    field: 'birthday', released_more: 0, released_less: birthdays.length, members_more_direct: 0, members_more_through_friends: 0,
    members_less_direct: 0, members_less_through_friends: new Set(birthdays.map((leaf) => leaf.subjectMemberId)).size, reason_changed: otherReason,
  }]);
  assert.deepEqual(removed.refused, []);

  // Members changed since: better-sqlite3's fast path (requests decided as logged counted, the others replayed in full)
  // says what the general path says (Kysely, inside a transaction, as on PostgreSQL).
  const pairs = await built.store.db.selectFrom('audit_leaves as l').innerJoin('audit_requests as r', 'r.first_seq', 'l.seq')
    .innerJoin('audit_leaves as s', (join) => join.onRef('s.seq', '>', 'l.seq').on('s.code', '=', 'through_friend'))
    .select(['r.token_member_id', 's.subject_member_id', 'r.partner_id']).where('l.pos', '=', 0).where(sql<boolean>`s.seq - s.pos = l.seq`).orderBy('s.seq').execute();
  assert.ok(pairs.length > 120, `${pairs.length} friends shown`);
  const [unfriended, excluding, hiding, switchedOff] = [pairs[0]!, pairs[40]!, pairs[80]!, pairs[120]!];
  await built.store.friendships.unfriend(unfriended.token_member_id!, unfriended.subject_member_id!);
  await built.store.members.exclude(excluding.subject_member_id!, 'partner', excluding.partner_id!, now);
  await built.store.db.insertInto('field_audiences').values({ member_id: hiding.subject_member_id!, field: 'birthday', audience: 'only_me' })
    .onConflict((c) => c.columns(['member_id', 'field']).doUpdateSet({ audience: 'only_me' })).execute();
  await built.store.members.setPlatformSettings(switchedOff.token_member_id!, { platformEnabled: false });
  const fast = await auditReplay(built.store, { from: SEEDED_AT, to: now, now });
  const general = await built.store.db.transaction().execute((trx) => auditReplay({ readDb: trx } as unknown as Store, { from: SEEDED_AT, to: now, now }));
  assert.ok(fast.differences.member_settings >= 4, `${fast.differences.member_settings} differences explained by settings`);
  assert.deepEqual(fast, general);
  // The simulation's fast path (requests decided as logged under both terms skipped) says what the general path says too.
  const proposal = { agreementId: blackberry, proposal: { friend_fields: withoutBirthday }, now };
  const simulatedFast = await simulate(built.store, proposal);
  const simulatedGeneral = await built.store.db.transaction().execute((trx) => simulate(createStore(trx), proposal));
  assert.ok(simulatedFast.differ_from_log_today > 0, `${simulatedFast.differ_from_log_today} requests decided otherwise today`);
  assert.deepEqual({ ...simulatedFast, id: undefined }, { ...simulatedGeneral, id: undefined }, 'the same result (each has an id of its own)');
  await sameSideBySide(built.store, [proposal, { agreementId: demoAgreementId('lenovo'), proposal: { friend_fields: ['id', 'name'] }, now }]);
  await sameSealedOrNot(built.store, { agreementId: blackberry, proposal: { friend_fields: withoutBirthday }, now });
});

/**
 * Sealed into replay segments (migration 0043), the log simulates as its rows do: whole, over a
 * period that cuts segments, with requests a segment cannot hold read as rows between them (one
 * whose subject was logged without a member number), one logged before 0042 (its subjects packed
 * from its leaves) in one, an unsealed tail, sealed again (nothing more), then wholly, and by two
 * sealers at once. The whole log's replay (`audit replay`, read agreement by agreement once sealed)
 * says what it says read in seq order, its first differences listed by seq, a request logged
 * without an agreement read too.
 */
async function sameSealedOrNot(store: Store, request: Parameters<typeof simulate>[1]): Promise<void> {
  const { agreementId } = request;
  await store.db.deleteFrom('replay_segments').execute();
  const requests = await store.db.selectFrom('audit_requests').select(['first_seq', 'at', 'leaf_count']).where('agreement_id', '=', agreementId)
    .where('app_id', 'is not', null).orderBy('first_seq').execute();
  assert.ok(requests.length > 60, `${requests.length} requests`);
  const [fromLeaves, unnumbered] = [requests[10]!, requests.slice(20).find((r) => r.leaf_count > 3)!];
  await sql`update audit_requests set replay_subjects = null where first_seq in (${fromLeaves.first_seq}, ${unnumbered.first_seq})`.execute(store.db);
  await sql`update audit_leaves set subject_number = null where seq > ${unnumbered.first_seq} and seq < ${unnumbered.first_seq + unnumbered.leaf_count}`.execute(store.db);
  const unnamed = await store.db.selectFrom('audit_requests').select('first_seq').where('agreement_id', '=', demoAgreementId('lenovo'))
    .where('app_id', 'is not', null).orderBy('first_seq').executeTakeFirstOrThrow();
  await store.db.updateTable('audit_requests').set({ agreement_id: null }).where('first_seq', '=', unnamed.first_seq).execute();
  const period = { ...request, from: Date.parse(requests[5]!.at) + 1, to: Date.parse(requests[60]!.at) };
  // Each with the requests its progress counts up to (counted from the segments' sizes where they lie in the period).
  const simulations = () => Promise.all([request, period].map(async (asked) => {
    const prepared = await prepareSimulation(store, asked);
    const result = await runSimulation(prepared);
    return { ...result, id: undefined, total: prepared.total };
  }));
  const replays = () => Promise.all([{ from: 0, to: request.now }, period].map(async ({ from, to }) => {
    let total = -1;
    const result = await auditReplay(store, { from, to, now: request.now, onProgress: (_, of) => { total = of; } });
    return { ...result, total };
  }));
  const results = async () => ({ simulations: await simulations(), replays: await replays() });
  const rows = await results();
  assert.ok(rows.simulations.every((result) => result.requests >= 30 && result.requests_changed > 0 && result.total === result.requests), 'each simulation changes something');
  const { replays: [wholeLog] } = rows;
  assert.ok(rows.replays.every((result) => result.total === result.requests), 'each replay counts its progress up to its requests');
  const { rules, member_settings: settings } = wholeLog!.differences;
  assert.ok(settings > 1 && wholeLog!.listed.length === Math.min(20, rules + settings), `${rules} and ${settings} differences`);
  // Its grant was given for the agreement: none is found for the request.
  assert.deepEqual(wholeLog!.skipped, [{ reason: 'grant_not_found', requests: 1 }], 'the request without an agreement read');
  for (const kind of ['rules', 'member_settings'] as const) {
    const seqs = wholeLog!.listed.filter((listed) => listed.kind === kind).map((listed) => listed.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${kind} listed by seq`);
  }

  const segments = () => store.db.selectFrom('replay_segments').select(['first_seq', 'below_seq', 'requests']).where('agreement_id', '=', agreementId)
    .orderBy('first_seq').execute();
  const covered = (seq: number, sealed: ReadonlyArray<{ first_seq: number; below_seq: number }>) => sealed.some((s) => s.first_seq <= seq && seq < s.below_seq);
  // Nine requests a segment, or eight: a few left over after the last full one.
  const after = requests.filter((r) => r.first_seq > unnumbered.first_seq).length;
  const segmentRequests = after % 9 === 0 ? 8 : 9;
  const sealer = new ReplaySealer(store.db);
  await sealer.seal({ segmentRequests, minRequests: segmentRequests + 1 });
  const sealed = await segments();
  assert.ok(sealed.length >= 5 && sealed.every((s) => s.requests <= segmentRequests), `${sealed.length} segments`);
  assert.ok(!covered(unnumbered.first_seq, sealed) && covered(fromLeaves.first_seq, sealed), 'the unnumbered request read as a row, the other sealed');
  assert.equal(requests.filter((r) => !covered(r.first_seq, sealed)).length, 1 + (after % segmentRequests), 'the unnumbered request and the tail unsealed');
  assert.deepEqual(await results(), rows);
  const parts = await new ReplayLogRepository(store.readDb).parts({ from: 0, to: request.now });
  assert.ok(parts !== undefined && [agreementId, demoAgreementId('lenovo'), null].every((id) => parts.some((part) => part.agreementId === id)), 'the whole log read by parts');
  assert.deepEqual(await sealer.seal({ segmentRequests, minRequests: segmentRequests + 1 }), { segments: 0, requests: 0, subjects: 0 }, 'nothing sealed twice');
  await sealer.seal({ minRequests: 1 });
  const whole = await segments();
  assert.equal(requests.filter((r) => !covered(r.first_seq, whole)).length, 1, 'all but the unnumbered request sealed');
  assert.deepEqual(await results(), rows);

  await store.db.deleteFrom('replay_segments').execute();
  const both = await Promise.all([sealer.seal({ segmentRequests: 5, minRequests: 1 }), sealer.seal({ segmentRequests: 5, minRequests: 1 })]);
  const once = await segments();
  assert.equal(once.reduce((sum, s) => sum + s.requests, 0), requests.length - 1, 'every request sealed once, by one sealer or the other');
  const all = await store.db.selectFrom('replay_segments').select((eb) => eb.fn.sum<number>('requests').as('requests')).executeTakeFirstOrThrow();
  assert.equal(both[0].requests + both[1].requests, Number(all.requests), 'what each sealer says it sealed, no request twice');
  assert.ok(once.every((s, index) => index === 0 || once[index - 1]!.below_seq <= s.first_seq), 'segments that do not overlap');
  assert.deepEqual(await results(), rows);

  // Every request now refused (the platform switched off for all): many more differences than are listed, the first by seq.
  await store.db.updateTable('members').set({ platform_enabled: 0 }).execute();
  const everything = { from: 0, to: request.now, now: request.now };
  const byParts = await auditReplay(store, everything);
  const inSeqOrder = await store.db.transaction().execute((trx) => auditReplay({ readDb: trx } as unknown as Store, everything));
  assert.ok(byParts.differences.member_settings > 150, `${byParts.differences.member_settings} differences`);
  assert.deepEqual(byParts, inSeqOrder);
}

/**
 * Two simulations at once on one connection (a server runs two), a few requests a batch, each
 * reading friends' audiences within its own agreement's fields: the second starts once the first
 * has replayed a batch, their batches then interleave, and each finds what it finds alone.
 */
async function sameSideBySide(store: Store, [first, second]: ReadonlyArray<Parameters<typeof prepareSimulation>[1]>): Promise<void> {
  type Progress = Parameters<typeof runSimulation>[1];
  const run = async (request: Parameters<typeof prepareSimulation>[1], onProgress?: Progress) =>
    ({ ...(await runSimulation(await prepareSimulation(store, request), onProgress, 7)), id: undefined });
  const alone = [await run(first!), await run(second!)];
  assert.ok(alone.every((result) => result.requests > 50 && result.requests_changed > 0), 'each simulation changes something');
  let secondRun: Promise<unknown> | undefined;
  let secondStarted!: () => void;
  const started = new Promise<void>((resolve) => { secondStarted = resolve; });
  const firstRun = run(first!, async () => {
    if (secondRun !== undefined) return;
    secondRun = run(second!, () => secondStarted());
    await started;
  });
  assert.deepEqual([await firstRun, await secondRun], alone);
}

/**
 * The appender packs each Graph API request's subjects (migration 0042) exactly as the replay would
 * read them from the request's leaves; staff actions get none.
 */
async function packedAsTheLeavesSay(store: Store, requests: number): Promise<void> {
  const graph = sql.raw('r.app_id is not null and r.token_member_id is not null');
  const { rows: [counts] } = await sql<{ graph: number; packed: number; wrong: number; others: number }>`select
    sum(case when ${graph} then 1 else 0 end) as graph, sum(case when ${graph} and r.replay_subjects is not null then 1 else 0 end) as packed,
    sum(case when ${graph} and r.replay_subjects is not coalesce(${sql.raw(REPLAY_SUBJECTS_FROM_LEAVES())}, '') then 1 else 0 end) as wrong,
    sum(case when not (${graph}) and r.replay_subjects is not null then 1 else 0 end) as others
    from audit_requests r`.execute(store.db);
  assert.deepEqual([Number(counts!.graph), Number(counts!.packed), Number(counts!.wrong), Number(counts!.others)], [requests, requests, 0, 0]);
}

/**
 * The log as better-sqlite3 reads it (a statement per batch, subjects packed in a string; today's
 * friendships from the token members' lists or looked up with the leaves) and as Kysely does
 * (inside a transaction, as on PostgreSQL): the same requests, subjects and friendships.
 */
async function sameReadsEitherWay(store: Store, filter: ReplayFilter, requests: number): Promise<void> {
  const batches = async (log: ReplayLogRepository) => {
    const all: LoggedRequestRead[] = [];
    for (let read = await log.requests(filter, 0, 7); read.length > 0; read = await log.requests(filter, read[read.length - 1]!.request.seq, 7)) all.push(...read);
    return all;
  };
  const raw = await batches(new ReplayLogRepository(store.readDb));
  const lookingUp = new ReplayLogRepository(store.readDb);
  lookingUp.readFriendshipsInSql(true);
  const rawLookingUp = await batches(lookingUp);
  const general = await store.db.transaction().execute((trx) => batches(new ReplayLogRepository(trx)));
  assert.equal(raw.length, requests);
  assert.ok(raw.some((read) => read.friendsToday.includes(true)) && raw.some((read) => read.request.subjects.some((s) => s.relation === 'self')));
  assert.ok(raw.some((read) => read.friendsToday.includes(false) && read.request.subjects.length > 0), 'a subject who is not a friend');
  assert.deepEqual(raw, general);
  assert.deepEqual(rawLookingUp, general);
}

/**
 * The appender logs each released subject's member number (migration 0039), the one their row
 * holds; a log whose entries lack it (appended before the migration), wholly or in part, replays
 * the same, its subjects looked up by id.
 */
async function sameWithoutNumbers(store: Store, filter: ReplayFilter & { now: number }, expected: Awaited<ReturnType<typeof auditReplay>>): Promise<void> {
  const { rows: [numbered] } = await sql<{ released: number; numbered: number; wrong: number }>`select count(*) as released,
    count(l.subject_number) as numbered, sum(case when l.subject_number <> m.number then 1 else 0 end) as wrong
    from audit_leaves l join members m on m.id = l.subject_member_id where l.outcome = 'released'`.execute(store.db);
  assert.ok(Number(numbered!.released) > 300);
  assert.deepEqual([Number(numbered!.numbered), Number(numbered!.wrong)], [Number(numbered!.released), 0], 'every released member numbered, as their row');
  // Appended before 0039 means before 0042 too: those requests' subjects are read from their leaves, and friendships from the lists.
  await sql`update audit_leaves set subject_number = null where seq % 3 = 0`.execute(store.db);
  await sql`update audit_requests set replay_subjects = null where first_seq % 2 = 0`.execute(store.db);
  assert.deepEqual(await auditReplay(store, filter), expected, 'a log in part without numbers');
  await sameReadsEitherWay(store, filter, expected.requests);
  await sql`update audit_leaves set subject_number = null`.execute(store.db);
  assert.deepEqual(await auditReplay(store, filter), expected, 'a log without numbers');
  await sql`update audit_leaves set subject_number = (select number from members m where m.id = subject_member_id) where outcome = 'released'`.execute(store.db);
}

/**
 * A replay that meets most members reads every consent in one scan, by member number (ConsentTable; of one agreement's
 * requests, that agreement's only); one that does not reads the token members' as batches meet
 * them: the same grant found for every request.
 */
async function sameConsentsEitherWay(store: Store, filter: ReplayFilter, atLeast = 100): Promise<void> {
  class MeetingEveryone extends ReplayLogRepository {
    override async replayNumbers(f: ReplayFilter) {
      const members = await super.replayNumbers(f);
      this.meetsMostMembers = true;
      return members;
    }
  }
  const worlds = async (log: ReplayLogRepository) => {
    const read: unknown[] = [];
    for await (const batch of new LogReplayer(log).batches(filter, 7)) {
      for (let index = 0; index < batch.length; index++) {
        const { request, world, skipped } = batch.step(index);
        read.push(world === undefined ? skipped : [world.consented, world.tokenMemberPlatformEnabled, request.subjects.map((_, at) => world.subject(at))]);
      }
    }
    return read;
  };
  // The table made from grants read as rows (more kinds of grant than a statement tells apart, here one) reads the same.
  const asRows = new MeetingEveryone(store.readDb, 7, 1);
  (await asRows.replayNumbers(filter))!.derived.clear();
  const readAsRows = await worlds(asRows);
  // Every grant read 7 a statement: the read goes on from chunk to chunk (the table made again: the one kept is dropped).
  const everyone = new MeetingEveryone(store.readDb, 7);
  (await everyone.replayNumbers(filter))!.derived.clear();
  const read = await worlds(everyone);
  assert.ok(everyone.meetsMostMembers && read.length > atLeast && !read.includes('grant_not_found'), `${read.length} requests`);
  assert.deepEqual(read, await worlds(new ReplayLogRepository(store.readDb)));
  assert.deepEqual(readAsRows, read);
  // Three token members' grants changed: the table kept with the world is refreshed with theirs (world_changes), as read by id.
  const grants = await store.db.selectFrom('grants').select(['id', 'friend_fields'])
    .where('member_id', 'in', (eb) => eb.selectFrom('audit_requests').select('token_member_id').where('token_member_id', 'is not', null)).orderBy('id').limit(3).execute();
  await store.db.updateTable('grants').set({ friend_fields: '["id"]' }).where('id', 'in', grants.map((grant) => grant.id)).execute();
  const changed = await worlds(new MeetingEveryone(store.readDb, 7));
  assert.notDeepEqual(changed, read);
  assert.deepEqual(changed, await worlds(new ReplayLogRepository(store.readDb)));
  for (const { id, friend_fields } of grants) await store.db.updateTable('grants').set({ friend_fields }).where('id', '=', id).execute();
  assert.deepEqual(await worlds(new MeetingEveryone(store.readDb, 7)), read);
}

/** Members grant an app and read themselves, a page or two of friends and a stranger, a minute apart. */
async function graphTraffic({ app, store, setNow }: Built): Promise<number> {
  const random = Prng.of('simulation', SEED);
  let now = TRAFFIC_AT;
  for (let user = 0; user < 60; user++) {
    const key = PARTNERS[user % PARTNERS.length]!;
    const memberId = memberIdAt(SEED, random.int(0, MEMBERS - 1));
    now += 60_000;
    setNow(now);
    const { token } = await grantToken(store, {
      memberId, appId: demoAppId(key), agreementId: demoAgreementId(key), purpose: 'device_experience',
      memberFields: MEMBER_FIELDS, friendFields: FRIEND_FIELDS.filter((field) => field === 'id' || random.chance(0.7)),
    }, now);
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    if ((await get('/v1/me?fields=name,email,birthday,phone')).statusCode !== 200) continue;
    await get(`/v1/members/${memberIdAt(SEED, random.int(0, MEMBERS - 1))}?fields=name,birthday`);
    const response = await get(`/v1/me/friends?fields=${FRIEND_FIELDS.join(',')},religion&limit=${user % 2 === 0 ? 100 : 5}`);
    const after = (response.json() as { paging?: { after?: string } }).paging?.after;
    if (after !== undefined) await get(`/v1/me/friends?fields=name,birthday&limit=5&after=${after}`);
  }
  return now;
}

/** The whole log as `datapact audit export` writes it, verified, its entries decoded. */
async function exportedLeaves(store: Store, dataDir: string): Promise<BlindedLeaf[]> {
  const size = await store.audit.treeSize();
  const key = loadOrCreateAuditSigningKey(dataDir);
  const chunks: Buffer[] = [];
  const out = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(Buffer.from(chunk)); done(); } });
  await writeExport(store.audit, { from: 0, to: size, publicKeyPem: key.publicKeyPem, blinding: loadOrCreateAuditBlinding(dataDir), out });
  const exported = Buffer.concat(chunks);
  assert.equal((await verifyExport(Readable.from([exported]), { key: { publicKey: key.publicKey, keyId: key.keyId } })).ok, true);
  return exported.toString('utf8').split('\n').filter((line) => line !== '').slice(1).map((line) => decodeBlindedLeaf(Buffer.from(line, 'utf8')));
}
