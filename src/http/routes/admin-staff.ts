import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { BadRequest, Conflict, InvalidCredentials, NotFound, SecondFactorRefused } from '../../domain/errors.js';
import { judgeStaffLogin, type StaffLoginVerdict } from '../../domain/staff-login.js';
import { MIN_PASSWORD_LENGTH, STAFF_ROLES, permissionsOf, type StaffMember, type StaffRole } from '../../domain/staff.js';
import { hashPassword } from '../../store/member-credential-repository.js';
import { isGuarded, splitRoleChange } from '../../domain/separation-of-duties.js';
import { proposeGuardedRoles } from '../../lifecycle/staff-roles.js';
import type { RoleProposal } from '../../store/role-proposal-repository.js';
import { generatePassword, normalizeEmail, type StaffCredential } from '../../store/staff-repository.js';
import type { Store } from '../../store/store.js';
import type { AppContext } from '../app.js';
import { createStaffLoginThrottle } from '../login-throttle.js';
import { checkSecondFactor } from '../staff-second-factor.js';
import {
  STAFF_COOKIE_PATH, STAFF_SESSION_COOKIE, inStaffTransaction, requirePermission, staffCsrfToken, staffOf,
} from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, iso, isoOrNull, security } from './admin-schemas.js';
import { SingleLineText } from '../schemas.js';

/** A staff login's bearer token lasts 12 hours, however active. */
export const STAFF_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const Role = StringEnum(STAFF_ROLES, 'viewer | partnerships_manager | privacy_officer | admin');
const Roles = Type.Array(Role, { minItems: 1, maxItems: STAFF_ROLES.length, uniqueItems: true });
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 200, description: `At least ${MIN_PASSWORD_LENGTH} characters.` });
const Name = SingleLineText({ maxLength: 200 });

const StaffView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  roles: Type.Array(Type.String()),
  created_at: DateTime,
  disabled_at: NullableString({ format: 'date-time' }),
  pending_roles: Type.Array(Type.String(), { description: 'privacy_officer or admin proposed for the account and not confirmed yet by a second admin (GET /admin/v1/role-proposals).' }),
}, { additionalProperties: false });

/** A create or roles change that proposed a guarded role answers with the proposal to confirm. */
const StaffChangeView = Type.Object({
  ...StaffView.properties,
  role_proposal_id: Type.Optional(Type.String({ description: 'The proposal a second admin confirms at POST /admin/v1/role-proposals/:id/confirm.' })),
}, { additionalProperties: false });

const ApiKeyView = Type.Object({
  id: Type.String(),
  staff_id: Type.String(),
  label: NullableString(),
  created_at: DateTime,
  expires_at: NullableString({ format: 'date-time' }),
  revoked_at: NullableString({ format: 'date-time' }),
  last_used_at: NullableString({ format: 'date-time' }),
}, { additionalProperties: false });

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

function staffView(staff: StaffMember, pending: readonly RoleProposal[] = []): Static<typeof StaffView> {
  const pendingRoles = new Set(pending.filter((p) => p.staffId === staff.id).flatMap((p) => p.roles));
  return {
    id: staff.id, email: staff.email, name: staff.name, roles: [...staff.roles],
    created_at: iso(staff.createdAt), disabled_at: isoOrNull(staff.disabledAt), pending_roles: [...pendingRoles],
  };
}

async function pendingProposals(store: Store, staffId?: string): Promise<RoleProposal[]> {
  return store.roleProposals.list({ status: 'pending', staffId });
}

function apiKeyView(key: StaffCredential): Static<typeof ApiKeyView> {
  return {
    id: key.id, staff_id: key.staffId, label: key.label, created_at: iso(key.createdAt),
    expires_at: isoOrNull(key.expiresAt), revoked_at: isoOrNull(key.revokedAt), last_used_at: isoOrNull(key.lastUsedAt),
  };
}

/** Refuses a change that would leave no enabled account with the `admin` role. */
async function keepAnAdmin(store: Store, changedId: string, after: { roles: readonly StaffRole[]; disabled: boolean }): Promise<void> {
  const admins = (await store.staff.list()).filter((s) => s.disabledAt === null && s.roles.includes('admin'));
  const remaining = admins.filter((s) => s.id !== changedId).length + (after.roles.includes('admin') && !after.disabled ? 1 : 0);
  if (remaining === 0) throw new Conflict('last_admin', 'This would leave no enabled account with the admin role; make another admin first.');
}

/** The refusal a failed login verdict gets. */
function loginRefusal(verdict: Extract<StaffLoginVerdict, { ok: false }>): Error {
  if (verdict.code === 'two_factor_required') {
    return new SecondFactorRefused('two_factor_required', 'This account uses two-factor: send `two_factor_code`, a code from the authenticator app or a recovery code.');
  }
  if (verdict.code === 'invalid_two_factor_code') {
    return new SecondFactorRefused('invalid_two_factor_code', 'The two-factor code is wrong, or was used already; wait for the next one.');
  }
  return new InvalidCredentials();
}

/**
 * Staff accounts and their credentials: the login (a 12-hour bearer session token), the logout,
 * who am I, and for admins the accounts, their roles and API keys.
 */
export const adminStaffRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store } = context;
  // Failures counted per address and per email, as members' logins are (and with the same limits).
  const loginThrottle = createStaffLoginThrottle(app, store.rateLimits, context.clock);
  const manageStaff = requirePermission('manage_staff');

  const LoginBody = Type.Object({
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1000 }),
    two_factor_code: Type.Optional(Type.String({ maxLength: 100 })),
  }, { additionalProperties: false });
  const PasswordChangeRequired = Type.Boolean({ description: 'After an admin reset: the session can only change the password (POST /admin/v1/me/password).' });

  /** Checks the password (and second factor) and issues a 12-hour session; a refusal is audited and thrown. */
  async function logIn(request: FastifyRequest, body: Static<typeof LoginBody>) {
    const now = context.clock();
    const { verified: staff, accountId } = await store.staff.checkPassword(body.email, body.password);
    const factor = staff
      ? await checkSecondFactor(store, context.totpBox, staff.id, body.two_factor_code, now)
      : { enabled: false, result: 'none' as const };
    const verdict = judgeStaffLogin({
      passwordMatches: staff !== undefined, passwordResetAt: staff?.passwordResetAt ?? null,
      twoFactorEnabled: factor.enabled, secondFactor: factor.result, now,
    });
    if (!verdict.ok || !staff) {
      // Never what was typed (a password typed into the email box would stay in the log for good).
      await inStaffTransaction(context, request, (tx) => tx.record({
        action: 'staff.login_failed', actor: null, detail: { staff_id: accountId, failed_step: verdict.ok ? 'password' : verdict.failedStep },
      }));
      throw verdict.ok ? new InvalidCredentials() : loginRefusal(verdict);
    }
    await loginThrottle.succeeded(request);
    const session = await inStaffTransaction(context, request, async (tx) => {
      const issued = await tx.store.staff.issue(staff.id, 'session', { expiresAt: tx.now + STAFF_SESSION_TTL_MS }, tx.now);
      await tx.record({ action: 'staff.login', actor: staff.id, detail: { credential_id: issued.id, ...(factor.via ? { second_factor: factor.via } : {}) } });
      return issued;
    });
    return { staff, session, passwordChangeRequired: verdict.passwordChangeRequired };
  }

  app.post('/login', {
    config: { staffAuth: 'public' },
    preHandler: loginThrottle.preHandler,
    schema: {
      summary: 'Log in as staff: a bearer session token for the admin API, valid 12 hours',
      description: 'An account with two-factor also sends `two_factor_code`: the current code of its authenticator, or one of its recovery codes.',
      tags: ['admin: staff'],
      body: LoginBody,
      response: {
        200: Type.Object({
          token: Type.String(),
          token_type: Type.Literal('Bearer'),
          expires_at: DateTime,
          staff: StaffView,
          password_change_required: PasswordChangeRequired,
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
        429: Type.Ref('ErrorResponse'),
      },
    },
  }, async (request) => {
    const { staff, session, passwordChangeRequired } = await logIn(request, request.body);
    return {
      token: session.secret, token_type: 'Bearer' as const, expires_at: iso(session.expiresAt!), staff: staffView(staff),
      password_change_required: passwordChangeRequired,
    };
  });

  app.post('/session', {
    config: { staffAuth: 'public' },
    preHandler: loginThrottle.preHandler,
    schema: {
      summary: "Log in to the staff console: the same session as /login, in an HttpOnly cookie instead of the body, with the session's CSRF token",
      description: 'The cookie is sent to /admin/v1 only; every change made with it carries `csrf_token` in the `x-csrf-token` header. '
        + 'Scripts use POST /admin/v1/login and the bearer token.',
      tags: ['admin: staff'],
      body: LoginBody,
      response: {
        200: Type.Object({
          expires_at: DateTime,
          staff: StaffView,
          password_change_required: PasswordChangeRequired,
          csrf_token: Type.String({ description: 'Send it as the x-csrf-token header with every change made through the cookie.' }),
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
        429: Type.Ref('ErrorResponse'),
      },
    },
  }, async (request, reply) => {
    const { staff, session, passwordChangeRequired } = await logIn(request, request.body);
    reply.setCookie(STAFF_SESSION_COOKIE, session.secret, {
      path: STAFF_COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: context.secureCookies, maxAge: STAFF_SESSION_TTL_MS / 1000,
    });
    return {
      expires_at: iso(session.expiresAt!), staff: staffView(staff), password_change_required: passwordChangeRequired,
      csrf_token: staffCsrfToken(app, session.id),
    };
  });

  app.post('/logout', {
    config: { staffAuth: 'password_change' },
    schema: {
      summary: 'End the session of the token sent (API keys are revoked with DELETE /admin/v1/api-keys/:id)',
      tags: ['admin: staff'],
      security,
      response: { 204: Type.Null(), ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const staff = staffOf(request);
    if (staff.credential.kind !== 'session') {
      throw new BadRequest('not_a_session', 'An API key has no session to end; revoke it with DELETE /admin/v1/api-keys/:id.');
    }
    await inStaffTransaction(context, request, async (tx) => {
      await tx.store.staff.revoke(staff.credential.id, tx.now);
      await tx.record({ action: 'staff.logout', detail: { credential_id: staff.credential.id } });
    });
    if (staff.via === 'cookie') reply.clearCookie(STAFF_SESSION_COOKIE, { path: STAFF_COOKIE_PATH });
    return reply.status(204).send(null);
  });

  app.get('/me', {
    config: { staffAuth: 'password_change' },
    schema: {
      summary: 'Who the token speaks for: the account, its roles and permissions, and the credential used',
      tags: ['admin: staff'],
      security,
      response: {
        200: Type.Object({
          id: Type.String(),
          email: Type.String(),
          name: Type.String(),
          roles: Type.Array(Type.String()),
          permissions: Type.Array(Type.String()),
          password_change_required: Type.Boolean(),
          two_factor_enabled: Type.Boolean(),
          credential: Type.Object({
            id: Type.String(),
            kind: Type.String(),
            expires_at: NullableString({ format: 'date-time' }),
          }, { additionalProperties: false }),
          csrf_token: Type.Optional(Type.String({ description: "Only for the staff console's cookie session: the token its changes carry in x-csrf-token." })),
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request) => {
    const staff = staffOf(request);
    const totp = await store.staffTwoFactor.totp(staff.id);
    return {
      id: staff.id, email: staff.email, name: staff.name, roles: [...staff.roles], permissions: permissionsOf(staff.roles),
      password_change_required: staff.passwordResetAt !== null, two_factor_enabled: totp?.confirmedAt != null,
      credential: { id: staff.credential.id, kind: staff.credential.kind, expires_at: isoOrNull(staff.credential.expiresAt) },
      ...(staff.via === 'cookie' ? { csrf_token: staffCsrfToken(app, staff.credential.id) } : {}),
    };
  });

  app.post('/staff', {
    onRequest: manageStaff,
    schema: {
      summary: 'Create a staff account (admin); without a password, one is generated and shown once. privacy_officer or admin among the roles is a proposal a second admin confirms',
      tags: ['admin: staff'],
      security,
      body: Type.Object({ email: Email, name: Name, roles: Roles, password: Type.Optional(Password) }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          ...StaffChangeView.properties,
          initial_password: Type.Optional(Type.String({ description: 'Only when none was given: shown this once.' })),
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const { email, name, roles, password } = request.body;
    const generated = password === undefined ? generatePassword() : undefined;
    const passwordHash = await hashPassword(password ?? generated!);
    const actor = staffOf(request);
    const { created, proposal } = await inStaffTransaction(context, request, async (tx) => {
      if (await tx.store.staff.byEmail(email)) throw new Conflict('email_taken', `There is already a staff account for ${normalizeEmail(email)}.`);
      const immediate = splitRoleChange([], roles).roles;
      const staff = await tx.store.staff.create({ email, name, roles: immediate, passwordHash }, tx.now);
      await tx.record({ action: 'staff.create', detail: { staff_id: staff.id, email: staff.email, roles: staff.roles } });
      const { proposal } = await proposeGuardedRoles(tx, staff, roles, actor);
      return { created: staff, proposal };
    });
    return reply.status(201).send({
      ...staffView(created, proposal ? [proposal] : []),
      ...(proposal ? { role_proposal_id: proposal.id } : {}),
      ...(generated ? { initial_password: generated } : {}),
    });
  });

  app.get('/staff', {
    onRequest: manageStaff,
    schema: {
      summary: 'Every staff account (admin)',
      tags: ['admin: staff'],
      security,
      response: { 200: Type.Object({ data: Type.Array(StaffView) }, { additionalProperties: false }), ...ADMIN_ERRORS },
    },
  }, async () => {
    const pending = await pendingProposals(store);
    return { data: (await store.staff.list()).map((staff) => staffView(staff, pending)) };
  });

  app.get('/staff/:id', {
    onRequest: manageStaff,
    schema: {
      summary: 'One staff account (admin)',
      tags: ['admin: staff'],
      security,
      params: IdParams,
      response: { 200: StaffView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const staff = await store.staff.byId(request.params.id);
    if (!staff) throw new NotFound(`No staff account ${request.params.id}.`);
    return staffView(staff, await pendingProposals(store, staff.id));
  });

  app.patch('/staff/:id', {
    onRequest: manageStaff,
    schema: {
      summary: "Change a staff account's name, roles, or disable it (admin); disabling revokes its tokens and keys. Adding privacy_officer or admin is a proposal a second admin confirms; removing roles acts at once",
      tags: ['admin: staff'],
      security,
      params: IdParams,
      body: Type.Object({ name: Type.Optional(Name), roles: Type.Optional(Roles), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: StaffChangeView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { id } = request.params;
    const change = request.body;
    return inStaffTransaction(context, request, async (tx) => {
      const before = await tx.store.staff.byId(id);
      if (!before) throw new NotFound(`No staff account ${id}.`);
      const { roles, proposal } = change.roles === undefined
        ? { roles: before.roles, proposal: null }
        : await proposeGuardedRoles(tx, before, change.roles, staffOf(request));
      const disabled = change.disabled ?? before.disabledAt !== null;
      await keepAnAdmin(tx.store, id, { roles, disabled });
      const disabledAt = change.disabled === undefined || change.disabled === (before.disabledAt !== null)
        ? undefined
        : (change.disabled ? tx.now : null);
      await tx.store.staff.update(id, {
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.roles !== undefined ? { roles } : {}),
        ...(disabledAt !== undefined ? { disabledAt } : {}),
      });
      const revoked = disabledAt !== undefined && disabledAt !== null ? await tx.store.staff.revokeAll(id, tx.now) : 0;
      const detail: Record<string, unknown> = { staff_id: id };
      if (change.name !== undefined) detail.name = { from: before.name, to: change.name };
      if (change.roles !== undefined) detail.roles = { from: before.roles, to: [...new Set(roles)] };
      if (proposal) detail.role_proposal_id = proposal.id;
      if (disabledAt !== undefined) detail.disabled = { from: before.disabledAt !== null, to: disabledAt !== null, credentials_revoked: revoked };
      await tx.record({ action: 'staff.update', detail });
      return {
        ...staffView((await tx.store.staff.byId(id))!, await pendingProposals(tx.store, id)),
        ...(proposal ? { role_proposal_id: proposal.id } : {}),
      };
    });
  });

  app.post('/api-keys', {
    onRequest: manageStaff,
    schema: {
      summary: 'Issue an API key for a staff account (admin): it acts with that account\'s roles; the key is shown once',
      tags: ['admin: staff'],
      security,
      body: Type.Object({
        label: SingleLineText({ maxLength: 100, description: 'What the key is for.' }),
        staff_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Default: your own account.' })),
        expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'Default: no expiry (until revoked).' })),
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({ ...ApiKeyView.properties, key: Type.String({ description: 'The secret: shown this once, stored only as a hash.' }) }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const { label, expires_at: expiresText } = request.body;
    const staffId = request.body.staff_id ?? staffOf(request).id;
    const expiresAt = expiresText === undefined ? null : Date.parse(expiresText);
    const issued = await inStaffTransaction(context, request, async (tx) => {
      if (expiresAt !== null && expiresAt <= tx.now) throw new BadRequest('invalid_parameter', 'body/expires_at must be in the future.');
      const owner = await tx.store.staff.byId(staffId);
      if (!owner) throw new NotFound(`No staff account ${staffId}.`);
      if (owner.disabledAt !== null) throw new Conflict('staff_disabled', `The staff account ${staffId} is disabled.`);
      if (owner.id !== staffOf(request).id && owner.roles.some(isGuarded)) {
        // A key is a way to act as its owner: an admin holding one for a privacy officer or another admin could approve or confirm alone.
        throw new Conflict('guarded_account', `The account ${staffId} holds ${owner.roles.filter(isGuarded).join(' and ')}: only its owner's own logins act for it, never a key issued by another admin.`);
      }
      const key = await tx.store.staff.issue(staffId, 'api_key', { label, expiresAt }, tx.now);
      await tx.record({ action: 'api_key.create', detail: { api_key_id: key.id, staff_id: staffId, label, expires_at: isoOrNull(expiresAt) } });
      return key;
    });
    return reply.status(201).send({ ...apiKeyView(issued), key: issued.secret });
  });

  app.get('/api-keys', {
    onRequest: manageStaff,
    schema: {
      summary: 'Every API key, revoked ones included, never the secrets (admin)',
      tags: ['admin: staff'],
      security,
      querystring: Type.Object({ staff_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(ApiKeyView) }, { additionalProperties: false }), ...ADMIN_ERRORS },
    },
  }, async (request) => ({ data: (await store.staff.apiKeys(request.query.staff_id)).map(apiKeyView) }));

  app.delete('/api-keys/:id', {
    onRequest: manageStaff,
    schema: {
      summary: 'Revoke an API key (admin): it is refused from the next request on',
      tags: ['admin: staff'],
      security,
      params: IdParams,
      response: { 204: Type.Null(), ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    await inStaffTransaction(context, request, async (tx) => {
      const key = await tx.store.staff.credential(id);
      if (!key || key.kind !== 'api_key') throw new NotFound(`No API key ${id}.`);
      if (key.revokedAt !== null) throw new Conflict('already_revoked', `The API key ${id} was revoked at ${iso(key.revokedAt)}.`);
      await tx.store.staff.revoke(id, tx.now);
      await tx.record({ action: 'api_key.revoke', detail: { api_key_id: id, staff_id: key.staffId, label: key.label } });
    });
    return reply.status(204).send(null);
  });
};
