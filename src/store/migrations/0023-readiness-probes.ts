import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Where `/health/ready` proves that the database takes writes (issue 13): a row inserted and deleted
 * in one committed transaction, so the table stays empty. Its `padding` makes SQLite find room for
 * a few pages, as the next request's writes would.
 */
export const readinessProbes: Migration = {
  async up(db: Kysely<any>) {
    const { bytes } = columnTypes(db);
    await db.schema
      .createTable('readiness_probes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('padding', bytes, (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('readiness_probes').execute();
  },
};
