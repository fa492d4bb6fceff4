import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * The per-member counts kept on append (0021's `audit_release_days` and `audit_exposure`, 0028's
 * `audit_token_months`) become journals: rows appended in the order of their `id`, with no key to
 * keep unique. Upserting them by (period, key, member) put every released friend at a random place
 * in a B-tree keyed by text, which cost the appends about as much as the entry itself (issue 14:
 * keeping the counts within 10% of append throughput); appending at the end costs a tenth of that.
 * A member may now have several rows in a period; every reader builds a set of members from the
 * rows (or ORs their fields), and the folding, which moves rows into the member sets' bitmaps by
 * `id`, removes the repeats. `audit_release_days.last_at` goes: no report read it.
 */
const JOURNALS: ReadonlyArray<{ table: string; columns: ReadonlyArray<readonly [string, 'text' | 'integer' | 'bigint']> }> = [
  { table: 'audit_release_days', columns: [['day', 'text'], ['agreement_id', 'text'], ['member_id', 'text'], ['first_at', 'bigint']] },
  { table: 'audit_exposure', columns: [['month', 'text'], ['agreement_id', 'text'], ['member_id', 'text'], ['direct_fields', 'integer'], ['friend_fields', 'integer']] },
  { table: 'audit_token_months', columns: [['month', 'text'], ['partner_id', 'text'], ['member_id', 'text']] },
];

export const countJournals: Migration = {
  async up(db: Kysely<any>) {
    const { bigInteger, postgres } = columnTypes(db);
    for (const { table, columns } of JOURNALS) {
      const journal = `${table}_journal`;
      // SQLite: `integer primary key` is the rowid itself, so a row is appended at the table's end with no index beside it.
      let create = db.schema.createTable(journal)
        .addColumn('id', bigInteger, (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()));
      for (const [name, type] of columns) create = create.addColumn(name, type === 'bigint' ? bigInteger : type, (c) => c.notNull());
      await create.execute();
      const names = sql.join(columns.map(([name]) => sql.ref(name)));
      await sql`insert into ${sql.table(journal)} (${names}) select ${names} from ${sql.table(table)}`.execute(db);
      await db.schema.dropTable(table).execute();
      await db.schema.alterTable(journal).renameTo(table).execute();
    }
  },
  /** Back to one row per key, as 0021 and 0028 made them: first and last release, ORed fields, each member once. */
  async down(db: Kysely<any>) {
    const { bigInteger, postgres } = columnTypes(db);
    const clustered = postgres ? sql`` : sql`without rowid`;
    const keyed = async (table: string, key: readonly string[], columns: ReadonlyArray<readonly [string, 'text' | 'integer' | 'bigint']>, select: RawBuilder<unknown>) => {
      await db.schema.alterTable(table).renameTo(`${table}_journal`).execute();
      let create = db.schema.createTable(table);
      for (const [name, type] of columns) create = create.addColumn(name, type, (c) => c.notNull());
      await create.addPrimaryKeyConstraint(`${table}_pk`, key as never[]).modifyEnd(clustered).execute();
      await sql`insert into ${sql.table(table)} (${sql.join(columns.map(([name]) => sql.ref(name)))}) ${select}`.execute(db);
      await db.schema.dropTable(`${table}_journal`).execute();
    };
    await keyed('audit_release_days', ['day', 'agreement_id', 'member_id'],
      [['agreement_id', 'text'], ['day', 'text'], ['member_id', 'text'], ['first_at', bigInteger], ['last_at', bigInteger]],
      sql`select agreement_id, day, member_id, min(first_at), max(first_at) from audit_release_days_journal group by day, agreement_id, member_id`);
    // A mask ORed over rows: per bit, the largest of the rows' (mask & bit), summed.
    const or = (column: string) => sql.join(Array.from({ length: 31 }, (_, i) => sql`max(${sql.ref(column)} & ${sql.lit(2 ** i)})`), sql` + `);
    await keyed('audit_exposure', ['month', 'agreement_id', 'member_id'],
      [['agreement_id', 'text'], ['month', 'text'], ['member_id', 'text'], ['direct_fields', 'integer'], ['friend_fields', 'integer']],
      sql`select agreement_id, month, member_id, ${or('direct_fields')}, ${or('friend_fields')} from audit_exposure_journal group by month, agreement_id, member_id`);
    await keyed('audit_token_months', ['month', 'partner_id', 'member_id'], [['month', 'text'], ['partner_id', 'text'], ['member_id', 'text']],
      sql`select distinct month, partner_id, member_id from audit_token_months_journal`);
  },
};
