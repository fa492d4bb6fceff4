import type { Kysely, Migration } from 'kysely';

/**
 * Staff of the platform (the admin API's users), their bearer credentials (session tokens from a
 * login, API keys for automation; only SHA-256 hashes are stored), and who did what in the audit
 * log: staff actions are entries with an actor, an action and a JSON detail.
 */
export const staff: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('staff')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('disabled_at', 'text')
      .execute();
    await db.schema
      .createTable('staff_credentials')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      /** A public id for listing and revoking an API key (the secret is never stored). */
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createIndex('staff_credentials_staff').on('staff_credentials').columns(['staff_id', 'kind']).execute();
    await db.schema.alterTable('audit_entries').addColumn('actor', 'text').execute();
    await db.schema.alterTable('audit_entries').addColumn('action', 'text').execute();
    await db.schema.alterTable('audit_entries').addColumn('detail', 'text').execute();
    await db.schema.createIndex('audit_entries_actor').on('audit_entries').column('actor').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_entries_actor').execute();
    for (const column of ['detail', 'action', 'actor']) {
      await db.schema.alterTable('audit_entries').dropColumn(column).execute();
    }
    await db.schema.dropTable('staff_credentials').execute();
    await db.schema.dropTable('staff').execute();
  },
};
