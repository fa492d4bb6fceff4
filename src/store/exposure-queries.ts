import { FIELDS, fieldBit, type Field } from '../domain/field-catalog.js';
import type { Db } from './database.js';
import { emptySet, readSets, ReadNumbers, union, type MemberSet } from './member-sets.js';

/**
 * What the exposure report (PRODUCT.md §6, issue 14) reads: distinct members released per
 * agreement and month, directly and through friends, from the per-month member sets kept on append
 * (audit-aggregates.ts, `audit_exposure`), and how many times each field went out
 * (`audit_field_months`). Never the log. Months are `YYYY-MM` (UTC), both ends included.
 */

export interface MonthSpan {
  readonly from: string;
  readonly to: string;
  /** Only this partner's agreements. */
  readonly partnerId?: string;
}

/** Distinct members: released directly (the token's own member), through friends, and either (each counted once). */
export interface MemberCounts {
  readonly direct: number;
  readonly throughFriends: number;
  readonly total: number;
}

export interface AgreementExposure {
  readonly agreementId: string;
  /** A month, or null for the whole span. */
  readonly month: string | null;
  /** Members any of whose fields were released. */
  readonly any: MemberCounts;
  /** Per field released: its members. */
  readonly fields: ReadonlyMap<Field, MemberCounts>;
}

export interface FieldTimes {
  readonly agreementId: string;
  readonly month: string;
  readonly field: string;
  readonly direct: number;
  readonly throughFriends: number;
}

export interface AgreementLine {
  readonly agreementId: string;
  readonly partnerId: string;
  readonly partnerLegalName: string;
  readonly storageLocation: string;
  readonly storageCountry: string | null;
}

/** Members counted per group over the whole span, any field: each member once per group. */
export interface GroupExposure {
  readonly key: string;
  readonly members: MemberCounts;
}

/** Per month, agreement and `field how` (exposureKey without the agreement): the members. */
export type ExposureSets = Map<string, Map<string, Map<string, MemberSet>>>;

function countsOf(direct: MemberSet | undefined, friends: MemberSet | undefined): MemberCounts {
  const d = direct ?? emptySet();
  const f = friends ?? emptySet();
  return { direct: d.size, throughFriends: f.size, total: d.orCardinality(f) };
}

function exposureOf(agreementId: string, month: string | null, sets: ReadonlyMap<string, MemberSet>): AgreementExposure {
  const fields = new Map<Field, MemberCounts>();
  for (const field of FIELDS) {
    const counts = countsOf(sets.get(`${field} d`), sets.get(`${field} f`));
    if (counts.total > 0) fields.set(field, counts);
  }
  return { agreementId, month, any: countsOf(sets.get('* d'), sets.get('* f')), fields };
}

/** Adds `set` to `into` under `key` (ORed with what is there). */
function addSet(into: Map<string, MemberSet>, key: string, set: MemberSet): void {
  const there = into.get(key);
  into.set(key, there === undefined ? set.clone() : union([there, set]));
}

function nested<V>(map: Map<string, V>, key: string, make: () => V): V {
  return map.get(key) ?? map.set(key, make()).get(key)!;
}

export class ExposureQueries {
  constructor(private readonly db: Db) {}

  /**
   * The member sets of the span (of the partner's agreements, when asked): the folded bitmaps
   * together with the per-member rows not folded yet (member-set-folding.ts).
   */
  async sets(span: MonthSpan, agreementIds: ReadonlySet<string>): Promise<ExposureSets> {
    const sets: ExposureSets = new Map();
    const at = (month: string, agreementId: string) => nested(nested(sets, month, () => new Map()), agreementId, () => new Map<string, MemberSet>());
    for (const stored of await readSets(this.db, 'exposure', span.from, span.to)) {
      const [agreementId, field, how] = stored.key.split(' ');
      if (agreementIds.has(agreementId!)) at(stored.period, agreementId!).set(`${field} ${how}`, stored.members);
    }
    const rows = await this.db.selectFrom('audit_exposure').select(['month', 'agreement_id', 'member_id', 'direct_fields', 'friend_fields'])
      .where('month', '>=', span.from).where('month', '<=', span.to).execute();
    const numbers = await new ReadNumbers(this.db).of(rows.map((row) => row.member_id));
    for (const row of rows) {
      if (!agreementIds.has(row.agreement_id)) continue;
      const member = numbers.get(row.member_id)!;
      const month = at(row.month, row.agreement_id);
      for (const [how, mask] of [['d', Number(row.direct_fields)], ['f', Number(row.friend_fields)]] as const) {
        if (mask === 0) continue;
        nested(month, `* ${how}`, emptySet).add(member);
        for (const field of FIELDS) if (mask & fieldBit(field)) nested(month, `${field} ${how}`, emptySet).add(member);
      }
    }
    return sets;
  }

  /** Per agreement and month of the span: its members, by field. */
  perMonth(sets: ExposureSets): AgreementExposure[] {
    const months = [...sets.keys()].sort();
    return months.flatMap((month) => [...sets.get(month)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([agreementId, ofAgreement]) => exposureOf(agreementId, month, ofAgreement)));
  }

  /** Per agreement over the whole span: a member released in several months counts once. */
  overSpan(sets: ExposureSets): AgreementExposure[] {
    const byAgreement = new Map<string, Map<string, MemberSet>>();
    for (const ofMonth of sets.values()) {
      for (const [agreementId, ofAgreement] of ofMonth) {
        const into = nested(byAgreement, agreementId, () => new Map<string, MemberSet>());
        for (const [key, set] of ofAgreement) addSet(into, key, set);
      }
    }
    return [...byAgreement.keys()].sort().map((agreementId) => exposureOf(agreementId, null, byAgreement.get(agreementId)!));
  }

  /**
   * Members over the whole span, any field, grouped (by partner, or by where the agreement declares
   * the data is stored): a member released under two agreements of the group counts once.
   */
  byGroup(sets: ExposureSets, groupOf: ReadonlyMap<string, string>): GroupExposure[] {
    const groups = new Map<string, Map<string, MemberSet>>();
    for (const ofMonth of sets.values()) {
      for (const [agreementId, ofAgreement] of ofMonth) {
        const into = nested(groups, groupOf.get(agreementId)!, () => new Map<string, MemberSet>());
        for (const how of ['* d', '* f']) {
          const set = ofAgreement.get(how);
          if (set !== undefined) addSet(into, how, set);
        }
      }
    }
    return [...groups.keys()].sort().map((key) => ({ key, members: countsOf(groups.get(key)!.get('* d'), groups.get(key)!.get('* f')) }));
  }

  /** How many times each field was released, per agreement and month of the span (the partner's agreements only, when asked). */
  async fieldTimes(span: MonthSpan, agreementIds: ReadonlySet<string>): Promise<FieldTimes[]> {
    const rows = await this.db.selectFrom('audit_field_months').select(['month', 'agreement_id', 'field', 'direct', 'friends'])
      .where('month', '>=', span.from).where('month', '<=', span.to)
      .orderBy('month').orderBy('agreement_id').orderBy('field').execute();
    return rows.filter((row) => agreementIds.has(row.agreement_id)).map((row) => ({
      agreementId: row.agreement_id, month: row.month, field: row.field,
      direct: Number(row.direct), throughFriends: Number(row.friends),
    }));
  }

  /** Every agreement (of the partner, when asked) with its partner and declared storage. */
  async agreements(partnerId?: string): Promise<AgreementLine[]> {
    let query = this.db
      .selectFrom('agreements as a')
      .innerJoin('partners as p', 'p.id', 'a.partner_id')
      .select(['a.id', 'a.partner_id', 'p.legal_name', 'a.storage_location', 'a.storage_country']);
    if (partnerId !== undefined) query = query.where('a.partner_id', '=', partnerId);
    const rows = await query.orderBy('p.legal_name').orderBy('a.partner_id').orderBy('a.id').execute();
    return rows.map((row) => ({
      agreementId: row.id, partnerId: row.partner_id, partnerLegalName: row.legal_name,
      storageLocation: row.storage_location, storageCountry: row.storage_country,
    }));
  }
}
