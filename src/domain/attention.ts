import { CERTIFICATION_GRACE_DAYS, type Agreement } from './agreement.js';
import { addDays, type Instant } from './time.js';
import type { WindDownPhase } from './wind-down.js';

/**
 * What needs someone today (the staff console's home, PRODUCT.md §9): agreements waiting for
 * approvals, certifications due soon or overdue, wind-down phases coming, deletions unconfirmed.
 * Pure: the caller loads the agreements and passes `now`.
 */

/** How far ahead the home looks. */
export const ATTENTION_HORIZON_DAYS = 30;

/** An agreement as the home reads it: its terms and the lifecycle facts beside them. */
export interface AttentionInput {
  readonly agreement: Agreement;
  readonly approvalsNeeded: number;
  readonly approvalsGiven: number;
  readonly deletionUnconfirmed: boolean;
  readonly updatedAt: Instant;
}

export interface Attention {
  readonly approvalsWaiting: readonly { readonly agreement: Agreement; readonly needed: number; readonly given: number; readonly since: Instant }[];
  readonly certificationsDue: readonly { readonly agreement: Agreement; readonly dueAt: Instant; readonly overdue: boolean; readonly lapsesAt: Instant }[];
  readonly windDownPhases: readonly { readonly agreement: Agreement; readonly phase: Exclude<WindDownPhase, 'none'>; readonly at: Instant }[];
  readonly deletionUnconfirmed: readonly { readonly agreement: Agreement; readonly accessEndedAt: Instant | null }[];
}

/** Agreements whose certification still matters: in force, or able to be again. */
const CERTIFIED_STATUSES = new Set(['active', 'suspended', 'winding_down']);

export function attention(inputs: readonly AttentionInput[], now: Instant, horizonDays = ATTENTION_HORIZON_DAYS): Attention {
  const horizon = addDays(now, horizonDays);
  const byDate = <T extends { at?: Instant; dueAt?: Instant }>(a: T, b: T) => (a.at ?? a.dueAt ?? 0) - (b.at ?? b.dueAt ?? 0);
  return {
    approvalsWaiting: inputs
      .filter((i) => i.agreement.status === 'under_review')
      .map((i) => ({ agreement: i.agreement, needed: i.approvalsNeeded, given: i.approvalsGiven, since: i.updatedAt }))
      .sort((a, b) => a.since - b.since),
    certificationsDue: inputs
      .filter((i) => CERTIFIED_STATUSES.has(i.agreement.status) && i.agreement.certificationDueAt <= horizon && i.agreement.endsAt > now)
      .map((i) => ({
        agreement: i.agreement, dueAt: i.agreement.certificationDueAt, overdue: i.agreement.certificationDueAt <= now,
        lapsesAt: addDays(i.agreement.certificationDueAt, CERTIFICATION_GRACE_DAYS),
      }))
      .sort(byDate),
    windDownPhases: inputs
      .filter((i) => i.agreement.status !== 'terminated' && i.agreement.windDown !== null)
      .flatMap((i) => {
        const plan = i.agreement.windDown!;
        const phases = [['no_new_grants', plan.noNewGrants], ['no_friend_data', plan.noFriendData], ['access_ended', plan.accessEnded]] as const;
        return phases.filter(([, at]) => at >= now && at <= horizon).map(([phase, at]) => ({ agreement: i.agreement, phase, at }));
      })
      .sort(byDate),
    deletionUnconfirmed: inputs
      .filter((i) => i.deletionUnconfirmed)
      .map((i) => ({ agreement: i.agreement, accessEndedAt: i.agreement.windDown?.accessEnded ?? null })),
  };
}
