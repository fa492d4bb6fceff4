import { type Kysely, type Migration } from 'kysely';

/**
 * A Graph API request's subjects packed in its own row for a replay (issue 15: a million subject
 * decisions a second): the appender writes, per request, its subjects' entries (their lists' ids),
 * member numbers and the ids of those without one, in one string (audit-rows.ts replaySubjectsOf).
 * A replay then reads a row per request, not one per subject: the per-subject rows were most of
 * its reading time (0.66 µs a subject at 20,000 members, 0.9 µs at a million).
 *
 * Not part of any entry: neither hashed nor exported; the leaves stay what the log is. No backfill
 * (it would rewrite every request row of a large log): a request logged before is read from its
 * leaves, as before.
 */
export const requestReplaySubjects: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('audit_requests').addColumn('replay_subjects', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('audit_requests').dropColumn('replay_subjects').execute();
  },
};
