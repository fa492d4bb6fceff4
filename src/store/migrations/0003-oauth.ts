import type { Kysely, Migration } from 'kysely';

/**
 * The OAuth server's storage: every oidc-provider model in one table (payload as JSON, the
 * look-up keys indexed), app client secrets, and the tokens partner servers get with client
 * credentials.
 */
export const oauth: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('oidc_payloads')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text')
      .addColumn('uid', 'text')
      .addColumn('user_code', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('consumed_at', 'text')
      .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').column('grant_id').execute();
    await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').column('uid').execute();
    await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').column('user_code').execute();
    await db.schema.createIndex('oidc_payloads_expiry').on('oidc_payloads').column('expires_at').execute();

    await db.schema.alterTable('apps').addColumn('client_secret', 'text').execute();

    await db.schema
      .createTable('client_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('issued_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('client_tokens').execute();
    await db.schema.alterTable('apps').dropColumn('client_secret').execute();
    await db.schema.dropTable('oidc_payloads').execute();
  },
};
