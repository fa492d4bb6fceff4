import { confirmationDue, deletionState, type DeletionState } from '../../domain/deletion-request.js';
import { Conflict, NotFound } from '../../domain/errors.js';
import type { Instant } from '../../domain/time.js';
import { enqueueNotice } from '../../notices/notice-outbox.js';
import { newDeletionRequestId, type DeletionRequest } from '../../store/deletion-request-repository.js';
import { createStore, type Store } from '../../store/store.js';

/**
 * A member's request that a partner delete their data (PRODUCT.md §9, like Facebook's
 * data-deletion callback): recorded with a signed notice to the partner's webhook in one
 * transaction; the partner confirms it through its endpoint; the member sees where it stands.
 */

export const DELETION_NOTICE_TYPE = 'member.deletion_requested';

const iso = (instant: Instant) => new Date(instant).toISOString();

/** A request as the member, the partner and staff see it. */
export function deletionRequestView(request: DeletionRequest, now: Instant) {
  return {
    id: request.id,
    member_id: request.memberId,
    partner_id: request.partnerId,
    requested_at: iso(request.requestedAt),
    confirm_by: iso(confirmationDue(request.requestedAt)),
    confirmed_at: request.confirmedAt === null ? null : iso(request.confirmedAt),
    state: deletionState(request, now) as DeletionState,
  };
}

/**
 * Asks `partnerId` to delete what it received about the member. Only a partner one of whose apps
 * the member ever consented to (404 otherwise, as for an unknown partner); 409
 * `deletion_already_requested` while an earlier request waits for its confirmation.
 */
export async function requestDeletion(store: Store, memberId: string, partnerId: string, now: Instant): Promise<DeletionRequest> {
  const grants = await store.grants.ofMember(memberId);
  const apps = await Promise.all([...new Set(grants.map(({ grant }) => grant.appId))].map((appId) => store.partners.app(appId)));
  if (!apps.some((app) => app?.partnerId === partnerId)) throw new NotFound('None of this partner\'s apps ever had your consent.');
  const open = (await store.deletionRequests.ofMember(memberId)).find((r) => r.partnerId === partnerId && r.confirmedAt === null);
  if (open !== undefined) throw new Conflict('deletion_already_requested', 'You already asked this partner; it has not confirmed yet.');
  const request: DeletionRequest = { id: newDeletionRequestId(), memberId, partnerId, requestedAt: now, confirmedAt: null };
  await store.db.transaction().execute(async (trx) => {
    await createStore(trx).deletionRequests.insert(request);
    const { state: _state, partner_id: _partner, ...data } = deletionRequestView(request, now);
    await enqueueNotice(trx, { partnerId, agreementId: null, type: DELETION_NOTICE_TYPE, payload: data, at: now, dedupeKey: `deletion:${request.id}` });
  });
  return request;
}

/** The partner's confirmation that it deleted the member's data; 404 for another partner's request. Confirming again changes nothing. */
export async function confirmDeletion(store: Store, partnerId: string, requestId: string, now: Instant): Promise<DeletionRequest> {
  const request = await store.deletionRequests.get(requestId);
  if (request === undefined || request.partnerId !== partnerId) throw new NotFound(`No deletion request ${requestId} for this partner.`);
  await store.deletionRequests.confirm(requestId, now);
  return (await store.deletionRequests.get(requestId))!;
}
