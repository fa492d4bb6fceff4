import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, Forbidden, NotFound } from '../../domain/errors.js';
import { proposalBody } from '../../domain/simulation-proposal.js';
import { can } from '../../domain/staff.js';
import { prepareSimulation } from '../../reports/simulation.js';
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
const Progress = Type.Object({
  done: Type.Integer({ description: 'requests replayed so far' }),
  total: Type.Integer({ description: 'requests the log holds for the agreement in [from, to)' }),
}, { additionalProperties: false });

const RunView = Type.Object({
  id: Type.String(),
  agreement_id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('failed')]),
  progress: Progress,
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }), Type.Null()],
    { description: 'why it failed (`failed` only); run it again' }),
}, { additionalProperties: false, description: 'A simulation still running (or failed): ask again for its result' });

const SimulationView = Type.Object({
  id: Type.String(),
  agreement_id: Type.String(),
  status: Type.Literal('done'),
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
        + 'more or less, to how many distinct members, and which requests would have been refused. Nothing is changed. The proposal is '
        + 'checked at once (a 4xx); the replay then runs apart: the answer is 202 with the simulation\'s id and `progress`, and '
        + '`GET …/simulations/{id}` (the `Location`) answers 202 with the progress while it runs, 200 with the result, stored under '
        + 'its id, when done. `{"proposal": {"draft": true}}` simulates the agreement\'s pending draft. A server runs two simulations at '
        + 'once: a third gets 503 `overloaded` with Retry-After, before anything is audited.',
      tags, security, params: Params, body: Body, response: { 202: RunView, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const { agreementId } = request.params;
    const slot = app.simulations.reserve();
    let run;
    try {
      const prepared = await prepareSimulation(context.store, {
        agreementId, proposal: request.body.proposal, now: context.clock(),
        ...(request.body.from === undefined ? {} : { from: instantOf(request.body.from, 'from')! }),
        ...(request.body.to === undefined ? {} : { to: instantOf(request.body.to, 'to')! }),
      });
      const { from, to } = { from: new Date(prepared.from).toISOString(), to: new Date(prepared.to).toISOString() };
      const at = await inStaffTransaction(context, request, async (tx) => {
        await tx.record({ action: 'agreement.simulate', agreementId, detail: { simulation_id: prepared.id, proposal: proposalBody(prepared.proposal), from, to } });
        return tx.now;
      });
      run = app.simulations.start(prepared, staffOf(request).id, at, slot);
    } catch (error) {
      slot.release();
      throw error;
    }
    return reply.code(202).header('location', `/admin/v1/agreements/${agreementId}/simulations/${run.id}`).send(run);
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
    const stored = await app.simulations.stored(request.params.agreementId, draftId, limit);
    return { data: stored.map((result) => ({ ...result, status: 'done' as const })) };
  });

  app.get('/agreements/:agreementId/simulations/:simulationId', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'A simulation: 202 with its progress while it runs (or why it failed), 200 with its result, as stored, when done',
      tags, security, params: ResultParams, response: { 200: SimulationView, 202: RunView, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const { agreementId, simulationId } = request.params;
    const found = await app.simulations.get(agreementId, simulationId);
    if (found === undefined) throw new NotFound(`No simulation ${simulationId} of agreement ${agreementId}.`);
    if ('run' in found) return reply.code(202).send(found.run);
    return reply.code(200).send({ ...found.result, status: 'done' as const });
  });
};
