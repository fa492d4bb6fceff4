import type { Kysely, Migration } from 'kysely';

/**
 * Blinded audit entries (issue 11). Entries written from here on are in the blinded canonical form
 * (`format` 2): their leaf hash covers a secret blinding derived from the leaf index, so it is not
 * stored (it is recomputed, with the key, by whoever may see it), and a request's entry counts the
 * friends its scan passed over (`passed_over`, `passed_over_reason`) instead of an entry for each.
 * Existing rows stay as they were, `format` 1, with their stored leaf hashes.
 */
export const blindedAuditEntries: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('audit_entries').addColumn('format', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.alterTable('audit_entries').addColumn('passed_over', 'integer').execute();
    await db.schema.alterTable('audit_entries').addColumn('passed_over_reason', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('audit_entries').dropColumn('passed_over_reason').execute();
    await db.schema.alterTable('audit_entries').dropColumn('passed_over').execute();
    await db.schema.alterTable('audit_entries').dropColumn('format').execute();
  },
};
