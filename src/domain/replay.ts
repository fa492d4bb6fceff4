import { planAccess, planInstants, type AccessPlan, type RequestContext, type RuleStep } from './access-plan.js';
import type { AgreementTerms } from './agreement.js';
import type { AppClass } from './app.js';
import { DatapactError } from './errors.js';
import { FIELDS, ID_MASK, SENSITIVE_MASK, type FieldMask } from './field-catalog.js';
import type { Purpose } from './purposes.js';
import { FIELD_REASONS, RULES_VERSION, type FieldReason } from './reason-codes.js';
import {
  decideSubject, selfFacts, subjectVisibility, type SubjectFacts, type Visibility, type WithheldFields,
} from './subject-decision.js';
import type { Instant } from './time.js';

/**
 * Replaying a logged Graph API request through the rules engine (issue 15): the request is decided
 * again at its own logged instant, under terms that may differ from those it was decided under, and
 * the outcome compared with another (what was logged, or another replay). Pure: the world the
 * replay reads (member settings, audiences, friendships, the grant's consent) is handed in.
 */

/**
 * The fields of a friend's audiences the field rules can read under these terms: a device app's
 * friend rules read the audiences after `not_in_agreement`, so only within the agreement's friend
 * fields (a third-party app's read none). A friend's audiences narrowed to these decide alike,
 * which lets a replay share one set of facts among friends whose settings differ elsewhere.
 */
export function audienceFieldsRead(terms: Iterable<AgreementTerms>): FieldMask {
  let fields = 0;
  for (const { friendFields } of terms) fields |= friendFields;
  return fields;
}

/** The rules versions this engine decides by: an entry logged under another is not compared. */
export const KNOWN_RULES_VERSIONS: readonly string[] = [RULES_VERSION];

/** Withheld fields per reason, indexed like FIELD_REASONS: two outcomes compare mask by mask. */
export type ReasonMasks = readonly FieldMask[];

export const NO_REASONS: ReasonMasks = Object.freeze(FIELD_REASONS.map(() => 0));

/** A subject shown in a response: what was released, and per reason what was withheld. */
export interface ShownSubject {
  readonly shown: true;
  readonly released: FieldMask;
  readonly withheld: ReasonMasks;
}

/** One subject a logged response carried, as its `released` entry records it: its outcome as logged. */
export interface LoggedSubject extends ShownSubject {
  readonly id: string;
  readonly relation: 'self' | 'friend';
  /** The fields the entry lists as released: `id`, and the released fields that had a value. */
  readonly released: FieldMask;
}

/** A logged Graph API request: its request entry and the subjects its response carried. */
export interface LoggedRequest {
  readonly seq: number;
  readonly at: Instant;
  readonly appId: string;
  readonly partnerId: string;
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  readonly rulesVersion: string;
  readonly tokenMemberId: string;
  readonly purpose: string;
  readonly outcome: 'served' | 'denied';
  /** The refusal's code (denied only). */
  readonly code: string | null;
  /** The member a refused request named (a 404 lookup, another member's friend list). */
  readonly deniedSubject: string | null;
  readonly passedOver: number;
  readonly subjects: readonly LoggedSubject[];
}

/** A logged request without its subjects: what the request-level rules read. */
export type LoggedHead = Omit<LoggedRequest, 'subjects'>;

/** What the request-level rules read of today's world. */
export type RequestWorld = Pick<ReplayWorld, 'appClass' | 'consented' | 'tokenMemberPlatformEnabled' | 'sensitive'>;

/** What the replay reads of the world besides the terms: today's state, as the caller loaded it. */
export interface ReplayWorld {
  readonly appClass: AppClass;
  /** What the member consented to in the grant the request was made under. */
  readonly consented: { readonly memberFields: FieldMask; readonly friendFields: FieldMask };
  readonly tokenMemberPlatformEnabled: boolean;
  /** The facts of the request's subject at `index` relative to the token's member; undefined when no such member exists. */
  subject(index: number): SubjectFacts | undefined;
  /** The same, of the member a refused request named. */
  deniedSubject(): SubjectFacts | undefined;
  /** The sensitive class (default: the catalog's); a simulation may add fields to it. */
  readonly sensitive?: FieldMask;
}

/** A logged subject decided again (the subject is the logged one at the same index). */
export type ReplayedSubject =
  | ShownSubject
  | { readonly shown: false; readonly reason: 'stranger' | 'friend_opted_out' | 'no_such_member' };

/**
 * A request's outcome: refused with a code, or served with the subjects it would carry, index by
 * index those the log lists; `subjects` null when the log lists none to decide (a refusal that
 * would now be served).
 */
export type RequestOutcome =
  | { readonly served: false; readonly code: string; readonly cause: string | null }
  | { readonly served: true; readonly subjects: readonly ReplayedSubject[] | null };

/** The refusals of the request-level rules (PRODUCT.md §4 rules 1 to 6). */
const REQUEST_LEVEL_CODES: readonly string[] = [
  'invalid_token', 'app_disabled', 'agreement_not_in_effect', 'grant_expired', 'purpose_not_allowed', 'platform_disabled',
];

/** Far enough ahead that a token replayed as usable stays usable at any logged instant. */
const NEVER = Number.MAX_SAFE_INTEGER;

/** The fields a subject's entry shows were asked for: those released (with a value) and those withheld. */
export function requestedFields(subject: ShownSubject): FieldMask {
  let mask = subject.released;
  for (const fields of subject.withheld) mask |= fields;
  return mask;
}

export function reasonMasks(withheld: readonly WithheldFields[]): ReasonMasks {
  if (withheld.length === 0) return NO_REASONS;
  const masks = FIELD_REASONS.map(() => 0);
  for (const { reason, fields } of withheld) masks[FIELD_REASONS.indexOf(reason)]! |= fields;
  return masks;
}

/** The outcome the log records for a request. */
export function loggedOutcome(request: LoggedRequest): RequestOutcome {
  if (request.outcome === 'denied') return { served: false, code: request.code ?? 'denied', cause: null };
  return { served: true, subjects: request.subjects };
}

const NO_SUCH_MEMBER: ReplayedSubject = Object.freeze({ shown: false, reason: 'no_such_member' });
const NO_SUCH_PAIR: DecidedPair = Object.freeze({ before: NO_SUCH_MEMBER, after: NO_SUCH_MEMBER, more: 0, less: 0, reasonChanged: 0 });
const VISIBILITY_INDEX: Readonly<Record<Visibility, number>> = { self: 0, friend: 1, stranger: 2, friend_opted_out: 3 };
/** One past the largest field mask: a mask is one digit of a decision's key in this base. */
const MASK_SPAN = 2 ** FIELDS.length;


/**
 * The subject decisions of a replay, each made once (issue 15): a logged subject's decision reads,
 * besides the plan's field rules, only the subject's visibility, its audiences (a friend's) and the
 * fields asked, so requests whose plans have the same field rules share their decisions, and a
 * subject decided before under such rules with the same visibility, audiences and fields asked is
 * not decided again. Every subject is still looked at (its visibility is worked out from its facts
 * each time); the results are the engine's own (decideSubject on the first occurrence).
 */
export class ReplayDecisions {
  private readonly byRules = new PlanTable<PlanDecisions<ReplayedSubject, boolean>>();
  private readonly byTwoRules = new PlanTable<PlanTable<PlanDecisions<DecidedPair, PairOfKind>>>();
  private readonly pairsByClass = new RequestClasses<PlanPair>();
  private readonly plansByClass = new RequestClasses<{ readonly plan: AccessPlan | RequestOutcome; readonly decisions: PlanDecisions<ReplayedSubject, boolean> | undefined }>();

  /** A request's plan (or refusal) under the terms it was logged with, and the decisions under it, once per class of request. */
  planFor(request: LoggedHead, terms: AgreementTerms | null, world: RequestWorld): { readonly plan: AccessPlan | RequestOutcome; readonly decisions: PlanDecisions<ReplayedSubject, boolean> | undefined } {
    const inWorld = { terms, world };
    return this.plansByClass.get(request, inWorld, inWorld, () => {
      const plan = replayPlan(request, terms, world);
      return { plan, decisions: 'memberId' in plan ? this.forPlan(plan) : undefined };
    });
  }

  /**
   * The plans of a request under two terms (a simulation's), and the decisions under both: worked
   * out once per class of request (RequestClasses), not per request. A plan so shared may name
   * another token's member (`memberId`): compareServedColumns gives the token's own member theirs.
   */
  plansFor(request: LoggedHead, before: TermsInWorld, after: TermsInWorld): PlanPair {
    return this.pairsByClass.get(request, before, after, () => {
      const planBefore = replayPlan(request, before.terms, before.world);
      const planAfter = replayPlan(request, after.terms, after.world);
      const decisions = 'memberId' in planBefore && 'memberId' in planAfter ? this.forPlans(planBefore, planAfter) : undefined;
      return { before: planBefore, after: planAfter, decisions };
    });
  }

  /** The decisions made under the plan's field rules and what its visibility reads: one set per distinct plan in those. */
  forPlan(plan: AccessPlan): PlanDecisions<ReplayedSubject, boolean> {
    return this.byRules.get(plan, newPlanDecisions);
  }

  /** The same for a subject decided under two plans (a simulation's logged terms, then its proposal). */
  forPlans(before: AccessPlan, after: AccessPlan): PlanDecisions<DecidedPair, PairOfKind> {
    return this.byTwoRules.get(before, () => new PlanTable()).get(after, newPlanDecisions);
  }
}

/** A request's plans (or refusals) under two terms, and the decisions under both plans. */
export interface PlanPair {
  readonly before: AccessPlan | RequestOutcome;
  readonly after: AccessPlan | RequestOutcome;
  readonly decisions: PlanDecisions<DecidedPair, PairOfKind> | undefined;
}

/** Of a request's class (RequestClasses), the words that hold its strings and masks. */
const CLASS_WORDS = 16;

/**
 * Values by what the request-level rules read of a request under two terms besides the token's
 * member and the instant: the terms themselves, where the instant falls among each terms' own
 * (planInstants), the app, partner, agreement, version and purpose, the refusal code, the world's
 * app class, consent, platform setting and sensitive class. Found by a hash of those words and
 * checked word by word: a request costs a few look-ups, no plan and no string made.
 */
class RequestClasses<T> {
  private readonly strings = new Map<string | null, number>();
  private readonly objects = new Map<object | null, number>();
  private readonly instants = new Map<AgreementTerms | null, Instant[]>();
  private readonly byHash = new Map<number, Array<{ readonly words: Float64Array; readonly value: T }>>();
  private readonly words = new Float64Array(CLASS_WORDS);

  get(request: LoggedHead, before: TermsInWorld, after: TermsInWorld, make: () => T): T {
    const { words } = this;
    words[0] = this.objectIndex(before.terms);
    words[1] = this.objectIndex(after.terms);
    words[2] = this.phase(before.terms, request.at);
    words[3] = this.phase(after.terms, request.at);
    words[4] = this.stringIndex(request.appId);
    words[5] = this.stringIndex(request.partnerId);
    words[6] = this.stringIndex(request.agreementId);
    words[7] = request.agreementVersion ?? -1;
    words[8] = this.stringIndex(request.purpose);
    words[9] = this.stringIndex(request.code);
    words[10] = this.stringIndex(before.world.appClass) * 2 + (before.world.tokenMemberPlatformEnabled ? 1 : 0);
    words[11] = this.stringIndex(after.world.appClass) * 2 + (after.world.tokenMemberPlatformEnabled ? 1 : 0);
    words[12] = before.world.consented.memberFields * MASK_SPAN + before.world.consented.friendFields;
    words[13] = after.world.consented.memberFields * MASK_SPAN + after.world.consented.friendFields;
    words[14] = before.world.sensitive ?? -1;
    words[15] = after.world.sensitive ?? -1;
    let hash = 0x811c9dc5;
    for (let index = 0; index < CLASS_WORDS; index++) hash = fnv(hash, words[index]!);
    let entries = this.byHash.get(hash);
    if (entries === undefined) this.byHash.set(hash, entries = []);
    for (const entry of entries) if (sameWords(entry.words, words)) return entry.value;
    const value = make();
    entries.push({ words: words.slice(), value });
    return value;
  }

  private stringIndex(text: string | null): number {
    let index = this.strings.get(text);
    if (index === undefined) this.strings.set(text, index = this.strings.size);
    return index;
  }

  /** Terms by identity: a run's terms are a few objects, each version's and each proposal's. */
  private objectIndex(terms: AgreementTerms | null): number {
    let index = this.objects.get(terms);
    if (index === undefined) this.objects.set(terms, index = this.objects.size);
    return index;
  }

  /** How many of the terms' instants (planInstants) have come by `at`. */
  private phase(terms: AgreementTerms | null, at: Instant): number {
    let instants = this.instants.get(terms);
    if (instants === undefined) this.instants.set(terms, instants = planInstants(terms));
    let passed = 0;
    while (passed < instants.length && instants[passed]! <= at) passed++;
    return passed;
  }
}

function sameWords(a: Float64Array, b: Float64Array): boolean {
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** The plan with the token's own member as its member (a plan shared by a class of requests names the first one's). */
function withMember(plan: AccessPlan, memberId: string): AccessPlan {
  return plan.memberId === memberId ? plan : { ...plan, memberId };
}

/**
 * Values by kind (a non-negative integer below 2^31): open addressing in a typed array, a probe or
 * two a look-up, where a Map hashes each key (a replay looks up most of its subjects' kinds).
 */
export class KindTable<T> {
  private keys = new Int32Array(64).fill(-1);
  private values: Array<T | undefined> = new Array<T | undefined>(64);
  private size = 0;
  /** Fibonacci hashing: the product's top bits pick the slot (a kind's low bits are its entry, shared by many). */
  private shift = 32 - 6;

  get(kind: number): T | undefined {
    const mask = this.keys.length - 1;
    for (let slot = Math.imul(kind, 0x9e3779b1) >>> this.shift; ; slot = (slot + 1) & mask) {
      const key = this.keys[slot]!;
      if (key === kind) return this.values[slot];
      if (key === -1) return undefined;
    }
  }

  set(kind: number, value: T): void {
    if (2 * (this.size + 1) > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let slot = Math.imul(kind, 0x9e3779b1) >>> this.shift; ; slot = (slot + 1) & mask) {
      const key = this.keys[slot]!;
      if (key === kind) { this.values[slot] = value; return; }
      if (key === -1) { this.keys[slot] = kind; this.values[slot] = value; this.size++; return; }
    }
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.values = new Array<T | undefined>(keys.length * 2);
    this.size = 0;
    this.shift--;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== -1) this.set(keys[slot]!, values[slot]!);
  }
}

function newPlanDecisions<Decided, OfKind>(): PlanDecisions<Decided, OfKind> {
  return { byKey: new Map(), byKind: new KindTable() };
}

/**
 * Values by what a subject's decision reads of a plan besides the token's member (no shared facts
 * are theirs): its field rules, whether friends are visible, its app. Found by a hash of those and
 * checked against the plan kept with the value: a request costs no string made of its rules.
 */
class PlanTable<T> {
  private readonly byHash = new Map<number, Array<{ readonly plan: AccessPlan; readonly value: T }>>();

  get(plan: AccessPlan, make: () => T): T {
    const hash = planHash(plan);
    let entries = this.byHash.get(hash);
    if (entries === undefined) this.byHash.set(hash, entries = []);
    for (const entry of entries) if (samePlanRules(entry.plan, plan)) return entry.value;
    const value = make();
    entries.push({ plan, value });
    return value;
  }
}

const REASON_INDEX = new Map<string, number>(FIELD_REASONS.map((reason, index) => [reason, index]));

/** A 31-bit hash (FNV-1a over 32-bit words) of what samePlanRules compares. */
function planHash(plan: AccessPlan): number {
  let hash = stepsHash(stepsHash(0x811c9dc5, plan.self.steps), plan.friend.steps);
  hash = fnv(hash, plan.friendsVisible ? 1 : 0);
  hash = textHash(textHash(textHash(hash, plan.appClass), plan.appId), plan.partnerId);
  return hash & 0x7fffffff;
}

function fnv(hash: number, word: number): number {
  return Math.imul(hash ^ word, 0x01000193);
}

function stepsHash(hash: number, steps: readonly RuleStep[]): number {
  let next = fnv(hash, steps.length);
  for (const step of steps) next = fnv(fnv(next, REASON_INDEX.get(step.reason) ?? -1), step.passes === 'subject_audience' ? -1 : step.passes);
  return next;
}

function textHash(hash: number, text: string): number {
  let next = fnv(hash, text.length);
  for (let index = 0; index < text.length; index++) next = fnv(next, text.charCodeAt(index));
  return next;
}

function samePlanRules(a: AccessPlan, b: AccessPlan): boolean {
  return sameSteps(a.self.steps, b.self.steps) && sameSteps(a.friend.steps, b.friend.steps) && a.friendsVisible === b.friendsVisible
    && a.appClass === b.appClass && a.appId === b.appId && a.partnerId === b.partnerId;
}

function sameSteps(a: readonly RuleStep[], b: readonly RuleStep[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index]!.reason !== b[index]!.reason || a[index]!.passes !== b[index]!.passes) return false;
  return true;
}

/**
 * The decisions made under one plan's field rules (`byKey`: by decisionKey, which holds the
 * subject's visibility) and, for subjects read as columns, what was found for a subject of a kind
 * (SubjectColumns.kind: its logged entry and its shared facts) under the plan, visibility included.
 */
export interface PlanDecisions<Decided, OfKind> {
  readonly byKey: Map<number, Decided>;
  readonly byKind: KindTable<OfKind>;
}

/** A subject of a kind decided under two plans, and whether the first decision differs from its logged entry. */
interface PairOfKind {
  readonly pair: DecidedPair;
  readonly differsFromLog: boolean;
}


/** A subject decided under two plans, and what changes from the first decision to the second (as subjectChange finds it). */
export interface DecidedPair {
  readonly before: ReplayedSubject;
  readonly after: ReplayedSubject;
  /** Released in the second and not the first, the other way round, withheld in both for another reason. */
  readonly more: FieldMask;
  readonly less: FieldMask;
  readonly reasonChanged: FieldMask;
}

function pairOf(before: ReplayedSubject, after: ReplayedSubject): DecidedPair {
  const was = releasedOf(before);
  const now = releasedOf(after);
  return { before, after, more: now & ~was, less: was & ~now, reasonChanged: reasonChangedBetween(before, after, was, now) };
}

/** The key of a subject's decision under one plan's field rules: its visibility, a friend's audiences, the fields asked. */
function decisionKey(visibility: Visibility, facts: SubjectFacts, requested: FieldMask): number {
  const audience = visibility === 'friend' ? facts.friendsAudience : 0;
  return (VISIBILITY_INDEX[visibility] * MASK_SPAN + audience) * MASK_SPAN + requested;
}

/** A replayed subject as the engine decides it, from the decisions already made under the same field rules when it can. */
function decideLogged(plan: AccessPlan, decisions: Map<number, ReplayedSubject>, subject: ShownSubject, facts: SubjectFacts | undefined): ReplayedSubject {
  if (facts === undefined) return NO_SUCH_MEMBER;
  const requested = requestedFields(subject);
  const key = decisionKey(subjectVisibility(plan, facts), facts, requested);
  let decided = decisions.get(key);
  if (decided === undefined) decisions.set(key, decided = decideAfresh(plan, facts, requested));
  return decided;
}

function decideAfresh(plan: AccessPlan, facts: SubjectFacts, requested: FieldMask): ReplayedSubject {
  const decision = decideSubject(plan, facts, requested);
  return decision.visible ? { shown: true, released: decision.released, withheld: reasonMasks(decision.withheld) } : { shown: false, reason: decision.reason };
}

/**
 * The request as the request-level rules saw it. What the log does not keep (the token's lifetime,
 * the app's status, the grant's idleness) is read from its logged refusal: those rules come
 * before or beside the agreement's and no proposal changes them.
 */
function requestContext(request: LoggedHead, terms: AgreementTerms | null, world: RequestWorld): RequestContext {
  const { at, code } = request;
  return {
    token: { grantId: 'replayed', expiresAt: code === 'invalid_token' ? at : NEVER, revokedAt: null, scope: null },
    app: { id: request.appId, partnerId: request.partnerId, name: request.appId, class: world.appClass, status: code === 'app_disabled' ? 'disabled' : 'active' },
    agreement: terms,
    grant: {
      id: 'replayed', memberId: request.tokenMemberId, appId: request.appId, agreementId: request.agreementId,
      agreementVersion: request.agreementVersion, purpose: request.purpose as Purpose,
      memberFields: world.consented.memberFields, friendFields: world.consented.friendFields,
      grantedAt: at, lastUsedAt: at, revokedAt: code === 'grant_expired' ? at : null,
    },
    member: { id: request.tokenMemberId, platformEnabled: world.tokenMemberPlatformEnabled },
  };
}

/** A logged refusal whose request-level rules now pass: what the route would decide next. */
function redecideRefusal(plan: AccessPlan, request: LoggedRequest, world: ReplayWorld): RequestOutcome {
  const { code } = request;
  if (code === null || REQUEST_LEVEL_CODES.includes(code)) return { served: true, subjects: null };
  if (code === 'not_consented') return plan.friendsVisible ? { served: true, subjects: null } : refused(code);
  if (code === 'not_found' && request.deniedSubject !== null) {
    const facts = world.deniedSubject();
    const visibility = facts === undefined ? 'stranger' : subjectVisibility(plan, facts);
    return visibility === 'self' || visibility === 'friend' ? { served: true, subjects: null } : refused(code);
  }
  // friends_of_friends_forbidden, and any refusal the rules do not decide: the same again.
  return refused(code);
}

function refused(code: string, cause: string | null = null): RequestOutcome {
  return { served: false, code, cause };
}

/** The request-level rules at the request's own instant: its plan, or its refusal. */
function replayPlan(request: LoggedHead, terms: AgreementTerms | null, world: RequestWorld): AccessPlan | RequestOutcome {
  try {
    return planAccess(requestContext(request, terms, world), request.at, world.sensitive ?? SENSITIVE_MASK);
  } catch (error) {
    if (error instanceof DatapactError) return refused(error.code, error.exposedCause ?? null);
    throw error;
  }
}

/**
 * A logged request's subjects read as columns (issue 15's replay speed): each subject's logged
 * lists and today's facts as shared objects, so a replay makes no object per subject.
 */
export interface SubjectColumns {
  readonly length: number;
  /** The subject's entry as logged (one object per distinct pair of lists, shared). */
  logged(index: number): ShownSubject & { readonly relation: 'self' | 'friend' };
  /** What replayRequest reads of it: selfFacts for a `self` entry, else the world's subject(index). */
  facts(index: number): SubjectFacts | undefined;
  /** The number of the member the entry names (a simulation counts distinct members by it); -1 when none. */
  member(index: number): number;
  /**
   * A small number that two subjects share only when their logged entries and their facts are the
   * same objects (shared: decided alike under one plan), or -1 (the token's own member, a `self`
   * entry, facts of their own): such a subject is decided on its own. A subject with a kind is a
   * friend's entry.
   */
  kind(index: number): number;
}

/**
 * replayRequest then compareOutcomes against the log, for a request logged as served, in one pass
 * over its subjects' columns: true when the replay decides every subject as the log records it
 * (compareOutcomes would find no change). False means it may not: the caller replays the request
 * the general way, which says what differs.
 */
export function servedAsLogged(request: LoggedHead, subjects: SubjectColumns, terms: AgreementTerms | null, world: RequestWorld,
  decisions: ReplayDecisions): boolean {
  if (request.outcome !== 'served') return false;
  const { plan, decisions: planDecisions } = decisions.planFor(request, terms, world);
  if (!('memberId' in plan) || planDecisions === undefined) return false;
  const { byKey, byKind } = planDecisions;
  let throughFriends = true;
  let lastKind = -1;
  for (let index = 0; index < subjects.length; index++) {
    // Most subjects are of a kind met before under such a plan: what was found then holds (a friend's entry: a subject with
    // a kind is never a `self` one).
    const kind = subjects.kind(index);
    // The kind of the subject before (found the same, or this would have returned): no look-up.
    if (kind >= 0 && kind === lastKind) continue;
    const known = kind < 0 ? undefined : byKind.get(kind);
    lastKind = kind;
    if (known === true) continue;
    if (known === false) return false;
    const logged = subjects.logged(index);
    if (logged.relation === 'self') throughFriends = false;
    const facts = subjects.facts(index);
    // A plan shared by a class of requests may name another token's member (as in compareServedColumns).
    const named = facts !== undefined && (facts.id === request.tokenMemberId || facts.id === plan.memberId);
    const same = sameRelease(logged, decideLogged(named ? withMember(plan, request.tokenMemberId) : plan, byKey, logged, facts));
    if (kind >= 0) byKind.set(kind, same);
    if (!same) return false;
  }
  // Every subject shown as logged: only replayRequest's refusal of a friend list without `friends` is left.
  return !refusesFriendList(plan, request, subjects.length, throughFriends);
}

/**
 * A logged refusal the request-level rules make again with the same code today (the plan of its
 * class: replayRequest then refuses it the same way, and compareOutcomes finds nothing), without
 * replaying it (no refusal thrown and caught per request).
 */
export function refusedAsLogged(request: LoggedHead, terms: AgreementTerms | null, world: RequestWorld, decisions: ReplayDecisions): boolean {
  if (request.outcome !== 'denied') return false;
  const { plan } = decisions.planFor(request, terms, world);
  return !('memberId' in plan) && !plan.served && plan.code === (request.code ?? 'denied');
}

/** A subject decided under two plans, from the pairs already decided under the same two sets of field rules when it can. */
function decidePair(before: AccessPlan, after: AccessPlan, pairs: Map<number, DecidedPair>, subject: ShownSubject, facts: SubjectFacts | undefined): DecidedPair {
  if (facts === undefined) return NO_SUCH_PAIR;
  const visibleBefore = subjectVisibility(before, facts);
  const visibleAfter = subjectVisibility(after, facts);
  const requested = requestedFields(subject);
  // A decision reads the audiences only of a friend shown.
  const audience = visibleBefore === 'friend' || visibleAfter === 'friend' ? facts.friendsAudience : 0;
  const key = ((VISIBILITY_INDEX[visibleBefore] * 4 + VISIBILITY_INDEX[visibleAfter]) * MASK_SPAN + audience) * MASK_SPAN + requested;
  let pair = pairs.get(key);
  if (pair === undefined) pairs.set(key, pair = pairOf(decideAfresh(before, facts, requested), decideAfresh(after, facts, requested)));
  return pair;
}

/** Terms and the world the request-level rules read under them. */
export interface TermsInWorld {
  readonly terms: AgreementTerms | null;
  readonly world: RequestWorld;
}

/** The subjects whose release changes between two replays of a request: their indexes, and their pairs, index by index. */
export interface ChangedSubjects {
  readonly indexes: number[];
  readonly pairs: DecidedPair[];
}

/**
 * A logged served request replayed under two terms (a simulation's logged terms, then its
 * proposal) in one pass over its subjects' columns, with what replayRequest under each and
 * compareOutcomes (the log against the first replay, the first against the second) would find:
 * whether the first replay differs from the log (true) or not, and, written into `changed`, the
 * subjects whose release changes between the two. Undefined when either replay refuses the
 * request, or leaves a lookup's friend out (a refusal): the general path says how.
 */
export function compareServedColumns(request: LoggedHead, subjects: SubjectColumns, before: TermsInWorld, after: TermsInWorld,
  decisions: ReplayDecisions, changed: ChangedSubjects): boolean | undefined {
  changed.indexes.length = 0;
  changed.pairs.length = 0;
  if (request.outcome !== 'served') return undefined;
  const { before: planBefore, after: planAfter, decisions: pairs } = decisions.plansFor(request, before, after);
  if (!('memberId' in planBefore) || !('memberId' in planAfter) || pairs === undefined) return undefined;
  const { byKey, byKind } = pairs;
  let lastKind = -1;
  let lastOfKind: PairOfKind | undefined;
  let differsFromLog = false;
  let throughFriends = true;
  let first: DecidedPair | undefined;
  for (let index = 0; index < subjects.length; index++) {
    // As in servedAsLogged: a subject of a kind met before under such plans is decided as it was (a friend's entry: a
    // subject with a kind is never a `self` one).
    const kind = subjects.kind(index);
    let ofKind = kind < 0 ? undefined : kind === lastKind ? lastOfKind : byKind.get(kind);
    if (ofKind === undefined) {
      const logged = subjects.logged(index);
      if (logged.relation === 'self') throughFriends = false;
      const facts = subjects.facts(index);
      // A plan shared by a class of requests may name another token's member: the token's own member is seen as themself,
      // that other member as anyone else.
      const named = facts !== undefined && (facts.id === request.tokenMemberId || facts.id === planBefore.memberId);
      const decided = named ? decidePair(withMember(planBefore, request.tokenMemberId), withMember(planAfter, request.tokenMemberId), byKey, logged, facts)
        : decidePair(planBefore, planAfter, byKey, logged, facts);
      ofKind = { pair: decided, differsFromLog: !sameRelease(logged, decided.before) };
      if (kind >= 0) byKind.set(kind, ofKind);
    }
    lastKind = kind;
    lastOfKind = ofKind;
    const { pair } = ofKind;
    first ??= pair;
    if (ofKind.differsFromLog) differsFromLog = true;
    if ((pair.more | pair.less | pair.reasonChanged) !== 0) { changed.indexes.push(index); changed.pairs.push(pair); }
  }
  const count = subjects.length;
  if (refusesFriendList(planBefore, request, count, throughFriends) || refusesFriendList(planAfter, request, count, throughFriends)) return undefined;
  if (throughFriends && isLookup(request, count) && (!first!.before.shown || !first!.after.shown)) return undefined;
  return differsFromLog;
}

/** A request for one friend: one subject through friends, none passed over (a 404 when the friend is not visible). */
function isLookup(request: LoggedHead, subjectCount: number): boolean {
  return subjectCount === 1 && request.passedOver === 0;
}

/** The route's refusal of a friend list (all its subjects through friends, not a lookup) without `friends`: 403 not_consented. */
function refusesFriendList(plan: AccessPlan, request: LoggedHead, subjectCount: number, throughFriends: boolean): boolean {
  return throughFriends && !plan.friendsVisible && !isLookup(request, subjectCount);
}

/**
 * Decides a logged request again at its own instant under `terms` (null: no agreement), with the
 * real engine (planAccess, then decideSubject for each subject the response carried). A replay of
 * many requests passes one `decisions` to all of them.
 */
export function replayRequest(request: LoggedRequest, terms: AgreementTerms | null, world: ReplayWorld, decisions = new ReplayDecisions()): RequestOutcome {
  const plan = replayPlan(request, terms, world);
  if (!('memberId' in plan)) return plan;
  if (request.outcome === 'denied') return redecideRefusal(plan, request, world);
  const decided = decisions.forPlan(plan).byKey;
  const subjects = request.subjects.map((subject, index) =>
    decideLogged(plan, decided, subject, subject.relation === 'self' ? selfFacts(subject.id) : world.subject(index)));
  const throughFriends = !request.subjects.some((subject) => subject.relation === 'self');
  // A friend list leaves hidden friends out.
  if (refusesFriendList(plan, request, subjects.length, throughFriends)) return refused('not_consented');
  if (throughFriends && isLookup(request, subjects.length) && !subjects[0]!.shown) return refused('not_found');
  return { served: true, subjects };
}

/** How one subject's release differs between two outcomes of the same request. */
export interface SubjectChange {
  readonly id: string;
  readonly relation: 'self' | 'friend';
  /** Released in the second outcome and not in the first (`id`: the subject is shown now). */
  readonly more: FieldMask;
  readonly less: FieldMask;
  /** Withheld in both, for a different reason. */
  readonly reasonChanged: FieldMask;
  /** The subject is shown in one outcome only: `left_out` now, or `shown` now. */
  readonly visibility: 'unchanged' | 'left_out' | 'shown';
}

/** How a request's outcome differs between `before` and `after`; null when they are the same. */
export interface RequestChange {
  /** Served before, refused after: the code after. */
  readonly refusedNow: string | null;
  readonly refusedNowCause: string | null;
  /** Refused before, served after (its subjects unknown: the log lists none). */
  readonly servedNow: boolean;
  /** Refused both times, with another code after. */
  readonly codeChanged: { readonly from: string; readonly to: string } | null;
  readonly subjects: readonly SubjectChange[];
}

function releasedOf(subject: ReplayedSubject | undefined): FieldMask {
  return subject?.shown === true ? subject.released : 0;
}

/** The fields withheld in both outcomes for a different reason. */
function reasonChangedBetween(before: ReplayedSubject, after: ReplayedSubject | undefined, was: FieldMask, now: FieldMask): FieldMask {
  let reasonChanged = 0;
  if (before.shown && after?.shown) {
    for (let index = 0; index < FIELD_REASONS.length; index++) {
      const a = before.withheld[index]!;
      const b = after.withheld[index]!;
      // A field withheld in both whose reason moved: in one reason's mask and not the other's.
      if (a !== b) reasonChanged |= (a ^ b) & ~(was | now);
    }
  }
  return reasonChanged;
}

/** Whether subjectChange finds nothing between the two. */
function sameRelease(before: ReplayedSubject, after: ReplayedSubject): boolean {
  if (before === after) return true;
  const was = releasedOf(before);
  const now = releasedOf(after);
  return was === now && reasonChangedBetween(before, after, was, now) === 0;
}

function subjectChange(logged: LoggedSubject, before: ReplayedSubject, after: ReplayedSubject | undefined): SubjectChange | null {
  if (before === after) return null;
  const was = releasedOf(before);
  const now = releasedOf(after);
  const reasonChanged = reasonChangedBetween(before, after, was, now);
  const more = now & ~was;
  const less = was & ~now;
  if (more === 0 && less === 0 && reasonChanged === 0) return null;
  const visibility = (was & ID_MASK) === (now & ID_MASK) ? 'unchanged' : now & ID_MASK ? 'shown' : 'left_out';
  return { id: logged.id, relation: logged.relation, more, less, reasonChanged, visibility };
}

const NO_CHANGE_OF_CODE = null;

/** What differs between two outcomes of one logged request (their subjects line up with the request's). */
export function compareOutcomes(request: LoggedRequest, before: RequestOutcome, after: RequestOutcome): RequestChange | null {
  if (!before.served && !after.served) {
    return before.code === after.code ? null
      : { refusedNow: null, refusedNowCause: null, servedNow: false, codeChanged: { from: before.code, to: after.code }, subjects: [] };
  }
  if (!before.served) return { refusedNow: null, refusedNowCause: null, servedNow: true, codeChanged: NO_CHANGE_OF_CODE, subjects: [] };
  const beforeSubjects = before.subjects ?? [];
  const afterSubjects = after.served ? after.subjects : [];
  const subjects: SubjectChange[] = [];
  for (let index = 0; index < beforeSubjects.length; index++) {
    const change = subjectChange(request.subjects[index]!, beforeSubjects[index]!, afterSubjects?.[index]);
    if (change !== null) subjects.push(change);
  }
  if (!after.served) return { refusedNow: after.code, refusedNowCause: after.cause, servedNow: false, codeChanged: null, subjects };
  return subjects.length === 0 ? null : { refusedNow: null, refusedNowCause: null, servedNow: false, codeChanged: null, subjects };
}

/** The reasons whose outcome hangs on a member's current settings, audiences or consent, not on the rules. */
const SETTINGS_REASONS: readonly FieldReason[] = ['audience_restricted', 'not_consented'];
const SETTINGS_MASK_INDEXES = SETTINGS_REASONS.map((reason) => FIELD_REASONS.indexOf(reason));
const SETTINGS_CODES: readonly string[] = ['platform_disabled', 'not_found'];

/** The fields a subject has withheld for a reason that reads members' settings, in one outcome. */
function settingsWithheld(request: LoggedRequest, outcome: RequestOutcome, id: string): FieldMask {
  if (!outcome.served || outcome.subjects === null) return 0;
  const subject = outcome.subjects[request.subjects.findIndex((s) => s.id === id)];
  if (!subject?.shown) return 0;
  let mask = 0;
  for (const index of SETTINGS_MASK_INDEXES) mask |= subject.withheld[index]!;
  return mask;
}

/**
 * Whether a difference between the log and a replay today can be explained by what members changed
 * since (the world the replay reads is today's): a friend shown or left out (friendship, settings,
 * exclusions), a field withheld for an audience or a consent on one side only, the token's member
 * turning the platform off. Anything else is the rules deciding differently: a regression.
 */
export function causedBySettings(request: LoggedRequest, change: RequestChange, logged: RequestOutcome, replayed: RequestOutcome): boolean {
  if (change.refusedNow !== null && SETTINGS_CODES.includes(change.refusedNow)) return true;
  if (change.codeChanged !== null && (SETTINGS_CODES.includes(change.codeChanged.from) || SETTINGS_CODES.includes(change.codeChanged.to))) return true;
  if (change.servedNow) return !logged.served && SETTINGS_CODES.includes(logged.code);
  if (change.subjects.length === 0) return false;
  return change.subjects.every((subject) => {
    if (subject.visibility !== 'unchanged') return subject.relation === 'friend';
    const explained = settingsWithheld(request, logged, subject.id) | settingsWithheld(request, replayed, subject.id);
    return ((subject.more | subject.less | subject.reasonChanged) & ~explained) === 0;
  });
}
