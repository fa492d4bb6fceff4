import { planAccess, type AccessPlan, type RequestContext } from './access-plan.js';
import type { AgreementTerms } from './agreement.js';
import type { AppClass } from './app.js';
import { DatapactError } from './errors.js';
import { ID_MASK, SENSITIVE_MASK, type FieldMask } from './field-catalog.js';
import type { Purpose } from './purposes.js';
import { FIELD_REASONS, RULES_VERSION, type FieldReason } from './reason-codes.js';
import { decideSubject, selfFacts, subjectVisibility, type SubjectFacts, type WithheldFields } from './subject-decision.js';
import type { Instant } from './time.js';

/**
 * Replaying a logged Graph API request through the rules engine (issue 15): the request is decided
 * again at its own logged instant, under terms that may differ from those it was decided under, and
 * the outcome compared with another (what was logged, or another replay). Pure: the world the
 * replay reads (member settings, audiences, friendships, the grant's consent) is handed in.
 */

/** The rules versions this engine decides by: an entry logged under another is not compared. */
export const KNOWN_RULES_VERSIONS: readonly string[] = [RULES_VERSION];

/** Withheld fields per reason, indexed like FIELD_REASONS: two outcomes compare mask by mask. */
export type ReasonMasks = readonly FieldMask[];

export const NO_REASONS: ReasonMasks = Object.freeze(FIELD_REASONS.map(() => 0));

/** One subject a logged response carried, as its `released` entry records it. */
export interface LoggedSubject {
  readonly id: string;
  readonly relation: 'self' | 'friend';
  /** The fields the entry lists as released: `id`, and the released fields that had a value. */
  readonly released: FieldMask;
  readonly withheld: ReasonMasks;
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

/** What the replay reads of the world besides the terms: today's state, as the caller loaded it. */
export interface ReplayWorld {
  readonly appClass: AppClass;
  /** What the member consented to in the grant the request was made under. */
  readonly consented: { readonly memberFields: FieldMask; readonly friendFields: FieldMask };
  readonly tokenMemberPlatformEnabled: boolean;
  /** A subject's facts relative to the token's member; undefined when no such member exists. */
  subject(id: string): SubjectFacts | undefined;
  /** The sensitive class (default: the catalog's); a simulation may add fields to it. */
  readonly sensitive?: FieldMask;
}

export type ReplayedSubject =
  | { readonly id: string; readonly relation: 'self' | 'friend'; readonly shown: true; readonly released: FieldMask; readonly withheld: ReasonMasks }
  | { readonly id: string; readonly relation: 'self' | 'friend'; readonly shown: false; readonly reason: 'stranger' | 'friend_opted_out' | 'no_such_member' };

/**
 * A request's outcome: refused with a code, or served with the subjects it would carry, in the
 * logged order; `subjects` null when the log lists none to decide (a refusal that would now be served).
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
export function requestedFields(subject: LoggedSubject): FieldMask {
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
  return { served: true, subjects: request.subjects.map((s) => ({ id: s.id, relation: s.relation, shown: true, released: s.released, withheld: s.withheld })) };
}

/**
 * The request as the request-level rules saw it. What the log does not keep (the token's lifetime,
 * the app's status, the grant's idleness) is read from its logged refusal: those rules come
 * before or beside the agreement's and no proposal changes them.
 */
function requestContext(request: LoggedRequest, terms: AgreementTerms | null, world: ReplayWorld): RequestContext {
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

function decideLogged(plan: AccessPlan, subject: LoggedSubject, world: ReplayWorld): ReplayedSubject {
  const facts = subject.relation === 'self' ? selfFacts(subject.id) : world.subject(subject.id);
  if (facts === undefined) return { id: subject.id, relation: subject.relation, shown: false, reason: 'no_such_member' };
  const decision = decideSubject(plan, facts, requestedFields(subject));
  if (!decision.visible) return { id: subject.id, relation: subject.relation, shown: false, reason: decision.reason };
  return { id: subject.id, relation: subject.relation, shown: true, released: decision.released, withheld: reasonMasks(decision.withheld) };
}

/** A logged refusal whose request-level rules now pass: what the route would decide next. */
function redecideRefusal(plan: AccessPlan, request: LoggedRequest, world: ReplayWorld): RequestOutcome {
  const { code } = request;
  if (code === null || REQUEST_LEVEL_CODES.includes(code)) return { served: true, subjects: null };
  if (code === 'not_consented') return plan.friendsVisible ? { served: true, subjects: null } : refused(code);
  if (code === 'not_found' && request.deniedSubject !== null) {
    const facts = world.subject(request.deniedSubject);
    const visibility = facts === undefined ? 'stranger' : subjectVisibility(plan, facts);
    return visibility === 'self' || visibility === 'friend' ? { served: true, subjects: null } : refused(code);
  }
  // friends_of_friends_forbidden, and any refusal the rules do not decide: the same again.
  return refused(code);
}

function refused(code: string, cause: string | null = null): RequestOutcome {
  return { served: false, code, cause };
}

/**
 * Decides a logged request again at its own instant under `terms` (null: no agreement), with the
 * real engine (planAccess, then decideSubject for each subject the response carried).
 */
export function replayRequest(request: LoggedRequest, terms: AgreementTerms | null, world: ReplayWorld): RequestOutcome {
  let plan: AccessPlan;
  try {
    plan = planAccess(requestContext(request, terms, world), request.at, world.sensitive ?? SENSITIVE_MASK);
  } catch (error) {
    if (error instanceof DatapactError) return refused(error.code, error.exposedCause ?? null);
    throw error;
  }
  if (request.outcome === 'denied') return redecideRefusal(plan, request, world);
  const subjects = request.subjects.map((subject) => decideLogged(plan, subject, world));
  const throughFriends = !request.subjects.some((subject) => subject.relation === 'self');
  // A lookup of one friend (one subject, none passed over) answers 404 when the friend is not visible;
  // a friend list answers 403 not_consented without `friends`, and leaves hidden friends out.
  const lookup = request.subjects.length === 1 && request.passedOver === 0;
  if (throughFriends && !plan.friendsVisible && !lookup) return refused('not_consented');
  if (throughFriends && lookup && !subjects[0]!.shown) return refused('not_found');
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

function subjectChange(before: ReplayedSubject, after: ReplayedSubject | undefined): SubjectChange | null {
  const was = releasedOf(before);
  const now = releasedOf(after);
  let reasonChanged = 0;
  if (before.shown && after?.shown) {
    for (let index = 0; index < FIELD_REASONS.length; index++) {
      const a = before.withheld[index]!;
      const b = after.withheld[index]!;
      // A field withheld in both whose reason moved: in one reason's mask and not the other's.
      if (a !== b) reasonChanged |= (a ^ b) & ~(was | now);
    }
  }
  const more = now & ~was;
  const less = was & ~now;
  if (more === 0 && less === 0 && reasonChanged === 0) return null;
  const visibility = (was & ID_MASK) === (now & ID_MASK) ? 'unchanged' : now & ID_MASK ? 'shown' : 'left_out';
  return { id: before.id, relation: before.relation, more, less, reasonChanged, visibility };
}

const NO_CHANGE_OF_CODE = null;

/** What differs between two outcomes of one request (the subjects line up: both come from its log). */
export function compareOutcomes(before: RequestOutcome, after: RequestOutcome): RequestChange | null {
  if (!before.served && !after.served) {
    return before.code === after.code ? null
      : { refusedNow: null, refusedNowCause: null, servedNow: false, codeChanged: { from: before.code, to: after.code }, subjects: [] };
  }
  if (!before.served) return { refusedNow: null, refusedNowCause: null, servedNow: true, codeChanged: NO_CHANGE_OF_CODE, subjects: [] };
  const beforeSubjects = before.subjects ?? [];
  const afterSubjects = after.served ? after.subjects : [];
  const subjects: SubjectChange[] = [];
  beforeSubjects.forEach((subject, index) => {
    const change = subjectChange(subject, afterSubjects?.[index]);
    if (change !== null) subjects.push(change);
  });
  if (!after.served) return { refusedNow: after.code, refusedNowCause: after.cause, servedNow: false, codeChanged: null, subjects };
  return subjects.length === 0 ? null : { refusedNow: null, refusedNowCause: null, servedNow: false, codeChanged: null, subjects };
}

/** The reasons whose outcome hangs on a member's current settings, audiences or consent, not on the rules. */
const SETTINGS_REASONS: readonly FieldReason[] = ['audience_restricted', 'not_consented'];
const SETTINGS_MASK_INDEXES = SETTINGS_REASONS.map((reason) => FIELD_REASONS.indexOf(reason));
const SETTINGS_CODES: readonly string[] = ['platform_disabled', 'not_found'];

/** The fields a subject has withheld for a reason that reads members' settings, in one outcome. */
function settingsWithheld(outcome: RequestOutcome, id: string): FieldMask {
  if (!outcome.served || outcome.subjects === null) return 0;
  const subject = outcome.subjects.find((s) => s.id === id);
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
export function causedBySettings(change: RequestChange, logged: RequestOutcome, replayed: RequestOutcome): boolean {
  if (change.refusedNow !== null && SETTINGS_CODES.includes(change.refusedNow)) return true;
  if (change.codeChanged !== null && (SETTINGS_CODES.includes(change.codeChanged.from) || SETTINGS_CODES.includes(change.codeChanged.to))) return true;
  if (change.servedNow) return !logged.served && SETTINGS_CODES.includes(logged.code);
  if (change.subjects.length === 0) return false;
  return change.subjects.every((subject) => {
    if (subject.visibility !== 'unchanged') return subject.relation === 'friend';
    const explained = settingsWithheld(logged, subject.id) | settingsWithheld(replayed, subject.id);
    return ((subject.more | subject.less | subject.reasonChanged) & ~explained) === 0;
  });
}
