import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The requests' instants within partitions of 65,536 consecutive seqs, as 0035 indexes the leaves by
 * subject: `((first_seq / 65536), at)`. The staff query's time window needs the seqs its entries lie
 * between, and audit_requests had no index on `at` since 0020 (audit_entries' were by partner, app and
 * agreement and time): a window alone read the log from its newest leaf down to the window (at 100M
 * entries, tens of seconds for a day in the middle), and to its very first when the window held fewer
 * entries than a page. With this index each partition's earliest and latest instant is a look-up at an
 * end of its slice (audit-window.ts). Keyed first by partition, appends write the newest slice only.
 * An index on the expression: no column added, no row rewritten.
 */
export const requestTimePartitions: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('audit_requests_at_partition').on('audit_requests')
      .expression(sql`(${sql.ref('first_seq')} / 65536)`).column('at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_requests_at_partition').execute();
  },
};
