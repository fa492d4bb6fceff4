import type { Kysely, Migration } from 'kysely';

/**
 * `agreements.storage_safeguard` (issue 14, records of processing): what makes a transfer to the
 * partner's servers lawful when they are outside the platform's country (adequacy decision,
 * standard contractual clauses, binding corporate rules, a derogation). Null: none stated, which
 * the records of processing flag for a transfer.
 */
export const transferSafeguards: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agreements').addColumn('storage_safeguard', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('agreements').dropColumn('storage_safeguard').execute();
  },
};
