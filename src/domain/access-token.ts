import type { Instant } from './time.js';

/** What the rules need of a bearer token: its lifetime. The secret itself never reaches the domain. */
export interface AccessTokenState {
  readonly grantId: string;
  readonly expiresAt: Instant;
  readonly revokedAt: Instant | null;
}

export function tokenIsUsable(token: AccessTokenState, now: Instant): boolean {
  return now < token.expiresAt && (token.revokedAt === null || now < token.revokedAt);
}
