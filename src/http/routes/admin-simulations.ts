import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, Forbidden, NotFound } from '../../domain/errors.js';
import { can } from '../../domain/staff.js';
import { simulate, type SimulationResult } from '../../reports/simulation.js';
import { SimulationRepository } from '../../store/simulation-repository.js';
import type { AppContext } from '../app.js';
import { inStaffTransaction, requirePermission, staffOf } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, security } from './admin-schemas.js';

const Names = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 });
const Instant = Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601 instant' });

const ProposalSchema = Type.Object({
  draft: Type.Optional(Type.Boolean({ description: 'true: the fields and purposes of the agreement\'s pending draft (a draft or review for its apps)' })),
  member_fields: Type.Optional(Names),
  friend_fields: Type.Optional(Names),
  purposes: Type.Optional(Names),
  starts_at: Type.Optional(Instant),
  ends_at: Type.Optional(Instant),
  wind_down: Type.Optional(Type.Union([Type.Object({
    no_new_grants: Type.Optional(Instant),
    no_friend_data: Type.Optional(Instant),
    access_ended: Type.Optional(Instant),
  }, { additionalProperties: false }), Type.Null()], { description: 'phases to move (a version without a wind-down needs all three); null: none' })),
  sensitive_fields: Type.Optional(Names),
}, { additionalProperties: false });

const Body = Type.Object({
  proposal: ProposalSchema,
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
}, { additionalProperties: false });

const Params = Type.Object({ agreementId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const ResultParams = Type.Object({
  agreementId: Type.String({ minLength: 1, maxLength: 100 }),
  simulationId: Type.String({ minLength: 1, maxLength: 100 }),
}, { additionalProperties: false });

const ListQuery = Type.Object({
  draft_agreement_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'only the simulations of this draft (`draft: true`)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
}, { additionalProperties: false });

const Count = Type.Integer();
const SimulationView = Type.Object({
  id: Type.String(),
  agreement_id: Type.String(),
  generated_at: DateTime,
  from: DateTime,
  to: DateTime,
  proposal: ProposalSchema,
  draft_agreement_id: NullableString({ description: 'the draft whose terms were simulated (`draft: true`)' }),
  world_note: Type.String({ description: 'the world the replay reads is today\'s' }),
  requests: Type.Integer({ description: 'Graph API requests the log holds for the agreement in [from, to)' }),
  subject_decisions: Count,
  requests_changed: Count,
  fields: Type.Array(Type.Object({
    field: Type.String(),
    released_more: Type.Integer({ description: 'subjects this field would have been released on and was not' }),
    released_less: Type.Integer({ description: 'subjects this field was released on and would not have been' }),
    members_more_direct: Count,
    members_more_through_friends: Count,
    members_less_direct: Count,
    members_less_through_friends: Count,
    reason_changed: Type.Integer({ description: 'withheld either way, for another reason' }),
  }, { additionalProperties: false })),
  members: Type.Object({ more_direct: Count, more_through_friends: Count, less_direct: Count, less_through_friends: Count }, { additionalProperties: false }),
  refused: Type.Array(Type.Object({ code: Type.String(), cause: NullableString(), requests: Count }, { additionalProperties: false }),
    { description: 'requests served then that the proposal would refuse, by code' }),
  served_instead: Type.Integer({ description: 'requests refused then that the proposal would serve (their subjects are unknown: the log lists none)' }),
  differ_from_log_today: Type.Integer({ description: 'requests whose logged terms, replayed on today\'s world, already differ from the log' }),
  skipped: Type.Array(Type.Object({ reason: Type.String(), requests: Count }, { additionalProperties: false })),
}, { additionalProperties: false });

/** Those who draft agreements and those who approve them may run a simulation; every role may read one. */
async function requireSimulator(request: FastifyRequest): Promise<void> {
  const { roles } = staffOf(request);
  if (!can(roles, 'manage_agreements') && !can(roles, 'approve_agreements')) {
    throw new Forbidden('Simulating needs `manage_agreements` or `approve_agreements`; every role may read a stored simulation.');
  }
}

function instantOf(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const parsed = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(parsed)) throw new BadRequest('invalid_dates', `${name}: expected an ISO 8601 instant, got ${JSON.stringify(text)}.`);
  return parsed;
}

/**
 * What-if simulations of an agreement (issue 15, PRODUCT.md §6): the log's requests for it replayed
 * under a proposal; nothing changes but the stored result and its audit entry.
 */
export const adminSimulationRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const tags = ['admin: agreements'];
  app.post('/agreements/:agreementId/simulations', {
    onRequest: requireSimulator,
    schema: {
      summary: 'Simulate a change of the agreement against the requests logged for it (default: the last 90 days)',
      description: 'Every logged Graph API request of the agreement in [from, to) is decided again at its own instant, under the version '
        + 'it was logged with and under that version with the proposal in place; the result says per field what would have been released '
        + 'more or less, to how many distinct members, and which requests would have been refused. Nothing is changed; the result is '
        + 'stored under its id. `{"proposal": {"draft": true}}` simulates the agreement\'s pending draft.',
      tags, security, params: Params, body: Body, response: { 201: SimulationView, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const { agreementId } = request.params;
    const result = await simulate(context.store, {
      agreementId, proposal: request.body.proposal, now: context.clock(),
      ...(request.body.from === undefined ? {} : { from: instantOf(request.body.from, 'from')! }),
      ...(request.body.to === undefined ? {} : { to: instantOf(request.body.to, 'to')! }),
    });
    await inStaffTransaction(context, request, async (tx) => {
      await new SimulationRepository(tx.store.db).insert(result.id, agreementId, staffOf(request).id, tx.now, result);
      await tx.record({ action: 'agreement.simulate', agreementId, detail: { simulation_id: result.id, proposal: result.proposal, from: result.from, to: result.to } });
    });
    return reply.code(201).send(result);
  });

  app.get('/agreements/:agreementId/simulations', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'The stored simulations of the agreement, newest first',
      description: 'What a reviewer who may not run a simulation reads: `draft_agreement_id` keeps those of one pending draft.',
      tags, security, params: Params, querystring: ListQuery, response: { 200: Type.Object({ data: Type.Array(SimulationView) }), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { draft_agreement_id: draftId, limit = 20 } = request.query;
    const stored = await new SimulationRepository(context.store.db).newestFirst(request.params.agreementId) as SimulationResult[];
    return { data: stored.filter((s) => draftId === undefined || s.draft_agreement_id === draftId).slice(0, limit) };
  });

  app.get('/agreements/:agreementId/simulations/:simulationId', {
    onRequest: requirePermission('read'),
    schema: { summary: 'A stored simulation, as it was answered', tags, security, params: ResultParams, response: { 200: SimulationView, ...ADMIN_ERRORS } },
  }, async (request) => {
    const stored = await new SimulationRepository(context.store.db).get(request.params.agreementId, request.params.simulationId);
    if (stored === undefined) throw new NotFound(`No simulation ${request.params.simulationId} of agreement ${request.params.agreementId}.`);
    return stored as never;
  });
};
