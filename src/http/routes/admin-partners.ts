import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { isCountryCode } from '../../domain/countries.js';
import { BadRequest, Conflict, NotFound } from '../../domain/errors.js';
import { PARTNER_KINDS, RISK_FLAGS, type DataStorage, type Partner } from '../../domain/partner.js';
import { privacyPolicyUrlProblem, webhookUrlProblem } from '../../domain/partner-urls.js';
import { randomId } from '../../store/staff-repository.js';
import type { AppContext } from '../app.js';
import { inStaffTransaction, requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, NullableString, StringEnum, security } from './admin-schemas.js';
import { SingleLineText } from '../schemas.js';

const CountryCode = Type.String({ minLength: 2, maxLength: 2, pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2, in capitals (`GB`, not `UK`).' });

const StorageBody = Type.Object({
  location: StringEnum(['on_device', 'partner_servers'] as const),
  country: Type.Optional(CountryCode),
}, { additionalProperties: false, description: '`on_device`, or `partner_servers` with the servers\' country.' });

const partnerProperties = {
  legal_name: SingleLineText({ maxLength: 200 }),
  country: CountryCode,
  kind: StringEnum(PARTNER_KINDS),
  risk_flags: Type.Array(StringEnum(RISK_FLAGS), { maxItems: RISK_FLAGS.length, uniqueItems: true }),
  storage: StorageBody,
  contacts: Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 20, uniqueItems: true, description: 'Email addresses for notices.' }),
  webhook_url: NullableString({ maxLength: 2000, description: 'https (plain http to localhost in development only); null for none.' }),
  privacy_policy_url: NullableString({
    maxLength: 2000,
    description: 'The partner\'s privacy policy, linked from the consent page: https (plain http to localhost in development only). '
      + 'A new agreement cannot be drafted for a partner without one (409 `privacy_policy_missing`).',
  }),
};

const CreatePartnerBody = Type.Object({
  legal_name: partnerProperties.legal_name,
  country: partnerProperties.country,
  kind: partnerProperties.kind,
  storage: partnerProperties.storage,
  risk_flags: Type.Optional(partnerProperties.risk_flags),
  contacts: Type.Optional(partnerProperties.contacts),
  webhook_url: Type.Optional(partnerProperties.webhook_url),
  privacy_policy_url: Type.Optional(partnerProperties.privacy_policy_url),
}, { additionalProperties: false });

const EditPartnerBody = Type.Partial(Type.Object(partnerProperties), { additionalProperties: false, minProperties: 1 });

const AppSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  class: Type.String(),
  status: Type.String(),
}, { additionalProperties: false });

export const PartnerView = Type.Object({
  id: Type.String(),
  legal_name: Type.String(),
  country: Type.String(),
  kind: Type.String(),
  risk_flags: Type.Array(Type.String()),
  storage: Type.Object({ location: Type.String(), country: Type.Optional(Type.String()) }, { additionalProperties: false }),
  contacts: Type.Array(Type.String()),
  webhook_url: NullableString(),
  privacy_policy_url: NullableString(),
}, { additionalProperties: false });

const PartnerWithApps = Type.Object({ ...PartnerView.properties, apps: Type.Array(AppSummary) }, { additionalProperties: false });

const PartnerParams = Type.Object({ partnerId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export function partnerView(partner: Partner): Static<typeof PartnerView> {
  return {
    id: partner.id,
    legal_name: partner.legalName,
    country: partner.country,
    kind: partner.kind,
    risk_flags: [...partner.riskFlags],
    storage: partner.storage.location === 'partner_servers'
      ? { location: 'partner_servers', country: partner.storage.country }
      : { location: 'on_device' },
    contacts: [...partner.contacts],
    webhook_url: partner.webhookUrl,
    privacy_policy_url: partner.privacyPolicyUrl,
  };
}

function country(value: string, where: string): string {
  if (!isCountryCode(value)) {
    throw new BadRequest('invalid_parameter', `${where} \`${value}\` is not an ISO 3166-1 alpha-2 country code${value === 'UK' ? ' (the United Kingdom is GB)' : ''}.`);
  }
  return value;
}

function storage(body: Static<typeof StorageBody>): DataStorage {
  if (body.location === 'on_device') {
    if (body.country !== undefined) throw new BadRequest('invalid_parameter', 'body/storage/country is only for `partner_servers`: data kept on the device has no servers\' country.');
    return { location: 'on_device' };
  }
  if (body.country === undefined) throw new BadRequest('invalid_parameter', 'body/storage/country is required for `partner_servers`: the country of the servers.');
  return { location: 'partner_servers', country: country(body.country, 'body/storage/country') };
}

function privacyPolicy(value: string | null, development: boolean): string | null {
  if (value === null) return null;
  const problem = privacyPolicyUrlProblem(value, development);
  if (problem) throw new BadRequest('invalid_parameter', `body/${problem}`);
  return value;
}

function webhook(value: string | null, development: boolean): string | null {
  if (value === null) return null;
  const problem = webhookUrlProblem(value, development);
  if (problem) throw new BadRequest('invalid_parameter', `body/${problem}`);
  return value;
}

/** What changed between two versions of a partner, for the audit entry. */
function changes(before: Partner, after: Partner): Record<string, { from: unknown; to: unknown }> {
  const a = partnerView(before) as Record<string, unknown>;
  const b = partnerView(after) as Record<string, unknown>;
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(b)) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) changed[key] = { from: a[key] ?? null, to: b[key] ?? null };
  }
  return changed;
}

/** Partners (PRODUCT.md §3): who they are, where they keep data, their risk flags and webhook. */
export const adminPartnerRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store } = context;
  const development = context.environment !== 'production';
  const read = requirePermission('read');
  const managePartners = requirePermission('manage_partners');

  app.post('/partners', {
    onRequest: managePartners,
    schema: {
      summary: 'Register a partner (partnerships manager, admin)',
      tags: ['admin: partners'],
      security,
      body: CreatePartnerBody,
      response: { 201: PartnerView, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const body = request.body;
    const partner: Partner = {
      id: randomId('p_'),
      legalName: body.legal_name.trim(),
      country: country(body.country, 'body/country'),
      kind: body.kind,
      riskFlags: body.risk_flags ?? [],
      storage: storage(body.storage),
      contacts: body.contacts ?? [],
      webhookUrl: webhook(body.webhook_url ?? null, development),
      privacyPolicyUrl: privacyPolicy(body.privacy_policy_url ?? null, development),
    };
    await inStaffTransaction(context, request, async (tx) => {
      await tx.store.partners.insertPartner(partner, tx.now);
      await tx.record({ action: 'partner.create', partnerId: partner.id, detail: { partner: partnerView(partner) } });
    });
    return reply.status(201).send(partnerView(partner));
  });

  app.get('/partners', {
    onRequest: read,
    schema: {
      summary: 'Every partner, by legal name',
      tags: ['admin: partners'],
      security,
      response: { 200: Type.Object({ data: Type.Array(PartnerView) }, { additionalProperties: false }), ...ADMIN_ERRORS },
    },
  }, async () => ({ data: (await store.partners.partners()).map(partnerView) }));

  app.get('/partners/:partnerId', {
    onRequest: read,
    schema: {
      summary: 'One partner, with its apps',
      tags: ['admin: partners'],
      security,
      params: PartnerParams,
      response: { 200: PartnerWithApps, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const partner = await store.partners.partner(request.params.partnerId);
    if (!partner) throw new NotFound(`No partner ${request.params.partnerId}.`);
    const apps = await store.partners.clientsOfPartner(partner.id);
    return { ...partnerView(partner), apps: apps.map(({ app: a }) => ({ id: a.id, name: a.name, class: a.class, status: a.status })) };
  });

  app.patch('/partners/:partnerId', {
    onRequest: managePartners,
    schema: {
      summary: 'Edit a partner: legal name, country, kind, risk flags, storage, contacts, webhook, privacy policy (partnerships manager, admin)',
      tags: ['admin: partners'],
      security,
      params: PartnerParams,
      body: EditPartnerBody,
      response: { 200: PartnerView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const body = request.body;
    const edited = {
      ...(body.legal_name !== undefined ? { legalName: body.legal_name.trim() } : {}),
      ...(body.country !== undefined ? { country: country(body.country, 'body/country') } : {}),
      ...(body.kind !== undefined ? { kind: body.kind } : {}),
      ...(body.risk_flags !== undefined ? { riskFlags: body.risk_flags } : {}),
      ...(body.storage !== undefined ? { storage: storage(body.storage) } : {}),
      ...(body.contacts !== undefined ? { contacts: body.contacts } : {}),
      ...(body.webhook_url !== undefined ? { webhookUrl: webhook(body.webhook_url, development) } : {}),
      ...(body.privacy_policy_url !== undefined ? { privacyPolicyUrl: privacyPolicy(body.privacy_policy_url, development) } : {}),
    };
    return inStaffTransaction(context, request, async (tx) => {
      const before = await tx.store.partners.partner(request.params.partnerId);
      if (!before) throw new NotFound(`No partner ${request.params.partnerId}.`);
      const after: Partner = { ...before, ...edited };
      if (after.kind !== 'device_maker') {
        const devicePartnerApps = (await tx.store.partners.clientsOfPartner(before.id)).filter((c) => c.app.class === 'device_partner');
        if (devicePartnerApps.length > 0) {
          throw new Conflict('partner_kind_conflict', `The partner has device_partner apps (${devicePartnerApps.map((c) => c.app.id).join(', ')}); only a device_maker may.`);
        }
      }
      const changed = changes(before, after);
      if (Object.keys(changed).length > 0) {
        await tx.store.partners.updatePartner(after);
        await tx.record({ action: 'partner.update', partnerId: before.id, detail: { changes: changed } });
      }
      return partnerView(after);
    });
  });
};
