import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TUnsafe } from 'typebox';
import { WIND_DOWN_PHASES } from '../../domain/wind-down.js';
import { inventoryCsv } from '../../reports/inventory-format.js';
import { inventoryReport, RELEASE_WINDOW_DAYS } from '../../reports/inventory.js';
import type { AppContext } from '../app.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, security } from './admin-schemas.js';

const NullableInteger = (description?: string): TUnsafe<number | null> =>
  Type.Unsafe<number | null>({ type: 'integer', nullable: true, ...(description ? { description } : {}) });
const NullableDateTime = (description?: string) => NullableString({ format: 'date-time', ...(description ? { description } : {}) });
const Names = Type.Array(Type.String());

/** One line of the inventory (src/reports/inventory.ts, `InventoryRow`); the schema whitelists what leaves. */
const InventoryRowView = Type.Object({
  partner_id: Type.String(),
  partner_legal_name: Type.String(),
  partner_country: Type.String({ description: 'ISO 3166-1 alpha-2' }),
  partner_kind: Type.String(),
  risk_flags: Names,
  agreement_id: NullableString({ description: 'null: the partner has no agreement' }),
  version: NullableInteger(),
  status: NullableString(),
  status_reason: NullableString(),
  in_effect: Type.Boolean({ description: 'whether the rules let data flow now, whatever the recorded status' }),
  not_in_effect_cause: NullableString({ description: 'no_agreement, not_active, not_started, expired, access_ended, certification_overdue, suspended, terminated' }),
  starts_at: NullableDateTime(),
  age_days: NullableInteger('whole days since the start; null before it'),
  ends_at: NullableDateTime(),
  days_to_end: NullableInteger('days left, rounded up; 0 or less once ended (minus the whole days since)'),
  purposes: Names,
  member_fields: Names,
  friend_fields: Names,
  retention_days: NullableInteger(),
  storage_location: Type.String(),
  storage_country: NullableString(),
  certification_due_at: NullableDateTime(),
  certification_state: NullableString({ description: '`current`, `due in N days`, `overdue by N days` or `lapsed`' }),
  last_access_at: NullableDateTime('latest audited release or grant use'),
  fields_released_30d: Type.Integer({ description: `fields released in the last ${RELEASE_WINDOW_DAYS} days (id not counted)` }),
  members_reached_30d: Type.Integer({ description: `distinct members whose data was released in the last ${RELEASE_WINDOW_DAYS} days` }),
  wind_down_phase: Type.Unsafe<string | null>({ type: 'string', enum: [...WIND_DOWN_PHASES], nullable: true }),
  wind_down_no_new_grants_at: NullableDateTime(),
  wind_down_no_friend_data_at: NullableDateTime(),
  wind_down_access_ended_at: NullableDateTime(),
  deletion_attested_at: NullableDateTime(),
  wind_down: NullableString({ description: 'e.g. `no_friend_data (access ends 2026-12-20)`' }),
  apps: Names,
}, { additionalProperties: false });

const InventoryView = Type.Object({
  generated_at: DateTime,
  data: Type.Array(InventoryRowView),
}, { additionalProperties: false });

/**
 * Reports that answer the regulators' questions from the live system (PRODUCT.md §6). Every staff
 * role may read them. Registered inside the /admin/v1 scope (staff authentication).
 */
export const adminReportRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, clock } = context;

  app.get('/reports/inventory', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Inventory: every partner and agreement, with status, dates, purposes, fields, storage, certification, '
        + `last access, volume released in the last ${RELEASE_WINDOW_DAYS} days and wind-down progress`,
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({
        format: Type.Optional(StringEnum(['json', 'csv'] as const, 'json (default) or csv (a download)')),
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The inventory as JSON, or as CSV with `?format=csv`',
          content: {
            'application/json': { schema: InventoryView },
            'text/csv': { schema: Type.String() },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const now = clock();
    const inventory = await inventoryReport(store, now);
    if (request.query.format === 'csv') {
      const stamp = inventory.generated_at.replace(/[:.]/g, '-');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="datapact-inventory-${stamp}.csv"`)
        .send(inventoryCsv(inventory));
    }
    return reply.type('application/json; charset=utf-8').send(inventory);
  });
};
