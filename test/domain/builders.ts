/**
 * Shared builders for the domain tests: one valid world in which every request-level rule passes
 * and every field rule can release, so that each test changes only what it is about.
 */
import type { AccessTokenState } from '../../src/domain/access-token.js';
import { planAccess, type AccessPlan, type RequestContext } from '../../src/domain/access-plan.js';
import type { AgreementTerms } from '../../src/domain/agreement.js';
import type { App } from '../../src/domain/app.js';
import { FRIENDS_MASK, OBJECT_FIELDS_MASK, fieldsOf, maskOf, type Field, type FieldMask } from '../../src/domain/field-catalog.js';
import type { Grant } from '../../src/domain/grant.js';
import { NO_EXCLUSIONS, type SubjectDecision, type SubjectFacts } from '../../src/domain/subject-decision.js';
import { DAY_MS, type Instant } from '../../src/domain/time.js';
import type { WindDownPlan } from '../../src/domain/wind-down.js';

/** The instant every test decides at unless it says otherwise. */
export const NOW: Instant = Date.UTC(2026, 5, 15, 12, 0, 0);
export const HOUR_MS = 60 * 60 * 1000;
export { DAY_MS };

export const MEMBER_ID = 'member-self';
export const FRIEND_ID = 'member-friend';
export const APP_ID = 'app-1';
export const PARTNER_ID = 'partner-1';

export function mask(...fields: Field[]): FieldMask {
  return maskOf(fields);
}

/** Every object field plus the `friends` permission. */
export const EVERY_MEMBER_FIELD: FieldMask = OBJECT_FIELDS_MASK | FRIENDS_MASK;

/** An active agreement, in effect at NOW, that lists every field for members and for friends. */
export function agreement(overrides: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    id: 'agreement-1',
    version: 3,
    partnerId: PARTNER_ID,
    status: 'active',
    purposes: ['device_experience'],
    memberFields: EVERY_MEMBER_FIELD,
    friendFields: OBJECT_FIELDS_MASK,
    startsAt: NOW - 100 * DAY_MS,
    endsAt: NOW + 300 * DAY_MS,
    certificationDueAt: NOW + 200 * DAY_MS,
    windDown: null,
    ...overrides,
  };
}

/** A wind-down whose phases start at NOW + 10, + 20 and + 30 days unless overridden. */
export function windDown(overrides: Partial<WindDownPlan> = {}): WindDownPlan {
  return {
    noNewGrants: NOW + 10 * DAY_MS,
    noFriendData: NOW + 20 * DAY_MS,
    accessEnded: NOW + 30 * DAY_MS,
    ...overrides,
  };
}

/** The self member's unrevoked grant, used yesterday, consenting to every field. */
export function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 'grant-1',
    memberId: MEMBER_ID,
    appId: APP_ID,
    agreementId: 'agreement-1',
    agreementVersion: 3,
    purpose: 'device_experience',
    memberFields: EVERY_MEMBER_FIELD,
    friendFields: OBJECT_FIELDS_MASK,
    grantedAt: NOW - 30 * DAY_MS,
    lastUsedAt: NOW - DAY_MS,
    revokedAt: null,
    ...overrides,
  };
}

export function token(overrides: Partial<AccessTokenState> = {}): AccessTokenState {
  return { grantId: 'grant-1', expiresAt: NOW + HOUR_MS, revokedAt: null, ...overrides };
}

export function app(overrides: Partial<App> = {}): App {
  return { id: APP_ID, partnerId: PARTNER_ID, name: 'Phone Shell', class: 'device_partner', status: 'active', ...overrides };
}

export interface ContextOverrides {
  token?: Partial<AccessTokenState>;
  grant?: Partial<Grant>;
  app?: Partial<App>;
  /** `null` means the grant has no agreement at all. */
  agreement?: Partial<AgreementTerms> | null;
  member?: Partial<RequestContext['member']>;
}

/**
 * A request context in which every request-level rule passes at `now` (NOW unless given): the token
 * expires an hour after `now` and the grant was last used a day before it.
 */
export function context(overrides: ContextOverrides = {}, now: Instant = NOW): RequestContext {
  return {
    token: token({ expiresAt: now + HOUR_MS, ...overrides.token }),
    grant: grant({ lastUsedAt: now - DAY_MS, ...overrides.grant }),
    app: app(overrides.app),
    agreement: overrides.agreement === null ? null : agreement(overrides.agreement),
    member: { id: MEMBER_ID, platformEnabled: true, ...overrides.member },
  };
}

/** A plan for the default world, at `now` (NOW unless given). */
export function plan(overrides: ContextOverrides = {}, now: Instant = NOW): AccessPlan {
  return planAccess(context(overrides, now), now);
}

/** A friend of the self member who has opted in to everything and shares every field with friends. */
export function friend(overrides: Partial<SubjectFacts> = {}): SubjectFacts {
  return {
    id: FRIEND_ID,
    isFriend: true,
    platformEnabled: true,
    shareViaFriends: true,
    exclusions: NO_EXCLUSIONS,
    usesApp: true,
    friendsAudience: OBJECT_FIELDS_MASK,
    ...overrides,
  };
}

/** The token's own member as a subject. */
export function self(overrides: Partial<SubjectFacts> = {}): SubjectFacts {
  return friend({ id: MEMBER_ID, isFriend: false, ...overrides });
}

/** Someone who is not a friend of the token's member (a friend of a friend, say). */
export function stranger(overrides: Partial<SubjectFacts> = {}): SubjectFacts {
  return friend({ id: 'member-stranger', isFriend: false, ...overrides });
}

/** The released fields of a visible decision, by name; fails the test for a hidden subject. */
export function releasedFields(decision: SubjectDecision): Field[] {
  if (!decision.visible) throw new Error(`expected a visible subject, got hidden (${decision.reason})`);
  return fieldsOf(decision.released);
}

/** Each withheld field with its reason; fails the test for a hidden subject. */
export function withheldReasons(decision: SubjectDecision): Record<string, string> {
  if (!decision.visible) throw new Error(`expected a visible subject, got hidden (${decision.reason})`);
  const reasons: Record<string, string> = {};
  for (const { reason, fields } of decision.withheld) {
    for (const field of fieldsOf(fields)) {
      if (field in reasons) throw new Error(`field ${field} withheld twice`);
      reasons[field] = reason;
    }
  }
  return reasons;
}
