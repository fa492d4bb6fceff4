import { BadRequest } from '../../domain/errors.js';
import { decodeCursor, encodeCursor } from '../owner-cursor.js';
import type { Store } from '../../store/store.js';
import type { AccessHistoryItem } from './privacy-schemas.js';

/**
 * A member's access history (PRODUCT.md §6, issue 5): who received what about them, when, under
 * which agreement, and whether directly (their own token) or through a friend (never which one).
 * Shared by GET /v1/me/access-history and the page /privacy/history.
 */

export const HISTORY_DEFAULT_LIMIT = 25;

export interface AccessHistoryView {
  readonly data: AccessHistoryItem[];
  /** The cursor of the next (older) page, when there is one. */
  readonly after?: string;
}

/** Proofs of inclusion come with the signed Merkle log; until then `proof=true` is refused, not ignored. */
export function refuseProof(proof: boolean | undefined): void {
  if (proof === true) {
    throw new BadRequest(
      'not_available_yet',
      'Proofs of inclusion (proof=true) are not available yet: they come with the signed Merkle log. Ask again without proof.',
    );
  }
}

export async function accessHistory(store: Store, memberId: string, limit: number, after: string | undefined): Promise<AccessHistoryView> {
  const beforeSeq = after === undefined ? null : decodeCursor(after, memberId, 'sequence');
  const { entries, hasMore } = await store.accessHistory.page(memberId, limit, beforeSeq);
  const data = entries.map((entry): AccessHistoryItem => ({
    at: new Date(entry.at).toISOString(),
    app: { id: entry.app.id, name: entry.app.name },
    partner: { id: entry.partner.id, legal_name: entry.partner.legalName, country: entry.partner.country },
    agreement: entry.agreement === null ? null : { id: entry.agreement.id, version: entry.agreement.version },
    purpose: entry.purpose as AccessHistoryItem['purpose'],
    fields: entry.released,
    via: entry.via,
  }));
  const last = entries[entries.length - 1];
  return hasMore && last !== undefined ? { data, after: encodeCursor(memberId, last.seq) } : { data };
}
