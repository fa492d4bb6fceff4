import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/** Members, the social graph, partners, agreements, grants, tokens and the first audit table. */
export const foundation: Migration = {
  async up(db: Kysely<any>) {
    const types = columnTypes(db);
    await db.schema
      .createTable('members')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('platform_enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('share_via_friends', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('profile_values')
      .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('profile_values_pk', ['member_id', 'field'])
      .execute();
    await db.schema
      .createTable('field_audiences')
      .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('audience', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('field_audiences_pk', ['member_id', 'field'])
      .execute();
    await db.schema
      .createTable('friendships')
      .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('friend_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('since', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('friendships_pk', ['member_id', 'friend_id'])
      .execute();

    await db.schema
      .createTable('partners')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('legal_name', 'text', (c) => c.notNull())
      .addColumn('country', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('risk_flags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('storage_location', 'text', (c) => c.notNull())
      .addColumn('storage_country', 'text')
      .addColumn('contacts', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('webhook_url', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('apps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('class', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('agreements')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('purposes', 'text', (c) => c.notNull())
      .addColumn('member_fields', 'text', (c) => c.notNull())
      .addColumn('friend_fields', 'text', (c) => c.notNull())
      .addColumn('retention_days', 'integer', (c) => c.notNull())
      .addColumn('storage_location', 'text', (c) => c.notNull())
      .addColumn('storage_country', 'text')
      .addColumn('starts_at', 'text', (c) => c.notNull())
      .addColumn('ends_at', 'text', (c) => c.notNull())
      .addColumn('certification_due_at', 'text', (c) => c.notNull())
      .addColumn('wind_down', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('agreement_apps')
      .addColumn('agreement_id', 'text', (c) => c.notNull().references('agreements.id'))
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addPrimaryKeyConstraint('agreement_apps_pk', ['agreement_id', 'app_id'])
      .execute();
    await db.schema.createIndex('agreement_apps_app').on('agreement_apps').column('app_id').execute();
    await db.schema
      .createTable('agreement_history')
      .addColumn('agreement_id', 'text', (c) => c.notNull().references('agreements.id'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('snapshot', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('agreement_history_pk', ['agreement_id', 'version'])
      .execute();

    await db.schema
      .createTable('grants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('agreement_id', 'text', (c) => c.references('agreements.id'))
      .addColumn('agreement_version', 'integer')
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('member_fields', 'text', (c) => c.notNull())
      .addColumn('friend_fields', 'text', (c) => c.notNull())
      .addColumn('granted_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('grants_app_member').on('grants').columns(['app_id', 'member_id']).execute();
    await db.schema.createIndex('grants_member').on('grants').column('member_id').execute();
    await db.schema
      .createTable('access_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id'))
      .addColumn('issued_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('access_tokens_grant').on('access_tokens').column('grant_id').execute();

    await db.schema
      .createTable('audit_entries')
      // SQLite: the rowid, autoincrement (as existing files have it). PostgreSQL: a bigint key without a
      // default; the appender assigns every seq itself, under the log's advisory lock.
      .addColumn('seq', types.bigInteger, (c) => (types.postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text')
      .addColumn('partner_id', 'text')
      .addColumn('agreement_id', 'text')
      .addColumn('agreement_version', 'integer')
      .addColumn('rules_version', 'text', (c) => c.notNull())
      .addColumn('token_member_id', 'text')
      .addColumn('subject_member_id', 'text')
      .addColumn('purpose', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('code', 'text')
      .addColumn('released', 'text', (c) => c.notNull())
      .addColumn('withheld', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_entries_request').on('audit_entries').column('request_id').execute();
    await db.schema.createIndex('audit_entries_subject').on('audit_entries').column('subject_member_id').execute();
  },

  async down(db: Kysely<any>) {
    for (const table of [
      'audit_entries', 'access_tokens', 'grants', 'agreement_history', 'agreement_apps', 'agreements',
      'apps', 'partners', 'friendships', 'field_audiences', 'profile_values', 'members',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
