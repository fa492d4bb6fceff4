import type { AccessPlan, RelationRules } from './access-plan.js';
import { BASIC_MASK, ID_MASK, type FieldMask } from './field-catalog.js';
import type { FieldReason } from './reason-codes.js';

/**
 * The apps and partners a member keeps from seeing them through friends (PRODUCT.md §4): for
 * those, the member is left out as if they had opted out, while others still see them.
 */
export interface FriendExclusions {
  readonly apps: readonly string[];
  readonly partners: readonly string[];
}

export const NO_EXCLUSIONS: FriendExclusions = Object.freeze({ apps: Object.freeze([]), partners: Object.freeze([]) });

/** What the field rules need to know about a subject, relative to the caller. */
export interface SubjectFacts {
  readonly id: string;
  /** The subject and the token's member are friends. */
  readonly isFriend: boolean;
  readonly platformEnabled: boolean;
  readonly shareViaFriends: boolean;
  /** Read for a friend only: a member's own consent is not through a friend. */
  readonly exclusions: FriendExclusions;
  /** The subject has an active grant with the caller's app (read for third-party apps only). */
  readonly usesApp: boolean;
  /** The subject's fields whose audience is `public` or `friends`. */
  readonly friendsAudience: FieldMask;
}

export interface WithheldFields {
  readonly reason: FieldReason;
  readonly fields: FieldMask;
}

export type SubjectDecision =
  | { readonly visible: false; readonly reason: 'stranger' | 'friend_opted_out' }
  | {
      readonly visible: true;
      readonly relation: 'self' | 'friend';
      readonly released: FieldMask;
      readonly withheld: readonly WithheldFields[];
    };

const NOTHING_WITHHELD: readonly WithheldFields[] = Object.freeze([]);
const STRANGER = Object.freeze({ visible: false, reason: 'stranger' } as const);
const OPTED_OUT = Object.freeze({ visible: false, reason: 'friend_opted_out' } as const);

/** The token's own member as a subject: always visible to themself, whatever their settings. */
export function selfFacts(id: string): SubjectFacts {
  return { id, isFriend: false, platformEnabled: true, shareViaFriends: false, exclusions: NO_EXCLUSIONS, usesApp: false, friendsAudience: 0 };
}

/** What decides whether a subject exists for the caller at all: every fact but the audiences. */
export type VisibilityFacts = Omit<SubjectFacts, 'friendsAudience'>;

/** Whether a subject exists for the caller at all, and as whom (PRODUCT.md §4). */
export type Visibility = 'self' | 'friend' | 'stranger' | 'friend_opted_out';

/** Whether the member keeps this request's app, or its partner, from seeing them through friends. */
export function excludesCaller(plan: Pick<AccessPlan, 'appId' | 'partnerId'>, exclusions: FriendExclusions): boolean {
  return exclusions.apps.includes(plan.appId) || exclusions.partners.includes(plan.partnerId);
}

/** Only a friend's own settings make them visible to a partner (PRODUCT.md §4), in both app classes. */
function friendOptedIn(plan: AccessPlan, subject: VisibilityFacts): boolean {
  if (!subject.platformEnabled) return false;
  if (excludesCaller(plan, subject.exclusions)) return false;
  return plan.appClass === 'third_party' ? subject.usesApp : subject.shareViaFriends;
}

/**
 * The first half of `decideSubject`: it reads no audience, so a friend list can be scanned on
 * the members' settings alone and the audiences read only for the friends it shows.
 */
export function subjectVisibility(plan: AccessPlan, subject: VisibilityFacts): Visibility {
  if (subject.id === plan.memberId) return 'self';
  if (!subject.isFriend || !plan.friendsVisible) return 'stranger';
  return friendOptedIn(plan, subject) ? 'friend' : 'friend_opted_out';
}

/** Walks the rules in order only when something was withheld; each field keeps its first failure. */
function withheldByRule(rules: RelationRules, pending: FieldMask, audience: FieldMask): WithheldFields[] {
  const withheld: WithheldFields[] = [];
  for (const step of rules.steps) {
    const passes = step.passes === 'subject_audience' ? audience : step.passes;
    const failing = pending & ~passes;
    if (failing !== 0) {
      withheld.push({ reason: step.reason, fields: failing });
      pending &= passes;
    }
  }
  return withheld;
}

function decideFields(rules: RelationRules, requested: FieldMask, audience: FieldMask, relation: 'self' | 'friend'): SubjectDecision {
  const asked = requested & ~ID_MASK;
  const releasable = rules.readsAudience ? rules.ceiling & audience : rules.ceiling;
  const released = asked & releasable;
  const withheld = released === asked ? NOTHING_WITHHELD : withheldByRule(rules, asked, audience);
  return { visible: true, relation, released: released | ID_MASK, withheld };
}

/**
 * The field rules of PRODUCT.md §4 for one subject: whether the subject exists for this caller at
 * all, and if so which requested fields are released and why the others are withheld. A visible
 * subject's `id` is always released.
 */
export function decideSubject(plan: AccessPlan, subject: SubjectFacts, requested: FieldMask): SubjectDecision {
  switch (subjectVisibility(plan, subject)) {
    case 'self':
      return decideFields(plan.self, requested, 0, 'self');
    case 'stranger':
      return STRANGER;
    case 'friend_opted_out':
      return OPTED_OUT;
    case 'friend':
      // Basic fields are public whatever an audience setting says (PRODUCT.md §3).
      return decideFields(plan.friend, requested, subject.friendsAudience | BASIC_MASK, 'friend');
  }
}
