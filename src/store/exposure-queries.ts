import { sql, type RawBuilder } from 'kysely';
import { FIELDS, fieldBit, type Field } from '../domain/field-catalog.js';
import type { Db } from './database.js';

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

type Row = Record<string, string | number | null>;

/** The counts of members whose masks (`direct`, `friends`: expressions over one row per member) have each bit. */
function memberCountColumns(direct: RawBuilder<unknown>, friends: RawBuilder<unknown>): RawBuilder<unknown> {
  const has = (mask: RawBuilder<unknown>, bit: number | null) =>
    sql`sum(case when ${bit === null ? mask : sql`(${mask} & ${sql.lit(bit)})`} <> 0 then 1 else 0 end)`;
  const either = sql`(${direct} | ${friends})`;
  const columns = [
    sql`${has(direct, null)} as any_d`, sql`${has(friends, null)} as any_f`, sql`${has(either, null)} as any_t`,
    ...FIELDS.flatMap((field, i) => [
      sql`${has(direct, fieldBit(field))} as ${sql.ref(`${i}d`)}`,
      sql`${has(friends, fieldBit(field))} as ${sql.ref(`${i}f`)}`,
      sql`${has(either, fieldBit(field))} as ${sql.ref(`${i}t`)}`,
    ]),
  ];
  return sql.join(columns);
}

function countsOf(row: Row, prefix: string): MemberCounts {
  return { direct: Number(row[`${prefix}d`]), throughFriends: Number(row[`${prefix}f`]), total: Number(row[`${prefix}t`]) };
}

function exposureOf(row: Row, month: string | null): AgreementExposure {
  const fields = new Map<Field, MemberCounts>();
  FIELDS.forEach((field, i) => {
    const counts = countsOf(row, String(i));
    if (counts.total > 0) fields.set(field, counts);
  });
  return { agreementId: String(row.agreement_id), month, any: countsOf(row, 'any_'), fields };
}

/** The exposure rows of the span: a partner's agreements only, when asked. */
function spanFilter(span: MonthSpan): RawBuilder<unknown> {
  const partner = span.partnerId === undefined
    ? sql``
    : sql` and agreement_id in (select id from agreements where partner_id = ${span.partnerId})`;
  return sql`month >= ${span.from} and month <= ${span.to}${partner}`;
}

/** A mask ORed over a member's months: per bit, the largest of (mask & bit), summed (SQLite has no bit_or). */
function orOver(column: 'direct_fields' | 'friend_fields'): RawBuilder<unknown> {
  return sql.join(FIELDS.map((field) => sql`max(${sql.ref(column)} & ${sql.lit(fieldBit(field))})`), sql` + `);
}

export class ExposureQueries {
  constructor(private readonly db: Db) {}

  /** Per agreement and month of the span: its members, by field. */
  async perMonth(span: MonthSpan): Promise<AgreementExposure[]> {
    const { rows } = await sql<Row>`select month, agreement_id, ${memberCountColumns(sql.ref('direct_fields'), sql.ref('friend_fields'))}
      from audit_exposure where ${spanFilter(span)} group by month, agreement_id order by month, agreement_id`.execute(this.db);
    return rows.map((row) => exposureOf(row, String(row.month)));
  }

  /** Per agreement over the whole span: a member released in several months counts once. */
  async overSpan(span: MonthSpan): Promise<AgreementExposure[]> {
    const { rows } = await sql<Row>`select agreement_id, ${memberCountColumns(sql.ref('d_or'), sql.ref('f_or'))}
      from (select agreement_id, member_id, ${orOver('direct_fields')} as d_or, ${orOver('friend_fields')} as f_or
        from audit_exposure where ${spanFilter(span)} group by agreement_id, member_id) m
      group by agreement_id order by agreement_id`.execute(this.db);
    return rows.map((row) => exposureOf(row, null));
  }

  /**
   * Members over the whole span, any field, grouped by partner or by where the agreement declares
   * the data is stored (`on_device`, or the servers' country): a member released under two
   * agreements of the group counts once.
   */
  async byGroup(span: MonthSpan, group: 'partner' | 'storage'): Promise<GroupExposure[]> {
    const key = group === 'partner' ? sql`a.partner_id` : sql`coalesce(a.storage_country, a.storage_location)`;
    const { rows } = await sql<Row>`select k, sum(d) as any_d, sum(f) as any_f, count(*) as any_t from (
        select ${key} as k, e.member_id,
          max(case when e.direct_fields <> 0 then 1 else 0 end) as d, max(case when e.friend_fields <> 0 then 1 else 0 end) as f
        from audit_exposure e join agreements a on a.id = e.agreement_id
        where ${spanFilter(span)} group by ${key}, e.member_id) m
      group by k order by k`.execute(this.db);
    return rows.map((row) => ({ key: String(row.k), members: countsOf(row, 'any_') }));
  }

  /** How many times each field was released, per agreement and month of the span. */
  async fieldTimes(span: MonthSpan): Promise<FieldTimes[]> {
    const { rows } = await sql<Row>`select month, agreement_id, field, direct, friends from audit_field_months
      where ${spanFilter(span)} order by month, agreement_id, field`.execute(this.db);
    return rows.map((row) => ({
      agreementId: String(row.agreement_id), month: String(row.month), field: String(row.field),
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
