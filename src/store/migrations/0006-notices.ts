import { randomBytes } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';

/**
 * Notices to partners (issue 4, part 5): an outbox of notices (one row per event a partner is told
 * about), one row per delivery attempt to the partner's webhook, and a per-partner signing secret.
 *
 * `notices.status` is the notice's delivery state (`pending` | `delivered` | `failed` | `abandoned` |
 * `undeliverable`), `next_attempt_at` when the dispatcher may try it next, and `claimed_until` a lease a
 * dispatcher takes with a conditional update before sending, so that two dispatchers never send the
 * same attempt. `dedupe_key` is unique (NULLs are distinct), so an event two scheduler instances both
 * see is enqueued once.
 */
export const notices: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('notices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
      .addColumn('agreement_id', 'text')
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text')
      .addColumn('claimed_until', 'text')
      .addColumn('claimed_by', 'text')
      .addColumn('delivered_at', 'text')
      .execute();
    await db.schema.createIndex('notices_due').on('notices').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('notices_partner').on('notices').columns(['partner_id', 'created_at']).execute();
    await db.schema.createIndex('notices_agreement').on('notices').columns(['agreement_id', 'created_at']).execute();
    await db.schema
      .createTable('notice_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('notice_id', 'text', (c) => c.notNull().references('notices.id'))
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('attempted_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('error', 'text')
      .addColumn('next_attempt_at', 'text')
      .addUniqueConstraint('notice_deliveries_attempt', ['notice_id', 'attempt'])
      .execute();
    await db.schema.alterTable('partners').addColumn('webhook_secret', 'text').execute();
    // Existing partners get a secret now; partners created later get one when first needed.
    const partners = (await db.selectFrom('partners').select('id').execute()) as { id: string }[];
    for (const partner of partners) {
      await db.updateTable('partners').set({ webhook_secret: newWebhookSecret() }).where('id', '=', partner.id).execute();
    }
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('partners').dropColumn('webhook_secret').execute();
    await db.schema.dropTable('notice_deliveries').execute();
    await db.schema.dropTable('notices').execute();
  },
};

/** A webhook signing secret: `whsec_` and 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
