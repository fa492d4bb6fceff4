import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { APP_CLASSES, APP_STATUSES, type App } from '../../domain/app.js';
import { BadRequest, NotFound } from '../../domain/errors.js';
import type { Partner } from '../../domain/partner.js';
import { redirectUriProblem } from '../../domain/partner-urls.js';
import { newClientSecret, type OAuthClientRecord } from '../../store/partner-repository.js';
import { randomId } from '../../store/staff-repository.js';
import type { Store } from '../../store/store.js';
import type { AppContext } from '../app.js';
import { inStaffTransaction, requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, StringEnum, security } from './admin-schemas.js';
import { SingleLineText } from '../schemas.js';

const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
  maxItems: 20,
  uniqueItems: true,
  description: 'Absolute https URLs (plain http to localhost, 127.0.0.1 or [::1] in development only); none: client credentials only.',
});
const AppName = SingleLineText({ maxLength: 200 });

const AppView = Type.Object({
  id: Type.String(),
  client_id: Type.String({ description: 'The OAuth client id: the app id.' }),
  partner_id: Type.String(),
  name: Type.String(),
  class: Type.String({ description: '`device_partner` or `third_party`.' }),
  status: Type.String({ description: '`active` or `disabled`.' }),
  redirect_uris: Type.Array(Type.String()),
}, { additionalProperties: false });

const WithSecret = Type.Object({
  ...AppView.properties,
  client_secret: Type.String({ description: 'Shown this once; rotate it if it is lost.' }),
}, { additionalProperties: false });

const PartnerParams = Type.Object({ partnerId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const AppParams = Type.Object({
  partnerId: Type.String({ minLength: 1, maxLength: 100 }),
  appId: Type.String({ minLength: 1, maxLength: 100 }),
}, { additionalProperties: false });

function appView(app: App, redirectUris: readonly string[]): Static<typeof AppView> {
  return {
    id: app.id, client_id: app.id, partner_id: app.partnerId, name: app.name, class: app.class, status: app.status,
    redirect_uris: [...redirectUris],
  };
}

async function partnerOf(store: Store, partnerId: string): Promise<Partner> {
  const partner = await store.partners.partner(partnerId);
  if (!partner) throw new NotFound(`No partner ${partnerId}.`);
  return partner;
}

/** The app, when it belongs to the partner: an app id under another partner is as absent as a made-up one. */
async function clientOf(store: Store, partnerId: string, appId: string): Promise<OAuthClientRecord> {
  await partnerOf(store, partnerId);
  const client = await store.partners.oauthClient(appId);
  if (!client || client.app.partnerId !== partnerId) throw new NotFound(`No app ${appId} of partner ${partnerId}.`);
  return client;
}

/**
 * Apps (PRODUCT.md §3), each an OAuth client: its client id is the app id; its secret is made here
 * and shown once (at registration and at each rotation).
 */
export const adminAppRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store } = context;
  const development = context.environment !== 'production';
  const read = requirePermission('read');
  const managePartners = requirePermission('manage_partners');

  function redirectUris(uris: readonly string[]): string[] {
    uris.forEach((uri, index) => {
      const problem = redirectUriProblem(uri, development);
      if (problem) throw new BadRequest('invalid_parameter', `body/redirect_uris/${index}: ${problem}`);
    });
    return [...uris];
  }

  app.post('/partners/:partnerId/apps', {
    onRequest: managePartners,
    schema: {
      summary: 'Register an app of a partner: a client id and a client secret (shown once) (partnerships manager, admin)',
      tags: ['admin: apps'],
      security,
      params: PartnerParams,
      body: Type.Object({
        name: AppName,
        class: StringEnum(APP_CLASSES, '`device_partner` (a device_maker partner only) or `third_party`.'),
        redirect_uris: Type.Optional(RedirectUris),
      }, { additionalProperties: false }),
      response: { 201: WithSecret, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const { partnerId } = request.params;
    const uris = redirectUris(request.body.redirect_uris ?? []);
    const secret = newClientSecret();
    const created = await inStaffTransaction(context, request, async (tx) => {
      const partner = await partnerOf(tx.store, partnerId);
      if (request.body.class === 'device_partner' && partner.kind !== 'device_maker') {
        throw new BadRequest('invalid_parameter', `body/class \`device_partner\` needs a device_maker partner; ${partnerId} is ${partner.kind} (register a third_party app).`);
      }
      const registered: App = { id: randomId('app_'), partnerId, name: request.body.name.trim(), class: request.body.class, status: 'active' };
      await tx.store.partners.insertApp(registered, uris, tx.now);
      await tx.store.partners.setClientSecret(registered.id, secret);
      await tx.record({
        action: 'app.create', partnerId, appId: registered.id,
        detail: { app: appView(registered, uris) },
      });
      return registered;
    });
    return reply.status(201).send({ ...appView(created, uris), client_secret: secret });
  });

  app.get('/partners/:partnerId/apps', {
    onRequest: read,
    schema: {
      summary: "A partner's apps (never their secrets)",
      tags: ['admin: apps'],
      security,
      params: PartnerParams,
      response: { 200: Type.Object({ data: Type.Array(AppView) }, { additionalProperties: false }), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const partner = await partnerOf(store, request.params.partnerId);
    return { data: (await store.partners.clientsOfPartner(partner.id)).map((c) => appView(c.app, c.redirectUris)) };
  });

  app.get('/partners/:partnerId/apps/:appId', {
    onRequest: read,
    schema: {
      summary: 'One app (never its secret)',
      tags: ['admin: apps'],
      security,
      params: AppParams,
      response: { 200: AppView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const client = await clientOf(store, request.params.partnerId, request.params.appId);
    return appView(client.app, client.redirectUris);
  });

  app.patch('/partners/:partnerId/apps/:appId', {
    onRequest: managePartners,
    schema: {
      summary: 'Change an app\'s name, redirect URIs or status (`disabled`: refused by OAuth and the Graph API) (partnerships manager, admin)',
      tags: ['admin: apps'],
      security,
      params: AppParams,
      body: Type.Object({
        name: Type.Optional(AppName),
        redirect_uris: Type.Optional(RedirectUris),
        status: Type.Optional(StringEnum(APP_STATUSES)),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: AppView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { partnerId, appId } = request.params;
    const body = request.body;
    const uris = body.redirect_uris === undefined ? undefined : redirectUris(body.redirect_uris);
    return inStaffTransaction(context, request, async (tx) => {
      const before = await clientOf(tx.store, partnerId, appId);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (body.name !== undefined && body.name.trim() !== before.app.name) changes.name = { from: before.app.name, to: body.name.trim() };
      if (body.status !== undefined && body.status !== before.app.status) changes.status = { from: before.app.status, to: body.status };
      if (uris !== undefined && JSON.stringify(uris) !== JSON.stringify(before.redirectUris)) changes.redirect_uris = { from: before.redirectUris, to: uris };
      if (Object.keys(changes).length > 0) {
        await tx.store.partners.updateApp(appId, {
          ...(changes.name ? { name: body.name!.trim() } : {}),
          ...(changes.status ? { status: body.status! } : {}),
        });
        if (changes.redirect_uris) await tx.store.partners.setRedirectUris(appId, uris!);
        await tx.record({ action: 'app.update', partnerId, appId, detail: { changes } });
      }
      const after = (await tx.store.partners.oauthClient(appId))!;
      return appView(after.app, after.redirectUris);
    });
  });

  app.post('/partners/:partnerId/apps/:appId/rotate-secret', {
    onRequest: managePartners,
    schema: {
      summary: 'Replace the app\'s client secret: the old one stops working at once; the new one is shown once (partnerships manager, admin)',
      tags: ['admin: apps'],
      security,
      params: AppParams,
      response: { 200: WithSecret, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { partnerId, appId } = request.params;
    const secret = newClientSecret();
    const client = await inStaffTransaction(context, request, async (tx) => {
      const found = await clientOf(tx.store, partnerId, appId);
      await tx.store.partners.setClientSecret(appId, secret);
      await tx.record({ action: 'app.rotate_secret', partnerId, appId, detail: { app_id: appId } });
      return found;
    });
    return { ...appView(client.app, client.redirectUris), client_secret: secret };
  });
};
