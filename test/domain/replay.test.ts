import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AgreementTerms } from '../../src/domain/agreement.js';
import type { AppClass } from '../../src/domain/app.js';
import { ALL_FIELDS_MASK, FRIENDS_MASK, ID_MASK, SENSITIVE_MASK } from '../../src/domain/field-catalog.js';
import { FIELD_REASONS } from '../../src/domain/reason-codes.js';
import {
  audienceFieldsRead, compareOutcomes, compareServedColumns, KindTable, loggedOutcome, refusedAsLogged, ReplayDecisions, replayRequest, servedAsLogged, type ChangedSubjects, type LoggedRequest, type LoggedSubject,
  type ReplayWorld, type ShownSubject, type SubjectColumns,
} from '../../src/domain/replay.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { selfFacts, type SubjectFacts } from '../../src/domain/subject-decision.js';
import { APP_ID, DAY_MS, HOUR_MS, NOW, PARTNER_ID, agreement, windDown } from './builders.js';

const MEMBERS = ['m_0', 'm_1', 'm_2', 'm_3', 'm_4'];

const fieldMask = fc.integer({ min: 0, max: ALL_FIELDS_MASK });
/** Terms and consents from a few lists, so that requests share some rules and not others. */
const termsMask = fc.constantFrom(ALL_FIELDS_MASK, 0b1010_1010_1010_1011, 0b0111_0000_1111_0001, 0b1);
/** Mostly with `friends`: a friend is seen at all only when the agreement and the grant both have it. */
const withFriends = fc.oneof({ arbitrary: termsMask.map((m) => m | FRIENDS_MASK), weight: 4 }, { arbitrary: termsMask, weight: 1 });
/** Mostly true: a friend is shown only when every one of their settings lets them be. */
const mostly = fc.constantFrom(true, true, true, false);
const member = fc.record({
  platformEnabled: mostly, shareViaFriends: mostly, friendsAudience: fieldMask,
  excluded: fc.constantFrom('none', 'none', 'none', 'app', 'partner'), usesApp: mostly,
});
const subject = fc.record({
  index: fc.integer({ min: 0, max: MEMBERS.length - 1 }), self: fc.constantFrom(false, false, false, true), friendToday: mostly,
  // Most entries from a few lists, as a request's friends mostly share their entry (their kind then met again).
  released: fc.oneof({ arbitrary: fieldMask, weight: 1 }, { arbitrary: fc.constantFrom(ALL_FIELDS_MASK, 0b1011), weight: 3 }),
  withheld: fc.oneof(
    { arbitrary: fc.array(fieldMask, { minLength: FIELD_REASONS.length, maxLength: FIELD_REASONS.length }), weight: 1 },
    { arbitrary: fc.constantFrom(FIELD_REASONS.map(() => 0), FIELD_REASONS.map((_, i) => (i === 1 ? 0b1100 : 0))), weight: 3 },
  ),
});
const request = fc.record({
  appClass: fc.constantFrom<AppClass>('device_partner', 'third_party'),
  memberFields: withFriends, friendFields: termsMask, consentedMember: withFriends, consentedFriend: termsMask,
  windDown: fc.boolean(), day: fc.integer({ min: -5, max: 35 }), hour: fc.integer({ min: 0, max: 23 }), platform: mostly, sensitive: fc.boolean(),
  subjects: fc.array(subject, { minLength: 1, maxLength: 6 }), passedOver: fc.integer({ min: 0, max: 1 }),
  /** The token's member: MEMBERS[token] (a friend entry may name them, as the other one). */
  token: fc.constantFrom(0, 0, 1),
});

type Member = typeof member extends fc.Arbitrary<infer T> ? T : never;
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function facts(id: string, m: Member, isFriend: boolean): SubjectFacts {
  const exclusions = { apps: m.excluded === 'app' ? [APP_ID] : [], partners: m.excluded === 'partner' ? [PARTNER_ID] : [] };
  return { id, isFriend, platformEnabled: m.platformEnabled, shareViaFriends: m.shareViaFriends, exclusions, usesApp: m.usesApp, friendsAudience: m.friendsAudience };
}

/** `entries`: one object per distinct entry, handed out again (as the packed read does), else one per subject. */
function logged(r: Request, seq: number, entries?: Map<string, LoggedSubject>): LoggedRequest {
  const subjects: LoggedSubject[] = r.subjects.map((s) => {
    const entry: LoggedSubject = {
      shown: true, id: s.self ? MEMBERS[r.token]! : MEMBERS[s.index]!, relation: s.self ? 'self' : 'friend', released: s.released | ID_MASK, withheld: s.withheld,
    };
    const key = JSON.stringify(entry);
    const made = entries?.get(key) ?? entry;
    entries?.set(key, made);
    return made;
  });
  return {
    seq, at: NOW + r.day * DAY_MS + r.hour * HOUR_MS, appId: APP_ID, partnerId: PARTNER_ID, agreementId: 'agreement-1', agreementVersion: 3,
    rulesVersion: RULES_VERSION, tokenMemberId: MEMBERS[r.token]!, purpose: 'device_experience', outcome: 'served', code: null, deniedSubject: null,
    passedOver: r.passedOver, subjects,
  };
}

/** `shared`: facts made once per member and friendship and handed out again (as the packed read shares them), else made per call. */
function world(r: Request, members: readonly Member[], missing: number, shared?: Map<string, SubjectFacts>): ReplayWorld {
  const subjectFacts = (index: number) => {
    const s = r.subjects[index]!;
    if (s.index === missing) return undefined;
    const key = `${s.index}/${s.friendToday}`;
    const made = shared?.get(key) ?? facts(MEMBERS[s.index]!, members[s.index]!, s.friendToday);
    shared?.set(key, made);
    return made;
  };
  return {
    appClass: r.appClass, consented: { memberFields: r.consentedMember, friendFields: r.consentedFriend },
    tokenMemberPlatformEnabled: r.platform, subject: subjectFacts, deniedSubject: () => undefined,
    ...(r.sensitive ? { sensitive: SENSITIVE_MASK | ID_MASK << 5 } : {}),
  };
}

/** Decisions that are never remembered: each subject decided by the engine afresh. */
class Afresh extends ReplayDecisions {
  override forPlan() {
    const never = { get: () => undefined, set() { return this; } };
    return { byKey: never, byKind: never } as unknown as ReturnType<ReplayDecisions['forPlan']>;
  }
}

test('replay: a decision made once and shared across requests is the one the engine makes afresh, whatever the rules, facts and fields asked', () => {
  let friendsShown = 0;
  let withheld = 0;
  fc.assert(fc.property(
    fc.array(member, { minLength: MEMBERS.length, maxLength: MEMBERS.length }), fc.array(request, { minLength: 1, maxLength: 12 }),
    fc.integer({ min: -1, max: MEMBERS.length - 1 }),
    (members, requests, missing) => {
      const shared = new ReplayDecisions();
      requests.forEach((r, index) => {
        const terms = agreement({ memberFields: r.memberFields, friendFields: r.friendFields, ...(r.windDown ? { windDown: windDown() } : {}) });
        const request = logged(r, index + 1);
        const once = replayRequest(request, terms, world(r, members, missing), shared);
        const afresh = replayRequest(request, terms, world(r, members, missing), new Afresh());
        assert.deepEqual(once, afresh);
        if (once.served && once.subjects !== null && index > 0) {
          friendsShown += once.subjects.filter((s, i) => s.shown && request.subjects[i]!.relation === 'friend').length;
          withheld += once.subjects.filter((s) => s.shown && s.withheld.some((m) => m !== 0)).length;
        }
      });
    },
  ), { numRuns: 150 });
  // The property looked at friends shown, and fields withheld, in requests decided after others (decisions shared).
  assert.ok(friendsShown > 200 && withheld > 200, `${friendsShown} friends shown, ${withheld} subjects with fields withheld`);
});

test("replay: a friend's audiences narrowed to the fields the terms' rules can read (audienceFieldsRead) decide as before", () => {
  let narrowedShown = 0;
  fc.assert(fc.property(
    fc.array(member, { minLength: MEMBERS.length, maxLength: MEMBERS.length }), request, fc.integer({ min: -1, max: MEMBERS.length - 1 }),
    (members, r, missing) => {
      const terms = agreement({ memberFields: r.memberFields, friendFields: r.friendFields, ...(r.windDown ? { windDown: windDown() } : {}) });
      const fields = audienceFieldsRead([terms]);
      const narrowed = members.map((m) => ({ ...m, friendsAudience: m.friendsAudience & fields }));
      const request = logged(r, 1);
      const outcome = replayRequest(request, terms, world(r, members, missing), new Afresh());
      assert.deepEqual(replayRequest(request, terms, world(r, narrowed, missing), new Afresh()), outcome);
      if (outcome.served && outcome.subjects?.some((s, i) => s.shown && request.subjects[i]!.relation === 'friend'
        && (members[r.subjects[i]!.index]!.friendsAudience & ~fields) !== 0)) narrowedShown++;
    },
  ), { numRuns: 300 });
  // The property decided friends shown whose audiences the narrowing changed.
  assert.ok(narrowedShown > 50, `${narrowedShown} requests showing a friend whose audiences were narrowed`);
});

/** A logged request's subjects as the packed read gives them: its entries, today's facts, the members' numbers (their index). */
function columnsOf(r: Request, request: LoggedRequest, w: ReplayWorld): SubjectColumns {
  return {
    length: request.subjects.length,
    logged: (index) => request.subjects[index]!,
    facts: (index) => request.subjects[index]!.relation === 'self' ? selfFacts(request.subjects[index]!.id) : w.subject(index),
    member: (index) => r.subjects[index]!.self ? r.token : r.subjects[index]!.index,
    kind: (index) => {
      const facts = request.subjects[index]!.relation === 'self' ? undefined : w.subject(index);
      return facts?.id === request.tokenMemberId ? -1 : kindOf(request.subjects[index]!, facts);
    },
  };
}

/** Subjects with the same entry and facts objects share a kind, as the packed read's do (the caller gives none to the token's own member). */
const entryKinds = new Map<object, number>();
const factsKinds = new Map<object, number>();
const kindsGiven = new Set<number>();
/** How many subjects were given a kind given before (each then decided from what was found for it): the property's coverage. */
let kindsAgain = 0;
function kindOf(entry: object, facts: object | undefined): number {
  if (facts === undefined) return -1;
  if (!entryKinds.has(entry)) entryKinds.set(entry, entryKinds.size);
  if (!factsKinds.has(facts)) factsKinds.set(facts, factsKinds.size);
  const kind = factsKinds.get(facts)! * 65_536 + entryKinds.get(entry)!;
  if (kindsGiven.has(kind)) kindsAgain++; else kindsGiven.add(kind);
  return kind;
}

test('simulation: a request compared under two terms in one pass over its columns finds what two replays and compareOutcomes find', () => {
  let changedSubjects = 0;
  let differing = 0;
  let refused = 0;
  const proposal = fc.record({ memberFields: withFriends, friendFields: termsMask, windDown: fc.boolean(), sensitive: fc.boolean() });
  fc.assert(fc.property(
    fc.array(member, { minLength: MEMBERS.length, maxLength: MEMBERS.length }), fc.array(fc.tuple(request, proposal), { minLength: 1, maxLength: 12 }),
    fc.integer({ min: -1, max: MEMBERS.length - 1 }),
    (members, requests, missing) => {
      const shared = new ReplayDecisions();
      const changed: ChangedSubjects = { indexes: [], pairs: [] };
      const sharedFacts = new Map<string, SubjectFacts>();
      // Entries shared across requests too, as the packed read shares one per distinct code.
      const entries = new Map<string, LoggedSubject>();
      requests.forEach(([r, p], index) => {
        const before = agreement({ memberFields: r.memberFields, friendFields: r.friendFields, ...(r.windDown ? { windDown: windDown() } : {}) });
        const after = agreement({ memberFields: p.memberFields, friendFields: p.friendFields, ...(p.windDown ? { windDown: windDown() } : {}) });
        const request = logged(r, index + 1, entries);
        const w = world(r, members, missing, sharedFacts);
        const wAfter = { ...w, sensitive: p.sensitive ? SENSITIVE_MASK | ID_MASK << 7 : SENSITIVE_MASK };
        const baseline = replayRequest(request, before, w, new Afresh());
        const proposed = replayRequest(request, after, wAfter, new Afresh());
        const differs = compareServedColumns(request, columnsOf(r, request, w), { terms: before, world: w }, { terms: after, world: wAfter }, shared, changed);
        if (!baseline.served || !proposed.served) {
          refused++;
          assert.equal(differs, undefined);
          return;
        }
        assert.equal(differs, compareOutcomes(request, loggedOutcome(request), baseline) !== null);
        const change = compareOutcomes(request, baseline, proposed);
        const general = (change?.subjects ?? []).map(({ relation, more, less, reasonChanged }) => ({ relation, more, less, reasonChanged }));
        const columns = changed.indexes.map((at, i) => ({ relation: request.subjects[at]!.relation, ...changed.pairs[i]! }))
          .map(({ relation, more, less, reasonChanged }) => ({ relation, more, less, reasonChanged }));
        assert.deepEqual(columns, general);
        changedSubjects += columns.length;
        if (differs) differing++;
      });
    },
  ), { numRuns: 150 });
  // The property saw subjects changed between the terms, replays differing from the log, and refusals left to the general path.
  assert.ok(changedSubjects > 300 && differing > 200 && refused > 200, `${changedSubjects} subjects changed, ${differing} differing from the log, ${refused} refused`);
  // And subjects decided from what was found for their kind before, in this request or an earlier one.
  assert.ok(kindsAgain > 25, `${kindsAgain} subjects of a kind met before`);
});

/** An agreement's instants in days from NOW: its start, end, certification due (overdue 60 days later) and, maybe, a wind-down's first phase. */
const dates = fc.record({
  starts: fc.integer({ min: -40, max: 2 }), ends: fc.integer({ min: 20, max: 80 }), certification: fc.integer({ min: -30, max: 30 }),
  windDown: fc.option(fc.integer({ min: -5, max: 30 })),
});

function dated(d: typeof dates extends fc.Arbitrary<infer T> ? T : never): Partial<AgreementTerms> {
  const day = (days: number) => NOW + days * DAY_MS;
  return {
    startsAt: day(d.starts), endsAt: day(d.ends), certificationDueAt: day(d.certification),
    windDown: d.windDown === null ? null : windDown({ noNewGrants: day(d.windDown), noFriendData: day(d.windDown + 10), accessEnded: day(d.windDown + 20) }),
  };
}

/** Counts the classes of requests whose plans were worked out (each once). */
class CountingClasses extends ReplayDecisions {
  made = 0;
  override forPlans(...plans: Parameters<ReplayDecisions['forPlans']>) {
    this.made++;
    return super.forPlans(...plans);
  }
}

test('simulation: requests of one class share their plans, and each decides as it would alone, whatever its instant and its token member', () => {
  let shared = 0;
  let acrossTokens = 0;
  let refused = 0;
  let servedAsLoggedSeen = 0;
  let refusedAsLoggedSeen = 0;
  const variation = fc.record({
    day: fc.integer({ min: -5, max: 40 }), hour: fc.integer({ min: 0, max: 23 }), token: fc.constantFrom(0, 1),
    subjects: fc.array(subject, { minLength: 1, maxLength: 6 }),
  });
  const proposal = fc.record({ memberFields: withFriends, friendFields: termsMask, dates });
  fc.assert(fc.property(
    fc.array(member, { minLength: MEMBERS.length, maxLength: MEMBERS.length }), request, dates, proposal,
    fc.array(variation, { minLength: 8, maxLength: 30 }),
    (members, drawn, beforeDates, p, variations) => {
      // Friends visible and the platform on: what refuses a request here is mostly its instant under the terms.
      const r = { ...drawn, platform: true, memberFields: drawn.memberFields | FRIENDS_MASK, consentedMember: drawn.consentedMember | FRIENDS_MASK };
      // One terms object each (as a simulation's versions and proposals are): a request's class names them by identity.
      const before = agreement({ memberFields: r.memberFields, friendFields: r.friendFields, ...dated(beforeDates) });
      const after = agreement({ memberFields: p.memberFields, friendFields: p.friendFields, ...dated(p.dates) });
      const decisions = new CountingClasses();
      const changed: ChangedSubjects = { indexes: [], pairs: [] };
      let served = 0;
      variations.forEach((v, index) => {
        const varied = { ...r, ...v };
        const request = logged(varied, index + 1);
        const w = world(varied, members, -1);
        const baseline = replayRequest(request, before, w, new Afresh());
        const proposed = replayRequest(request, after, w, new Afresh());
        const differs = compareServedColumns(request, columnsOf(varied, request, w), { terms: before, world: w }, { terms: after, world: w }, decisions, changed);
        // The replay's check of the log, by the same classes' plans: served as logged exactly when the engine says so, for
        // the request as drawn and as the engine would have logged it (every subject shown as decided).
        const decided = baseline.served ? baseline.subjects : null;
        const asEngine = decided === null || !decided.every((s) => s.shown) ? request
          : { ...request, subjects: request.subjects.map((s, i) => ({ ...s, released: (decided[i] as ShownSubject).released, withheld: (decided[i] as ShownSubject).withheld })) };
        // And as a refusal logged with the code the terms refuse it with today, or another.
        const code = baseline.served ? 'platform_disabled' : baseline.code;
        for (const refusal of [code, 'grant_expired']) {
          const denied: LoggedRequest = { ...request, outcome: 'denied', code: refusal, subjects: [] };
          const replayed = replayRequest(denied, before, w, new Afresh());
          // Refused alike only when the engine refuses it so (a refusal the subjects make, a lookup's, is left to the general path).
          const alike = refusedAsLogged(denied, before, w, decisions);
          assert.ok(!alike || (!replayed.served && compareOutcomes(denied, loggedOutcome(denied), replayed) === null), `refused ${refusal}: ${JSON.stringify(replayed)}`);
          if (alike) refusedAsLoggedSeen++;
        }
        for (const asked of [request, asEngine]) {
          const replayed = replayRequest(asked, before, w, new Afresh());
          const asLogged = servedAsLogged(asked, columnsOf(varied, asked, w), before, w, decisions);
          assert.equal(asLogged, replayed.served && compareOutcomes(asked, loggedOutcome(asked), replayed) === null);
          if (asLogged) servedAsLoggedSeen++;
        }
        if (!baseline.served || !proposed.served) {
          refused++;
          assert.equal(differs, undefined);
          return;
        }
        served++;
        assert.equal(differs, compareOutcomes(request, loggedOutcome(request), baseline) !== null);
        const general = (compareOutcomes(request, baseline, proposed)?.subjects ?? []).map(({ relation, more, less, reasonChanged }) => ({ relation, more, less, reasonChanged }));
        assert.deepEqual(changed.indexes.map((at, i) => ({ relation: request.subjects[at]!.relation, ...changed.pairs[i]! }))
          .map(({ relation, more, less, reasonChanged }) => ({ relation, more, less, reasonChanged })), general);
        const plans = decisions.plansFor(request, { terms: before, world: w }, { terms: after, world: w });
        const own = request.subjects.some((subject) => subject.id === request.tokenMemberId);
        if (own && 'memberId' in plans.before && plans.before.memberId !== request.tokenMemberId) acrossTokens++;
      });
      shared += served - decisions.made;
    },
  ), { numRuns: 150 });
  // The property saw requests decided by plans made for others of their class, among them plans naming another token's member.
  assert.ok(shared > 500 && acrossTokens > 150 && refused > 500 && servedAsLoggedSeen > 100 && refusedAsLoggedSeen > 100,
    `${shared} requests decided by a class's plans, ${acrossTokens} of another token's, ${refused} refused, ${servedAsLoggedSeen} served as logged, `
    + `${refusedAsLoggedSeen} refused as logged`);
});

test('a table of values by kind finds what a Map finds, through its growth, kinds sharing their low bits or not', () => {
  let grown = 0;
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 600 }).map((facts) => facts * 2048 + 3)), fc.integer()), { minLength: 20, maxLength: 400, size: "max" }),
    fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 50 }),
    (writes, misses) => {
      const table = new KindTable<number>();
      const map = new Map<number, number>();
      for (const [kind, value] of writes) { table.set(kind, value); map.set(kind, value); }
      for (const [kind] of writes) assert.equal(table.get(kind), map.get(kind));
      for (const kind of misses) assert.equal(table.get(kind), map.get(kind));
      if (map.size > 32) grown++;
    },
  ), { numRuns: 200 });
  assert.ok(grown > 50, `${grown} tables grown past their first size`);
});
