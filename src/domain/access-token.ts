import { ID_MASK, type FieldMask } from './field-catalog.js';
import type { Grant } from './grant.js';
import type { Instant } from './time.js';

/** The fields a token was issued for, when narrower than its grant's (a token down-scoped at refresh). */
export interface TokenScope {
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
}

/** What the rules need of a bearer token: its lifetime. The secret itself never reaches the domain. */
export interface AccessTokenState {
  readonly grantId: string;
  readonly expiresAt: Instant;
  readonly revokedAt: Instant | null;
  /** Absent or null: the token reads everything its grant allows. */
  readonly scope?: TokenScope | null;
}

export function tokenIsUsable(token: AccessTokenState, now: Instant): boolean {
  return now < token.expiresAt && (token.revokedAt === null || now < token.revokedAt);
}

/** The grant as far as this token reaches: a token never reads more than its own scope (`id` is always within it). */
export function grantWithinToken(grant: Grant, token: AccessTokenState): Grant {
  const scope = token.scope ?? null;
  if (scope === null) return grant;
  return {
    ...grant,
    memberFields: grant.memberFields & (scope.memberFields | ID_MASK),
    friendFields: grant.friendFields & scope.friendFields,
  };
}
