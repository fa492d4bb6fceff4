import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyError, FastifyPluginAsync, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { isAudience, type AudienceSettings } from '../../domain/audience.js';
import { BadRequest, DatapactError, InvalidCsrfToken, UnknownField } from '../../domain/errors.js';
import { isObjectField } from '../../domain/field-catalog.js';
import type { ExclusionKind, PrivacyChange } from '../../store/member-repository.js';

const exclusionKind = (segment: 'apps' | 'partners'): ExclusionKind => (segment === 'apps' ? 'app' : 'partner');
import { sendPage } from '../../web/send-page.js';
import { PROOF_CHECK_SCRIPT } from '../../web/proof-check-script.js';
import type { AppContext } from '../app.js';
import { registerMemberSession, requireSessionMember, sessionMember } from '../plugins/member-session.js';
import { exportCsv, exportJson } from '../privacy/member-export.js';
import {
  changePrivacy, friendExclusions, keepOut, letBackIn, memberApps, memberAppStandings, readPrivacy, removePermission, revokeApp,
} from '../privacy/member-privacy.js';
import { accessHistory, HISTORY_DEFAULT_LIMIT, historyFilter, wholeHistory, withProofs } from '../privacy/access-history.js';
import {
  appRows, appsPage, deletionBlock, errorPage, historyPage, loginPage, PAGE_PATHS, revokeConfirmPage, settingsPage, type AppRow,
} from '../privacy/pages.js';
import { deletionRequestView, requestDeletion } from '../privacy/deletion-requests.js';
import {
  AccessHistoryPage, AccessHistoryQuery, AppIdParams, HistoryDownloadQuery, DeletionRequestBody, DeletionRequestList, DeletionRequestView, ExclusionParams, PermissionParams, FriendExclusionsBody, HistoryPageQuery, MemberApps, PrivacyPatch,
  PrivacySettings, strictBodyValidator,
} from '../privacy/privacy-schemas.js';
import { ERROR_RESPONSES } from '../schemas.js';

/** The largest JSON body PATCH /v1/me/privacy takes; every field set spelled out is far smaller. */
const PATCH_BODY_LIMIT = 8 * 1024;
const MAX_MEMBER_ID = 100;
const MAX_PASSWORD = 1000;

const CSRF_ERROR_CODES: ReadonlySet<string> = new Set(['FST_CSRF_INVALID_TOKEN', 'FST_CSRF_MISSING_SECRET']);

function acceptsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

function queryFlag(request: FastifyRequest, name: string): boolean {
  return (request.query as Record<string, unknown> | undefined)?.[name] === '1';
}

/** The settings form: both checkboxes (absent means off) and one `audience_<field>` select per editable field. */
function settingsFromForm(body: unknown): PrivacyChange {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const audiences: AudienceSettings = {};
  for (const [key, value] of Object.entries(form)) {
    if (!key.startsWith('audience_')) continue;
    const field = key.slice('audience_'.length);
    if (!isObjectField(field)) throw new UnknownField(`Unknown field '${field.slice(0, 100)}'.`);
    if (typeof value !== 'string' || !isAudience(value)) {
      throw new BadRequest('invalid_parameter', `${key} must be one of public, friends, only_me.`);
    }
    audiences[field] = value;
  }
  return { platformEnabled: form.platform_enabled === 'on', shareViaFriends: form.share_via_friends === 'on', audiences };
}

/** A keep-out form's `target` (`app:<id>` or `partner:<id>`). */
function targetFromForm(body: unknown): { kind: ExclusionKind; id: string } {
  const target = (body as { target?: unknown } | undefined)?.target;
  const [kind, ...rest] = typeof target === 'string' ? target.split(':') : [];
  const id = rest.join(':');
  if ((kind !== 'app' && kind !== 'partner') || id === '' || id.length > 100) {
    throw new BadRequest('invalid_parameter', 'Choose an app or a partner.');
  }
  return { kind, id };
}

const APPS_NOTICES: Readonly<Record<string, string>> = {
  revoked: 'Access revoked: the app can read nothing now.',
  removed: 'Permission removed: the app cannot read it any more.',
  deletion_requested: 'Your request was sent to the partner. You will see here when it confirms the deletion.',
};

const SETTINGS_NOTICES: Readonly<Record<string, string>> = {
  kept_out: 'Kept out: it no longer sees you through your friends.',
  let_in: 'Let back in: it sees you through your friends again if sharing through friends is on.',
};

/**
 * The members' privacy center (issue 3, part 5): pages under /privacy and a JSON API under
 * /v1/me/privacy and /v1/me/apps, both on the member session cookie (never a partner token).
 * Everything here is one encapsulated plugin, so the session's hooks and this error handler apply
 * to these routes only.
 */
export const privacyRoutes: FastifyPluginAsync<{ context: AppContext }> = async (instance, { context }) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = context;
  const { proofs } = context.checkpoints;
  const publicKeyDer = context.audit.signingKey.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const sessions = await registerMemberSession(app, context);

  // CSRF: the token of the form (`_csrf`) or of the `x-csrf-token` header must match the signed
  // `_csrf` cookie. @fastify/csrf-protection answers with its own 403; ours names the code.
  const csrf = app.csrfProtection as onRequestHookHandler & preHandlerHookHandler;

  const requireApiMember: onRequestHookHandler = (request, _reply, done) => {
    try {
      requireSessionMember(request);
      done();
    } catch (error) {
      done(error as Error);
    }
  };
  const requirePageMember: preHandlerHookHandler = (request, reply, done) => {
    if (sessionMember(request) === undefined) {
      void reply.redirect(PAGE_PATHS.login, 303);
      return;
    }
    done();
  };

  // Nothing of a member's is cached, JSON included; pages carry their own headers (sendPage).
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  // Product errors on a page requested by a browser become an HTML page; everything else goes on
  // to the app's one error handler, which answers in the documented JSON shape.
  app.setErrorHandler((error: FastifyError | DatapactError, request, reply) => {
    const mapped = CSRF_ERROR_CODES.has(error.code)
      ? new InvalidCsrfToken('The form expired or did not come from this site; reload the page and try again.')
      : error;
    if (mapped instanceof DatapactError && !request.url.startsWith('/v1/') && acceptsHtml(request)) {
      return sendPage(reply, mapped.status, errorPage({
        status: mapped.status, code: mapped.code, message: mapped.message, requestId: request.id, loggedIn: sessionMember(request) !== undefined,
      }));
    }
    throw mapped;
  });

  // ---- pages ------------------------------------------------------------------------------

  const page = { hide: true } as const;

  app.get(PAGE_PATHS.login, { schema: page }, async (request, reply) => {
    // Any `next` or `return_to` parameter is ignored: after login the member lands on one fixed page.
    if (sessionMember(request) !== undefined) return reply.redirect(PAGE_PATHS.settings, 303);
    return sendPage(reply, 200, loginPage({ csrf: reply.generateCsrf() }));
  });

  app.post(PAGE_PATHS.login, { schema: page, preHandler: [...context.loginThrottle.preHandler, csrf] }, async (request, reply) => {
    const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    const memberId = typeof form.member_id === 'string' ? form.member_id.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const plausible = memberId !== '' && memberId.length <= MAX_MEMBER_ID && password !== '' && password.length <= MAX_PASSWORD;
    const verified = plausible ? await store.credentials.verify(memberId, password) : undefined;
    if (verified === undefined) {
      // The same answer whichever of the two was wrong.
      return sendPage(reply, 401, loginPage({ csrf: reply.generateCsrf(), memberId: memberId.slice(0, MAX_MEMBER_ID), failed: true }));
    }
    await context.loginThrottle.succeeded(request);
    await sessions.start(request, verified);
    return reply.redirect(PAGE_PATHS.settings, 303);
  });

  app.post(PAGE_PATHS.logout, { schema: page, preHandler: csrf }, async (request, reply) => {
    await sessions.end(request, reply);
    return reply.redirect(PAGE_PATHS.login, 303);
  });

  app.get(PAGE_PATHS.settings, { schema: page, preHandler: requirePageMember }, async (request, reply) => {
    const memberId = requireSessionMember(request);
    const [privacy, exclusions] = await Promise.all([readPrivacy(store, memberId), friendExclusions(store, memberId)]);
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const notice = typeof done === 'string' ? SETTINGS_NOTICES[done] : undefined;
    return sendPage(reply, 200, settingsPage({
      memberId, privacy, exclusions, csrf: reply.generateCsrf(), saved: queryFlag(request, 'saved'), ...(notice === undefined ? {} : { notice }),
    }));
  });

  app.post(PAGE_PATHS.keepOut, { schema: page, preHandler: [requirePageMember, csrf] }, async (request, reply) => {
    const { kind, id } = targetFromForm(request.body);
    await keepOut(store, requireSessionMember(request), kind, id, clock());
    return reply.redirect(`${PAGE_PATHS.settings}?done=kept_out#keep-out`, 303);
  });

  app.post(PAGE_PATHS.letBackIn, { schema: page, preHandler: [requirePageMember, csrf] }, async (request, reply) => {
    const { kind, id } = targetFromForm(request.body);
    await letBackIn(store, requireSessionMember(request), kind, id);
    return reply.redirect(`${PAGE_PATHS.settings}?done=let_in#keep-out`, 303);
  });

  app.post(PAGE_PATHS.saveSettings, { schema: page, preHandler: [requirePageMember, csrf] }, async (request, reply) => {
    const memberId = requireSessionMember(request);
    await changePrivacy(store, memberId, settingsFromForm(request.body));
    return reply.redirect(`${PAGE_PATHS.settings}?saved=1`, 303);
  });

  app.get(PAGE_PATHS.apps, { schema: page, preHandler: requirePageMember }, async (request, reply) => {
    const memberId = requireSessionMember(request);
    const now = clock();
    const [apps, allApps, requests] = await Promise.all([
      memberAppStandings(store, memberId, now), store.partners.apps(), store.deletionRequests.ofMember(memberId),
    ]);
    const partnerOf = new Map(allApps.map((a) => [a.id, a.partnerId]));
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const notice = typeof done === 'string' ? APPS_NOTICES[done] : undefined;
    const csrfToken = reply.generateCsrf();
    const extra = (row: AppRow) => {
      const partnerId = partnerOf.get(row.app.id);
      if (partnerId === undefined) return '' as const;
      // Newest first: the first of this partner's is the latest.
      const latest = requests.find((r) => r.partnerId === partnerId);
      return deletionBlock(row, { partnerId, ...(latest === undefined ? {} : { latest: deletionRequestView(latest, now) }) }, csrfToken);
    };
    return sendPage(reply, 200, appsPage({ apps, csrf: csrfToken, extra, ...(notice === undefined ? {} : { notice }) }));
  });

  app.post(PAGE_PATHS.deletionRequests, { schema: page, preHandler: [requirePageMember, csrf] }, async (request, reply) => {
    const partnerId = (request.body as { partner_id?: unknown } | undefined)?.partner_id;
    if (typeof partnerId !== 'string' || partnerId.length === 0 || partnerId.length > 100) throw new BadRequest('invalid_parameter', 'Choose a partner.');
    await requestDeletion(store, requireSessionMember(request), partnerId, clock());
    return reply.redirect(`${PAGE_PATHS.apps}?done=deletion_requested`, 303);
  });

  app.get('/privacy/apps/:appId/revoke', { schema: { ...page, params: AppIdParams }, preHandler: requirePageMember }, async (request, reply) => {
    const standings = await memberAppStandings(store, requireSessionMember(request), clock());
    const row = appRows(standings).find((candidate) => candidate.app.id === request.params.appId);
    if (row === undefined || row.live.length === 0) return reply.redirect(PAGE_PATHS.apps, 303);
    return sendPage(reply, 200, revokeConfirmPage({ row, csrf: reply.generateCsrf() }));
  });

  app.post('/privacy/apps/:appId/permissions/remove', {
    schema: { ...page, params: AppIdParams },
    preHandler: [requirePageMember, csrf],
  }, async (request, reply) => {
    const permission = (request.body as { permission?: unknown } | undefined)?.permission;
    if (typeof permission !== 'string') throw new BadRequest('invalid_parameter', 'Choose a permission to remove.');
    await removePermission(store, requireSessionMember(request), request.params.appId, permission, clock());
    return reply.redirect(`${PAGE_PATHS.apps}?done=removed`, 303);
  });

  app.get(PAGE_PATHS.history, { schema: { ...page, querystring: HistoryPageQuery }, preHandler: requirePageMember }, async (request, reply) => {
    const { after, app_id, since, until } = request.query;
    const memberId = requireSessionMember(request);
    // Every app, not only those the member consented to: a friend's app may have received data about them.
    const [history, apps] = await Promise.all([
      accessHistory(store, memberId, HISTORY_DEFAULT_LIMIT, after, historyFilter(request.query)), store.partners.apps(),
    ]);
    // Each row carries its inclusion proof, which the page's script checks in the browser.
    const proven = await withProofs(store, proofs, history, context.audit.blinding);
    const filters = { ...(app_id ? { app_id } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}) };
    return sendPage(reply, 200, historyPage({
      entries: proven.data, ...(history.after === undefined ? {} : { after: history.after }), first: after === undefined, csrf: reply.generateCsrf(),
      filters, apps: apps.map(({ id, name }) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name)),
      proofs: { treeHead: proven.treeHead, publicKey: publicKeyDer },
    }), PROOF_CHECK_SCRIPT);
  });

  app.get(PROOF_CHECK_SCRIPT.path, { schema: page }, async (_request, reply) => reply
    .type('text/javascript; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(PROOF_CHECK_SCRIPT.source));

  app.get('/privacy/history/download', { schema: { ...page, querystring: HistoryDownloadQuery }, preHandler: requirePageMember }, async (request, reply) => {
    const data = await wholeHistory(store, requireSessionMember(request), historyFilter(request.query));
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('content-disposition', 'attachment; filename="access-history.json"')
      .send(JSON.stringify({ data }, null, 2));
  });

  app.post('/privacy/apps/:appId/revoke', {
    schema: { ...page, params: AppIdParams },
    preHandler: [requirePageMember, csrf],
  }, async (request, reply) => {
    await revokeApp(store, requireSessionMember(request), request.params.appId, clock());
    return reply.redirect(`${PAGE_PATHS.apps}?done=revoked`, 303);
  });

  // ---- JSON API -----------------------------------------------------------------------------

  const tags = ['privacy center'];
  const description = 'Needs the member session cookie of the privacy center (log in at /privacy/login), never a partner token.';

  app.get('/v1/me/privacy', {
    onRequest: requireApiMember,
    schema: {
      summary: 'Your platform settings and the audience of each field', description, tags,
      response: { 200: PrivacySettings, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const privacy = await readPrivacy(store, requireSessionMember(request));
    return { ...privacy, csrf_token: reply.generateCsrf() };
  });

  app.patch('/v1/me/privacy', {
    onRequest: [requireApiMember, csrf],
    bodyLimit: PATCH_BODY_LIMIT,
    validatorCompiler: strictBodyValidator,
    schema: {
      summary: 'Change your platform settings or the audience of fields',
      description: `${description} Send the \`csrf_token\` of GET /v1/me/privacy as the \`x-csrf-token\` header.`,
      tags,
      body: PrivacyPatch,
      response: { 200: PrivacySettings, ...ERROR_RESPONSES, 413: Type.Ref('ErrorResponse') },
    },
  }, async (request, reply) => {
    const memberId = requireSessionMember(request);
    const { platform_enabled, share_via_friends, audiences } = request.body;
    await changePrivacy(store, memberId, {
      ...(platform_enabled === undefined ? {} : { platformEnabled: platform_enabled }),
      ...(share_via_friends === undefined ? {} : { shareViaFriends: share_via_friends }),
      ...(audiences === undefined ? {} : { audiences: audiences as AudienceSettings }),
    });
    return { ...(await readPrivacy(store, memberId)), csrf_token: reply.generateCsrf() };
  });

  app.get('/v1/me/friend-exclusions', {
    onRequest: requireApiMember,
    schema: {
      summary: 'The apps and partners you keep from seeing you through friends',
      description: `${description} For these, you are left out of what your friends' apps receive, as if sharing through friends were off; `
        + 'every other app still sees you if it is on. A partner kept out means every app of that partner.',
      tags,
      response: { 200: FriendExclusionsBody, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { apps, partners } = await friendExclusions(store, requireSessionMember(request));
    return { apps, partners };
  });

  app.put('/v1/me/friend-exclusions/:kind/:id', {
    onRequest: [requireApiMember, csrf],
    schema: {
      summary: 'Keep an app (`apps`) or every app of a partner (`partners`) from seeing you through friends',
      description: `${description} Needs the \`x-csrf-token\` header. Takes effect on the app's next request; doing it again changes nothing. `
        + '404 for an app or partner that does not exist; 409 `too_many_exclusions` past 200.',
      tags,
      params: ExclusionParams,
      response: { 204: Type.Null(), ...ERROR_RESPONSES, 409: Type.Ref('ErrorResponse') },
    },
  }, async (request, reply) => {
    await keepOut(store, requireSessionMember(request), exclusionKind(request.params.kind), request.params.id, clock());
    return reply.status(204).send(null);
  });

  app.delete('/v1/me/friend-exclusions/:kind/:id', {
    onRequest: [requireApiMember, csrf],
    schema: {
      summary: 'Let an app or partner you kept out see you through friends again',
      description: `${description} Needs the \`x-csrf-token\` header. Removing one that is not there changes nothing.`,
      tags,
      params: ExclusionParams,
      response: { 204: Type.Null(), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await letBackIn(store, requireSessionMember(request), exclusionKind(request.params.kind), request.params.id);
    return reply.status(204).send(null);
  });

  app.get('/v1/me/deletion-requests', {
    onRequest: requireApiMember,
    schema: {
      summary: 'Your requests that a partner delete your data, newest first, with where each stands',
      description: `${description} \`state\`: \`waiting\` for the partner's confirmation, \`overdue\` (unconfirmed 30 days on: staff follow it up) or \`confirmed\`.`,
      tags,
      response: { 200: DeletionRequestList, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const now = clock();
    return { data: (await store.deletionRequests.ofMember(requireSessionMember(request))).map((r) => deletionRequestView(r, now)) };
  });

  app.post('/v1/me/deletion-requests', {
    onRequest: [requireApiMember, csrf],
    schema: {
      summary: 'Ask a partner to delete your data: sent to it at once as a signed `member.deletion_requested` notice',
      description: `${description} Needs the \`x-csrf-token\` header. 404 for a partner none of whose apps ever had your consent; `
        + '409 `deletion_already_requested` while an earlier request to it waits for confirmation.',
      tags,
      body: DeletionRequestBody,
      response: { 201: DeletionRequestView, ...ERROR_RESPONSES, 409: Type.Ref('ErrorResponse') },
    },
  }, async (request, reply) => {
    const now = clock();
    const created = await requestDeletion(store, requireSessionMember(request), request.body.partner_id, now);
    return reply.status(201).send(deletionRequestView(created, now));
  });

  app.get('/v1/me/apps', {
    onRequest: requireApiMember,
    schema: {
      summary: 'The apps and devices you gave consent to: partner, purpose, fields, last use, status', description, tags,
      response: { 200: MemberApps, ...ERROR_RESPONSES },
    },
  }, async (request) => ({ data: await memberApps(store, requireSessionMember(request), clock()) }));

  app.get('/v1/me/access-history', {
    onRequest: requireApiMember,
    schema: {
      summary: 'Your access history: every release of data about you, newest first',
      description: `${description} When, which app and partner, under which agreement, for what purpose, which fields, and \`via\`: `
        + '`direct` (your own consent) or `friend` (through a friend who uses the app; the friend is never named). '
        + 'Paged by `limit` (1 to 100, default 25) and the `paging.after` cursor, which only works for the member it was given to. '
        + '`proof=true` adds `tree_head` (the latest signed head) and, per entry, its inclusion proof against it '
        + '(README, "Verifying the audit log").',
      tags,
      querystring: AccessHistoryQuery,
      response: { 200: AccessHistoryPage, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { limit = HISTORY_DEFAULT_LIMIT, after, proof } = request.query;
    const history = await accessHistory(store, requireSessionMember(request), limit, after, historyFilter(request.query));
    const paging = history.after === undefined ? {} : { after: history.after };
    if (proof !== true) return { data: history.data, paging };
    const proven = await withProofs(store, proofs, history, context.audit.blinding);
    return { data: proven.data, tree_head: proven.treeHead, paging };
  });

  app.get('/v1/me/export', {
    onRequest: requireApiMember,
    schema: {
      summary: 'Your data, to keep or take elsewhere (GDPR Art. 15 and 20): settings, grants and the whole access history with proofs',
      description: `${description} JSON (default): \`settings\`, \`grants\`, \`tree_head\` and \`access_history\`, newest first, `
        + 'every entry with its inclusion proof against that one tree head (null for an entry newer than it). '
        + 'CSV (`format=csv`): one table per request, `part=access_history` (default), `grants` or `settings`. A download, streamed.',
      tags,
      querystring: Type.Object({
        format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'json (default) or csv' })),
        part: Type.Optional(Type.Union([Type.Literal('access_history'), Type.Literal('grants'), Type.Literal('settings')], {
          description: 'For CSV: which table (default access_history)',
        })),
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The export, as an attachment',
          content: { 'application/json': { schema: Type.String() }, 'text/csv': { schema: Type.String() } },
        },
        ...ERROR_RESPONSES,
      },
    },
  }, async (request, reply) => {
    const memberId = requireSessionMember(request);
    const now = clock();
    const source = { store, proofs, blinding: context.audit.blinding, memberId, now };
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const { format = 'json', part = 'access_history' } = request.query;
    if (format === 'csv') {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="datapact-export-${part}-${stamp}.csv"`)
        .send(exportCsv(source, part));
    }
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="datapact-export-${stamp}.json"`)
      .send(exportJson(source));
  });

  app.delete('/v1/me/apps/:appId/permissions/:permission', {
    onRequest: [requireApiMember, csrf],
    schema: {
      summary: 'Remove one permission from an app without revoking the rest',
      description: `${description} Needs the \`x-csrf-token\` header. \`permission\` is a field about you (\`email\`) or about friends `
        + '(`friends.birthday`); every active grant you gave the app loses it, and its tokens stop reaching it on their next request. '
        + '404 when the app has no such permission from you; 400 `permission_not_removable` for `id` (revoke the app instead).',
      tags,
      params: PermissionParams,
      response: { 204: Type.Null(), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await removePermission(store, requireSessionMember(request), request.params.appId, request.params.permission, clock());
    return reply.status(204).send(null);
  });

  app.delete('/v1/me/apps/:appId', {
    onRequest: [requireApiMember, csrf],
    schema: {
      summary: "Revoke an app: every grant you gave it and all its tokens stop working at once",
      description: `${description} Needs the \`x-csrf-token\` header.`,
      tags,
      params: AppIdParams,
      response: { 204: Type.Null(), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await revokeApp(store, requireSessionMember(request), request.params.appId, clock());
    return reply.status(204).send(null);
  });
};
