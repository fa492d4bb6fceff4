import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { recordsCsv } from '../../reports/records-of-processing-format.js';
import { RECORD_FINDINGS, recordsOfProcessing } from '../../reports/records-of-processing.js';
import type { AppContext } from '../app.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, security } from './admin-schemas.js';

const Names = Type.Array(Type.String());
const ControllerView = Type.Object({ name: Type.String(), country: Type.String({ description: 'ISO 3166-1 alpha-2' }) }, { additionalProperties: false });
const NullableDateTime = (description?: string) => NullableString({ format: 'date-time', ...(description ? { description } : {}) });

/** One record (src/reports/records-of-processing.ts, `ProcessingRecord`); the schema whitelists what leaves. */
const RecordView = Type.Object({
  agreement_id: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  in_effect: Type.Boolean(),
  controller: ControllerView,
  recipient: Type.Object({
    partner_id: Type.String(),
    legal_name: Type.String(),
    country: Type.String(),
    kind: Type.String(),
    risk_flags: Names,
    apps: Names,
  }, { additionalProperties: false }),
  purposes: Type.Array(Type.Object({ purpose: Type.String(), description: Type.String() }, { additionalProperties: false })),
  member_categories: Names,
  data_categories: Type.Array(Type.Object({
    about: StringEnum(['members', 'friends'] as const, 'whose data: the member who granted access, or their friends'),
    class: Type.String({ description: 'the sensitivity class of the field catalog' }),
    fields: Names,
  }, { additionalProperties: false })),
  storage: Type.Object({ location: Type.String(), country: NullableString() }, { additionalProperties: false }),
  transfer: Type.Object({
    outside_controller_country: Type.Boolean(),
    destination_country: NullableString(),
    safeguard: NullableString({ description: 'the safeguard the agreement states; null when none' }),
  }, { additionalProperties: false }),
  retention_days: Type.Integer(),
  security_measures: Names,
  dates: Type.Object({
    starts_at: DateTime,
    ends_at: DateTime,
    certification_due_at: DateTime,
    access_ended_at: NullableDateTime('when a wind-down ended access, once it has'),
    deletion_attested_at: NullableDateTime(),
    last_transfer_at: NullableDateTime('latest audited release or grant use'),
  }, { additionalProperties: false }),
  findings: Type.Array(StringEnum(RECORD_FINDINGS, 'what staff should act on')),
}, { additionalProperties: false });

const RecordsView = Type.Object({
  generated_at: DateTime,
  controller: ControllerView,
  data: Type.Array(RecordView),
}, { additionalProperties: false });

/** The records of processing (GDPR Art. 30, PRODUCT.md §6). Every staff role may read them. */
export const adminRecordsRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, clock, controller } = context;

  app.get('/reports/records-of-processing', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Records of processing (GDPR Art. 30): per agreement, the controller, purposes, members and data concerned, '
        + 'recipient, transfer and its safeguard, retention, security measures and dates',
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({
        format: Type.Optional(StringEnum(['json', 'csv'] as const, 'json (default) or csv (a download)')),
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The records as JSON, or as CSV with `?format=csv`',
          content: {
            'application/json': { schema: RecordsView },
            'text/csv': { schema: Type.String() },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const records = await recordsOfProcessing(store, controller, clock());
    if (request.query.format === 'csv') {
      const stamp = records.generated_at.replace(/[:.]/g, '-');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="datapact-records-of-processing-${stamp}.csv"`)
        .send(recordsCsv(records));
    }
    return reply.type('application/json; charset=utf-8').send(records);
  });
};
