import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import { LoginRequired } from '../../domain/errors.js';
import { WebSessionStore, type WebSessionData } from '../../store/web-session-store.js';
import type { AppContext } from '../app.js';

declare module 'fastify' {
  interface Session {
    /** The logged-in member; absent until a login succeeds. */
    memberId?: string;
  }
}

export const SESSION_COOKIE = 'datapact_session';
/** A session lasts 12 hours from login, however active (no rolling renewal). */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;

/** The label the session key is derived under (HMAC with the app's cookie secret). */
const SESSION_KEY_LABEL = 'datapact/member-session/v1';

/**
 * A key for signing session ids, derived from the app's cookie secret by signing a fixed label
 * with it (HMAC-SHA256): stable across restarts whenever the cookie secret is, and distinct from
 * the key that signs the CSRF cookie.
 */
function sessionSecret(app: FastifyInstance): string {
  return app.signCookie(SESSION_KEY_LABEL).slice(SESSION_KEY_LABEL.length + 1);
}

/** @fastify/session's callback store over the `web_sessions` table. */
function callbackStore(store: WebSessionStore) {
  return {
    get(id: string, callback: (error: unknown, session?: Session | null) => void): void {
      store.get(id).then((data) => callback(null, (data ?? null) as Session | null), callback);
    },
    set(id: string, session: Session, callback: (error?: unknown) => void): void {
      const expires = session.cookie?.expires;
      const expiresAt = expires ? new Date(expires).getTime() : Date.now() + SESSION_MAX_AGE_MS;
      const data = JSON.parse(JSON.stringify(session)) as WebSessionData;
      store.set(id, data, expiresAt).then(() => callback(), callback);
    },
    destroy(id: string, callback: (error?: unknown) => void): void {
      store.destroy(id).then(() => callback(), callback);
    },
  };
}

/** Logging members in and out, over the store the session plugin uses. */
export interface MemberSessions {
  /**
   * Starts a member's session after a successful login under a new session id (a session id
   * planted before login is worth nothing after it), and saves it at once so that the cookie is
   * sent even when TLS ends at a proxy Fastify does not know about. Purges expired sessions.
   */
  start(request: FastifyRequest, memberId: string): Promise<void>;
  /** Deletes the session and tells the browser to drop its cookie. */
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/**
 * Registers the member session on `app`, which must be the encapsulated plugin of the privacy
 * center's routes: the session's hooks then run for those routes only, never for the Graph API
 * or the OAuth server. The cookie holds only the signed session id: HttpOnly, SameSite=Lax,
 * Secure outside development, 12 hours from login.
 */
export async function registerMemberSession(app: FastifyInstance, context: AppContext): Promise<MemberSessions> {
  const store = new WebSessionStore(context.store.db);
  await app.register(fastifySession, {
    secret: sessionSecret(app),
    cookieName: SESSION_COOKIE,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: context.secureCookies, maxAge: SESSION_MAX_AGE_MS },
    store: callbackStore(store),
    saveUninitialized: false,
    rolling: false,
  });
  return {
    async start(request, memberId) {
      await request.session.regenerate();
      request.session.memberId = memberId;
      await request.session.save();
      await store.purgeExpired();
    },
    async end(request, reply) {
      if (request.session) await request.session.destroy();
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
    },
  };
}

/** The logged-in member of this request, if any. */
export function sessionMember(request: FastifyRequest): string | undefined {
  const memberId = request.session?.memberId;
  return typeof memberId === 'string' && memberId !== '' ? memberId : undefined;
}

/** The logged-in member, or 401 `login_required`. */
export function requireSessionMember(request: FastifyRequest): string {
  const memberId = sessionMember(request);
  if (memberId === undefined) throw new LoginRequired('Log in to the privacy center first (/privacy/login).');
  return memberId;
}
