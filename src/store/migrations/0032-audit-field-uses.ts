import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * `audit_field_uses` (issue 15 point 2, the least-privilege report): per UTC month, agreement, app,
 * purpose, field and way (`d` directly, `f` through friends), the first and last instant the field
 * was released. Kept on append like the other counts (src/store/audit-aggregates.ts); rows grow
 * with the distinct uses, not with traffic. First and last per month answer "released at least
 * once between two instants" exactly: a window of 90 days spans at least three months, so only its
 * first month can hold releases before it (then the last instant says) and only its last month
 * releases after it (then the first instant says). Filled here from the entries already logged.
 *
 * The field catalog's names are copied here as they were at this migration (the catalog only ever
 * grows at the end), as migrations never import application code.
 */
const FIELDS = [
  'id', 'name', 'picture', 'email', 'phone', 'birthday', 'gender', 'hometown', 'location', 'work', 'education',
  'relationship_status', 'religion', 'political_views', 'events', 'likes', 'photos', 'friends',
];

export const auditFieldUses: Migration = {
  async up(db: Kysely<any>) {
    const { bigInteger, postgres } = columnTypes(db);
    await db.schema
      .createTable('audit_field_uses')
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('how', 'text', (c) => c.notNull())
      .addColumn('first_at', bigInteger, (c) => c.notNull())
      .addColumn('last_at', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_field_uses_pk', ['month', 'agreement_id', 'app_id', 'purpose', 'field', 'how'])
      .modifyEnd(postgres ? sql`` : sql`without rowid`)
      .execute();
    await backfill(db, postgres);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_field_uses').execute();
  },
};

async function backfill(db: Kysely<any>, postgres: boolean): Promise<void> {
  // `at` is ISO-8601 text with milliseconds; the table keeps epoch milliseconds (as migration 0021).
  const ms = (iso: RawBuilder<unknown>) => postgres
    ? sql`round(extract(epoch from (${iso})::timestamptz) * 1000)::bigint`
    : sql`(cast(strftime('%s', ${iso}) as integer) * 1000 + cast(substr(${iso}, 21, 3) as integer))`;
  const fields = sql.join(FIELDS.map((field) => sql`select ${sql.lit(field)} as field`), sql` union all `);
  // `released` is a JSON list of catalog names; a quoted name matches no other one.
  await sql`insert into audit_field_uses (month, agreement_id, app_id, purpose, field, how, first_at, last_at)
    select month, agreement_id, app_id, purpose, field, how, ${ms(sql`first`)}, ${ms(sql`last`)} from (
      select substr(e.at, 1, 7) as month, e.agreement_id, e.app_id, e.purpose, f.field, e.how, min(e.at) as first, max(e.at) as last
      from (
        select at, agreement_id, app_id, purpose, released,
          case when token_member_id = subject_member_id then 'd' else 'f' end as how
        from audit_log
        where outcome = 'released' and agreement_id is not null and subject_member_id is not null
          and app_id is not null and purpose is not null and released <> '[]'
      ) e
      join (${fields}) f on e.released like '%"' || f.field || '"%'
      group by substr(e.at, 1, 7), e.agreement_id, e.app_id, e.purpose, f.field, e.how
    ) g`.execute(db);
}
