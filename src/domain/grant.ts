import type { FieldMask } from './field-catalog.js';
import type { Purpose } from './purposes.js';
import { addDays, type Instant } from './time.js';

/** Data access through a grant stops this many days after its last use (PRODUCT.md §3). */
export const GRANT_IDLE_DAYS = 90;

/** A member's consent to one app, under one agreement version, for one purpose. */
export interface Grant {
  readonly id: string;
  readonly memberId: string;
  readonly appId: string;
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  readonly purpose: Purpose;
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
  readonly grantedAt: Instant;
  readonly lastUsedAt: Instant | null;
  readonly revokedAt: Instant | null;
}

/** Unrevoked and used (or granted) less than 90 days before `now`. */
export function grantIsActive(grant: Grant, now: Instant): boolean {
  if (grant.revokedAt !== null && grant.revokedAt <= now) return false;
  const lastActivity = grant.lastUsedAt ?? grant.grantedAt;
  return now < addDays(lastActivity, GRANT_IDLE_DAYS);
}

/** How a grant looks to its member: `revoked` (by them), `expired` (idle 90 days) or `active`. */
export type GrantStatus = 'active' | 'expired' | 'revoked';

export function grantStatus(grant: Grant, now: Instant): GrantStatus {
  if (grant.revokedAt !== null && grant.revokedAt <= now) return 'revoked';
  return grantIsActive(grant, now) ? 'active' : 'expired';
}
