import { sql, type Kysely, type Migration } from 'kysely';

/**
 * How grants end and how far tokens reach (issue 12, point 3).
 *
 * - `grants.end_reason`: why `revoked_at` was recorded (`member_revoked`, `token_revoked`,
 *   `unused_90_days`, `access_ended`); null on rows revoked before reasons were kept, which were
 *   all revoked by their member.
 * - `access_tokens.member_fields`, `friend_fields`: the fields a token was issued for, as JSON
 *   field lists like the grant's; null (development tokens, tokens from before) reads the grant's.
 *   A token down-scoped at refresh is narrower than its grant.
 * - Two partial indexes for the scheduler's look for grants that have ended but are not recorded
 *   so: by last activity, and by agreement (for a wind-down's `access_ended`). Only grants still
 *   unrecorded are in them, so they stay small.
 */
export const grantEndings: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('grants').addColumn('end_reason', 'text').execute();
    await db.schema.alterTable('access_tokens').addColumn('member_fields', 'text').execute();
    await db.schema.alterTable('access_tokens').addColumn('friend_fields', 'text').execute();
    await db.schema
      .createIndex('grants_unended_activity')
      .on('grants')
      .expression(sql`coalesce(last_used_at, granted_at)`)
      .where(sql.ref('revoked_at'), 'is', null)
      .execute();
    await db.schema
      .createIndex('grants_unended_agreement')
      .on('grants')
      .column('agreement_id')
      .where(sql.ref('revoked_at'), 'is', null)
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('grants_unended_agreement').execute();
    await db.schema.dropIndex('grants_unended_activity').execute();
    await db.schema.alterTable('access_tokens').dropColumn('friend_fields').execute();
    await db.schema.alterTable('access_tokens').dropColumn('member_fields').execute();
    await db.schema.alterTable('grants').dropColumn('end_reason').execute();
  },
};
