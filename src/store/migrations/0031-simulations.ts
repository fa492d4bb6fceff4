import type { Kysely, Migration } from 'kysely';

/**
 * Simulations of agreement changes (issue 15): each result kept under its id, so that
 * `GET /admin/v1/agreements/:id/simulations/:simulationId` answers what the POST answered.
 */
export const simulations: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('simulations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('result', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('simulations').execute();
  },
};
