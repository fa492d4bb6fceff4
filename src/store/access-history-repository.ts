import { sql } from 'kysely';
import type { Field } from '../domain/field-catalog.js';
import type { Instant } from '../domain/time.js';
import { fromIso, toIso } from './columns.js';
import { leavesWithRequests } from './audit-repository.js';
import type { Db } from './database.js';
import { newestLeavesBySubject } from './member-leaves.js';

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
    const rows = await this.releases(memberId, limit + 1, beforeSeq, filter);
    const named = await this.names(rows.slice(0, limit));
    const entries = rows.slice(0, limit).map((row): AccessHistoryEntry => {
      const app = row.app_id === null ? undefined : named.apps.get(row.app_id);
      const partner = row.partner_id === null ? undefined : named.partners.get(row.partner_id);
      return {
        seq: Number(row.seq),
        at: fromIso(row.at),
        app: { id: row.app_id ?? '', name: app ?? row.app_id ?? '' },
        partner: { id: row.partner_id ?? '', legalName: partner?.legalName ?? row.partner_id ?? '', country: partner?.country ?? '' },
        agreement: row.agreement_id === null || row.agreement_version === null
          ? null
          : { id: row.agreement_id, version: Number(row.agreement_version) },
        purpose: row.purpose,
        released: JSON.parse(row.released) as Field[],
        via: row.via === 'direct' ? 'direct' : 'friend',
      };
    });
    return { entries, hasMore: rows.length > limit };
  }

  /**
   * The newest `limit` releases: those appended since migration 0020 (all after the frozen rows of
   * audit_entries) partition by partition newest first (member-leaves.ts), then as many frozen rows
   * as are still needed, each read in its index's order.
   */
  private async releases(memberId: string, limit: number, beforeSeq: number | null, filter: HistoryFilter): Promise<ReleaseRow[]> {
    const rows: ReleaseRow[] = await newestLeavesBySubject(this.db, beforeSeq, limit, (inPartitions, n) => {
      let lean = leavesWithRequests(this.db)
        .innerJoin('audit_field_sets as fr', 'fr.id', 'l.released')
        .select(['l.seq', 'r.at', 'r.app_id', 'r.partner_id', 'r.agreement_id', 'r.agreement_version', 'r.purpose', 'fr.json as released'])
        .select(VIA('r.token_member_id', 'l.subject_member_id'))
        .where(inPartitions)
        .where('l.subject_member_id', '=', memberId)
        .where('l.outcome', '=', 'released');
      if (beforeSeq !== null) lean = lean.where('l.seq', '<', beforeSeq);
      if (filter.appId !== undefined) lean = lean.where('r.app_id', '=', filter.appId);
      if (filter.since !== undefined) lean = lean.where('r.at', '>=', toIso(filter.since));
      if (filter.until !== undefined) lean = lean.where('r.at', '<', toIso(filter.until));
      return lean.orderBy('l.seq', 'desc').limit(n).execute();
    });
    if (rows.length >= limit) return rows;
    let legacy = this.db
      .selectFrom('audit_entries')
      .select(['seq', 'at', 'app_id', 'partner_id', 'agreement_id', 'agreement_version', 'purpose', 'released'])
      .select(VIA('token_member_id', 'subject_member_id'))
      .where('subject_member_id', '=', memberId)
      .where('outcome', '=', 'released');
    if (beforeSeq !== null) legacy = legacy.where('seq', '<', beforeSeq);
    if (filter.appId !== undefined) legacy = legacy.where('app_id', '=', filter.appId);
    if (filter.since !== undefined) legacy = legacy.where('at', '>=', toIso(filter.since));
    if (filter.until !== undefined) legacy = legacy.where('at', '<', toIso(filter.until));
    return [...rows, ...await legacy.orderBy('seq', 'desc').limit(limit - rows.length).execute()];
  }

  /** The names of the apps and partners of these releases. */
  private async names(rows: readonly ReleaseRow[]): Promise<{ apps: Map<string, string>; partners: Map<string, { legalName: string; country: string }> }> {
    const appIds = [...new Set(rows.flatMap((row) => (row.app_id === null ? [] : [row.app_id])))];
    const partnerIds = [...new Set(rows.flatMap((row) => (row.partner_id === null ? [] : [row.partner_id])))];
    const apps = appIds.length === 0 ? [] : await this.db.selectFrom('apps').select(['id', 'name']).where('id', 'in', appIds).execute();
    const partners = partnerIds.length === 0 ? [] : await this.db.selectFrom('partners').select(['id', 'legal_name', 'country']).where('id', 'in', partnerIds).execute();
    return {
      apps: new Map(apps.map((app) => [app.id, app.name])),
      partners: new Map(partners.map((partner) => [partner.id, { legalName: partner.legal_name, country: partner.country }])),
    };
  }
}

interface ReleaseRow {
  readonly seq: number | string;
  readonly at: string;
  readonly app_id: string | null;
  readonly partner_id: string | null;
  readonly agreement_id: string | null;
  readonly agreement_version: number | string | null;
  readonly purpose: string | null;
  readonly released: string;
  readonly via: AccessVia;
}

/** `via`, worked out in SQL so that the token's member (for a friend's token, the friend) never leaves the query. */
const VIA = (token: string, subject: string) =>
  sql<AccessVia>`case when ${sql.ref(token)} = ${sql.ref(subject)} then 'direct' else 'friend' end`.as('via');
