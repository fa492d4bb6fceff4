import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Counts kept current on append (issue 11 point 4, issue 14 point 1; src/store/audit-aggregates.ts),
 * so that the inventory, the daily counts and the exposure report read a few small tables instead
 * of the log. Created and filled here from the entries already logged, so that an upgraded
 * database reports what it reported before.
 *
 * Keys lead with the day or month: every report asks for a span of them. The field catalog's names and bits are copied here as they were at this migration (the catalog
 * only ever grows at the end), as migrations never import application code.
 */
const FIELD_BITS: ReadonlyArray<readonly [string, number]> = [
  'id', 'name', 'picture', 'email', 'phone', 'birthday', 'gender', 'hometown', 'location', 'work', 'education',
  'relationship_status', 'religion', 'political_views', 'events', 'likes', 'photos', 'friends',
].map((field, index) => [field, 2 ** index] as const);

export const auditAggregates: Migration = {
  async up(db: Kysely<any>) {
    const { bigInteger, postgres } = columnTypes(db);
    // SQLite keeps each row once, in its key's order, instead of a table and an index beside it.
    const clustered = postgres ? sql`` : sql`without rowid`;
    await db.schema
      .createTable('audit_daily_counts')
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('entries', bigInteger, (c) => c.notNull())
      .addColumn('fields', bigInteger, (c) => c.notNull())
      .addColumn('last_at', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_daily_counts_pk', ['day', 'partner_id', 'app_id', 'agreement_id', 'outcome'])
      .modifyEnd(clustered)
      .execute();
    await db.schema
      .createTable('audit_release_days')
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addColumn('first_at', bigInteger, (c) => c.notNull())
      .addColumn('last_at', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_release_days_pk', ['day', 'agreement_id', 'member_id'])
      .modifyEnd(clustered)
      .execute();
    await db.schema
      .createTable('audit_release_instants')
      .addColumn('at', bigInteger, (c) => c.notNull())
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('fields', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_release_instants_pk', ['at', 'agreement_id'])
      .modifyEnd(clustered)
      .execute();
    await db.schema
      .createTable('audit_exposure')
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addColumn('direct_fields', 'integer', (c) => c.notNull())
      .addColumn('friend_fields', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_exposure_pk', ['month', 'agreement_id', 'member_id'])
      .modifyEnd(clustered)
      .execute();
    await db.schema
      .createTable('audit_field_months')
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('direct', bigInteger, (c) => c.notNull())
      .addColumn('friends', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_field_months_pk', ['month', 'agreement_id', 'field'])
      .modifyEnd(clustered)
      .execute();
    await backfill(db);
  },
  async down(db: Kysely<any>) {
    for (const table of ['audit_field_months', 'audit_exposure', 'audit_release_instants', 'audit_release_days', 'audit_daily_counts']) {
      await db.schema.dropTable(table).execute();
    }
  },
};

/** The tables filled from the logged entries, as the appenders would have filled them. */
async function backfill(db: Kysely<any>): Promise<void> {
  const postgres = columnTypes(db).postgres;
  // `at` is ISO-8601 text with milliseconds (`2026-06-01T00:00:00.000Z`); the tables keep epoch milliseconds.
  const ms = (iso: RawBuilder<unknown>) => postgres
    ? sql`round(extract(epoch from (${iso})::timestamptz) * 1000)::bigint`
    : sql`(cast(strftime('%s', ${iso}) as integer) * 1000 + cast(substr(${iso}, 21, 3) as integer))`;
  const length = postgres ? sql`json_array_length(released::json)` : sql`json_array_length(released)`;
  // `released` is a JSON list of catalog names; a quoted name matches no other one.
  const has = (field: string) => sql`released like ${sql.lit(`%"${field}"%`)}`;
  const volume = sql`(${length} - (case when ${has('id')} then 1 else 0 end))`;
  const released = sql`outcome = 'released' and agreement_id is not null and subject_member_id is not null`;
  const direct = sql`(case when token_member_id = subject_member_id then 1 else 0 end)`;

  await sql`insert into audit_daily_counts (day, partner_id, app_id, agreement_id, outcome, entries, fields, last_at)
    select day, partner_id, app_id, agreement_id, outcome, entries, fields, ${ms(sql`last`)} from (
      select substr(at, 1, 10) as day, coalesce(partner_id, '') as partner_id, coalesce(app_id, '') as app_id,
        coalesce(agreement_id, '') as agreement_id, outcome, count(*) as entries,
        coalesce(sum(case when outcome = 'released' then ${volume} else 0 end), 0) as fields, max(at) as last
      from audit_log group by substr(at, 1, 10), coalesce(partner_id, ''), coalesce(app_id, ''), coalesce(agreement_id, ''), outcome
    ) g`.execute(db);

  await sql`insert into audit_release_days (day, agreement_id, member_id, first_at, last_at)
    select day, agreement_id, member_id, ${ms(sql`first`)}, ${ms(sql`last`)} from (
      select substr(at, 1, 10) as day, agreement_id, subject_member_id as member_id, min(at) as first, max(at) as last
      from audit_log where ${released} group by substr(at, 1, 10), agreement_id, subject_member_id
    ) g`.execute(db);

  await sql`insert into audit_release_instants (at, agreement_id, fields)
    select ${ms(sql`at`)}, agreement_id, fields from (
      select at, agreement_id, sum(${volume}) as fields from audit_log where ${released} group by at, agreement_id
    ) g`.execute(db);

  // A mask is the OR of the entries' masks: per bit, the largest of the entries' (bit or 0), summed.
  const mask = (isDirect: 0 | 1) => sql.join(
    FIELD_BITS.map(([field, bit]) => sql`max(case when direct = ${sql.lit(isDirect)} and ${has(field)} then ${sql.lit(bit)} else 0 end)`),
    sql` + `,
  );
  await sql`insert into audit_exposure (agreement_id, month, member_id, direct_fields, friend_fields)
    select agreement_id, substr(at, 1, 7), subject_member_id, ${mask(1)}, ${mask(0)}
    from (select agreement_id, at, subject_member_id, released, ${direct} as direct from audit_log where ${released} and released <> '[]') e
    group by agreement_id, substr(at, 1, 7), subject_member_id`.execute(db);

  // One pass for every field's times, turned into a row per field that was released.
  const times = FIELD_BITS.flatMap(([field], i) => [
    sql`sum(case when direct = 1 and ${has(field)} then 1 else 0 end) as ${sql.ref(`d${i}`)}`,
    sql`sum(case when direct = 0 and ${has(field)} then 1 else 0 end) as ${sql.ref(`f${i}`)}`,
  ]);
  const { rows } = await sql<Record<string, string | number>>`select agreement_id, substr(at, 1, 7) as month, ${sql.join(times)}
    from (select agreement_id, at, released, ${direct} as direct from audit_log where ${released}) e
    group by agreement_id, substr(at, 1, 7)`.execute(db);
  const values = rows.flatMap((row) => FIELD_BITS.flatMap(([field], i) => {
    const [d, f] = [Number(row[`d${i}`]), Number(row[`f${i}`])];
    return d + f === 0 ? [] : [{ agreement_id: row.agreement_id, month: row.month, field, direct: d, friends: f }];
  }));
  for (let start = 0; start < values.length; start += 1000) {
    await db.insertInto('audit_field_months').values(values.slice(start, start + 1000)).execute();
  }
}
