import { BadRequest } from '../../domain/errors.js';
import { DAY_MS } from '../../domain/time.js';
import type { AuditBlinding } from '../../audit/blinding.js';
import { canonicalTextAt } from '../../audit/entry-leaf.js';
import type { LogProofs } from '../../audit/log-proofs.js';
import type { AccessVia, HistoryFilter } from '../../store/access-history-repository.js';
import type { StoredTreeHead } from '../../store/audit-repository.js';
import { treeHeadView, type TreeHeadView } from '../audit/audit-schemas.js';
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
  /** Each item's audit sequence number and `via`, for the proofs (never shown as such). */
  readonly seqs: readonly number[];
  readonly vias: readonly AccessVia[];
  /** The cursor of the next (older) page, when there is one. */
  readonly after?: string;
}

export async function accessHistory(
  store: Store, memberId: string, limit: number, after: string | undefined, filter: HistoryFilter = {},
): Promise<AccessHistoryView> {
  const beforeSeq = after === undefined ? null : decodeCursor(after, memberId, 'sequence');
  const { entries, hasMore } = await store.accessHistory.page(memberId, limit, beforeSeq, filter);
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
  const view = { data, seqs: entries.map((e) => e.seq), vias: entries.map((e) => e.via) };
  return hasMore && last !== undefined ? { ...view, after: encodeCursor(memberId, last.seq) } : view;
}

/**
 * The history page with each entry's inclusion proof against the latest signed head, and the
 * canonical bytes the leaf hash covers, blinding included: the member checks the leaf hash from
 * them. A blinded entry names the token's member only by a commitment, so one released through a
 * friend does not say which friend; a legacy (unblinded) entry does, and so comes with its hash
 * alone unless it was the member's own token.
 */
export async function withProofs(
  store: Store, proofs: LogProofs, view: AccessHistoryView, blinding: AuditBlinding,
  // A long export proves every page against the head it started with.
  head: StoredTreeHead | undefined = undefined,
): Promise<{ data: AccessHistoryItem[]; treeHead: TreeHeadView | null }> {
  head ??= await store.audit.latestHead();
  if (head === undefined) return { data: view.data.map((item) => ({ ...item, proof: null })), treeHead: null };
  const entries = await store.audit.bySeq(view.seqs.filter((seq) => seq <= head.size));
  const data = await Promise.all(view.data.map(async (item, i) => {
    const index = view.seqs[i]! - 1;
    if (index >= head.size) return { ...item, proof: null };
    const { leafHash, path } = await proofs.leafAndPath(index, head.size);
    const stored = entries.get(index + 1);
    const entry = stored !== undefined && (stored.format === 2 || view.vias[i] === 'direct') ? stored : undefined;
    return {
      ...item,
      proof: {
        leaf_index: index,
        leaf_hash: leafHash.toString('base64'),
        audit_path: path.map((h) => h.toString('base64')),
        ...(entry === undefined ? {} : { canonical_entry: Buffer.from(canonicalTextAt(entry, index, blinding), 'utf8').toString('base64') }),
      },
    };
  }));
  return { data, treeHead: treeHeadView(head) };
}

/** The query's `app_id`, `since` and `until` (dates or date-times; a bare `until` date includes that whole day). */
export function historyFilter(query: { app_id?: string; since?: string; until?: string }): HistoryFilter {
  const instant = (value: string, name: string, endOfDay: boolean) => {
    const parsed = Date.parse(value);
    if (!Number.isFinite(parsed)) throw new BadRequest('invalid_parameter', `${name} must be a date (2026-06-01) or an ISO 8601 date-time.`);
    return endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(value) ? parsed + DAY_MS : parsed;
  };
  return {
    ...(query.app_id ? { appId: query.app_id } : {}),
    ...(query.since ? { since: instant(query.since, 'since', false) } : {}),
    ...(query.until ? { until: instant(query.until, 'until', true) } : {}),
  };
}

/** Every entry of the member's history that fits the filter, newest first, for the download (at most HISTORY_DOWNLOAD_MAX). */
export const HISTORY_DOWNLOAD_MAX = 10_000;

export async function wholeHistory(store: Store, memberId: string, filter: HistoryFilter): Promise<AccessHistoryItem[]> {
  return (await accessHistory(store, memberId, HISTORY_DOWNLOAD_MAX, undefined, filter)).data;
}
