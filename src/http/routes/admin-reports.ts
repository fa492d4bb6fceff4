import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type, type TUnsafe } from 'typebox';
import { WIND_DOWN_PHASES } from '../../domain/wind-down.js';
import { counterfactualReport } from '../../reports/counterfactual.js';
import { counterfactualCsv } from '../../reports/counterfactual-format.js';
import { exposureReport, monthlyRequest } from '../../reports/exposure.js';
import { exposureCsv } from '../../reports/exposure-format.js';
import { inventoryCsv } from '../../reports/inventory-format.js';
import { leastPrivilegeCsv } from '../../reports/least-privilege-format.js';
import { LEAST_PRIVILEGE_STATES, LEAST_PRIVILEGE_WINDOW_DAYS, leastPrivilegeReport } from '../../reports/least-privilege.js';
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

const Month = (description: string) => Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description });
const MemberCountsView = {
  members_direct: Type.Integer({ description: 'distinct members released to a token of their own' }),
  members_through_friends: Type.Integer({ description: 'distinct members released to a token of one of their friends' }),
  members_total: Type.Integer({ description: 'distinct members released either way, each once' }),
};

/** One line of the exposure report (src/reports/exposure.ts, `ExposureRow`). */
const ExposureRowView = Type.Object({
  partner_id: Type.String(),
  partner_legal_name: Type.String(),
  agreement_id: Type.String(),
  storage_location: Type.String(),
  storage_country: NullableString({ description: 'the servers\' country the agreement declares; null for on_device' }),
  period: Type.String({ description: 'a month (2026-11), or the whole period (2026-09..2026-11) when it spans several' }),
  field: Type.String({ description: 'a catalog field, or * for members any of whose fields were released' }),
  ...MemberCountsView,
  times_direct: NullableInteger('times the field was released directly; null on a * row'),
  times_through_friends: NullableInteger('times the field was released through friends; null on a * row'),
}, { additionalProperties: false });

const ExposureView = Type.Object({
  generated_at: DateTime,
  from: Month('first month of the period (UTC)'),
  to: Month('last month of the period, included'),
  partner_id: NullableString(),
  data: Type.Array(ExposureRowView),
  by_partner: Type.Array(Type.Object({ partner_id: Type.String(), partner_legal_name: Type.String(), ...MemberCountsView }, { additionalProperties: false })),
  by_storage: Type.Array(Type.Object({
    storage: Type.String({ description: 'on_device, or the country of the servers the agreements declare' }),
    ...MemberCountsView,
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const CounterfactualView = Type.Object({
  generated_at: DateTime,
  from: Month('first month of the period (UTC)'),
  to: Month('last month of the period, included'),
  partner_id: NullableString(),
  graph_note: Type.String({ description: 'the reach is computed on the friend graph as it stands now' }),
  data: Type.Array(Type.Object({
    partner_id: Type.String(),
    partner_legal_name: Type.String(),
    token_members: Type.Integer({ description: 'distinct members whose tokens the partner\'s apps used in the period' }),
    released_members: Type.Integer({ description: 'distinct members Datapact released any data on to the partner in the period' }),
    reach_2018: Type.Integer({ description: 'distinct members the 2018 rules would have exposed: the token members, every friend, every friend of a friend' }),
    reach_2018_friends_of_friends_only: Type.Integer({ description: 'of reach_2018, members reached only as friends of friends' }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const LeastPrivilegeView = Type.Object({
  generated_at: DateTime,
  window_days: Type.Integer(),
  window_from: Type.String({ format: 'date-time', description: `${LEAST_PRIVILEGE_WINDOW_DAYS} days before generated_at, included` }),
  window_to: Type.String({ format: 'date-time', description: 'generated_at, included' }),
  agreement_id: NullableString(),
  data: Type.Array(Type.Object({
    agreement_id: Type.String(),
    version: Type.Integer(),
    partner_id: Type.String(),
    partner_legal_name: Type.String(),
    status: Type.String(),
    state: StringEnum(LEAST_PRIVILEGE_STATES, 'suggestions: something allowed was never used; least_privilege: everything was used; '
      + 'unused: nothing was released in the window; too_young: in effect for less than the window; not_in_effect; access_ended'),
    note: Type.String({ description: 'the state in words' }),
    in_effect_since: NullableDateTime('the later of the start and the first activation; null when never in effect'),
    purposes: Names,
    member_fields: Names,
    friend_fields: Names,
    unused_purposes: Type.Array(Type.String(), { description: 'purposes no release was made for in the window' }),
    unused_member_fields: Type.Array(Type.String(), { description: 'member fields never released directly (friends: no friend released)' }),
    unused_friend_fields: Type.Array(Type.String(), { description: 'friend fields never released through friends' }),
    friend_fields_cut: Type.Boolean({ description: 'the wind-down reached no_friend_data: friend fields are not suggested' }),
    suggested: Type.Union([Type.Object({ purposes: Names, member_fields: Names, friend_fields: Names }, { additionalProperties: false }), Type.Null()], {
      description: 'the terms without what was never used (state suggestions); POST /admin/v1/agreements/:id/least-privilege-draft drafts them',
    }),
    grant_populations: Type.Array(Type.Object({
      app_id: Type.String(),
      purpose: Type.String(),
      grants: Type.Integer({ description: 'live grants of this app and purpose' }),
      member_fields: Names,
      friend_fields: Names,
      unused_member_fields: Names,
      unused_friend_fields: Names,
    }, { additionalProperties: false })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

/** The period of a monthly report: whole UTC months, and one partner or all. */
const PeriodQuery = {
  from: Type.Optional(Month('first month, YYYY-MM (default: `to`, or the current month)')),
  to: Type.Optional(Month('last month, YYYY-MM, included (default: the current month)')),
  partner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this partner (an unknown id finds nothing)' })),
};

const FormatQuery = { format: Type.Optional(StringEnum(['json', 'csv'] as const, 'json (default) or csv (a download)')) };

/** A report as JSON, or as a CSV download named after the report and its time. */
function csvOrJson(reply: FastifyReply, format: 'json' | 'csv' | undefined, name: string, report: { generated_at: string }, csv: () => string) {
  if (format === 'csv') {
    const stamp = report.generated_at.replace(/[:.]/g, '-');
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="datapact-${name}-${stamp}.csv"`)
      .send(csv());
  }
  return reply.type('application/json; charset=utf-8').send(report);
}

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
      querystring: Type.Object(FormatQuery, { additionalProperties: false }),
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
    const inventory = await inventoryReport(store, clock());
    return csvOrJson(reply, request.query.format, 'inventory', inventory, () => inventoryCsv(inventory));
  });

  app.get('/reports/exposure', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Exposure: per partner, agreement, month and field, distinct members whose data was released directly, '
        + 'through friends and both together, how many times, and per partner and storage country over the period',
      description: 'The period is whole UTC months, `from` to `to` (both included; default: the current month); a member '
        + 'released in several of its months counts once over it. Exact, from counts kept as entries are appended.',
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({ ...FormatQuery, ...PeriodQuery }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The exposure as JSON, or its rows as CSV with `?format=csv`',
          content: {
            'application/json': { schema: ExposureView },
            'text/csv': { schema: Type.String() },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const report = await exposureReport(store, monthlyRequest(clock(), request.query.from, request.query.to, request.query.partner_id));
    return csvOrJson(reply, request.query.format, 'exposure', report, () => exposureCsv(report));
  });

  app.get('/reports/least-privilege', {
    onRequest: requirePermission('read'),
    schema: {
      summary: `Least privilege: per agreement and per population of its live grants, the purposes and fields allowed and never `
        + `used in the last ${LEAST_PRIVILEGE_WINDOW_DAYS} days, as suggested removals`,
      description: 'Member fields never released directly, friend fields never released through friends, purposes no release was '
        + 'made for. Exact, from the first and last release of each field kept as entries are appended. No suggestion for an '
        + 'agreement in effect for less than the window, not in effect, or whose access ended; friend fields a wind-down has cut '
        + 'are not suggested.',
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({
        ...FormatQuery,
        agreement_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'only this agreement (an unknown id finds nothing)' })),
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The report as JSON, or as CSV with `?format=csv` (a line per agreement, then one per grant population)',
          content: {
            'application/json': { schema: LeastPrivilegeView },
            'text/csv': { schema: Type.String() },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const report = await leastPrivilegeReport(store, clock(), request.query.agreement_id);
    return csvOrJson(reply, request.query.format, 'least-privilege', report, () => leastPrivilegeCsv(report));
  });

  app.get('/reports/counterfactual', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'What the 2018 rules would have reached: per partner, the members Datapact released data on beside those the '
        + '2018 device-integrated APIs would have exposed through the same requests',
      description: 'For the token members of the partner\'s requests in the period (whole UTC months, as for the exposure): '
        + 'the token members, every friend regardless of their settings and audiences, and every friend of a friend as an '
        + 'identifier. Computed on today\'s friend graph, from member sets kept current, never a scan of the log.',
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({ ...FormatQuery, ...PeriodQuery }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The report as JSON, or its rows as CSV with `?format=csv`',
          content: {
            'application/json': { schema: CounterfactualView },
            'text/csv': { schema: Type.String() },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const report = await counterfactualReport(store, monthlyRequest(clock(), request.query.from, request.query.to, request.query.partner_id));
    return csvOrJson(reply, request.query.format, 'counterfactual', report, () => counterfactualCsv(report));
  });
};
