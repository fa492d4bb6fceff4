import type { Kysely, Migration } from 'kysely';

/**
 * Members' access history (PRODUCT.md §6) pages through one member's entries newest first by
 * `seq`. SQLite's index on `subject_member_id` happens to carry the rowid (`seq`) too, but
 * PostgreSQL's does not: this index makes the keyset `subject_member_id = ? AND seq < ? ORDER BY
 * seq DESC` one index range on either.
 */
export const accessHistoryIndex: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('audit_entries_subject_seq').on('audit_entries').columns(['subject_member_id', 'seq']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_entries_subject_seq').execute();
  },
};
