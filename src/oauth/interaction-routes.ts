import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';
import { DatapactError, InvalidCsrfToken } from '../domain/errors.js';
import { ID_MASK } from '../domain/field-catalog.js';
import type { Grant } from '../domain/grant.js';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { sendPage } from '../web/send-page.js';
import { consentPage } from './consent-page.js';
import { judgeAuthorizationRequest, loadDoorFacts, newGrantsEndedAt, type ConsentRequest, type DoorFacts } from './door-rules.js';
import { loginPage } from './login-page.js';
import { consentRefusedPage, errorPage } from './notice-pages.js';
import { parseScope, scopesOf } from './scopes.js';

/** The members' login throttle (the HTTP app's): its preHandlers count an attempt; a success is reported. */
export interface MemberLoginThrottle {
  readonly preHandler: preHandlerAsyncHookHandler[];
  succeeded(request: FastifyRequest): Promise<void>;
}

export interface InteractionRoutesOptions {
  readonly provider: Provider;
  readonly store: Store;
  readonly clock: () => Instant;
  readonly loginThrottle: MemberLoginThrottle;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Where an interaction stands, with everything its pages show. */
interface Situation {
  readonly interaction: Interaction;
  readonly facts: DoorFacts;
  readonly now: Instant;
  /** The rules at the door, judged again now: the agreement may have changed since the request. */
  readonly decision: ReturnType<typeof judgeAuthorizationRequest>;
  /** When the agreement stopped taking new consents, if it has. */
  readonly newGrantsEndedAt: Instant | null;
}

class PageError extends Error {
  constructor(readonly status: number, readonly title: string, message: string) {
    super(message);
  }
}

const UID_PARAMS = {
  type: 'object',
  properties: { uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  required: ['uid'],
} as const;

const LOGIN_BODY = {
  type: 'object',
  properties: {
    member_id: { type: 'string', minLength: 1, maxLength: 200 },
    password: { type: 'string', minLength: 1, maxLength: 200 },
  },
  required: ['member_id', 'password'],
} as const;

/** Finishes the interaction and sends the browser back to the authorization endpoint (never anywhere a request names). */
async function finish(provider: Provider, request: FastifyRequest, reply: FastifyReply, result: InteractionResults, merge: boolean) {
  const returnTo = await provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
  return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
}

function submittedScopes(body: unknown): string {
  const value = (body as { scope?: unknown } | undefined)?.scope;
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string').join(' ');
}

/**
 * The member's side of an authorization: `/interaction/:uid` shows the login form, the consent
 * page, or why consent cannot be given; the forms post back here. Every form carries a CSRF token
 * and the interaction is bound to the browser by oidc-provider's own cookie; the only redirect
 * target is the provider's resume URL for this interaction.
 */
export const interactionRoutes: FastifyPluginAsync<InteractionRoutesOptions> = async (app, options) => {
  const { provider, store, clock, loginThrottle } = options;

  async function situation(request: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply): Promise<Situation> {
    const interaction = await provider.interactionDetails(request.raw, reply.raw);
    if (interaction.uid !== request.params.uid) {
      throw new PageError(400, 'This page has expired', 'This sign-in page belongs to an earlier request. Go back to the app and start again.');
    }
    const clientId = String(interaction.params.client_id);
    const now = clock();
    const facts = await loadDoorFacts(store, clientId, now);
    if (!facts) throw new PageError(400, 'This app is not available', 'The app that sent you here is not registered.');
    const decision = judgeAuthorizationRequest(
      facts,
      { purpose: interaction.params.purpose as string | undefined, scope: interaction.params.scope as string | undefined },
      now,
    );
    const endedAt = decision.ok ? newGrantsEndedAt(decision.request.agreement, now) : null;
    return { interaction, facts, now, decision, newGrantsEndedAt: endedAt };
  }

  /** Sends the browser back to the client with an error when the agreement no longer allows the request. */
  async function refuseIfChanged(s: Situation, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (s.decision.ok) return undefined;
    const { error, description } = s.decision.refusal;
    return finish(provider, request, reply, { error, error_description: description }, false);
  }

  function refusedPage(s: Situation, reply: FastifyReply, since: Instant): FastifyReply {
    return sendPage(reply, 403, consentRefusedPage({
      uid: s.interaction.uid,
      csrfToken: reply.generateCsrf(),
      appName: s.facts.app.name,
      partnerName: s.facts.partner.legalName,
      since,
    }));
  }

  function consentView(s: Situation, reply: FastifyReply, request: ConsentRequest, memberId: string, nothingTicked = false): string {
    return consentPage({
      uid: s.interaction.uid,
      csrfToken: reply.generateCsrf(),
      memberId,
      app: s.facts.app,
      partner: s.facts.partner,
      agreement: request.agreement,
      purpose: request.purpose,
      memberFields: request.memberFields,
      friendFields: request.friendFields,
      neverSharedFriendFields: request.neverSharedFriendFields,
      nothingTicked,
    });
  }

  // These are pages: every refusal is a page too, never JSON.
  app.setErrorHandler((error: FastifyError | PageError | DatapactError, request, reply) => {
    if (error instanceof PageError) return sendPage(reply, error.status, errorPage(error.title, error.message));
    if (error instanceof errors.SessionNotFound) {
      return sendPage(reply, 400, errorPage('This page has expired', 'The sign-in request has expired or was started in another browser. Go back to the app and start again.'));
    }
    const status = error instanceof DatapactError ? error.status : error.statusCode;
    if (status === 403 && (error instanceof InvalidCsrfToken || String(error.code).startsWith('FST_CSRF'))) {
      return sendPage(reply, 403, errorPage('This form has expired', 'The form could not be verified. Go back, reload the page and try again.'));
    }
    if (status === 429) {
      return sendPage(reply, 429, errorPage('Too many attempts', 'Too many login attempts for this member or from this address. Wait 15 minutes and try again.'));
    }
    if (!(error instanceof DatapactError) && error.validation) return sendPage(reply, 400, errorPage('Something is missing', 'Fill in every field of the form and try again.'));
    request.log.error({ err: error }, 'interaction failed');
    return sendPage(reply, 500, errorPage('Something went wrong', 'Something went wrong on our side. Go back to the app and try again.'));
  });

  app.get<{ Params: { uid: string } }>('/interaction/:uid', { schema: { hide: true, params: UID_PARAMS } }, async (request, reply) => {
    const s = await situation(request, reply);
    const changed = await refuseIfChanged(s, request, reply);
    if (changed) return changed;
    if (s.newGrantsEndedAt !== null) return refusedPage(s, reply, s.newGrantsEndedAt);
    if (s.interaction.prompt.name === 'login') {
      return sendPage(reply, 200, loginPage({
        uid: s.interaction.uid, csrfToken: reply.generateCsrf(), appName: s.facts.app.name, partnerName: s.facts.partner.legalName,
      }));
    }
    const memberId = s.interaction.session?.accountId;
    if (s.interaction.prompt.name !== 'consent' || memberId === undefined || !s.decision.ok) {
      throw new PageError(400, 'This page has expired', 'Go back to the app and start again.');
    }
    return sendPage(reply, 200, consentView(s, reply, s.decision.request, memberId));
  });

  app.post<{ Params: { uid: string }; Body: { member_id: string; password: string } }>('/interaction/:uid/login', {
    schema: { hide: true, params: UID_PARAMS, body: LOGIN_BODY },
    preValidation: app.csrfProtection,
    preHandler: loginThrottle.preHandler,
  }, async (request, reply) => {
    const s = await situation(request, reply);
    if (s.interaction.prompt.name !== 'login') throw new PageError(400, 'This page has expired', 'Go back to the app and start again.');
    const typed = request.body.member_id.trim();
    const memberId = await store.credentials.verify(typed, request.body.password);
    if (memberId === undefined) {
      // The same answer whether the member is unknown or the password wrong.
      return sendPage(reply, 401, loginPage({
        uid: s.interaction.uid, csrfToken: reply.generateCsrf(), appName: s.facts.app.name,
        partnerName: s.facts.partner.legalName, memberId: typed, failed: true,
      }));
    }
    await loginThrottle.succeeded(request);
    return finish(provider, request, reply, { login: { accountId: memberId, remember: false } }, false);
  });

  app.post<{ Params: { uid: string }; Body: { decision?: unknown; scope?: unknown } }>('/interaction/:uid/consent', {
    schema: { hide: true, params: UID_PARAMS },
    preValidation: app.csrfProtection,
  }, async (request, reply) => {
    const s = await situation(request, reply);
    const memberId = s.interaction.session?.accountId;
    if (s.interaction.prompt.name !== 'consent' || memberId === undefined) {
      throw new PageError(400, 'This page has expired', 'Go back to the app and start again.');
    }
    const changed = await refuseIfChanged(s, request, reply);
    if (changed || !s.decision.ok) return changed;
    if (s.newGrantsEndedAt !== null) return refusedPage(s, reply, s.newGrantsEndedAt);
    if (request.body?.decision !== 'allow') {
      return finish(provider, request, reply, { error: 'access_denied', error_description: 'the member declined' }, false);
    }

    const asked = s.decision.request;
    const ticked = parseScope(submittedScopes(request.body));
    const memberFields = asked.memberFields & ticked.memberFields;
    const friendFields = asked.friendFields & ticked.friendFields;
    if ((asked.memberFields | asked.friendFields) !== 0 && (memberFields | friendFields) === 0) {
      // Nothing is ticked beforehand, so Allow with no box ticked is most likely a slip: ask again
      // (Deny is the refusal). No grant is left behind.
      return sendPage(reply, 400, consentView(s, reply, asked, memberId, true));
    }
    const clientId = s.facts.app.id;

    const grant = new provider.Grant({ accountId: memberId, clientId });
    const granted = scopesOf(memberFields, friendFields, asked.openid);
    const declined = scopesOf(asked.memberFields & ~memberFields, (asked.friendFields & ~friendFields) | asked.neverSharedFriendFields, false);
    if (granted.length > 0) grant.addOIDCScope(granted.join(' '));
    if (declined.length > 0) grant.rejectOIDCScope(declined.join(' '));
    const grantId = await grant.save();

    const datapactGrant: Grant = {
      id: grantId,
      memberId,
      appId: clientId,
      agreementId: asked.agreement.id,
      agreementVersion: asked.agreement.version,
      purpose: asked.purpose,
      memberFields: memberFields | ID_MASK,
      friendFields,
      grantedAt: s.now,
      lastUsedAt: null,
      revokedAt: null,
    };
    await store.grants.insertMany([datapactGrant]);
    return finish(provider, request, reply, { consent: { grantId } }, true);
  });

  app.post<{ Params: { uid: string } }>('/interaction/:uid/abort', {
    schema: { hide: true, params: UID_PARAMS },
    preValidation: app.csrfProtection,
  }, async (request, reply) => {
    const s = await situation(request, reply);
    const description = s.newGrantsEndedAt !== null
      ? 'the agreement no longer accepts new consents (winding down)'
      : 'the member cancelled';
    return finish(provider, request, reply, { error: 'access_denied', error_description: description }, false);
  });
};
