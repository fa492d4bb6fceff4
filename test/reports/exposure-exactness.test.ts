/**
 * Issue 14's exactness target: the exposure report's numbers equal a brute-force count over the
 * export of the same log. A generated world of 10,000 members and the demo partners; real Graph
 * API traffic over two UTC months; the log exported as `datapact audit export` writes it; every
 * released entry of the export counted by hand, per agreement, month and field (and `*`), and
 * compared with the report, which reads the member sets the appends wrote (bitmaps and their deltas). On SQLite
 * and, when a server is given, PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { loadOrCreateAuditBlinding, tokenMemberCommitment } from '../../src/audit/blinding.js';
import { decodeBlindedLeaf, type BlindedLeaf } from '../../src/audit/canonical-entry-v2.js';
import { verifyExport } from '../../src/audit/export-verifier.js';
import { writeExport } from '../../src/audit/log-export.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { isField, type Field } from '../../src/domain/field-catalog.js';
import { exposureReport, type ExposureReport } from '../../src/reports/exposure.js';
import { demoAgreementId, demoAppId, seedDemoPartners, type DemoPartnerKey } from '../../src/seed/demo-partners.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import { Prng } from '../../src/seed/random.js';
import { seedMembers, seedWorld } from '../../src/seed/world-generator.js';
import { openWorldLoader } from '../../src/store/open-world-loader.js';
import type { Store } from '../../src/store/store.js';
import { build, type Built } from '../helpers/build.js';
import { DIALECTS } from '../helpers/dialects.js';
import { grantToken } from '../helpers/fixtures.js';

const SEED = 14;
/**
 * The 10,000-member world on SQLite, with `usersPerMonth` token members a month: two thirds drawn at
 * random, one third friends already released to the same app. PostgreSQL runs the same SQL paths on a smaller
 * world, where every request costs three times as much.
 */
const SIZES = { sqlite: { members: 10_000, usersPerMonth: 70 }, postgres: { members: 2_000, usersPerMonth: 30 } } as const;
const AVG_FRIENDS = 30;
const SEEDED_AT = Date.parse('2026-10-20T08:00:00Z');
const MONTHS = [
  { month: '2026-10', startsAt: Date.parse('2026-10-21T09:00:00Z') },
  { month: '2026-11', startsAt: Date.parse('2026-11-03T09:00:00Z') },
] as const;
const PERIOD = `${MONTHS[0].month}..${MONTHS[1].month}`;
/** The demo's two device partners whose agreements are in effect throughout, friend fields and all. */
const PARTNERS: readonly DemoPartnerKey[] = ['lenovo', 'blackberry'];
const MEMBER_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'email', 'birthday', 'location', 'friends'];
/** Friend fields both agreements allow; each grant asks for some of them. */
const FRIEND_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'birthday', 'location', 'work'];

type How = 'direct' | 'friends';
/** agreement → period → field (or `*`) → how → members. */
type Counted = Map<string, Map<string, Map<string, Record<How, Set<string>>>>>;
/** One report line's numbers, keyed `agreement period field`. */
type Numbers = Record<string, readonly [direct: number, friends: number, total: number, timesDirect: number | null, timesFriends: number | null]>;

for (const dialect of DIALECTS) test(`on ${dialect}: the exposure report equals a brute-force count over the export of the same log`, async (t) => {
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-exactness-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const built = await build(t, SEEDED_AT, { dialect, dataDir });
  const { members, usersPerMonth } = SIZES[dialect];
  await seedInto(built, members);
  const seededMs = performance.now() - started;
  await graphTraffic(built, members, usersPerMonth);
  const trafficMs = performance.now() - started - seededMs;
  const reportAt = MONTHS[1].startsAt + 86_400_000;
  built.setNow(reportAt);
  const leaves = await exportedLeaves(built.store, dataDir);
  const counted = bruteForce(leaves);
  const { both, distinct } = assertCoverage(counted, members);
  const countedMs = performance.now() - started - seededMs - trafficMs;

  const compare = async (state: string) => {
    for (const [from, to] of [[MONTHS[0].month, MONTHS[0].month], [MONTHS[1].month, MONTHS[1].month], [MONTHS[0].month, MONTHS[1].month]] as const) {
      const report = await exposureReport(built.store, { now: reportAt, from, to });
      const period = from === to ? from : PERIOD;
      // A report over several months has each month's lines, then the whole period's.
      const periods = from === to ? [from] : [...MONTHS.map((m) => m.month), PERIOD];
      const expected = Object.assign({}, ...periods.map((p) => expectedNumbers(counted, p, leaves)));
      assert.deepEqual(reportNumbers(report), expected, `${state}, ${period}: per agreement and field`);
      assert.deepEqual(partnerNumbers(report), expectedByPartner(counted, period, leaves), `${state}, ${period}: per partner`);
    }
  };
  assert.equal((await built.store.db.selectFrom('audit_exposure').select('member_id').execute()).length, 0, 'the counts are member sets, no per-member row');
  await compare('as appended');

  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  t.diagnostic(`${members} members seeded in ${seconds(seededMs)}; traffic ${seconds(trafficMs)}; ${leaves.length} entries exported, verified and counted in `
    + `${seconds(countedMs)}; ${distinct} distinct members released (${both} both ways in a month); ${seconds(performance.now() - started)} in all`);
});

/** The world and the demo partners, in the app's own database. */
async function seedInto({ store, databaseUrl }: Built, members: number): Promise<void> {
  const world = { members, avgFriends: AVG_FRIENDS, seed: SEED, now: SEEDED_AT, workers: 0 };
  if (databaseUrl === undefined) await seedMembers(store, world);
  else {
    // PostgreSQL: COPY, as `datapact seed` loads it (the Kysely loader takes three times as long).
    const loader = await openWorldLoader(databaseUrl);
    try {
      await seedWorld(loader, world);
    } finally {
      await loader.close();
    }
  }
  await seedDemoPartners(store, SEEDED_AT);
}

/** Each month, `usersPerMonth` members grant an app and read themselves and a page or more of friends, a minute apart. */
async function graphTraffic({ app, store, setNow }: Built, members: number, usersPerMonth: number): Promise<void> {
  const random = Prng.of('exposure-exactness', SEED);
  for (const { startsAt } of MONTHS) {
    let now = startsAt;
    /** Per partner: members its app was shown as friends this month, candidates to become its users too. */
    const seenAsFriends = new Map<DemoPartnerKey, string[]>(PARTNERS.map((key) => [key, []]));
    for (let user = 0; user < usersPerMonth; user++) {
      const key = PARTNERS[random.int(0, PARTNERS.length - 1)]!;
      const seen = seenAsFriends.get(key)!;
      const memberId = user % 3 === 2 && seen.length > 0 ? seen[random.int(0, seen.length - 1)]! : memberIdAt(SEED, random.int(0, members - 1));
      now += 60_000;
      setNow(now);
      const { token } = await grantToken(store, {
        memberId, appId: demoAppId(key), agreementId: demoAgreementId(key), purpose: 'device_experience',
        memberFields: MEMBER_FIELDS, friendFields: FRIEND_FIELDS.filter((field) => field === 'id' || random.chance(0.6)),
      }, now);
      const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      if ((await get('/v1/me')).statusCode !== 200) continue; // a member who turned the platform off: refused, and logged so
      // Every other user reads small pages, so that paging is followed too.
      const firstPage = `/v1/me/friends?fields=${FRIEND_FIELDS.join(',')}&limit=${user % 2 === 0 ? 100 : 10}`;
      let url = firstPage;
      for (let page = 0; page < 3; page++) {
        const response = await get(url);
        assert.equal(response.statusCode, 200, response.body);
        const body = response.json() as { data: Array<{ id: string }>; paging: { after?: string } };
        seen.push(...body.data.map((friend) => friend.id));
        if (body.paging.after === undefined) break;
        url = `${firstPage}&after=${body.paging.after}`;
      }
    }
  }
}

/** The whole log exported as `datapact audit export` writes it, checked as `datapact audit verify --file` checks it, its entries decoded. */
async function exportedLeaves(store: Store, dataDir: string): Promise<BlindedLeaf[]> {
  const size = await store.audit.treeSize();
  const key = loadOrCreateAuditSigningKey(dataDir);
  const chunks: Buffer[] = [];
  const out = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(Buffer.from(chunk)); done(); } });
  await writeExport(store.audit, { from: 0, to: size, publicKeyPem: key.publicKeyPem, blinding: loadOrCreateAuditBlinding(dataDir), out });
  const exported = Buffer.concat(chunks);
  const verified = await verifyExport(Readable.from([exported]), { key: { publicKey: key.publicKey, keyId: key.keyId } });
  assert.equal(verified.ok, true, JSON.stringify(verified));
  const lines = exported.toString('utf8').split('\n').filter((line) => line !== '').slice(1);
  assert.equal(lines.length, size);
  return lines.map((line) => decodeBlindedLeaf(Buffer.from(line, 'utf8')));
}

/** What the comparison needs was generated: both agreements released in both months, members both ways, over a tenth of the world. */
function assertCoverage(counted: Counted, members: number): { both: number; distinct: number } {
  const months = (agreementId: string) => [...(counted.get(agreementId)?.keys() ?? [])].filter((period) => period !== PERIOD).sort();
  for (const key of PARTNERS) assert.deepEqual(months(demoAgreementId(key)), MONTHS.map((m) => m.month), `${key}: releases in both months`);
  const both = [...counted.values()].flatMap((periods) => MONTHS.map(({ month }) => periods.get(month)?.get('*')))
    .reduce((sum, any) => sum + (any === undefined ? 0 : [...any.direct].filter((member) => any.friends.has(member)).length), 0);
  assert.ok(both > 0, 'some members released both directly and through friends in the same month');
  const distinct = new Set([...counted.values()].flatMap((periods) => [...periods.get(PERIOD)!.get('*')!.direct, ...periods.get(PERIOD)!.get('*')!.friends]));
  assert.ok(distinct.size > members / 10, `${distinct.size} distinct members released of ${members}`);
  return { both, distinct: distinct.size };
}

/** The export names the token's member by a commitment: released directly when it commits to the subject. */
const howReleased = (leaf: BlindedLeaf, subject: string): How => (leaf.tokenMember === tokenMemberCommitment(leaf.blind, subject) ? 'direct' : 'friends');

const monthOf = (leaf: BlindedLeaf): string => new Date(leaf.at).toISOString().slice(0, 7);

/** Counts the export's released entries: per agreement, month and the whole period, field and `*`, how. */
function bruteForce(leaves: readonly BlindedLeaf[]): Counted {
  const counted: Counted = new Map();
  const add = (agreementId: string, period: string, field: string, how: How, member: string) => {
    const periods = counted.get(agreementId) ?? counted.set(agreementId, new Map()).get(agreementId)!;
    const fields = periods.get(period) ?? periods.set(period, new Map()).get(period)!;
    const members = fields.get(field) ?? fields.set(field, { direct: new Set(), friends: new Set() }).get(field)!;
    members[how].add(member);
  };
  for (const leaf of leaves) {
    if (leaf.outcome !== 'released' || leaf.agreementId === null || leaf.subjectMemberId === null) continue;
    const fields = leaf.released.filter(isField);
    if (fields.length === 0) continue;
    const how = howReleased(leaf, leaf.subjectMemberId);
    for (const period of [monthOf(leaf), PERIOD]) {
      for (const field of ['*', ...fields]) add(leaf.agreementId, period, field, how, leaf.subjectMemberId);
    }
  }
  return counted;
}

/** Times each field was released, per agreement and how, in the period. */
function fieldTimes(leaves: readonly BlindedLeaf[], period: string): Map<string, Record<How, number>> {
  const times = new Map<string, Record<How, number>>();
  for (const leaf of leaves) {
    if (leaf.outcome !== 'released' || leaf.agreementId === null || leaf.subjectMemberId === null) continue;
    if (period !== PERIOD && monthOf(leaf) !== period) continue;
    const how = howReleased(leaf, leaf.subjectMemberId);
    for (const field of leaf.released.filter(isField)) {
      const key = `${leaf.agreementId} ${field}`;
      const sum = times.get(key) ?? times.set(key, { direct: 0, friends: 0 }).get(key)!;
      sum[how]++;
    }
  }
  return times;
}

function expectedNumbers(counted: Counted, period: string, leaves: readonly BlindedLeaf[]): Numbers {
  const times = fieldTimes(leaves, period);
  const numbers: Record<string, Numbers[string]> = {};
  for (const [agreementId, periods] of counted) {
    for (const [field, members] of periods.get(period) ?? []) {
      const timesOf = field === '*' ? null : times.get(`${agreementId} ${field}`)!;
      numbers[`${agreementId} ${period} ${field}`] = [
        members.direct.size, members.friends.size, new Set([...members.direct, ...members.friends]).size,
        timesOf?.direct ?? null, timesOf?.friends ?? null,
      ];
    }
  }
  return numbers;
}

function reportNumbers(report: ExposureReport): Numbers {
  return Object.fromEntries(report.data.map((row) => [
    `${row.agreement_id} ${row.period} ${row.field}`,
    [row.members_direct, row.members_through_friends, row.members_total, row.times_direct, row.times_through_friends] as const,
  ]));
}

/** Per partner (as the export's entries name it) over the period: its agreements' `*` members together, each member once. */
function expectedByPartner(counted: Counted, period: string, leaves: readonly BlindedLeaf[]): Record<string, readonly [number, number, number]> {
  const partnerOf = new Map(leaves.filter((leaf) => leaf.agreementId !== null).map((leaf) => [leaf.agreementId!, leaf.partnerId!]));
  const members = new Map<string, Record<How, Set<string>>>();
  for (const [agreementId, periods] of counted) {
    const any = periods.get(period)?.get('*');
    if (any === undefined) continue;
    const partnerId = partnerOf.get(agreementId)!;
    const sets = members.get(partnerId) ?? members.set(partnerId, { direct: new Set(), friends: new Set() }).get(partnerId)!;
    for (const how of ['direct', 'friends'] as const) for (const member of any[how]) sets[how].add(member);
  }
  return Object.fromEntries([...members].map(([partnerId, sets]) => [partnerId, [
    sets.direct.size, sets.friends.size, new Set([...sets.direct, ...sets.friends]).size,
  ] as const]));
}

function partnerNumbers(report: ExposureReport): Record<string, readonly [number, number, number]> {
  return Object.fromEntries(report.by_partner.map((row) => [row.partner_id, [row.members_direct, row.members_through_friends, row.members_total] as const]));
}
