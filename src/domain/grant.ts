import type { FieldMask } from './field-catalog.js';
import type { Purpose } from './purposes.js';
import { addDays, type Instant } from './time.js';
import { windDownPhase, type WindDownPlan } from './wind-down.js';

/** Data access through a grant stops this many days after its last use (PRODUCT.md §3). */
export const GRANT_IDLE_DAYS = 90;

/**
 * Why a grant ended: its member revoked the app (privacy center), the app revoked one of its
 * tokens (or the authorization server did, on a replayed code or refresh token), 90 days passed
 * without use, or the agreement's wind-down reached `access_ended`.
 */
export const GRANT_END_REASONS = ['member_revoked', 'token_revoked', 'unused_90_days', 'access_ended'] as const;
export type GrantEndReason = (typeof GRANT_END_REASONS)[number];

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
  /** When the grant's end was recorded (see `endReason`). */
  readonly revokedAt: Instant | null;
  /** Why `revokedAt` was recorded; absent or null on a revoked grant: its member revoked it. */
  readonly endReason?: GrantEndReason | null;
}

/** The instant a grant lapses for want of use: 90 days after its last use (or its consent). */
export function idleLapseAt(grant: Grant): Instant {
  return addDays(grant.lastUsedAt ?? grant.grantedAt, GRANT_IDLE_DAYS);
}

/** Unrevoked and used (or granted) less than 90 days before `now`. */
export function grantIsActive(grant: Grant, now: Instant): boolean {
  if (grant.revokedAt !== null && grant.revokedAt <= now) return false;
  return now < idleLapseAt(grant);
}

export interface GrantEnd {
  readonly at: Instant;
  readonly reason: GrantEndReason;
}

/**
 * How a grant has ended by `now`, or null while it lives: the earliest of its recorded end, 90
 * days without use, and its agreement's `access_ended`. The last two are read from the dates, so
 * a grant ends at that exact instant whether or not the scheduler has recorded it (PRODUCT.md §4).
 * `agreement` is the one the grant was given under.
 */
export function grantEnd(grant: Grant, agreement: { readonly windDown: WindDownPlan | null } | null, now: Instant): GrantEnd | null {
  const ends: GrantEnd[] = [{ at: idleLapseAt(grant), reason: 'unused_90_days' }];
  if (grant.revokedAt !== null) ends.push({ at: grant.revokedAt, reason: grant.endReason ?? 'member_revoked' });
  const plan = agreement?.windDown ?? null;
  if (plan !== null && windDownPhase(plan, now) === 'access_ended') ends.push({ at: plan.accessEnded, reason: 'access_ended' });
  const due = ends.filter((end) => end.at <= now).sort((a, b) => a.at - b.at);
  return due[0] ?? null;
}

/**
 * How a grant looks to its member: `active`, `revoked` (by them, or by the app), `expired` (unused
 * for 90 days) or `ended` (the agreement's access ended).
 */
export type GrantStatus = 'active' | 'expired' | 'revoked' | 'ended';

const STATUS_OF_END: Readonly<Record<GrantEndReason, GrantStatus>> = {
  member_revoked: 'revoked',
  token_revoked: 'revoked',
  unused_90_days: 'expired',
  access_ended: 'ended',
};

export function grantStatus(end: GrantEnd | null): GrantStatus {
  return end === null ? 'active' : STATUS_OF_END[end.reason];
}
