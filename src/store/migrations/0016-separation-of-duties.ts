import type { Kysely, Migration } from 'kysely';

/** The sensitive class of the field catalog as it stands at this migration (a migration never imports application code). */
const SENSITIVE_FIELDS = ['relationship_status', 'religion', 'political_views'];

function namesOf(json: string | null): string[] {
  const value = JSON.parse(json ?? '[]') as unknown;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Separation of duties (PRODUCT.md §5, issue 12):
 * - `staff_role_proposals`: a grant of `privacy_officer` or `admin` through the API waits here
 *   until a second admin confirms it (`pending` → `confirmed` | `rejected` | `cancelled`);
 * - `agreements.approved_by`: the approvals that counted at activation, kept after it (the
 *   `approvals` column is the version under review's and empties at activation);
 * - `needs_two_approvals` recomputed for every agreement from its terms and its partner's risk
 *   flags: agreements written without the lifecycle (the demo world's) all said 0.
 */
export const separationOfDuties: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('staff_role_proposals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('proposed_by', 'text', (c) => c.notNull())
      .addColumn('proposed_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'text')
      .execute();
    await db.schema.createIndex('staff_role_proposals_status').on('staff_role_proposals').columns(['status', 'proposed_at']).execute();
    await db.schema.alterTable('agreements').addColumn('approved_by', 'text', (c) => c.notNull().defaultTo('[]')).execute();

    const rows = await db.selectFrom('agreements').innerJoin('partners', 'partners.id', 'agreements.partner_id')
      .select(['agreements.id', 'agreements.member_fields', 'agreements.friend_fields', 'agreements.needs_two_approvals', 'partners.risk_flags'])
      .execute();
    for (const row of rows) {
      const two = namesOf(row.friend_fields).length > 0
        || namesOf(row.member_fields).some((field) => SENSITIVE_FIELDS.includes(field))
        || namesOf(row.risk_flags).length > 0;
      if (Number(row.needs_two_approvals) !== (two ? 1 : 0)) {
        await db.updateTable('agreements').set({ needs_two_approvals: two ? 1 : 0 }).where('id', '=', row.id).execute();
      }
    }
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('agreements').dropColumn('approved_by').execute();
    await db.schema.dropTable('staff_role_proposals').execute();
  },
};
