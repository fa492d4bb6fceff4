import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { AGREEMENT_STATUSES } from '../../domain/agreement.js';
import { ACTION_PERMISSION, type StaffAction } from '../../domain/agreement-lifecycle.js';
import { BadRequest } from '../../domain/errors.js';
import type { Instant } from '../../domain/time.js';
import { CATALOG_VERSION, FIELD_CLASS, FIELDS, SENSITIVITY_CLASSES } from '../../domain/field-catalog.js';
import { PURPOSES } from '../../domain/purposes.js';
import { AgreementService, type ChangeContext, type DraftPatch, type DraftRequest, type StaffActor } from '../../lifecycle/agreement-service.js';
import { AgreementLifecycleRepository, type LoadedAgreement } from '../../store/agreement-lifecycle-repository.js';
import { leastPrivilegeDraft } from '../../reports/least-privilege.js';
import { AGREEMENT_TERMS_PROPERTIES, agreementTermsView } from '../agreement-terms-view.js';
import type { AppContext } from '../app.js';
import { requirePermission, staffOf } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, iso, isoOrNull, security } from './admin-schemas.js';
import { SingleLineText, MultiLineText } from '../schemas.js';

const tags = ['admin: agreements'];

const Storage = Type.Object({
  location: Type.String({ maxLength: 40, description: '`on_device` or `partner_servers`' }),
  country: Type.Optional(Type.String({ maxLength: 10, description: "The servers' country (ISO 3166-1 alpha-2) for `partner_servers`." })),
  safeguard: Type.Optional(Type.String({
    maxLength: 40,
    description: 'For `partner_servers` outside the platform\'s country: `adequacy_decision`, `standard_contractual_clauses`, '
      + '`binding_corporate_rules` or `derogation` (GDPR Chapter V). The records of processing flag a transfer without one.',
  })),
}, { additionalProperties: false });

const Names = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { maxItems: 50, description });

const termProperties = {
  app_ids: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, description: 'The apps the agreement covers (all of the partner).' }),
  purposes: Names('From the purpose catalog: device_experience, login, messaging, contacts_sync, calendar_sync.'),
  member_fields: Names('From the field catalog; `friends` is the permission to read the friend list. `id` is always included.'),
  friend_fields: Names('Fields about friends: only when every app is a `device_partner`, and with `friends` in member_fields.'),
  retention_days: Type.Integer({ description: '1 to 3650.' }),
  storage: Storage,
  starts_at: DateTime,
  ends_at: Type.String({ format: 'date-time', description: 'After starts_at, at most 24 months after it.' }),
};

const DraftBody = Type.Object({
  partner_id: Type.String({ minLength: 1, maxLength: 100 }),
  ...termProperties,
  friend_fields: Type.Optional(termProperties.friend_fields),
}, { additionalProperties: false });

const LeastPrivilegeDraftBody = Type.Object({
  starts_at: Type.Optional(Type.String({ format: 'date-time', description: 'Default: the agreement\'s end (a renewal: an app has one agreement in force at a time).' })),
  ends_at: Type.Optional(Type.String({ format: 'date-time', description: 'Default: as long a term as the agreement\'s, at most 24 months.' })),
}, { additionalProperties: false });

const EditBody = Type.Partial(Type.Object(termProperties), { additionalProperties: false, minProperties: 1 });

const Reason = MultiLineText({ maxLength: 1000 });
const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
const ApproveBody = Type.Object({
  comment: Type.Optional(Type.String({ maxLength: 1000, description: "The reviewer's note, kept in the history." })),
}, { additionalProperties: false });
const WindDownBody = Type.Object({
  no_new_grants: DateTime,
  no_friend_data: DateTime,
  access_ended: DateTime,
  reason: Type.Optional(Reason),
}, { additionalProperties: false });
const AttestationBody = Type.Object({
  signed_by: SingleLineText({ maxLength: 200, description: 'The person at the partner who signed.' }),
  statement: MultiLineText({ maxLength: 10_000 }),
}, { additionalProperties: false });

const AgreementView = Type.Object({
  ...AGREEMENT_TERMS_PROPERTIES,
  partner_id: Type.String(),
  app_ids: Type.Array(Type.String()),
  author_id: Type.String(),
  approvals: Type.Object({
    needed: Type.Integer({ description: '2 under the two-person rule, else 1.' }),
    given: Type.Array(Type.String(), { description: 'Privacy officers who approved the version under review.' }),
    two_person_rule: Type.Boolean(),
    approved_by: Type.Array(Type.String(), { description: 'The privacy officers whose approvals counted when the agreement was activated; kept after activation.' }),
  }, { additionalProperties: false }),
  deletion_attested_at: Type.Union([DateTime, Type.Null()]),
  deletion_unconfirmed: Type.Boolean(),
  created_at: DateTime,
  updated_at: DateTime,
}, { additionalProperties: false });

const HistoryView = Type.Object({
  data: Type.Array(Type.Object({
    version: Type.Integer(),
    at: DateTime,
    actor: Type.String({ description: 'A staff id, `system` for what time did, or `partner:<id>` for a filing.' }),
    actor_name: NullableString({ description: "The staff member's name (null for `system` and filings)." }),
    action: Type.String(),
    reason: NullableString(),
    diff: NullableString({ description: 'What changed from the previous version.' }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const ConsequencesView = Type.Object({
  problem: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }), Type.Null()], {
    description: 'The refusal POST /admin/v1/agreements would answer with these terms (the first one found); null when it would accept them.',
  }),
  approvals_needed: Type.Integer({ description: '2 under the two-person rule, else 1.' }),
  two_person_reasons: Type.Array(StringEnum(['friend_fields', 'sensitive_member_fields', 'partner_risk_flags'] as const)),
  sensitive_member_fields: Type.Array(Type.String()),
  friend_fields: Type.Array(Type.String()),
  partner_risk_flags: Type.Array(Type.String()),
}, { additionalProperties: false });

const CatalogView = Type.Object({
  version: Type.String(),
  sensitivity_classes: Type.Array(Type.String(), { description: 'In the catalog order; `edge` is the friend list.' }),
  fields: Type.Array(Type.Object({ name: Type.String(), class: Type.String() }, { additionalProperties: false })),
  purposes: Type.Array(Type.String()),
}, { additionalProperties: false });

const Params = Type.Object({ agreementId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const ListQuery = Type.Object({
  partner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  status: Type.Optional(StringEnum(AGREEMENT_STATUSES)),
}, { additionalProperties: false });

export function agreementView(loaded: LoadedAgreement, now: Instant): Static<typeof AgreementView> {
  const { agreement: a, columns } = loaded;
  return {
    ...agreementTermsView(a, now),
    partner_id: a.partnerId,
    app_ids: [...a.appIds],
    author_id: columns.authorId,
    approvals: { needed: columns.needsTwoApprovals ? 2 : 1, given: [...columns.approvals], two_person_rule: columns.needsTwoApprovals,
      approved_by: [...columns.approvedBy] },
    deletion_attested_at: isoOrNull(columns.deletionAttestedAt),
    deletion_unconfirmed: columns.deletionUnconfirmed,
    created_at: iso(loaded.createdAt),
    updated_at: iso(loaded.updatedAt),
  };
}

function instant(value: string, where: string): Instant {
  const parsed = Date.parse(value);
  if (!Number.isFinite(parsed)) throw new BadRequest('invalid_parameter', `${where} is not an ISO 8601 date-time.`);
  return parsed;
}

function draftRequest(body: Static<typeof DraftBody>): DraftRequest {
  return {
    partnerId: body.partner_id,
    appIds: body.app_ids,
    purposes: body.purposes,
    memberFields: body.member_fields,
    friendFields: body.friend_fields ?? [],
    retentionDays: body.retention_days,
    storage: body.storage,
    startsAt: instant(body.starts_at, 'body/starts_at'),
    endsAt: instant(body.ends_at, 'body/ends_at'),
  };
}

/**
 * Agreements in the admin API (issue 4): draft, edit (each edit a new version with a readable
 * diff), submit, approve (two-person rule), activate, suspend, resume, wind down, record a
 * deletion attestation, terminate. Each change goes through the AgreementService: the state
 * machine, the new version and its history row, the audit entry and the partner's notice in one
 * transaction. Each action needs the permission ACTION_PERMISSION names; reads need `read`.
 */
export const adminAgreementRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const service = new AgreementService(context.store.db);
  const read = requirePermission('read');
  const staffActor = (request: FastifyRequest): StaffActor => {
    const staff = staffOf(request);
    return { id: staff.id, roles: staff.roles };
  };
  const change = (request: FastifyRequest): ChangeContext => ({ requestId: request.id, now: context.clock() });
  const errors = { ...ADMIN_ERRORS };

  app.post('/agreements', {
    onRequest: requirePermission(ACTION_PERMISSION.edit),
    schema: {
      summary: 'Draft an agreement (partnerships manager, admin): version 1, status draft; certification due 12 months after the start',
      tags, security, body: DraftBody, response: { 201: AgreementView, ...errors },
    },
  }, async (request, reply) => {
    const loaded = await service.draft(draftRequest(request.body), staffActor(request), change(request));
    return reply.status(201).send(agreementView(loaded, context.clock()));
  });

  app.post('/agreements/:agreementId/least-privilege-draft', {
    onRequest: requirePermission(ACTION_PERMISSION.edit),
    schema: {
      summary: 'Draft what the least-privilege report suggests (partnerships manager, admin): a new draft without the purposes '
        + 'and fields the agreement allowed and never used in the last 90 days, its other terms unchanged',
      description: 'The normal draft: it goes through review and approval like any other (the two-person rule included), and its '
        + 'history and audit entry give the report as the reason. The term defaults to the renewal\'s, from the agreement\'s end; '
        + 'give both starts_at and ends_at for another. 409 `no_suggestions` when the report has nothing to remove (and why).',
      tags, security, params: Params, body: LeastPrivilegeDraftBody, response: { 201: AgreementView, ...errors },
    },
    // One click, or `curl -X POST` with no body: the suggested draft on the renewal's term.
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request, reply) => {
    const { starts_at: startsAt, ends_at: endsAt } = request.body;
    if ((startsAt === undefined) !== (endsAt === undefined)) throw new BadRequest('invalid_parameter', 'Give both starts_at and ends_at, or neither.');
    const now = context.clock();
    const term = startsAt === undefined ? undefined : { startsAt: instant(startsAt, 'body/starts_at'), endsAt: instant(endsAt!, 'body/ends_at') };
    const { request: draft, row } = await leastPrivilegeDraft(context.store, request.params.agreementId, now, term);
    const reason = `least privilege: ${row.note} (report of ${new Date(now).toISOString()}, on ${row.agreement_id} v${row.version})`;
    const loaded = await service.draft(draft, staffActor(request), change(request), reason);
    return reply.status(201).send(agreementView(loaded, context.clock()));
  });

  app.post('/agreements/check', {
    onRequest: read,
    schema: {
      summary: 'What the rules say of draft terms, saving nothing: the refusal a draft would meet, and why it needs two approvals',
      description: 'The staff console asks this as fields are picked. `problem` is null when POST /admin/v1/agreements would accept the terms.',
      tags, security, body: DraftBody, response: { 200: ConsequencesView, ...errors },
    },
  }, async (request) => {
    const c = await service.consequences(draftRequest(request.body));
    return {
      problem: c.problem, approvals_needed: c.approvalsNeeded, two_person_reasons: [...c.twoPersonReasons],
      sensitive_member_fields: [...c.sensitiveMemberFields], friend_fields: [...c.friendFields], partner_risk_flags: [...c.partnerRiskFlags],
    };
  });

  app.get('/catalog', {
    onRequest: read,
    schema: {
      summary: 'The catalogs an agreement is drafted from: fields with their sensitivity class, purposes, risk flags',
      tags, security, response: { 200: CatalogView, ...errors },
    },
  }, async () => ({
    version: CATALOG_VERSION,
    sensitivity_classes: [...SENSITIVITY_CLASSES],
    fields: FIELDS.map((name) => ({ name, class: FIELD_CLASS[name] })),
    purposes: [...PURPOSES],
  }));

  app.get('/agreements', {
    onRequest: read,
    schema: {
      summary: 'Agreements, oldest first; filter by partner_id and status',
      tags, security, querystring: ListQuery,
      response: { 200: Type.Object({ data: Type.Array(AgreementView) }, { additionalProperties: false }), ...errors },
    },
  }, async (request) => {
    const now = context.clock();
    const list = await new AgreementLifecycleRepository(context.store.db).list({ partnerId: request.query.partner_id, status: request.query.status });
    return { data: list.map((loaded) => agreementView(loaded, now)) };
  });

  app.get('/agreements/:agreementId', {
    onRequest: read,
    schema: {
      summary: 'One agreement: its current version, with the approvals needed and given',
      tags, security, params: Params, response: { 200: AgreementView, ...errors },
    },
  }, async (request) => agreementView(await service.get(request.params.agreementId), context.clock()));

  app.get('/agreements/:agreementId/history', {
    onRequest: read,
    schema: {
      summary: 'Every version: who, when, what action, why, and what changed',
      tags, security, params: Params, response: { 200: HistoryView, ...errors },
    },
  }, async (request) => {
    await service.get(request.params.agreementId);
    const history = await new AgreementLifecycleRepository(context.store.db).history(request.params.agreementId);
    const names = new Map<string, string>();
    for (const actor of new Set(history.map((h) => h.actor))) {
      const staff = await context.store.staff.byId(actor);
      if (staff) names.set(actor, staff.name);
    }
    return {
      data: history.map((h) => ({
        version: h.version, at: iso(h.at), actor: h.actor, actor_name: names.get(h.actor) ?? null, action: h.action, reason: h.reason, diff: h.diff,
      })),
    };
  });

  app.patch('/agreements/:agreementId', {
    onRequest: requirePermission(ACTION_PERMISSION.edit),
    schema: {
      summary: 'Edit a draft: a new version, with a readable diff in the history; approvals start over',
      tags, security, params: Params, body: EditBody, response: { 200: AgreementView, ...errors },
    },
  }, async (request) => {
    const body = request.body;
    const patch: DraftPatch = {
      ...(body.app_ids !== undefined ? { appIds: body.app_ids } : {}),
      ...(body.purposes !== undefined ? { purposes: body.purposes } : {}),
      ...(body.member_fields !== undefined ? { memberFields: body.member_fields } : {}),
      ...(body.friend_fields !== undefined ? { friendFields: body.friend_fields } : {}),
      ...(body.retention_days !== undefined ? { retentionDays: body.retention_days } : {}),
      ...(body.storage !== undefined ? { storage: body.storage } : {}),
      ...(body.starts_at !== undefined ? { startsAt: instant(body.starts_at, 'body/starts_at') } : {}),
      ...(body.ends_at !== undefined ? { endsAt: instant(body.ends_at, 'body/ends_at') } : {}),
    };
    const loaded = await service.edit(request.params.agreementId, patch, staffActor(request), change(request));
    return agreementView(loaded, context.clock());
  });

  /** A lifecycle action without a body. */
  function simple(path: string, type: 'submit' | 'approve' | 'activate' | 'resume', summary: string) {
    app.post(`/agreements/:agreementId/${path}`, {
      onRequest: requirePermission(ACTION_PERMISSION[type]),
      schema: { summary, tags, security, params: Params, response: { 200: AgreementView, ...errors } },
    }, async (request) => {
      const loaded = await service.act(request.params.agreementId, { type } as StaffAction, staffActor(request), change(request));
      return agreementView(loaded, context.clock());
    });
  }

  /** A lifecycle action with a required reason. */
  function withReason(path: string, type: 'suspend' | 'terminate' | 'return_to_draft', summary: string) {
    app.post(`/agreements/:agreementId/${path}`, {
      onRequest: requirePermission(ACTION_PERMISSION[type]),
      schema: { summary, tags, security, params: Params, body: ReasonBody, response: { 200: AgreementView, ...errors } },
    }, async (request) => {
      const reason = request.body.reason.trim();
      const loaded = await service.act(request.params.agreementId, { type, reason }, staffActor(request), change(request));
      return agreementView(loaded, context.clock());
    });
  }

  simple('submit', 'submit', 'Submit a draft for review (partnerships manager, admin)');
  withReason('return-to-draft', 'return_to_draft', 'Send an agreement under review back to draft, with the reason; approvals start over');
  app.post('/agreements/:agreementId/approve', {
    onRequest: requirePermission(ACTION_PERMISSION.approve),
    schema: {
      summary: 'Approve the version under review (a privacy officer who is not its author and not an admin; two distinct ones under the two-person rule)',
      description: 'An optional `comment` goes into the history beside the approval (never into a notice to the partner).',
      tags, security, params: Params, body: ApproveBody, response: { 200: AgreementView, ...errors },
    },
    // Scripts approve with no body at all, as before the comment existed.
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request) => {
    const comment = request.body?.comment?.trim() || null;
    const loaded = await service.act(request.params.agreementId, { type: 'approve' }, staffActor(request), change(request), comment);
    return agreementView(loaded, context.clock());
  });
  simple('activate', 'activate', 'Activate an approved agreement (partnerships manager, admin): 409 approvals_missing unless enough approvers still hold privacy_officer; 409 agreement_overlap when another agreement of an app covers part of its term');
  withReason('suspend', 'suspend', 'Suspend an active agreement, with the reason (partnerships manager, admin)');
  simple('resume', 'resume', 'Resume a suspended agreement (a privacy officer who is not its author); 409 certification_overdue until the partner certifies');
  withReason('terminate', 'terminate', 'Terminate a draft or an agreement under review, with the reason (an active one is wound down instead)');

  app.post('/agreements/:agreementId/wind-down', {
    onRequest: requirePermission(ACTION_PERMISSION.schedule_wind_down),
    schema: {
      summary: 'Schedule the wind-down: three dated phases, in order and in the future, the last by the end date',
      tags, security, params: Params, body: WindDownBody, response: { 200: AgreementView, ...errors },
    },
  }, async (request) => {
    const body = request.body;
    const plan = {
      noNewGrants: instant(body.no_new_grants, 'body/no_new_grants'),
      noFriendData: instant(body.no_friend_data, 'body/no_friend_data'),
      accessEnded: instant(body.access_ended, 'body/access_ended'),
    };
    const loaded = await service.act(request.params.agreementId, { type: 'schedule_wind_down', plan }, staffActor(request), change(request),
      body.reason?.trim() ?? 'wind-down scheduled');
    return agreementView(loaded, context.clock());
  });

  app.post('/agreements/:agreementId/deletion-attestation', {
    onRequest: requirePermission(ACTION_PERMISSION.record_deletion_attestation),
    schema: {
      summary: "Record the partner's deletion attestation (after access has ended): the agreement is terminated",
      tags, security, params: Params, body: AttestationBody, response: { 200: AgreementView, ...errors },
    },
  }, async (request) => {
    const { loaded } = await service.recordDeletionAttestation(request.params.agreementId,
      { signedBy: request.body.signed_by.trim(), statement: request.body.statement }, staffActor(request), change(request));
    return agreementView(loaded, context.clock());
  });
};
