import type { Kysely, Migration } from 'kysely';

/** What partners file: yearly certifications, and deletion attestations after access has ended. */
export const partnerRecords: Migration = {
  async up(db: Kysely<any>) {
    for (const table of ['agreement_certifications', 'deletion_attestations']) {
      await db.schema
        .createTable(table)
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agreement_id', 'text', (c) => c.notNull().references('agreements.id'))
        .addColumn('agreement_version', 'integer', (c) => c.notNull())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('signed_by', 'text', (c) => c.notNull())
        .addColumn('statement', 'text', (c) => c.notNull())
        .addColumn('filed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex(`${table}_agreement`).on(table).column('agreement_id').execute();
    }
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('deletion_attestations').execute();
    await db.schema.dropTable('agreement_certifications').execute();
  },
};
