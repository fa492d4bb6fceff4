import { type Kysely, type Migration } from 'kysely';

/**
 * Each logged subject's member number beside its id (issue 15: a replay at a million subject
 * decisions a second). The Graph API reads a subject's number with its row before it releases
 * anything of them (`members.number`, migration 0037), so the appender stores it at no cost, and a
 * replay reads numbers instead of looking up every subject's id in a table of a million ids.
 *
 * Not part of the entry: neither hashed nor exported, and null where the appender was not given
 * one (entries logged before this migration, staff actions, an id that is no member's). No
 * backfill: it would rewrite every row of a log of a hundred million; a replay looks up by id the
 * subjects logged without a number, as it did before.
 */
export const leafSubjectNumbers: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('audit_leaves').addColumn('subject_number', 'integer').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('audit_leaves').dropColumn('subject_number').execute();
  },
};
