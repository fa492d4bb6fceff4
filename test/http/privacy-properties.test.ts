/**
 * Property tests of the Graph API's privacy guarantees (PRODUCT.md §4), driven end to end through
 * `app.inject`. Each run generates a world (members, friendships, settings, audiences, profiles),
 * an app, an agreement, the caller's grant and other members' grants, then reads GET /v1/me,
 * GET /v1/members/:id for every member and one absent id, and every page of GET /v1/me/friends.
 *
 * The expected outcome is computed here, from the generated inputs and PRODUCT.md §4, without the
 * rules in src/domain. Every profile value is `<field>.<member id>` (e.g. `religion.m03`), so a
 * leaked value is found by searching the raw body as well as by reading the parsed JSON.
 *
 * Building an app takes 100–300 ms (Swagger and the response serializers are compiled on `ready`),
 * so each property builds one app and in-memory database with `build(t)` and empties every table
 * before each run: every run still starts from an empty database.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { AgreementStatus } from '../../src/domain/agreement.js';
import type { AppClass } from '../../src/domain/app.js';
import { AUDIENCES, type Audience } from '../../src/domain/audience.js';
import { FIELDS, OBJECT_FIELDS, type Field, type ObjectField } from '../../src/domain/field-catalog.js';
import { PURPOSES, type Purpose } from '../../src/domain/purposes.js';
import type { WindDownPlan } from '../../src/domain/wind-down.js';
import type { Profile, ProfileValue } from '../../src/store/member-repository.js';
import { build, type Built } from '../helpers/build.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const MINUTE = 60_000;
const ABSENT_ID = 'm99';
const MEMBER_ID = /m\d\d/g;
const VALUE = /([a-z_]+)\.(m\d\d)/g;

// ---------------------------------------------------------------------------------------------
// The catalog as PRODUCT.md §3 describes it (the oracle's own copy of the classes).
// ---------------------------------------------------------------------------------------------

const BASIC: ReadonlySet<string> = new Set(['id', 'name', 'picture']);
const SENSITIVE: ReadonlySet<string> = new Set(['relationship_status', 'religion', 'political_views']);
/** Product is silent on defaults; the documented default (audience.ts): contact and sensitive start private. */
const PRIVATE_BY_DEFAULT: ReadonlySet<string> = new Set(['email', 'phone', ...SENSITIVE]);
const LIST_FIELDS: ReadonlySet<string> = new Set(['work', 'education', 'events', 'likes', 'photos']);
const CHANGEABLE: readonly ObjectField[] = OBJECT_FIELDS.filter((f) => !BASIC.has(f));
const VALUE_FIELDS: readonly ObjectField[] = OBJECT_FIELDS.filter((f) => f !== 'id');
const NON_EDGE_FIELDS: readonly Field[] = FIELDS.filter((f) => f !== 'friends');
const REASONS: ReadonlySet<string> = new Set([
  'not_in_agreement', 'not_consented', 'third_party_friend_data', 'audience_restricted', 'wind_down', 'sensitive_field',
]);

// ---------------------------------------------------------------------------------------------
// Scenarios: plain data, so that fast-check prints a shrunk counterexample readably.
// ---------------------------------------------------------------------------------------------

/** A non-caller member's own grant: with the same app (active / revoked / idle), another app, or none. */
type OtherGrant = 'none' | 'active' | 'revoked' | 'idle' | 'other_app';

interface MemberGen {
  id: string;
  platformEnabled: boolean;
  shareViaFriends: boolean;
  audiences: Partial<Record<ObjectField, Audience>>;
  /** Fields absent from the profile. */
  missing: ObjectField[];
  otherGrant: OtherGrant;
  grantDays: number;
}

interface AgreementGen {
  status: AgreementStatus;
  purposes: Purpose[];
  memberFields: Field[];
  friendFields: Field[];
  startsAt: number;
  endsAt: number;
  certificationDueAt: number;
  windDown: WindDownPlan | null;
}

interface Scenario {
  caller: string;
  members: MemberGen[];
  friendships: Array<[string, string]>;
  appClass: AppClass;
  appStatus: 'active' | 'disabled';
  agreement: AgreementGen | null;
  grant: { purpose: Purpose; memberFields: Field[]; friendFields: Field[]; grantedAt: number; revokedAt: number | null };
  token: { issuedAt: number; ttlMs: number; revokedAt: number | null };
  /** `undefined` fields: no `fields` parameter (the documented default is `id,name`). */
  query: { me?: ObjectField[]; member?: ObjectField[]; friends?: ObjectField[]; limit: number; foreignOwner: string };
  breakages: string[];
}

const likely = (weight: number) =>
  fc.oneof({ arbitrary: fc.constant(true), weight }, { arbitrary: fc.constant(false), weight: 1 });

/** A set of fields: any subset, or most of them (so that friend data is often allowed at all). */
function fieldSetArb(pool: readonly Field[]): fc.Arbitrary<Field[]> {
  return fc.oneof(
    fc.subarray([...pool]),
    fc.subarray([...pool], { maxLength: 4 }).map((left) => pool.filter((f) => !left.includes(f))),
  );
}

/** Member fields of an agreement or a grant: `friends` (the friend list permission) usually included. */
const memberFieldsArb: fc.Arbitrary<Field[]> = fc
  .tuple(fieldSetArb(NON_EDGE_FIELDS), likely(8))
  .map(([fields, friends]) => (friends ? [...fields, 'friends' as const] : fields));

const audiencesArb = fc.record(
  Object.fromEntries(CHANGEABLE.map((f) => [f, fc.constantFrom(...AUDIENCES)])) as Record<ObjectField, fc.Arbitrary<Audience>>,
  { requiredKeys: [] },
) as fc.Arbitrary<Partial<Record<ObjectField, Audience>>>;

const memberArb = fc.record({
  platformEnabled: likely(3),
  shareViaFriends: likely(2),
  audiences: audiencesArb,
  missing: fc.subarray([...VALUE_FIELDS], { maxLength: 3 }),
  otherGrant: fc.oneof(
    { arbitrary: fc.constant<OtherGrant>('active'), weight: 4 },
    { arbitrary: fc.constantFrom<OtherGrant>('none', 'revoked', 'idle', 'other_app'), weight: 4 },
  ),
  grantDays: fc.integer({ min: 0, max: 89 }),
});

type Phase = 'none' | 'no_new_grants' | 'no_friend_data';

/** A wind-down plan whose phase at NOW is one of `phases`; a == 0 puts a phase change exactly at NOW. */
function windDownArb(phases: readonly Phase[]): fc.Arbitrary<WindDownPlan> {
  return fc
    .record({
      phase: fc.constantFrom(...phases),
      a: fc.integer({ min: 0, max: 20 }),
      b: fc.integer({ min: 0, max: 20 }),
      g1: fc.integer({ min: 1, max: 20 }),
      g2: fc.integer({ min: 1, max: 20 }),
    })
    .map(({ phase, a, b, g1, g2 }) => {
      switch (phase) {
        case 'none': {
          const noNewGrants = NOW + a * DAY + 1;
          return { noNewGrants, noFriendData: noNewGrants + g1 * DAY, accessEnded: noNewGrants + (g1 + g2) * DAY };
        }
        case 'no_new_grants': {
          const noFriendData = NOW + b * DAY + 1;
          return { noNewGrants: NOW - a * DAY, noFriendData, accessEnded: noFriendData + g2 * DAY };
        }
        case 'no_friend_data': {
          const noFriendData = NOW - a * DAY;
          return { noNewGrants: noFriendData - g1 * DAY, noFriendData, accessEnded: NOW + b * DAY + 1 };
        }
      }
    });
}

/** An agreement in effect at NOW (start <= NOW < end, certification not overdue, access not ended). */
function agreementArb(phases: readonly Phase[], windDownRequired: boolean): fc.Arbitrary<AgreementGen> {
  const plan = windDownArb(phases);
  return fc
    .record({
      status: fc.constantFrom<AgreementStatus>('active', 'winding_down'),
      purposes: fc.subarray([...PURPOSES], { minLength: 1 }),
      memberFields: memberFieldsArb,
      friendFields: fieldSetArb(FIELDS),
      startDaysAgo: fc.integer({ min: 0, max: 400 }),
      endDaysAhead: fc.integer({ min: 0, max: 300 }),
      certificationDaysLeft: fc.integer({ min: 0, max: 300 }),
      windDown: windDownRequired ? plan : fc.option(plan, { nil: null }),
    })
    .map((r) => ({
      // A winding-down agreement always has its plan.
      status: r.status === 'winding_down' && r.windDown === null ? 'active' : r.status,
      purposes: r.purposes,
      memberFields: r.memberFields,
      friendFields: r.friendFields,
      startsAt: NOW - r.startDaysAgo * DAY,
      endsAt: NOW + r.endDaysAhead * DAY + 1,
      certificationDueAt: NOW - 60 * DAY + r.certificationDaysLeft * DAY + 1,
      windDown: r.windDown,
    }));
}

const grantArb = fc.record({
  purposeIndex: fc.nat(),
  memberFields: memberFieldsArb,
  friendFields: fieldSetArb(FIELDS),
  ageMs: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 89 }).map((d) => d * DAY), weight: 5 },
    { arbitrary: fc.constant(90 * DAY - 1), weight: 1 },
  ),
});

const fieldsQueryArb = fc.option(fc.shuffledSubarray([...OBJECT_FIELDS], { minLength: 1 }), { nil: undefined, freq: 6 });

interface ScenarioOptions {
  readonly appClass?: AppClass;
  readonly phases?: readonly Phase[];
  readonly windDownRequired?: boolean;
}

/** A world in which every request-level rule passes. */
function scenarioArb(options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  const phases = options.phases ?? ['none', 'no_new_grants', 'no_friend_data'];
  return fc
    .record({
      members: fc.array(memberArb, { minLength: 2, maxLength: 12, size: 'max' }),
      callerIndex: fc.nat(11),
      // Pairs of member indexes (mod the number of members): friendships among friends too.
      edges: fc.array(fc.tuple(fc.nat(11), fc.nat(11)), { maxLength: 60, size: 'max' }),
      appClass: options.appClass ? fc.constant(options.appClass) : fc.constantFrom<AppClass>('device_partner', 'third_party'),
      agreement: agreementArb(phases, options.windDownRequired ?? false),
      grant: grantArb,
      me: fieldsQueryArb,
      member: fieldsQueryArb,
      friends: fieldsQueryArb,
      limit: fc.integer({ min: 1, max: 5 }),
      foreign: fc.nat(10),
    })
    .map((r): Scenario => {
      const n = r.members.length;
      const ids = Array.from({ length: n }, (_, i) => `m${String(i).padStart(2, '0')}`);
      const caller = ids[r.callerIndex % n]!;
      const keys = new Set<string>();
      const friendships: Array<[string, string]> = [];
      for (const [x, y] of r.edges) {
        const [i, j] = [x % n, y % n].sort((a, b) => a - b) as [number, number];
        if (i === j || keys.has(`${i}-${j}`)) continue;
        keys.add(`${i}-${j}`);
        friendships.push([ids[i]!, ids[j]!]);
      }
      const others = ids.filter((id) => id !== caller);
      return {
        caller,
        members: r.members.map((m, i) => ({
          id: ids[i]!,
          ...m,
          platformEnabled: ids[i] === caller ? true : m.platformEnabled,
          otherGrant: ids[i] === caller ? 'none' : m.otherGrant,
        })),
        friendships,
        appClass: r.appClass,
        appStatus: 'active',
        agreement: r.agreement,
        grant: {
          purpose: r.agreement.purposes[r.grant.purposeIndex % r.agreement.purposes.length]!,
          memberFields: r.grant.memberFields,
          friendFields: r.grant.friendFields,
          grantedAt: NOW - r.grant.ageMs,
          revokedAt: null,
        },
        token: { issuedAt: NOW, ttlMs: 3_600_000, revokedAt: null },
        query: { me: r.me, member: r.member, friends: r.friends, limit: r.limit, foreignOwner: others[r.foreign % others.length]! },
        breakages: [],
      };
    });
}

/** Ways to break one request-level rule (PRODUCT.md §4 rules 1 to 6). */
const BREAKAGES = [
  'token_expired', 'token_revoked', 'app_disabled', 'no_agreement', 'draft', 'under_review', 'suspended', 'terminated',
  'not_started', 'expired', 'access_ended', 'certification_overdue', 'grant_revoked', 'grant_idle', 'purpose_not_allowed',
  'platform_disabled',
] as const;
type Breakage = (typeof BREAKAGES)[number];

const AGREEMENT_BREAKAGES: readonly Breakage[] = [
  'no_agreement', 'draft', 'under_review', 'suspended', 'terminated', 'not_started', 'expired', 'access_ended', 'certification_overdue',
];

/** One breakage of the agreement (rule 3); or of one of the other five rules, each rule equally likely. */
const agreementBreakageArb: fc.Arbitrary<Breakage> = fc.constantFrom(...AGREEMENT_BREAKAGES);
const otherBreakageArb: fc.Arbitrary<Breakage> = fc.oneof(
  fc.constantFrom<Breakage>('token_expired', 'token_revoked'),
  fc.constant<Breakage>('app_disabled'),
  fc.constantFrom<Breakage>('grant_revoked', 'grant_idle'),
  fc.constant<Breakage>('purpose_not_allowed'),
  fc.constant<Breakage>('platform_disabled'),
);

/** Mostly one breakage (so each boundary is met alone), sometimes two or three (so the order of the rules is met). */
function brokenScenarioArb(single: fc.Arbitrary<Breakage>): fc.Arbitrary<Scenario> {
  return fc
    .tuple(
      scenarioArb(),
      fc.oneof(
        { arbitrary: single.map((b) => [b]), weight: 3 },
        { arbitrary: fc.uniqueArray(single, { minLength: 1, maxLength: 2 }).chain((some) =>
          fc.subarray([...BREAKAGES], { maxLength: 2 }).map((more) => [...new Set([...some, ...more])])), weight: 1 },
      ),
      fc.oneof(fc.constant(0), fc.nat(30)),
    )
    .map(([sc, breakages, k]) => breakScenario(sc, breakages, k));
}

/** `k` (0 = exactly at the boundary) says how far past the boundary each date is moved. */
function breakScenario(base: Scenario, breakages: readonly Breakage[], k: number): Scenario {
  const sc = structuredClone(base);
  sc.breakages = [...breakages];
  for (const breakage of breakages) {
    const a = sc.agreement;
    switch (breakage) {
      case 'token_expired': sc.token.issuedAt = NOW - sc.token.ttlMs - k * MINUTE; break;
      case 'token_revoked': sc.token.revokedAt = NOW - k * MINUTE; break;
      case 'app_disabled': sc.appStatus = 'disabled'; break;
      case 'draft': case 'under_review': case 'suspended': case 'terminated': if (a) a.status = breakage; break;
      case 'not_started': if (a) a.startsAt = NOW + k * DAY + 1; break;
      case 'expired': if (a) a.endsAt = NOW - k * DAY; break;
      case 'access_ended':
        if (a) {
          const accessEnded = NOW - k * DAY;
          a.windDown = { noNewGrants: accessEnded - 2 * DAY, noFriendData: accessEnded - DAY, accessEnded };
        }
        break;
      case 'certification_overdue': if (a) a.certificationDueAt = NOW - 60 * DAY - k * DAY; break;
      case 'grant_revoked': sc.grant.revokedAt = NOW - k * MINUTE; break;
      case 'grant_idle': sc.grant.grantedAt = NOW - 90 * DAY - k * DAY; break;
      case 'purpose_not_allowed': if (a) a.purposes = PURPOSES.filter((p) => p !== sc.grant.purpose); break;
      case 'platform_disabled': sc.members.find((m) => m.id === sc.caller)!.platformEnabled = false; break;
      case 'no_agreement': break;
    }
  }
  if (breakages.includes('no_agreement')) sc.agreement = null;
  return sc;
}

// ---------------------------------------------------------------------------------------------
// The oracle: PRODUCT.md §4, written from the generated inputs.
// ---------------------------------------------------------------------------------------------

function valueOf(field: ObjectField, id: string): ProfileValue {
  const value = `${field}.${id}`;
  return LIST_FIELDS.has(field) ? [value] : value;
}

function profileOf(member: MemberGen): Profile {
  const profile: Profile = {};
  for (const field of VALUE_FIELDS) if (!member.missing.includes(field)) profile[field] = valueOf(field, member.id);
  return profile;
}

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly causes?: readonly string[];
}

/** Every reason the agreement is not in effect at NOW (empty: in effect). §4 rule 3 and §5. */
function agreementCauses(a: AgreementGen | null): string[] {
  if (a === null) return ['no_agreement'];
  const causes: string[] = [];
  if (a.status === 'terminated') causes.push('terminated');
  if (a.status === 'draft' || a.status === 'under_review') causes.push('not_active');
  if (a.status === 'suspended') causes.push('suspended');
  if (NOW < a.startsAt) causes.push('not_started');
  if (NOW >= a.endsAt) causes.push('expired');
  if (a.windDown !== null && NOW >= a.windDown.accessEnded) causes.push('access_ended');
  if (NOW >= a.certificationDueAt + 60 * DAY) causes.push('certification_overdue');
  return causes;
}

/** The first request-level rule that fails, in §4's order, or null. */
function expectedRefusal(sc: Scenario): Refusal | null {
  const { token, grant } = sc;
  if (NOW >= token.issuedAt + token.ttlMs || (token.revokedAt !== null && token.revokedAt <= NOW)) {
    return { status: 401, code: 'invalid_token' };
  }
  if (sc.appStatus !== 'active') return { status: 403, code: 'app_disabled' };
  const causes = agreementCauses(sc.agreement);
  if (causes.length > 0) return { status: 403, code: 'agreement_not_in_effect', causes };
  if ((grant.revokedAt !== null && grant.revokedAt <= NOW) || NOW >= grant.grantedAt + 90 * DAY) {
    return { status: 401, code: 'grant_expired' };
  }
  if (!sc.agreement!.purposes.includes(grant.purpose)) return { status: 403, code: 'purpose_not_allowed' };
  if (!memberOf(sc, sc.caller).platformEnabled) return { status: 403, code: 'platform_disabled' };
  return null;
}

function memberOf(sc: Scenario, id: string): MemberGen {
  const member = sc.members.find((m) => m.id === id);
  assert.ok(member, `no generated member ${id}`);
  return member;
}

function audienceOf(member: MemberGen, field: ObjectField): Audience {
  if (BASIC.has(field)) return 'public';
  return member.audiences[field] ?? (PRIVATE_BY_DEFAULT.has(field) ? 'only_me' : 'friends');
}

interface Oracle {
  /** `friends` is in the agreement's member fields and in the grant. */
  readonly friendsReadable: boolean;
  /** Friends the caller's app may see, sorted. */
  readonly visibleFriends: readonly string[];
  readonly friendDataEnded: boolean;
  isVisible(id: string): boolean;
  /** The field rules for a visible subject, in §4's order: [reason, passes]. */
  rules(subject: string, field: ObjectField): Array<[string, boolean]>;
  allowed(subject: string, field: ObjectField): boolean;
}

function oracleOf(sc: Scenario): Oracle {
  const agreement = sc.agreement!;
  const agreementMember = new Set<string>(agreement.memberFields);
  const agreementFriend = new Set<string>(agreement.friendFields);
  const grantMember = new Set<string>(sc.grant.memberFields);
  const grantFriend = new Set<string>(sc.grant.friendFields);
  const friendsReadable = agreementMember.has('friends') && grantMember.has('friends');
  const friendDataEnded = agreement.windDown !== null && NOW >= agreement.windDown.noFriendData;
  const friendsOfCaller = new Set(
    sc.friendships.filter((pair) => pair.includes(sc.caller)).map(([a, b]) => (a === sc.caller ? b : a)),
  );
  const visibleFriends = [...friendsOfCaller]
    .filter((id) => {
      if (!friendsReadable) return false;
      const m = memberOf(sc, id);
      if (!m.platformEnabled) return false;
      // third_party: the friend has an active grant with the same app; device_partner: opted in.
      return sc.appClass === 'third_party' ? m.otherGrant === 'active' : m.shareViaFriends;
    })
    .sort();
  const visible = new Set(visibleFriends);
  const rules = (subject: string, field: ObjectField): Array<[string, boolean]> => {
    if (subject === sc.caller) {
      return [['not_in_agreement', agreementMember.has(field)], ['not_consented', grantMember.has(field)]];
    }
    if (sc.appClass === 'third_party') {
      return [
        ['third_party_friend_data', field === 'name' || field === 'picture'],
        ['not_in_agreement', agreementMember.has(field)],
        ['not_consented', grantMember.has(field)],
        // "after the wind-down's no_friend_data date no friend field beyond id"
        ['wind_down', !friendDataEnded],
      ];
    }
    return [
      ['not_in_agreement', agreementFriend.has(field)],
      ['not_consented', grantFriend.has(field)],
      ['audience_restricted', audienceOf(memberOf(sc, subject), field) !== 'only_me'],
      ['wind_down', !friendDataEnded],
      ['sensitive_field', !SENSITIVE.has(field)],
    ];
  };
  return {
    friendsReadable,
    visibleFriends,
    friendDataEnded,
    isVisible: (id) => id === sc.caller || visible.has(id),
    rules,
    allowed: (subject, field) => field === 'id' || rules(subject, field).every(([, passes]) => passes),
  };
}

// ---------------------------------------------------------------------------------------------
// Checks of one response.
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function requestedSet(fields: readonly ObjectField[] | undefined): Set<ObjectField> {
  return new Set(fields ?? ['id', 'name']);
}

/** One member object against the oracle: nothing beyond allowed ∩ requested, and all of what is present. */
function checkMemberObject(sc: Scenario, o: Oracle, object: unknown, requested: Set<ObjectField>, where: string): string {
  assert.ok(typeof object === 'object' && object !== null, `${where}: not an object`);
  const obj = object as Json;
  const subject = obj.id;
  assert.ok(typeof subject === 'string' && o.isVisible(subject), `${where}: subject ${String(subject)} is not visible to this caller`);
  const profile = profileOf(memberOf(sc, subject));
  const at = `${where} ${subject}`;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'id' || key === 'withheld') continue;
    const field = key as ObjectField;
    assert.ok(requested.has(field), `${at}: '${key}' released but not requested`);
    assert.ok(o.allowed(subject, field), `${at}: '${key}' released against the rules (${JSON.stringify(o.rules(subject, field))})`);
    assert.deepEqual(value, profile[field], `${at}: '${key}' is not the subject's own value`);
  }
  for (const field of requested) {
    if (field !== 'id' && o.allowed(subject, field) && profile[field] !== undefined) {
      assert.deepEqual(obj[field], profile[field], `${at}: '${field}' allowed, requested and present, but not released`);
    }
  }
  const withheld = obj.withheld as Json;
  assert.ok(typeof withheld === 'object' && withheld !== null, `${at}: no withheld map`);
  const expectedWithheld = [...requested].filter((f) => f !== 'id' && !o.allowed(subject, f)).sort();
  assert.deepEqual(Object.keys(withheld).sort(), expectedWithheld, `${at}: withheld fields`);
  for (const [key, reason] of Object.entries(withheld)) {
    assert.ok(typeof reason === 'string' && REASONS.has(reason), `${at}: withheld ${key} has reason ${String(reason)}`);
    const failing: string[] = o.rules(subject, key as ObjectField).filter(([, passes]) => !passes).map(([r]) => r);
    assert.ok(failing.includes(reason), `${at}: withheld ${key} for ${reason}, but the failing rules are ${failing.join(', ')}`);
    // The first failing reason (§4). Third-party friends: the spec gives no order between its rules.
    if (subject === sc.caller || sc.appClass === 'device_partner') {
      assert.equal(reason, failing[0], `${at}: withheld ${key} must carry the first failing reason`);
    }
  }
  if (subject !== sc.caller && o.friendDataEnded) {
    const released = Object.keys(obj).filter((k) => k !== 'id' && k !== 'withheld');
    assert.deepEqual(released, [], `${at}: friend fields released after no_friend_data`);
  }
  return subject;
}

/**
 * The raw body: every member id in it belongs to an object of the response (or is the id the URL
 * asked for, in a 404), and every profile value is an allowed, requested field of its own member.
 */
function scanRaw(raw: string, shown: ReadonlyMap<string, Set<ObjectField>>, o: Oracle, where: string, askedId?: string): void {
  // An opaque cursor could spell anything in base64; it is decoded and checked on its own.
  const text = raw.replace(/"after":"[^"]*"/g, '"after":"<cursor>"');
  for (const [, field, id] of text.matchAll(VALUE)) {
    const requested = shown.get(id!);
    assert.ok(requested, `${where}: value '${field}.${id}' of a member not shown in this response: ${raw}`);
    assert.ok(
      requested.has(field as ObjectField) && o.allowed(id!, field as ObjectField),
      `${where}: value '${field}.${id}' leaked: ${raw}`,
    );
  }
  for (const [id] of text.matchAll(MEMBER_ID)) {
    assert.ok(shown.has(id) || id === askedId, `${where}: member id ${id} appears in the body: ${raw}`);
  }
}

function checkCursor(cursor: string, allowedIds: ReadonlySet<string>, where: string): void {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  for (const [id] of decoded.matchAll(MEMBER_ID)) {
    assert.ok(allowedIds.has(id), `${where}: cursor ${decoded} names ${id}, not shown so far`);
  }
}

function checkError(raw: string, status: number, actual: number, code: string, where: string, causes?: readonly string[]): Json {
  assert.equal(actual, status, `${where}: status ${actual}, expected ${status} ${code}: ${raw}`);
  const body = JSON.parse(raw) as Json;
  assert.deepEqual(Object.keys(body), ['error'], `${where}: an error carries nothing else`);
  const error = body.error as Json;
  assert.equal(error.code, code, `${where}: ${raw}`);
  if (causes !== undefined) assert.ok(causes.includes(error.cause as string), `${where}: cause ${String(error.cause)}, expected one of ${causes.join(', ')}`);
  for (const key of Object.keys(error)) assert.ok(['code', 'message', 'request_id', 'cause'].includes(key), `${where}: error.${key}`);
  return error;
}

// ---------------------------------------------------------------------------------------------
// Setting up a world and reading it through the API.
// ---------------------------------------------------------------------------------------------

// The audit log is left as it is: the running server signs only trees that extend its last head,
// and would refuse a log emptied under it (issue 11).
const TABLES = [
  'access_tokens', 'grants', 'agreement_history', 'agreement_apps', 'agreements', 'apps', 'partners',
  'friendships', 'field_audiences', 'profile_values', 'members',
];

async function emptyDatabase(env: Built): Promise<void> {
  for (const table of TABLES) await sql.raw(`DELETE FROM ${table}`).execute(env.store.db);
}

async function setUp(env: Built, sc: Scenario): Promise<string> {
  const { store } = env;
  await emptyDatabase(env);
  env.setNow(NOW);
  await addMembers(store, sc.members.map((m) => ({
    id: m.id, platformEnabled: m.platformEnabled, shareViaFriends: m.shareViaFriends, profile: profileOf(m), audiences: m.audiences,
  })), NOW);
  if (sc.friendships.length > 0) await addFriendships(store, sc.friendships, NOW);
  const main = await addPartner(store, 'main', {
    appClass: sc.appClass,
    appStatus: sc.appStatus,
    ...(sc.agreement === null ? { withoutAgreement: true } : { agreement: { ...sc.agreement } }),
  }, NOW);
  const other = await addPartner(store, 'other', {
    appClass: sc.appClass, agreement: { purposes: [...PURPOSES], memberFields: [...FIELDS], friendFields: [...FIELDS] },
  }, NOW);
  const agreementId = sc.agreement === null ? null : main.agreementId;
  for (const m of sc.members) {
    if (m.id === sc.caller || m.otherGrant === 'none') continue;
    const base = { memberId: m.id, appId: main.appId, agreementId, purpose: sc.grant.purpose, memberFields: [...FIELDS] };
    switch (m.otherGrant) {
      case 'active': await grantToken(store, { ...base, grantedAt: NOW - m.grantDays * DAY }, NOW); break;
      case 'idle': await grantToken(store, { ...base, grantedAt: NOW - (90 + m.grantDays) * DAY }, NOW); break;
      case 'revoked': await grantToken(store, { ...base, grantedAt: NOW - 100 * DAY, revokedAt: NOW - m.grantDays * DAY }, NOW); break;
      case 'other_app': await grantToken(store, { ...base, appId: other.appId, agreementId: other.agreementId }, NOW); break;
    }
  }
  const { token } = await grantToken(store, {
    memberId: sc.caller, appId: main.appId, agreementId, purpose: sc.grant.purpose,
    memberFields: sc.grant.memberFields, friendFields: sc.grant.friendFields,
    grantedAt: sc.grant.grantedAt, revokedAt: sc.grant.revokedAt, tokenTtlMs: sc.token.ttlMs,
  }, sc.token.issuedAt);
  if (sc.token.revokedAt !== null) await store.tokens.revoke(token, sc.token.revokedAt);
  return token;
}

function url(path: string, fields: readonly ObjectField[] | undefined, extra: Record<string, string | number> = {}): string {
  const params = [
    ...(fields === undefined ? [] : [`fields=${fields.join(',')}`]),
    ...Object.entries(extra).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`),
  ];
  return params.length === 0 ? path : `${path}?${params.join('&')}`;
}

/** Counts of what the runs exercised, reported as test diagnostics. */
interface Coverage {
  runs: number;
  members: number;
  callerFriends: number;
  refused: number;
  withVisibleFriends: number;
  friendsShown: number;
  friendValuesReleased: number;
  hiddenFriendsLookedUp: number;
  friendsOfFriends: number;
}

const newCoverage = (): Coverage => ({
  runs: 0, members: 0, callerFriends: 0, refused: 0, withVisibleFriends: 0, friendsShown: 0, friendValuesReleased: 0, hiddenFriendsLookedUp: 0, friendsOfFriends: 0,
});

async function exercise(env: Built, sc: Scenario, coverage: Coverage): Promise<void> {
  const token = await setUp(env, sc);
  const get = async (path: string) => {
    const response = await env.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, raw: response.body };
  };
  const ids = sc.members.map((m) => m.id);
  coverage.runs++;
  coverage.members += sc.members.length;
  coverage.callerFriends += sc.friendships.filter((pair) => pair.includes(sc.caller)).length;

  const refusal = expectedRefusal(sc);
  if (refusal !== null) {
    coverage.refused++;
    const noMembers = new Map<string, Set<ObjectField>>();
    const paths = [
      url('/v1/me', sc.query.me),
      ...[...ids, ABSENT_ID].map((id) => url(`/v1/members/${id}`, sc.query.member)),
      url('/v1/me/friends', sc.query.friends, { limit: sc.query.limit }),
      url(`/v1/members/${sc.query.foreignOwner}/friends`, sc.query.friends),
    ];
    for (const path of paths) {
      const { status, raw } = await get(path);
      checkError(raw, refusal.status, status, refusal.code, `GET ${path}`, refusal.causes);
      // No member data at all: not even the caller's id.
      assert.deepEqual([...raw.matchAll(MEMBER_ID)].map(([id]) => id), [], `GET ${path}: member ids in a refusal: ${raw}`);
      scanRaw(raw, noMembers, oracleOfRefused(), `GET ${path}`);
    }
    return;
  }

  const o = oracleOf(sc);
  const fof = new Set(sc.friendships.flat().filter((id) => id !== sc.caller && !o.isVisible(id)));
  coverage.friendsOfFriends += fof.size;
  if (o.visibleFriends.length > 0) coverage.withVisibleFriends++;

  // GET /v1/me
  {
    const path = url('/v1/me', sc.query.me);
    const { status, raw } = await get(path);
    assert.equal(status, 200, `GET ${path}: ${raw}`);
    const requested = requestedSet(sc.query.me);
    const subject = checkMemberObject(sc, o, JSON.parse(raw), requested, `GET ${path}`);
    assert.equal(subject, sc.caller);
    scanRaw(raw, new Map([[sc.caller, requested]]), o, `GET ${path}`);
  }

  // GET /v1/members/:id for every member and one absent id: a visible subject, or the same 404.
  const notFound = new Map<string, string>();
  for (const id of [...ids, ABSENT_ID]) {
    const path = url(`/v1/members/${id}`, sc.query.member);
    const { status, raw } = await get(path);
    if (o.isVisible(id)) {
      assert.equal(status, 200, `GET ${path}: visible subject: ${raw}`);
      const requested = requestedSet(sc.query.member);
      const obj = JSON.parse(raw) as Json;
      assert.equal(checkMemberObject(sc, o, obj, requested, `GET ${path}`), id);
      if (id !== sc.caller) coverage.friendValuesReleased += Object.keys(obj).filter((k) => k !== 'id' && k !== 'withheld').length;
      scanRaw(raw, new Map([[id, requested]]), o, `GET ${path}`);
    } else {
      if (id !== ABSENT_ID && sc.friendships.some((pair) => pair.includes(id) && pair.includes(sc.caller))) coverage.hiddenFriendsLookedUp++;
      const error = checkError(raw, 404, status, 'not_found', `GET ${path}`);
      scanRaw(raw, new Map(), o, `GET ${path}`, id);
      // Opted-out friend, friend of a friend, stranger, absent id: one indistinguishable answer.
      notFound.set(id, raw.split(String(error.request_id)).join('<request>').split(id).join('<id>'));
    }
  }
  const answers = new Set(notFound.values());
  assert.ok(answers.size <= 1, `every invisible member gets the same 404: ${JSON.stringify(Object.fromEntries(notFound))}`);

  // Another member's friend list: friends of friends never leave.
  {
    const path = url(`/v1/members/${sc.query.foreignOwner}/friends`, sc.query.friends);
    const { status, raw } = await get(path);
    checkError(raw, 403, status, 'friends_of_friends_forbidden', `GET ${path}`);
    scanRaw(raw, new Map(), o, `GET ${path}`);
  }

  // GET /v1/me/friends, every page.
  const requested = requestedSet(sc.query.friends);
  const first = url('/v1/me/friends', sc.query.friends, { limit: sc.query.limit });
  if (!o.friendsReadable) {
    const { status, raw } = await get(first);
    checkError(raw, 403, status, 'not_consented', `GET ${first}`);
    scanRaw(raw, new Map(), o, `GET ${first}`);
    return;
  }
  const seen: string[] = [];
  let path = first;
  for (let page = 0; ; page++) {
    assert.ok(page <= o.visibleFriends.length + 1, `GET ${first}: paging does not end`);
    const { status, raw } = await get(path);
    assert.equal(status, 200, `GET ${path}: ${raw}`);
    const body = JSON.parse(raw) as { data: unknown[]; paging: { after?: string } };
    assert.deepEqual(Object.keys(body).sort(), ['data', 'paging'], `GET ${path}: ${raw}`);
    assert.ok(body.data.length <= sc.query.limit, `GET ${path}: more than limit`);
    if (page > 0) assert.ok(body.data.length > 0, `GET ${path}: an empty page after a cursor hints at hidden friends`);
    const shown = new Map<string, Set<ObjectField>>();
    for (const object of body.data) {
      const id = checkMemberObject(sc, o, object, requested, `GET ${path}`);
      assert.notEqual(id, sc.caller, `GET ${path}: the caller is not their own friend`);
      shown.set(id, requested);
      seen.push(id);
      coverage.friendsShown++;
      coverage.friendValuesReleased += Object.keys(object as Json).filter((k) => k !== 'id' && k !== 'withheld').length;
    }
    scanRaw(raw, shown, o, `GET ${path}`);
    const cursor = body.paging.after;
    if (cursor === undefined) break;
    assert.equal(body.data.length, sc.query.limit, `GET ${path}: a page before the last is full`);
    checkCursor(cursor, new Set([sc.caller, ...seen]), `GET ${path}`);
    path = url('/v1/me/friends', sc.query.friends, { limit: sc.query.limit, after: cursor });
  }
  assert.equal(new Set(seen).size, seen.length, `GET /v1/me/friends: a friend shown twice: ${seen.join(', ')}`);
  assert.deepEqual([...seen].sort(), o.visibleFriends, 'GET /v1/me/friends: exactly the visible friends, across all pages');
}

/** For refusals: nothing is allowed about anyone. */
function oracleOfRefused(): Oracle {
  return {
    friendsReadable: false, visibleFriends: [], friendDataEnded: false,
    isVisible: () => false, rules: () => [], allowed: () => false,
  };
}

/** What a property's runs must have exercised: each key's count at least this share of the runs. */
type Expected = Partial<Record<Exclude<keyof Coverage, 'runs'>, number>>;

/** The generators still produce the cases that matter: a property that stopped reaching them would pass vacuously. */
function assertCovered(coverage: Coverage, numRuns: number, expected: Expected): void {
  assert.equal(coverage.runs, numRuns, 'every run exercised the API');
  for (const [key, share] of Object.entries(expected) as [keyof Expected, number][]) {
    assert.ok(coverage[key] >= share * numRuns, `${key}: ${coverage[key]} over ${numRuns} runs, expected at least ${share} a run (${JSON.stringify(coverage)})`);
  }
}

async function check(t: TestContext, arbitrary: fc.Arbitrary<Scenario>, numRuns: number, expected: Expected): Promise<void> {
  const env = await build(t, NOW);
  const coverage = newCoverage();
  try {
    await fc.assert(fc.asyncProperty(arbitrary, (sc) => exercise(env, sc, coverage)), { numRuns });
  } catch (error) {
    // node:test does not print an error's cause: put the failed assertion next to the counterexample.
    const cause = error instanceof Error ? error.cause : undefined;
    if (cause instanceof Error) (error as Error).message += `\nFailed check: ${cause.message}`;
    throw error;
  }
  t.diagnostic(JSON.stringify(coverage));
  assertCovered(coverage, numRuns, expected);
}

// ---------------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------------

describe('privacy properties of the Graph API (PRODUCT.md §4)', () => {
  test('device_partner: only the caller and opted-in friends, only agreement ∩ grant ∩ audience, never sensitive', async (t) => {
    await check(t, scenarioArb({ appClass: 'device_partner' }), 50,
      { withVisibleFriends: 0.2, friendsShown: 0.4, friendValuesReleased: 0.5, hiddenFriendsLookedUp: 0.5, friendsOfFriends: 1 });
  });

  test('third_party: only friends who use the app, and of them only id, name, picture', async (t) => {
    await check(t, scenarioArb({ appClass: 'third_party' }), 40,
      { withVisibleFriends: 0.15, friendsShown: 0.3, friendValuesReleased: 0.05, hiddenFriendsLookedUp: 0.5, friendsOfFriends: 1 });
  });

  test('after the wind-down reaches no_friend_data, no friend field beyond id (both app classes)', async (t) => {
    await check(t, scenarioArb({ phases: ['no_friend_data'], windDownRequired: true }), 30,
      { withVisibleFriends: 0.1, friendsShown: 0.2, hiddenFriendsLookedUp: 0.5 });
  });

  test('an agreement not in effect (rule 3, any cause, at its exact instant) is a 403 with no member data, on every endpoint', async (t) => {
    await check(t, brokenScenarioArb(agreementBreakageArb), 50, { refused: 1, callerFriends: 1 });
  });

  test('an invalid token, disabled app, expired grant, purpose outside the agreement or platform off is a 4xx with no member data', async (t) => {
    await check(t, brokenScenarioArb(otherBreakageArb), 40, { refused: 1, callerFriends: 1 });
  });
});
