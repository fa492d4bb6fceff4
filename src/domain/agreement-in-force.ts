import type { AgreementStatus, AgreementTerms } from './agreement.js';
import { Conflict } from './errors.js';
import type { Instant } from './time.js';

/**
 * Which of an app's agreements governs at `now` (PRODUCT.md §5): an app has at most one agreement
 * in effect at any instant, a renewal takes over at its start, and the agreement in force is the
 * one the consent door, the partner endpoints and certifications use. Pure: `now` is an input.
 */

/** An agreement's terms and the apps it covers. */
export type CoveringAgreement = AgreementTerms & { readonly appIds: readonly string[] };

const ACTIVATED: readonly AgreementStatus[] = ['active', 'suspended', 'winding_down'];

/**
 * Whether the agreement was ever activated. A terminated one was, when it has a wind-down plan:
 * the only way from active to terminated is a wind-down (by staff or by the end date) and a
 * deletion attestation; a draft or a review that was terminated never had one.
 */
export function wasActivated(agreement: AgreementTerms): boolean {
  return ACTIVATED.includes(agreement.status) || (agreement.status === 'terminated' && agreement.windDown !== null);
}

/** When access under an activated, unterminated agreement ends: its end date, or its wind-down's `access_ended` when earlier. */
export function accessEndsAt(agreement: AgreementTerms): Instant {
  return Math.min(agreement.endsAt, agreement.windDown?.accessEnded ?? agreement.endsAt);
}

/** The span [from, until) an activated agreement may be in effect; null for one that can no longer be (draft, review, terminated). */
export function effectSpan(agreement: AgreementTerms): { readonly from: Instant; readonly until: Instant } | null {
  if (!ACTIVATED.includes(agreement.status)) return null;
  return { from: agreement.startsAt, until: accessEndsAt(agreement) };
}

/**
 * The activated agreements of the same apps whose span meets the term [start, end) of `candidate`:
 * activating it would give an app two agreements in effect at once. Suspended ones count (they may
 * resume); terminated ones and those whose access has ended before the candidate starts do not.
 */
export function overlappingAgreements<T extends CoveringAgreement>(candidate: CoveringAgreement, others: readonly T[]): T[] {
  return others.filter((other) => {
    if (other.id === candidate.id || !other.appIds.some((app) => candidate.appIds.includes(app))) return false;
    const span = effectSpan(other);
    return span !== null && span.from < candidate.endsAt && candidate.startsAt < span.until;
  });
}

/** Refuses (409 `agreement_overlap`) to activate `candidate` while another agreement of one of its apps covers part of its term. */
export function checkNoOverlap(candidate: CoveringAgreement, others: readonly CoveringAgreement[]): void {
  const clash = overlappingAgreements(candidate, others)[0];
  if (clash === undefined) return;
  const span = effectSpan(clash)!;
  throw new Conflict('agreement_overlap',
    `The term overlaps ${clash.id} (${clash.status}, in effect from ${new Date(span.from).toISOString()} until ${new Date(span.until).toISOString()}) `
    + `for the same app; a renewal starts at or after ${new Date(span.until).toISOString()}.`);
}

/**
 * The agreement that governs an app at `now`, of all the agreements naming it:
 * 1. the activated one whose span contains `now` (at most one: overlaps are refused);
 * 2. else the one that was in effect most recently (ended, wound down or terminated: it says why
 *    access has ended, and the partner still reads it and files its attestation there);
 * 3. else the activated one that starts soonest (`not_started`);
 * 4. else the newest draft or review (`not_active`); null when there is none.
 * A renewal activated ahead of its start therefore takes over at its start, not at its activation.
 */
export function governingAgreement<T extends AgreementTerms>(agreements: readonly T[], now: Instant): T | null {
  const activated = agreements.filter(wasActivated);
  const inForce = activated.find((a) => {
    const span = effectSpan(a);
    return span !== null && span.from <= now && now < span.until;
  });
  if (inForce) return inForce;
  const started = activated.filter((a) => a.startsAt <= now).sort((a, b) => b.startsAt - a.startsAt || b.endsAt - a.endsAt);
  if (started[0]) return started[0];
  const upcoming = activated.filter((a) => a.startsAt > now).sort((a, b) => a.startsAt - b.startsAt);
  if (upcoming[0]) return upcoming[0];
  const drafts = agreements.filter((a) => a.status === 'draft' || a.status === 'under_review');
  return drafts[drafts.length - 1] ?? null;
}
