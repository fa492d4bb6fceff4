import type { Kysely, Migration } from 'kysely';

/**
 * What the agreement lifecycle (PRODUCT.md §5) keeps beside the terms: who drafted the version
 * under review and who approved it, whether two approvals are needed, the deletion attestation
 * and the `deletion_unconfirmed` flag, which wind-down notices went out; and a readable diff for
 * each version in the history.
 */
export const agreementLifecycle: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agreements').addColumn('author_id', 'text', (c) => c.notNull().defaultTo('system')).execute();
    await db.schema.alterTable('agreements').addColumn('approvals', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    await db.schema.alterTable('agreements').addColumn('needs_two_approvals', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('agreements').addColumn('deletion_attested_at', 'text').execute();
    await db.schema.alterTable('agreements').addColumn('deletion_unconfirmed', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('agreements').addColumn('wind_down_notices', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    await db.schema.alterTable('agreement_history').addColumn('diff', 'text').execute();
    await db.schema.createIndex('agreements_status').on('agreements').column('status').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('agreements_status').execute();
    await db.schema.alterTable('agreement_history').dropColumn('diff').execute();
    for (const column of ['wind_down_notices', 'deletion_unconfirmed', 'deletion_attested_at', 'needs_two_approvals', 'approvals', 'author_id']) {
      await db.schema.alterTable('agreements').dropColumn(column).execute();
    }
  },
};
