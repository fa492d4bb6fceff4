import type { Kysely, Migration } from 'kysely';

/**
 * Member passwords (for login and consent), the server-side store of web sessions, and where each
 * access token came from (the development CLI or OAuth).
 */
export const memberLogins: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('member_credentials')
      .addColumn('member_id', 'text', (c) => c.primaryKey().references('members.id'))
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('web_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('web_sessions_expiry').on('web_sessions').column('expires_at').execute();
    await db.schema
      .alterTable('access_tokens')
      .addColumn('origin', 'text', (c) => c.notNull().defaultTo('development'))
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('access_tokens').dropColumn('origin').execute();
    await db.schema.dropTable('web_sessions').execute();
    await db.schema.dropTable('member_credentials').execute();
  },
};
