import type { DataStorage } from './partner.js';
import type { FieldMask } from './field-catalog.js';
import type { Purpose } from './purposes.js';
import { addDays, type Instant } from './time.js';
import { windDownPhase, type WindDownPlan } from './wind-down.js';

export const AGREEMENT_STATUSES = ['draft', 'under_review', 'active', 'suspended', 'winding_down', 'terminated'] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];

/** Days past the certification due date after which an agreement lapses by itself. */
export const CERTIFICATION_GRACE_DAYS = 60;

/** The terms of one version of an agreement, as the rules read them. */
export interface AgreementTerms {
  readonly id: string;
  readonly version: number;
  readonly partnerId: string;
  readonly status: AgreementStatus;
  readonly purposes: readonly Purpose[];
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
  readonly startsAt: Instant;
  readonly endsAt: Instant;
  readonly certificationDueAt: Instant;
  readonly windDown: WindDownPlan | null;
}

export const NOT_IN_EFFECT_CAUSES = [
  'no_agreement',
  'terminated',
  'not_active',
  'not_started',
  'expired',
  'access_ended',
  'certification_overdue',
  'suspended',
] as const;
export type NotInEffectCause = (typeof NOT_IN_EFFECT_CAUSES)[number];

/**
 * Why the agreement is not in effect at `now`, or null when it is (PRODUCT.md §4 rule 3).
 * Causes that are final or date-driven come before a manual suspension, so a partner whose
 * suspended agreement has also expired is told it expired. Dates act at their exact instant,
 * whether or not the scheduler has recorded the transition yet.
 */
export function notInEffectCause(agreement: AgreementTerms | null, now: Instant): NotInEffectCause | null {
  if (agreement === null) return 'no_agreement';
  const { status } = agreement;
  if (status === 'terminated') return 'terminated';
  if (status === 'draft' || status === 'under_review') return 'not_active';
  if (now < agreement.startsAt) return 'not_started';
  if (now >= agreement.endsAt) return 'expired';
  if (windDownPhase(agreement.windDown, now) === 'access_ended') return 'access_ended';
  if (now >= addDays(agreement.certificationDueAt, CERTIFICATION_GRACE_DAYS)) return 'certification_overdue';
  if (status === 'suspended') return 'suspended';
  return null;
}

/** A whole agreement: the terms the rules read plus what the reports and partners see. */
export interface Agreement extends AgreementTerms {
  readonly appIds: readonly string[];
  readonly retentionDays: number;
  readonly storage: DataStorage;
  /** Why the agreement is in its status, e.g. `certification_overdue` for a suspension. */
  readonly statusReason: string | null;
}
