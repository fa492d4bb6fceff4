/**
 * Benchmark of the pure decision engine (PRODUCT.md §4): field decisions per second.
 *
 * Issue spec: "a world of 100,000 members; pages of 100 friends times every field; prints field
 * decisions per second. Target: at least 5,000,000 per second on one core."
 *
 * Everything is in memory and deterministic (seeded PRNG, fixed clock): no database, no HTTP, no
 * audit. Each request runs `planAccess` once, then `decideSubject` for a page of 100 of the
 * caller's friends with every object field requested. A field decision is one (subject, field)
 * pair: subjects decided × 17 object fields, whether the subject turned out visible or opted out.
 * Turning a decision into the response's `withheld` map is deliberately not measured.
 *
 * Run: npm run bench:decisions   (--smoke: a small world, a few rounds)
 */
import { planAccess, type AccessPlan, type RequestContext } from '../src/domain/access-plan.js';
import type { AgreementTerms } from '../src/domain/agreement.js';
import type { App } from '../src/domain/app.js';
import { AUDIENCES, friendsAudienceMask, type AudienceSettings } from '../src/domain/audience.js';
import { FIELD_CLASS, OBJECT_FIELDS, OBJECT_FIELDS_MASK, maskOf, type Field } from '../src/domain/field-catalog.js';
import type { Grant } from '../src/domain/grant.js';
import { decideSubject, NO_EXCLUSIONS, type FriendExclusions, type SubjectFacts } from '../src/domain/subject-decision.js';

const KEEPS_THE_WATCH_OUT: FriendExclusions = { apps: ['app-watch'], partners: [] };
import { DAY_MS, addDays, type Instant } from '../src/domain/time.js';
import { isMain, runAsScript, type BenchOptions, type BenchResult } from './lib/figures.js';
import { prng } from './prng.js';

const FULL = { MEMBERS: 100_000, REQUESTS_IN_SCHEDULE: 20_000, ROUNDS: 5, TARGET_SECONDS_PER_ROUND: 2.5, WARM_PAGES: 5_000 };
const SMOKE = { MEMBERS: 3_000, REQUESTS_IN_SCHEDULE: 400, ROUNDS: 3, TARGET_SECONDS_PER_ROUND: 0.05, WARM_PAGES: 200 };
const AVERAGE_FRIENDS = 150;
const PAGE_SIZE = 100;
const TARGET_PER_SECOND = 5_000_000;
const SEED = 0x5eed_2026;
const FIELDS_PER_SUBJECT = OBJECT_FIELDS.length; // 17
const REQUESTED = OBJECT_FIELDS_MASK;

/** Builds the world and the schedule, then times field decisions; prints its lines and returns the figures. */
export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const { MEMBERS, REQUESTS_IN_SCHEDULE, ROUNDS, TARGET_SECONDS_PER_ROUND, WARM_PAGES } = options.smoke ? SMOKE : FULL;
  const random = prng(SEED);
  const randomInt = (n: number): number => Math.floor(random() * n);

  const NOW: Instant = Date.UTC(2027, 2, 15, 12, 0, 0);

  // ---------------------------------------------------------------------------------------------
  // The world: members and their settings, as SubjectFacts seen from any of their friends.
  // ---------------------------------------------------------------------------------------------

  const memberIds: string[] = new Array<string>(MEMBERS);
  const platformEnabled = new Uint8Array(MEMBERS);
  /** The subject's facts as seen by a friend; `usesApp` is relative to the one third-party app below. */
  const facts: SubjectFacts[] = new Array<SubjectFacts>(MEMBERS);

  const NON_BASIC_FIELDS = OBJECT_FIELDS.filter((field) => FIELD_CLASS[field] !== 'basic');

  function randomAudienceSettings(): AudienceSettings {
    const settings: AudienceSettings = {};
    // Most members touch a few settings; some never change a default, some change many.
    const style = random();
    const changeProbability = style < 0.3 ? 0 : style < 0.8 ? 0.25 : 0.7;
    for (const field of NON_BASIC_FIELDS) {
      if (random() < changeProbability) settings[field] = AUDIENCES[randomInt(AUDIENCES.length)]!;
    }
    return settings;
  }

  const audienceMaskCounts = new Map<number, number>();
  for (let i = 0; i < MEMBERS; i++) {
    const id = `m${String(i).padStart(6, '0')}`;
    const enabled = random() < 0.92;
    memberIds[i] = id;
    platformEnabled[i] = enabled ? 1 : 0;
    const friendsAudience = friendsAudienceMask(randomAudienceSettings());
    audienceMaskCounts.set(friendsAudience, (audienceMaskCounts.get(friendsAudience) ?? 0) + 1);
    facts[i] = {
      id,
      isFriend: true,
      platformEnabled: enabled,
      shareViaFriends: random() < 1 / 3,
      // A few members keep one app out of what their friends' apps see (PRODUCT.md §4).
      exclusions: random() < 0.05 ? KEEPS_THE_WATCH_OUT : NO_EXCLUSIONS,
      usesApp: random() < 0.2,
      friendsAudience,
    };
  }

  // Friend lists: a random undirected graph with MEMBERS × AVERAGE_FRIENDS / 2 edges, stored as
  // compressed adjacency (offsets + one Int32Array of member indexes), duplicates removed.
  function buildFriendGraph(): { offsets: Int32Array; friends: Int32Array } {
    const edges = (MEMBERS * AVERAGE_FRIENDS) / 2;
    const from = new Int32Array(edges);
    const to = new Int32Array(edges);
    const degree = new Int32Array(MEMBERS);
    for (let e = 0; e < edges; e++) {
      const a = randomInt(MEMBERS);
      let b = randomInt(MEMBERS - 1);
      if (b >= a) b++;
      from[e] = a;
      to[e] = b;
      degree[a]!++;
      degree[b]!++;
    }
    const rawOffsets = new Int32Array(MEMBERS + 1);
    for (let i = 0; i < MEMBERS; i++) rawOffsets[i + 1] = rawOffsets[i]! + degree[i]!;
    const raw = new Int32Array(rawOffsets[MEMBERS]!);
    const fill = rawOffsets.slice(0, MEMBERS);
    for (let e = 0; e < edges; e++) {
      const a = from[e]!;
      const b = to[e]!;
      raw[fill[a]!++] = b;
      raw[fill[b]!++] = a;
    }
    // Deduplicate each list (sorting it), then shuffle so a page is not ordered by id.
    const offsets = new Int32Array(MEMBERS + 1);
    const friends = new Int32Array(raw.length);
    let out = 0;
    for (let i = 0; i < MEMBERS; i++) {
      const list = raw.subarray(rawOffsets[i]!, rawOffsets[i + 1]!).sort();
      const start = out;
      for (let k = 0; k < list.length; k++) {
        if (k === 0 || list[k] !== list[k - 1]) friends[out++] = list[k]!;
      }
      for (let k = out - 1; k > start; k--) {
        const j = start + randomInt(k - start + 1);
        const t = friends[k]!;
        friends[k] = friends[j]!;
        friends[j] = t;
      }
      offsets[i + 1] = out;
    }
    return { offsets, friends: friends.slice(0, out) };
  }

  const graph = buildFriendGraph();

  // ---------------------------------------------------------------------------------------------
  // Apps, agreements and request contexts.
  // ---------------------------------------------------------------------------------------------

  const f = (...fields: Field[]) => maskOf(fields);

  interface Partnership {
    readonly app: App;
    readonly agreement: AgreementTerms;
    readonly grantMemberFields: number;
    readonly grantFriendFields: number;
  }

  function agreement(id: string, memberFields: number, friendFields: number, windDown: AgreementTerms['windDown'] = null): AgreementTerms {
    return {
      id,
      version: 1,
      partnerId: `partner-${id}`,
      status: windDown ? 'winding_down' : 'active',
      purposes: ['device_experience', 'contacts_sync', 'login'],
      memberFields,
      friendFields,
      startsAt: NOW - 200 * DAY_MS,
      endsAt: NOW + 165 * DAY_MS,
      certificationDueAt: NOW + 30 * DAY_MS,
      windDown,
    };
  }

  const PARTNERSHIPS: readonly Partnership[] = [
    {
      // A watch maker: broad friend data, including a sensitive field the engine must still withhold.
      app: { id: 'app-watch', partnerId: 'partner-watch', name: 'Watch', class: 'device_partner', status: 'active' },
      agreement: agreement(
        'agr-watch',
        f('id', 'name', 'picture', 'email', 'birthday', 'location', 'events', 'photos', 'friends'),
        f('id', 'name', 'picture', 'birthday', 'location', 'work', 'events', 'photos', 'relationship_status'),
      ),
      grantMemberFields: f('id', 'name', 'picture', 'email', 'birthday', 'location', 'events', 'photos', 'friends'),
      grantFriendFields: f('id', 'name', 'picture', 'birthday', 'location', 'events', 'photos', 'relationship_status'),
    },
    {
      // A TV maker whose agreement lists every field for friends.
      app: { id: 'app-tv', partnerId: 'partner-tv', name: 'TV', class: 'device_partner', status: 'active' },
      agreement: agreement('agr-tv', maskOf([...OBJECT_FIELDS, 'friends']), OBJECT_FIELDS_MASK),
      grantMemberFields: maskOf([...OBJECT_FIELDS, 'friends']),
      grantFriendFields: OBJECT_FIELDS_MASK,
    },
    {
      // A device partner in the `no_new_grants` phase of a wind-down (still releases friend data).
      app: { id: 'app-phone', partnerId: 'partner-phone', name: 'Phone', class: 'device_partner', status: 'active' },
      agreement: agreement('agr-phone', f('id', 'name', 'picture', 'phone', 'friends'), f('id', 'name', 'picture', 'phone', 'hometown'), {
        noNewGrants: NOW - 5 * DAY_MS,
        noFriendData: NOW + 25 * DAY_MS,
        accessEnded: NOW + 55 * DAY_MS,
      }),
      grantMemberFields: f('id', 'name', 'picture', 'phone', 'friends'),
      grantFriendFields: f('id', 'name', 'picture', 'phone', 'hometown'),
    },
    {
      // A third-party game: friends who use the game too, basic fields only.
      app: { id: 'app-game', partnerId: 'partner-game', name: 'Game', class: 'third_party', status: 'active' },
      agreement: agreement('agr-game', f('id', 'name', 'picture', 'email', 'friends'), 0),
      grantMemberFields: f('id', 'name', 'picture', 'friends'),
      grantFriendFields: 0,
    },
  ];

  interface ScheduledRequest {
    readonly context: RequestContext;
    /** Range of the caller's friend list (in graph.friends) forming the page. */
    readonly pageStart: number;
    readonly pageEnd: number;
  }

  function buildSchedule(): ScheduledRequest[] {
    const schedule: ScheduledRequest[] = [];
    while (schedule.length < REQUESTS_IN_SCHEDULE) {
      const caller = randomInt(MEMBERS);
      if (platformEnabled[caller] === 0) continue; // planAccess would refuse the request (403)
      const { app, agreement, grantMemberFields, grantFriendFields } = PARTNERSHIPS[schedule.length % PARTNERSHIPS.length]!;
      const n = schedule.length;
      const grant: Grant = {
        id: `grant-${n}`,
        memberId: memberIds[caller]!,
        appId: app.id,
        agreementId: agreement.id,
        agreementVersion: agreement.version,
        purpose: 'device_experience',
        memberFields: grantMemberFields,
        friendFields: grantFriendFields,
        grantedAt: NOW - 40 * DAY_MS,
        lastUsedAt: addDays(NOW, -1),
        revokedAt: null,
      };
      const context: RequestContext = {
        token: { grantId: grant.id, expiresAt: NOW + 3_600_000, revokedAt: null },
        grant,
        app,
        agreement,
        member: { id: memberIds[caller]!, platformEnabled: true },
      };
      const listStart = graph.offsets[caller]!;
      const listLength = graph.offsets[caller + 1]! - listStart;
      const page = listLength >= PAGE_SIZE ? randomInt(Math.floor(listLength / PAGE_SIZE)) : 0; // a full page when there is one
      const pageStart = listStart + page * PAGE_SIZE;
      schedule.push({ context, pageStart, pageEnd: Math.min(pageStart + PAGE_SIZE, listStart + listLength) });
    }
    return schedule;
  }

  const schedule = buildSchedule();
  const friendsList = graph.friends;

  // ---------------------------------------------------------------------------------------------
  // The measured loop.
  // ---------------------------------------------------------------------------------------------

  let checksum = 0;
  let visibleCount = 0;
  let hiddenCount = 0;
  let withheldEntries = 0;

  /** Runs `pages` requests from the schedule; returns the number of subjects decided. */
  function decidePages(pages: number, startAt: number): number {
    let subjects = 0;
    let sum = checksum;
    let visible = 0;
    let hidden = 0;
    let withheld = 0;
    let r = startAt % schedule.length;
    for (let p = 0; p < pages; p++) {
      const request = schedule[r]!;
      if (++r === schedule.length) r = 0;
      const plan: AccessPlan = planAccess(request.context, NOW);
      const end = request.pageEnd;
      for (let k = request.pageStart; k < end; k++) {
        const decision = decideSubject(plan, facts[friendsList[k]!]!, REQUESTED);
        if (decision.visible) {
          sum = (Math.imul(sum, 31) + decision.released) | 0;
          withheld += decision.withheld.length;
          visible++;
        } else {
          sum = (sum + 7) | 0;
          hidden++;
        }
      }
      subjects += end - request.pageStart;
    }
    checksum = sum;
    visibleCount += visible;
    hiddenCount += hidden;
    withheldEntries += withheld;
    return subjects;
  }

  function timed(pages: number, startAt: number): { decisions: number; seconds: number } {
    const t0 = process.hrtime.bigint();
    const subjects = decidePages(pages, startAt);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { decisions: subjects * FIELDS_PER_SUBJECT, seconds };
  }

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

  const averageFriends = friendsList.length / MEMBERS;
  console.log(`decisions: ${MEMBERS} members, pages of ${PAGE_SIZE} friends x ${FIELDS_PER_SUBJECT} fields`);
  console.log(
    `decisions: world: ${averageFriends.toFixed(1)} friends on average, ${audienceMaskCounts.size} distinct friends-audience masks, ` +
      `${schedule.length.toLocaleString('en-US')} requests in schedule over ${PARTNERSHIPS.length} apps`,
  );

  // One pass over the whole schedule, deterministic: its checksum and counts are the same on every
  // run and machine. It also starts the warm-up.
  decidePages(schedule.length, 0);
  const verified = { checksum, visible: visibleCount, hidden: hiddenCount, withheld: withheldEntries };

  // Warm up (lets V8 optimize), then size a round to about TARGET_SECONDS_PER_ROUND.
  let cursor = 0;
  let warm = timed(2_000, cursor);
  cursor += 2_000;
  for (let i = 0; i < 4; i++) {
    warm = timed(WARM_PAGES, cursor);
    cursor += WARM_PAGES;
  }
  const warmRate = warm.decisions / warm.seconds;
  const decisionsPerPage = warm.decisions / WARM_PAGES;
  const pagesPerRound = Math.max(1_000, Math.round((warmRate * TARGET_SECONDS_PER_ROUND) / decisionsPerPage / 1_000) * 1_000);

  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { decisions, seconds } = timed(pagesPerRound, cursor);
    cursor += pagesPerRound;
    rates.push(decisions / seconds);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const best = sorted[sorted.length - 1]!;
  const verdict = median >= TARGET_PER_SECOND ? 'PASS' : 'FAIL';

  console.log(`decisions: ${fmt(pagesPerRound)} pages per round, rounds: ${rates.map((r) => `${fmt(r)}/s`).join(', ')}`);
  console.log(
    `decisions: ${fmt(median)} field decisions/s (median of ${ROUNDS}), best ${fmt(best)}/s; target >= ${fmt(TARGET_PER_SECOND)}/s: ${verdict}`,
  );
  console.log(
    `decisions: one pass over the schedule: checksum ${(verified.checksum >>> 0).toString(16)}, subjects visible ${fmt(verified.visible)}, ` +
      `left out ${fmt(verified.hidden)} (${((100 * verified.hidden) / (verified.visible + verified.hidden)).toFixed(1)}%), ` +
      `withheld entries ${fmt(verified.withheld)}`,
  );
  console.log(`decisions: sink over every timed page: ${(checksum >>> 0).toString(16)} (${fmt(visibleCount + hiddenCount)} subjects)`);
  return {
    benchmark: 'decisions',
    ok: true,
    figures: [
      { name: 'field decisions/s (median)', value: median, unit: '/s', target: { op: '>=', value: TARGET_PER_SECOND }, kind: 'performance' },
      { name: 'field decisions/s (best round)', value: best, unit: '/s', kind: 'info' },
    ],
    notes: [`${MEMBERS} members, pages of ${PAGE_SIZE} friends x ${FIELDS_PER_SUBJECT} fields, checksum ${(verified.checksum >>> 0).toString(16)}`],
  };
}

if (isMain(import.meta.url)) await runAsScript(run);
