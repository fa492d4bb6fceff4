import { type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Small bitmaps beside the member sets (issue 14: keeping the counts within 10% of append
 * throughput). A fold used to read a set's bitmap, OR the rows it folded into it and write it back
 * whole, so every fold of a month rewrote that month's sets, which grow with it. A fold now appends
 * what it adds as a delta, a bitmap of its own, and a set is its `member_sets` bitmap (unchanged,
 * so sets built in bulk stay valid) ORed with its deltas; the deltas are merged into it now and
 * then (member-set-folding.ts).
 */
export const memberSetDeltas: Migration = {
  async up(db: Kysely<any>) {
    const { bytes, bigInteger, postgres } = columnTypes(db);
    await db.schema
      .createTable('member_set_deltas')
      .addColumn('id', bigInteger, (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('set_key', 'text', (c) => c.notNull())
      .addColumn('members', bytes, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('member_set_deltas_set').on('member_set_deltas').columns(['kind', 'period', 'set_key']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('member_set_deltas').execute();
  },
};
