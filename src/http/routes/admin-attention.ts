import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ATTENTION_HORIZON_DAYS } from '../../domain/attention.js';
import { confirmationDue, DELETION_CONFIRMATION_DAYS } from '../../domain/deletion-request.js';
import type { Agreement } from '../../domain/agreement.js';
import { ABANDONED_NOTICES_SHOWN, attentionReport } from '../../reports/attention.js';
import type { AppContext } from '../app.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, iso, isoOrNull, security } from './admin-schemas.js';

const AgreementRef = {
  agreement_id: Type.String(),
  version: Type.Integer(),
  partner_id: Type.String(),
  status: Type.String(),
};

const AttentionView = Type.Object({
  generated_at: DateTime,
  horizon_days: Type.Integer(),
  approvals_waiting: Type.Array(Type.Object({
    ...AgreementRef, approvals_needed: Type.Integer(), approvals_given: Type.Integer(), since: DateTime,
  }, { additionalProperties: false }), { description: 'Agreements under review, the longest waiting first.' }),
  certifications_due: Type.Array(Type.Object({
    ...AgreementRef, certification_due_at: DateTime, overdue: Type.Boolean(),
    lapses_at: Type.String({ format: 'date-time', description: 'When the agreement is suspended by itself without a certification.' }),
  }, { additionalProperties: false }), { description: `Due within ${ATTENTION_HORIZON_DAYS} days, or overdue.` }),
  wind_down_phases: Type.Array(Type.Object({
    ...AgreementRef, phase: Type.String(), at: DateTime,
  }, { additionalProperties: false }), { description: `Phases starting within ${ATTENTION_HORIZON_DAYS} days.` }),
  deletion_unconfirmed: Type.Array(Type.Object({
    ...AgreementRef, access_ended_at: NullableString({ format: 'date-time' }),
  }, { additionalProperties: false }), { description: 'Access ended over 30 days ago and no deletion attestation came.' }),
  abandoned_notices: Type.Array(Type.Object({
    id: Type.String(), partner_id: Type.String(), agreement_id: NullableString(), type: Type.String(), created_at: DateTime, attempts: Type.Integer(),
  }, { additionalProperties: false }), { description: `Notices the dispatcher gave up on, newest first (at most ${ABANDONED_NOTICES_SHOWN}).` }),
  member_deletions_unconfirmed: Type.Array(Type.Object({
    id: Type.String(), member_id: Type.String(), partner_id: Type.String(), requested_at: DateTime, confirm_by: DateTime,
  }, { additionalProperties: false }), { description: `Members' deletion requests a partner left unconfirmed past ${DELETION_CONFIRMATION_DAYS} days, oldest first (at most ${ABANDONED_NOTICES_SHOWN}).` }),
  witnesses: Type.Unsafe<{ tree_size: number; cosignatures: number; quorum: number; behind: boolean } | null>({
    type: 'object', nullable: true, additionalProperties: false, required: ['tree_size', 'cosignatures', 'quorum', 'behind'],
    properties: { tree_size: { type: 'integer' }, cosignatures: { type: 'integer' }, quorum: { type: 'integer' }, behind: { type: 'boolean' } },
    description: 'The latest signed head\'s witness cosignatures against the quorum (`behind`: fewer); null without witnesses configured or a head.',
  }),
}, { additionalProperties: false });

function ref(agreement: Agreement) {
  return { agreement_id: agreement.id, version: agreement.version, partner_id: agreement.partnerId, status: agreement.status };
}

/** What needs someone today: the staff console's home (domain/attention.ts). Every staff role may read it. */
export const adminAttentionRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  app.get('/attention', {
    onRequest: requirePermission('read'),
    schema: {
      summary: `What needs someone today: approvals waiting, certifications due within ${ATTENTION_HORIZON_DAYS} days or overdue, `
        + 'wind-down phases coming, deletions unconfirmed (agreements and members\' requests), notices abandoned, witnesses behind',
      tags: ['admin: reports'], security, response: { 200: AttentionView, ...ADMIN_ERRORS },
    },
  }, async () => {
    const now = context.clock();
    const report = await attentionReport(context.store, now, context.checkpoints);
    return {
      generated_at: iso(now),
      horizon_days: ATTENTION_HORIZON_DAYS,
      approvals_waiting: report.approvalsWaiting.map((a) => ({
        ...ref(a.agreement), approvals_needed: a.needed, approvals_given: a.given, since: iso(a.since),
      })),
      certifications_due: report.certificationsDue.map((c) => ({
        ...ref(c.agreement), certification_due_at: iso(c.dueAt), overdue: c.overdue, lapses_at: iso(c.lapsesAt),
      })),
      wind_down_phases: report.windDownPhases.map((w) => ({ ...ref(w.agreement), phase: w.phase, at: iso(w.at) })),
      deletion_unconfirmed: report.deletionUnconfirmed.map((d) => ({ ...ref(d.agreement), access_ended_at: isoOrNull(d.accessEndedAt) })),
      abandoned_notices: report.abandonedNotices.map((n) => ({
        id: n.id, partner_id: n.partnerId, agreement_id: n.agreementId, type: n.type, created_at: iso(n.createdAt), attempts: n.attempts,
      })),
      member_deletions_unconfirmed: report.memberDeletionsUnconfirmed.map((r) => ({
        id: r.id, member_id: r.memberId, partner_id: r.partnerId, requested_at: iso(r.requestedAt), confirm_by: iso(confirmationDue(r.requestedAt)),
      })),
      witnesses: report.witnesses === null ? null : {
        tree_size: report.witnesses.size, cosignatures: report.witnesses.cosignatures, quorum: report.witnesses.quorum, behind: report.witnesses.behind,
      },
    };
  });
};
