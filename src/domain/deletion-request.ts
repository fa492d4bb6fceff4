import { addDays, type Instant } from './time.js';

/** Days a partner has to confirm a member's deletion request before staff are shown it as overdue. */
export const DELETION_CONFIRMATION_DAYS = 30;

export type DeletionState = 'waiting' | 'overdue' | 'confirmed';

/** Where a deletion request stands at `now`: confirmed, waiting for the partner, or past its 30 days unconfirmed. */
export function deletionState(request: { readonly requestedAt: Instant; readonly confirmedAt: Instant | null }, now: Instant): DeletionState {
  if (request.confirmedAt !== null) return 'confirmed';
  return now >= confirmationDue(request.requestedAt) ? 'overdue' : 'waiting';
}

export function confirmationDue(requestedAt: Instant): Instant {
  return addDays(requestedAt, DELETION_CONFIRMATION_DAYS);
}
