import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Member sets as bitmaps (issue 11 point 4, issue 14 points 1 and 2): the reports count distinct
 * members by ORing compressed bitmaps over dense member numbers instead of grouping millions of
 * per-member rows.
 *
 * - `member_numbers`: every member's number, given by a trigger as the member is inserted (and
 *   here to the members already there), never reused.
 * - `audit_token_months`: per partner and month, the members whose tokens its apps used, kept on
 *   append like the other counts (one row per member, partner and month, not per request);
 *   filled here from the log's requests.
 * - `member_sets`: a set per kind, period and key, serialized as a portable Roaring bitmap. What
 *   the per-member count rows hold is folded into them from time to time and those rows deleted;
 *   a report reads a set's bitmap together with the rows not yet folded, so it is exact whether
 *   or not the folding has run.
 */
export const memberSets: Migration = {
  async up(db: Kysely<any>) {
    const { bytes, postgres } = columnTypes(db);
    const clustered = postgres ? sql`` : sql`without rowid`;
    await db.schema
      .createTable('member_numbers')
      .addColumn('number', 'integer', (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
      .addColumn('member_id', 'text', (c) => c.notNull().unique())
      .execute();
    await sql`insert into member_numbers (member_id) select id from members order by id`.execute(db);
    if (postgres) {
      await sql`create function number_new_member() returns trigger language plpgsql as $$
        begin insert into member_numbers (member_id) values (new.id) on conflict do nothing; return new; end $$`.execute(db);
      await sql`create trigger members_numbered after insert on members for each row execute function number_new_member()`.execute(db);
    } else {
      await sql`create trigger members_numbered after insert on members
        begin insert or ignore into member_numbers (member_id) values (new.id); end`.execute(db);
    }
    await db.schema
      .createTable('audit_token_months')
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_token_months_pk', ['month', 'partner_id', 'member_id'])
      .modifyEnd(clustered)
      .execute();
    await sql`insert into audit_token_months (month, partner_id, member_id)
      select distinct substr(at, 1, 7), partner_id, token_member_id from audit_requests
      where partner_id is not null and token_member_id is not null`.execute(db);
    await db.schema
      .createTable('member_sets')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('set_key', 'text', (c) => c.notNull())
      .addColumn('members', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('member_sets_pk', ['kind', 'period', 'set_key'])
      .modifyEnd(clustered)
      .execute();
  },
  async down(db: Kysely<any>) {
    const postgres = columnTypes(db).postgres;
    await db.schema.dropTable('member_sets').execute();
    await db.schema.dropTable('audit_token_months').execute();
    await sql`drop trigger members_numbered${postgres ? sql` on members` : sql``}`.execute(db);
    if (postgres) await sql`drop function number_new_member()`.execute(db);
    await db.schema.dropTable('member_numbers').execute();
  },
};
