import type { Instant } from './time.js';

/** A wind-down in three dated phases, announced in advance (PRODUCT.md §5). */
export interface WindDownPlan {
  readonly noNewGrants: Instant;
  readonly noFriendData: Instant;
  readonly accessEnded: Instant;
}

export const WIND_DOWN_PHASES = ['none', 'no_new_grants', 'no_friend_data', 'access_ended'] as const;
export type WindDownPhase = (typeof WIND_DOWN_PHASES)[number];

/** The phase in force at `now`: a phase starts at the exact instant of its date. */
export function windDownPhase(plan: WindDownPlan | null, now: Instant): WindDownPhase {
  if (plan === null || now < plan.noNewGrants) return 'none';
  if (now < plan.noFriendData) return 'no_new_grants';
  if (now < plan.accessEnded) return 'no_friend_data';
  return 'access_ended';
}

export function hasReached(plan: WindDownPlan | null, phase: WindDownPhase, now: Instant): boolean {
  return WIND_DOWN_PHASES.indexOf(windDownPhase(plan, now)) >= WIND_DOWN_PHASES.indexOf(phase);
}

export function phasesInOrder(plan: WindDownPlan): boolean {
  return plan.noNewGrants < plan.noFriendData && plan.noFriendData < plan.accessEnded;
}
