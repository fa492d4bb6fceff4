import { type Kysely, type Migration } from 'kysely';

/**
 * What a replay reads of a request logged from now on, so that it costs a row per request and no
 * look-up per subject (issue 15: a million subject decisions a second).
 *
 * - `audit_requests.replay_subjects`: the appender writes, per Graph API request, its subjects'
 *   entries (their lists' ids), member numbers and the ids of those without one, in one string
 *   (audit-rows.ts replaySubjectsOf). A replay reads it instead of a row per subject from the
 *   leaves (most of its reading time: 0.66 µs a subject at 20,000 members, 0.9 µs at a million).
 *   Not part of any entry: neither hashed nor exported; the leaves stay what the log is. No
 *   backfill (it would rewrite every request row of a large log): a request logged before is read
 *   from its leaves, as before.
 * - `ended_friendships`: a row per direction of every friendship ended from now on, by member
 *   numbers, removed when the two become friends again (FriendshipRepository). A subject the log
 *   shows through a friend was a friend then; for a request logged with `replay_subjects` (after
 *   this migration) they are one today unless their friendship is here, a look-up in a set that
 *   holds the ends since, not a read of the token member's friends per request (16 µs each at a
 *   million members, from all over the file). A request logged before reads the friend lists.
 */
export const requestReplaySubjects: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('audit_requests').addColumn('replay_subjects', 'text').execute();
    await db.schema
      .createTable('ended_friendships')
      .addColumn('member_number', 'integer', (c) => c.notNull())
      .addColumn('friend_number', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('ended_friendships_pk', ['member_number', 'friend_number'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('ended_friendships').execute();
    await db.schema.alterTable('audit_requests').dropColumn('replay_subjects').execute();
  },
};
