import { sql } from 'kysely';
import type { Field } from '../domain/field-catalog.js';
import type { Instant } from '../domain/time.js';
import { fromIso, toIso } from './columns.js';
import type { Db } from './database.js';

/** How an entry reached the partner: the member's own token, or a friend's (who is never named). */
export type AccessVia = 'direct' | 'friend';

/** One release of a member's data, as the member may see it: nothing here names the token's member. */
export interface AccessHistoryEntry {
  /** The audit sequence number: the keyset of the paging, never shown. */
  readonly seq: number;
  readonly at: Instant;
  readonly app: { readonly id: string; readonly name: string };
  readonly partner: { readonly id: string; readonly legalName: string; readonly country: string };
  readonly agreement: { readonly id: string; readonly version: number } | null;
  readonly purpose: string | null;
  readonly released: Field[];
  readonly via: AccessVia;
}

export interface AccessHistoryPage {
  readonly entries: AccessHistoryEntry[];
  /** Older entries exist beyond the last one. */
  readonly hasMore: boolean;
}

/**
 * A member's access history (PRODUCT.md §6, GDPR Art. 15): the audit entries that released data
 * about them, newest first. `via` is computed in SQL so that `token_member_id` (for a friend's
 * token, the friend) never leaves this query.
 */
/** Narrows a history to one app and a period (`since` included, `until` excluded). */
export interface HistoryFilter {
  readonly appId?: string;
  readonly since?: Instant;
  readonly until?: Instant;
}

export class AccessHistoryRepository {
  constructor(private readonly db: Db) {}

  /** Up to `limit` entries about `memberId` released before `beforeSeq` (from the newest when null). */
  async page(memberId: string, limit: number, beforeSeq: number | null, filter: HistoryFilter = {}): Promise<AccessHistoryPage> {
    // The page is taken from the log alone (each part of audit_log read newest first by its (subject, seq)
    // index), then named: a join around the view would read all of the member's entries to sort them.
    let entries = this.db
      .selectFrom('audit_log')
      .select(['seq', 'at', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'purpose', 'released', 'token_member_id', 'subject_member_id'])
      .where('subject_member_id', '=', memberId)
      .where('outcome', '=', 'released');
    if (beforeSeq !== null) entries = entries.where('seq', '<', beforeSeq);
    if (filter.appId !== undefined) entries = entries.where('app_id', '=', filter.appId);
    if (filter.since !== undefined) entries = entries.where('at', '>=', toIso(filter.since));
    if (filter.until !== undefined) entries = entries.where('at', '<', toIso(filter.until));
    const rows = await this.db
      .selectFrom(entries.orderBy('seq', 'desc').limit(limit + 1).as('e'))
      .leftJoin('apps as a', 'a.id', 'e.app_id')
      .leftJoin('partners as p', 'p.id', 'e.partner_id')
      .select([
        'e.seq', 'e.at', 'e.app_id', 'a.name as app_name', 'e.partner_id', 'p.legal_name', 'p.country',
        'e.agreement_id', 'e.agreement_version', 'e.purpose', 'e.released',
      ])
      .select(sql<AccessVia>`case when e.token_member_id = e.subject_member_id then 'direct' else 'friend' end`.as('via'))
      .orderBy('e.seq', 'desc')
      .execute();
    const page = rows.slice(0, limit).map((row): AccessHistoryEntry => ({
      seq: Number(row.seq),
      at: fromIso(row.at),
      app: { id: row.app_id ?? '', name: row.app_name ?? row.app_id ?? '' },
      partner: { id: row.partner_id ?? '', legalName: row.legal_name ?? row.partner_id ?? '', country: row.country ?? '' },
      agreement: row.agreement_id === null || row.agreement_version === null
        ? null
        : { id: row.agreement_id, version: Number(row.agreement_version) },
      purpose: row.purpose,
      released: JSON.parse(row.released) as Field[],
      via: row.via === 'direct' ? 'direct' : 'friend',
    }));
    return { entries: page, hasMore: rows.length > limit };
  }
}
