import type { Agreement } from '../domain/agreement.js';
import type { FieldMask } from '../domain/field-catalog.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { agreementFromRow } from './agreement-repository.js';
import { fromIso, maskFromJson, toIso } from './columns.js';
import type { Db } from './database.js';

/**
 * What the least-privilege report (issue 15 point 2) reads: the agreements, when each came into
 * effect, the releases of each field per app and purpose kept on append (`audit_field_uses`,
 * migration 0032; never the log), and the live grants grouped by what they consent to.
 */

/** One way a field was used: released under an agreement, to a token of an app for a purpose, directly (`d`) or through friends (`f`). */
export interface FieldUse {
  readonly agreementId: string;
  readonly appId: string;
  readonly purpose: string;
  readonly field: string;
  readonly how: 'd' | 'f';
}

export interface ReviewedAgreement {
  readonly agreement: Agreement;
  readonly partnerLegalName: string;
  /** The first activation recorded in its history; null when it has none (an agreement loaded already active). */
  readonly activatedAt: Instant | null;
}

/** Live grants of one agreement that consent to the same fields for the same app and purpose. */
export interface GrantGroup {
  readonly agreementId: string;
  readonly appId: string;
  readonly purpose: string;
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
  readonly grants: number;
}

const month = (instant: Instant) => toIso(instant).slice(0, 7);

export class LeastPrivilegeQueries {
  constructor(private readonly db: Db) {}

  /** Every agreement (or the one asked for), by partner name, with when it was first activated. */
  async agreements(agreementId?: string): Promise<ReviewedAgreement[]> {
    let query = this.db.selectFrom('agreements as a').innerJoin('partners as p', 'p.id', 'a.partner_id')
      .selectAll('a').select('p.legal_name');
    if (agreementId !== undefined) query = query.where('a.id', '=', agreementId);
    const rows = await query.orderBy('p.legal_name').orderBy('a.partner_id').orderBy('a.id').execute();
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const [apps, activations] = await Promise.all([
      this.db.selectFrom('agreement_apps').select(['agreement_id', 'app_id']).where('agreement_id', 'in', ids).orderBy('app_id').execute(),
      this.db.selectFrom('agreement_history').select(['agreement_id', (eb) => eb.fn.min<string>('at').as('at')])
        .where('action', '=', 'activate').where('agreement_id', 'in', ids).groupBy('agreement_id').execute(),
    ]);
    const activatedAt = new Map(activations.map((row) => [row.agreement_id, fromIso(row.at)]));
    return rows.map((row) => ({
      agreement: agreementFromRow(row, apps.filter((a) => a.agreement_id === row.id).map((a) => a.app_id)),
      partnerLegalName: row.legal_name,
      activatedAt: activatedAt.get(row.id) ?? null,
    }));
  }

  /**
   * Every way a field was released at least once from `from` to `to` (both included), exactly:
   * the months between are wholly inside; in the first month a use counts when its last release
   * is at or after `from`, in the last when its first release is at or before `to`.
   */
  async usesBetween(from: Instant, to: Instant): Promise<FieldUse[]> {
    const [first, last] = [month(from), month(to)];
    if (first === last) throw new RangeError('usesBetween needs a span over more than one month: first and last releases alone do not place a release inside one month');
    const rows = await this.db.selectFrom('audit_field_uses')
      .select(['month', 'agreement_id', 'app_id', 'purpose', 'field', 'how', 'first_at', 'last_at'])
      .where('month', '>=', first).where('month', '<=', last).execute();
    return rows
      .filter((row) => (row.month !== first || Number(row.last_at) >= from) && (row.month !== last || Number(row.first_at) <= to))
      .map((row) => ({ agreementId: row.agreement_id, appId: row.app_id, purpose: row.purpose, field: row.field, how: row.how }));
  }

  /** Grants live at `now` (given by then, not ended, used within `idleDays`), grouped by agreement, app, purpose and consent. */
  async liveGrants(agreementIds: readonly string[], now: Instant, idleDays: number): Promise<GrantGroup[]> {
    if (agreementIds.length === 0) return [];
    const rows = await this.db.selectFrom('grants')
      .select(['agreement_id', 'app_id', 'purpose', 'member_fields', 'friend_fields', (eb) => eb.fn.countAll<number | string>().as('grants')])
      .where('agreement_id', 'in', [...agreementIds])
      .where('granted_at', '<=', toIso(now))
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', toIso(now))]))
      .where((eb) => eb(eb.fn.coalesce('last_used_at', 'granted_at'), '>', toIso(now - idleDays * DAY_MS)))
      .groupBy(['agreement_id', 'app_id', 'purpose', 'member_fields', 'friend_fields'])
      .execute();
    return rows.map((row) => ({
      agreementId: row.agreement_id!, appId: row.app_id, purpose: row.purpose,
      memberFields: maskFromJson(row.member_fields), friendFields: maskFromJson(row.friend_fields), grants: Number(row.grants),
    }));
  }
}
