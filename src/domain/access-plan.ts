import { grantWithinToken, tokenIsUsable, type AccessTokenState } from './access-token.js';
import { CERTIFICATION_GRACE_DAYS, notInEffectCause, type AgreementTerms } from './agreement.js';
import type { App, AppClass } from './app.js';
import {
  AgreementNotInEffect,
  AppDisabled,
  GrantExpired,
  InvalidToken,
  PlatformDisabled,
  PurposeNotAllowed,
} from './errors.js';
import { ALL_FIELDS_MASK, BASIC_MASK, FRIENDS_MASK, SENSITIVE_MASK, type FieldMask } from './field-catalog.js';
import { grantIsActive, type Grant } from './grant.js';
import type { FieldReason } from './reason-codes.js';
import { addDays, type Instant } from './time.js';
import { hasReached } from './wind-down.js';

/** Everything the request-level rules read: the token, its grant and the world around them. */
export interface RequestContext {
  readonly token: AccessTokenState;
  readonly grant: Grant;
  readonly app: App;
  readonly agreement: AgreementTerms | null;
  /** `number`: the member's number (store), read with the token; the audit counts use it, no rule does. */
  readonly member: { readonly id: string; readonly platformEnabled: boolean; readonly number?: number };
}

/**
 * One field rule: the fields that pass it. A subject's audience is the only input that differs
 * per subject, so it is marked rather than stored.
 */
export interface RuleStep {
  readonly reason: FieldReason;
  readonly passes: FieldMask | 'subject_audience';
}

/** The field rules for one relation between the caller and a subject, in the order §4 checks them. */
export interface RelationRules {
  readonly steps: readonly RuleStep[];
  /** The intersection of every subject-independent step: what may be released at most. */
  readonly ceiling: FieldMask;
  readonly readsAudience: boolean;
}

/**
 * What one request may release, worked out once per request so that a field decision is a few
 * bit operations (agreement ∩ grant as masks).
 */
export interface AccessPlan {
  readonly now: Instant;
  readonly memberId: string;
  readonly appId: string;
  /** The partner of the agreement the grant was given under: a member may exclude a whole partner. */
  readonly partnerId: string;
  readonly appClass: AppClass;
  readonly agreement: AgreementTerms;
  readonly grant: Grant;
  /** `friends` is in the agreement's member fields and in the grant: friends can be seen at all. */
  readonly friendsVisible: boolean;
  readonly self: RelationRules;
  readonly friend: RelationRules;
}

function relation(steps: RuleStep[]): RelationRules {
  let ceiling = ALL_FIELDS_MASK;
  for (const step of steps) if (step.passes !== 'subject_audience') ceiling &= step.passes;
  return { steps, ceiling, readsAudience: steps.some((step) => step.passes === 'subject_audience') };
}

function friendRules(appClass: AppClass, agreement: AgreementTerms, grant: Grant, now: Instant, sensitive: FieldMask): RelationRules {
  const friendDataEnded = hasReached(agreement.windDown, 'no_friend_data', now);
  if (appClass === 'third_party') {
    // Through a third-party app a friend is basic fields only, within what the agreement and the
    // member's own grant name; a wind-down ends those too.
    return relation([
      { reason: 'third_party_friend_data', passes: BASIC_MASK },
      { reason: 'not_in_agreement', passes: agreement.memberFields },
      { reason: 'not_consented', passes: grant.memberFields },
      { reason: 'wind_down', passes: friendDataEnded ? 0 : ALL_FIELDS_MASK },
    ]);
  }
  // Device partners: the agreement's friend fields, narrowed by the member's consent (a grant
  // bounds everything released through it), the friend's own audiences, the wind-down and the
  // sensitive class, in that order.
  return relation([
    { reason: 'not_in_agreement', passes: agreement.friendFields },
    { reason: 'not_consented', passes: grant.friendFields },
    { reason: 'audience_restricted', passes: 'subject_audience' },
    { reason: 'wind_down', passes: friendDataEnded ? 0 : ALL_FIELDS_MASK },
    { reason: 'sensitive_field', passes: ALL_FIELDS_MASK & ~sensitive },
  ]);
}

/**
 * The instants of the terms at which planAccess's answer can change for a token and a grant that
 * neither expire nor end (a replay's): the terms' start, end, certification grace and wind-down
 * phases, each in force from its exact instant. Between two of them, planAccess under the terms
 * answers alike whatever the instant (a replay decides a class of requests once, not each).
 */
export function planInstants(agreement: AgreementTerms | null): Instant[] {
  if (agreement === null) return [];
  const instants = [agreement.startsAt, agreement.endsAt, addDays(agreement.certificationDueAt, CERTIFICATION_GRACE_DAYS)];
  if (agreement.windDown !== null) instants.push(agreement.windDown.noNewGrants, agreement.windDown.noFriendData, agreement.windDown.accessEnded);
  return instants.sort((a, b) => a - b);
}

/**
 * The request-level rules of PRODUCT.md §4, in order; the first that fails refuses the whole
 * request. On success, the plan for the field rules, which read the grant as far as the token
 * reaches (a token down-scoped at refresh releases no more than its scope). `sensitive` is the
 * sensitive class, an input only so that a simulation can try a rules change (an extra field).
 */
export function planAccess(context: RequestContext, now: Instant, sensitive: FieldMask = SENSITIVE_MASK): AccessPlan {
  const { token, app, agreement, member } = context;
  const grant = grantWithinToken(context.grant, token);
  if (!tokenIsUsable(token, now)) throw new InvalidToken('The access token has expired or was revoked.');
  if (app.status !== 'active') throw new AppDisabled(`The app ${app.id} is disabled.`);
  const cause = notInEffectCause(agreement, now);
  if (cause !== null || agreement === null) {
    throw new AgreementNotInEffect(`The agreement behind this grant is not in effect (${cause}).`, cause ?? 'no_agreement');
  }
  if (!grantIsActive(grant, now)) {
    throw new GrantExpired('The grant was revoked or unused for 90 days; the member must consent again.');
  }
  if (!agreement.purposes.includes(grant.purpose)) {
    throw new PurposeNotAllowed(`The purpose ${grant.purpose} is not one of the agreement's purposes.`);
  }
  if (!member.platformEnabled) throw new PlatformDisabled('The member has turned off apps and devices.');

  return {
    now,
    memberId: member.id,
    appId: app.id,
    partnerId: agreement.partnerId,
    appClass: app.class,
    agreement,
    grant,
    friendsVisible: (agreement.memberFields & grant.memberFields & FRIENDS_MASK) !== 0,
    self: relation([
      { reason: 'not_in_agreement', passes: agreement.memberFields },
      { reason: 'not_consented', passes: grant.memberFields },
    ]),
    friend: friendRules(app.class, agreement, grant, now, sensitive),
  };
}
