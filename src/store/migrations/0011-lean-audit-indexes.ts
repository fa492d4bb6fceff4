import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Every index on audit_entries is written for every entry, and appends are the log's hot path:
 * - `audit_entries_subject` is covered by `audit_entries_subject_seq` (same first column);
 * - `audit_entries_actor` only serves staff actions, a sliver of the log: it becomes partial.
 */
export const leanAuditIndexes: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.dropIndex('audit_entries_subject').execute();
    await db.schema.dropIndex('audit_entries_actor').execute();
    await db.schema.createIndex('audit_entries_actor').on('audit_entries').column('actor').where(sql.ref('actor'), 'is not', null).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_entries_actor').execute();
    await db.schema.createIndex('audit_entries_actor').on('audit_entries').column('actor').execute();
    await db.schema.createIndex('audit_entries_subject').on('audit_entries').column('subject_member_id').execute();
  },
};
