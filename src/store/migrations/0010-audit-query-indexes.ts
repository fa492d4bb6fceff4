import type { Kysely, Migration } from 'kysely';

/**
 * Staff audit queries (issue 5) filter by one partner, app or agreement within a time window. Without
 * these the filter scans the whole log, which only grows; with them each is one index range on
 * `(id, at)`, on SQLite and PostgreSQL alike. The newest-first order by `seq` then sorts only the
 * matching entries.
 */
const INDEXES = [
  ['audit_entries_partner_at', 'partner_id'],
  ['audit_entries_app_at', 'app_id'],
  ['audit_entries_agreement_at', 'agreement_id'],
] as const;

export const auditQueryIndexes: Migration = {
  async up(db: Kysely<any>) {
    for (const [name, column] of INDEXES) {
      await db.schema.createIndex(name).on('audit_entries').columns([column, 'at']).execute();
    }
  },
  async down(db: Kysely<any>) {
    for (const [name] of INDEXES) await db.schema.dropIndex(name).execute();
  },
};
