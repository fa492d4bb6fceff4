import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The member's privacy center (issue 17).
 *
 * - `partners.privacy_policy_url`: the partner's privacy policy, linked from the consent page;
 *   null for partners registered before it was asked for (a new agreement needs it).
 * - `member_friend_exclusions`: the apps and partners a member keeps from seeing them through
 *   friends (PRODUCT.md §4), one row per app (`kind` `app`) or partner (`kind` `partner`). Read by
 *   the friend list's scan for the friends of a page, hence the member first in the key.
 * - `deletion_requests`: a member's request that a partner delete their data, sent as a notice;
 *   `confirmed_at` is set when the partner confirms. The partial index serves the staff's list of
 *   requests still unconfirmed, which stays small.
 */
export const memberPrivacyCenter: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('partners').addColumn('privacy_policy_url', 'text').execute();
    await db.schema
      .createTable('member_friend_exclusions')
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('member_friend_exclusions_pk', ['member_id', 'kind', 'target_id'])
      .execute();
    await db.schema
      .createTable('deletion_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('confirmed_at', 'text')
      .execute();
    await db.schema.createIndex('deletion_requests_member').on('deletion_requests').columns(['member_id', 'requested_at']).execute();
    await db.schema
      .createIndex('deletion_requests_unconfirmed')
      .on('deletion_requests')
      .column('requested_at')
      .where(sql.ref('confirmed_at'), 'is', null)
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('deletion_requests').execute();
    await db.schema.dropTable('member_friend_exclusions').execute();
    await db.schema.alterTable('partners').dropColumn('privacy_policy_url').execute();
  },
};
