import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEntry } from '../../audit/audit-entry.js';
import { Forbidden, InvalidCsrfToken, InvalidToken, LoginRequired, PasswordChangeRequired } from '../../domain/errors.js';
import { RULES_VERSION } from '../../domain/reason-codes.js';
import { can, type Permission, type StaffRole } from '../../domain/staff.js';
import { mustChangePasswordFirst } from '../../domain/staff-login.js';
import type { Instant } from '../../domain/time.js';
import type { StaffCredentialKind } from '../../store/schema.js';
import { createStore, type Store } from '../../store/store.js';
import type { AppContext } from '../app.js';
import { bearerOf } from '../bearer.js';

/** Who is calling the admin API: set on every authenticated /admin/v1 request. */
export interface StaffPrincipal {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly StaffRole[];
  /** Set while an admin's password reset waits to be replaced by the account's own password. */
  readonly passwordResetAt: Instant | null;
  /** The credential used: a session token from a login, or an API key. */
  readonly credential: { readonly id: string; readonly kind: StaffCredentialKind; readonly expiresAt: Instant | null };
  /** How it came: `Authorization: Bearer`, or the staff console's session cookie (whose changes carry a CSRF token). */
  readonly via: 'bearer' | 'cookie';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated staff member; set on /admin/v1 routes only (use `staffOf(request)`). */
    staff?: StaffPrincipal;
  }
  interface FastifyContextConfig {
    /**
     * `public`: an /admin/v1 route that needs no staff credential (the login). `password_change`:
     * a route a session may use while its password reset is pending (change it, who am I, logout).
     */
    staffAuth?: 'public' | 'password_change';
  }
}

const REALM = 'Bearer realm="datapact-admin"';

/** The staff console's session cookie: the session token itself, HttpOnly, sent to the admin API only. */
export const STAFF_SESSION_COOKIE = 'datapact_staff';
export const STAFF_COOKIE_PATH = '/admin/v1';
/** The header a cookie-authenticated change carries its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';
const CSRF_LABEL = 'datapact/staff-csrf/v1:';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The CSRF token of a cookie session: an HMAC of the session's id under the app's cookie secret.
 * Bound to the session (a token of another session is worth nothing) and stored nowhere.
 */
export function staffCsrfToken(app: FastifyInstance, credentialId: string): string {
  const signed = app.signCookie(CSRF_LABEL + credentialId);
  return signed.slice(signed.lastIndexOf('.') + 1);
}

function sameToken(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The credential of the request: the bearer header first (scripts), else the console's cookie. */
function credentialOf(request: FastifyRequest): { secret: string; via: 'bearer' | 'cookie' } | undefined {
  const bearer = bearerOf(request);
  if (bearer !== undefined) return { secret: bearer, via: 'bearer' };
  const cookie = request.cookies[STAFF_SESSION_COOKIE];
  return cookie ? { secret: cookie, via: 'cookie' } : undefined;
}

/** The caller of an authenticated /admin/v1 route. */
export function staffOf(request: FastifyRequest): StaffPrincipal {
  if (!request.staff) throw new LoginRequired('Log in at POST /admin/v1/login and send the token as `Authorization: Bearer <token>`.');
  return request.staff;
}

/**
 * Authenticates every route of the /admin/v1 scope (`app` must be that encapsulated plugin) by
 * `Authorization: Bearer <session token or API key>`, or the staff console's session cookie (a
 * session token only; a change through it also needs the CSRF token), before the body is read: no credential is
 * 401 `login_required`; an unknown, expired or revoked one, or one of a disabled account, is 401
 * `invalid_token`. Roles are read at every request, so a change of roles acts at once.
 * Routes with `config: { staffAuth: 'public' }` (the login) are left alone. A session whose password
 * an admin reset gets 403 `password_change_required` but on `staffAuth: 'password_change'` routes.
 */
export function registerStaffAuth(app: FastifyInstance, context: AppContext): void {
  app.decorateRequest('staff', undefined);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.staffAuth === 'public') return;
    const sent = credentialOf(request);
    if (sent === undefined) {
      reply.header('www-authenticate', REALM);
      throw new LoginRequired('Log in at POST /admin/v1/login and send the token (or an API key) as `Authorization: Bearer <token>`.');
    }
    const authenticated = await context.store.staff.authenticate(sent.secret, context.clock());
    if (!authenticated || (sent.via === 'cookie' && authenticated.credential.kind !== 'session')) {
      if (sent.via === 'cookie') reply.clearCookie(STAFF_SESSION_COOKIE, { path: STAFF_COOKIE_PATH });
      reply.header('www-authenticate', `${REALM}, error="invalid_token"`);
      throw new InvalidToken('The token or API key is not valid, has expired or was revoked; log in again.');
    }
    const { staff, credential } = authenticated;
    // A cookie goes with any request the browser sends, a forged one too: a change needs the session's token as well.
    if (sent.via === 'cookie' && !SAFE_METHODS.has(request.method)
      && !sameToken(request.headers[CSRF_HEADER], staffCsrfToken(app, credential.id))) {
      throw new InvalidCsrfToken(`A change made with the console's session cookie carries the session's CSRF token in the ${CSRF_HEADER} header.`);
    }
    if (mustChangePasswordFirst(staff.passwordResetAt, credential.kind) && request.routeOptions.config.staffAuth !== 'password_change') {
      throw new PasswordChangeRequired();
    }
    request.staff = {
      id: staff.id, email: staff.email, name: staff.name, roles: staff.roles, passwordResetAt: staff.passwordResetAt,
      credential: { id: credential.id, kind: credential.kind, expiresAt: credential.expiresAt }, via: sent.via,
    };
  });
}

/**
 * A hook that refuses, with 403 `forbidden` naming the permission, a staff member whose roles
 * lack `permission`. Use it as the route's `onRequest` (what the admin routes do: a refused role
 * learns nothing about the body, not even that it is malformed) or `preHandler`.
 */
export function requirePermission(permission: Permission) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const staff = staffOf(request);
    if (!can(staff.roles, permission)) {
      throw new Forbidden(`This needs the permission \`${permission}\`, which your roles (${staff.roles.join(', ') || 'none'}) do not give.`);
    }
  };
}

/** What a staff action changed, as it goes into the audit log. */
export interface StaffActionRecord {
  /** The action's name, `<object>.<verb>`: `partner.create`, `app.rotate_secret`, `agreement.approve`. */
  readonly action: string;
  readonly partnerId?: string | null;
  readonly appId?: string | null;
  readonly agreementId?: string | null;
  readonly agreementVersion?: number | null;
  /** Client-safe detail (what changed); never a secret or a password. */
  readonly detail?: Readonly<Record<string, unknown>> | null;
  /** Default: the request's staff member. Given for the login (no staff yet) or `system`. */
  readonly actor?: string | null;
}

/** A staff action's transaction: repositories over it, the rules' `now`, and the audit entry to write in it. */
export interface StaffTransaction {
  /** Every repository over the transaction. Use only these inside it (context.store would wait for the transaction forever). */
  readonly store: Store;
  readonly now: Instant;
  /** Appends the action to the audit log within the transaction. */
  record(action: StaffActionRecord): Promise<void>;
}

export function staffActionEntry(request: FastifyRequest, now: Instant, record: StaffActionRecord): AuditEntry {
  return {
    at: now,
    requestId: request.id,
    appId: record.appId ?? null,
    partnerId: record.partnerId ?? null,
    agreementId: record.agreementId ?? null,
    agreementVersion: record.agreementVersion ?? null,
    rulesVersion: RULES_VERSION,
    tokenMemberId: null,
    subjectMemberId: null,
    purpose: null,
    outcome: 'staff_action',
    code: record.action,
    released: [],
    withheld: {},
    actor: record.actor !== undefined ? record.actor : (request.staff?.id ?? null),
    action: record.action,
    detail: record.detail ?? null,
  };
}

/**
 * Runs a staff action's change and its audit entry in one database transaction: a failure
 * anywhere (a thrown error included) leaves the database as it was. Hash passwords before, not
 * inside (the one SQLite connection is held for the transaction's length).
 */
export async function inStaffTransaction<T>(
  context: AppContext,
  request: FastifyRequest,
  work: (tx: StaffTransaction) => Promise<T>,
): Promise<T> {
  const now = context.clock();
  const result = await context.store.db.transaction().execute(async (trx) => {
    const store = createStore(trx);
    return work({ store, now, record: async (record) => { await store.audit.append([staffActionEntry(request, now, record)]); } });
  });
  context.audit.appendedElsewhere();
  return result;
}
