import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { BadRequest, Conflict, NotFound, ReauthenticationFailed } from '../../domain/errors.js';
import { isGuarded } from '../../domain/separation-of-duties.js';
import { MIN_PASSWORD_LENGTH } from '../../domain/staff.js';
import { ONE_TIME_PASSWORD_TTL_MS, RECOVERY_CODE_COUNT, matchingTotpStep, totpUri, type StaffLoginStep } from '../../domain/staff-login.js';
import { hashPassword } from '../../store/member-credential-repository.js';
import { generatePassword } from '../../store/staff-repository.js';
import { newTotpSecret } from '../../store/staff-two-factor-repository.js';
import type { AppContext } from '../app.js';
import { createStaffLoginThrottle } from '../login-throttle.js';
import { inStaffTransaction, requirePermission, staffOf } from '../plugins/staff-auth.js';
import { checkSecondFactor } from '../staff-second-factor.js';
import { ADMIN_ERRORS, DateTime, iso, security } from './admin-schemas.js';

const NewPassword = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 200, description: `At least ${MIN_PASSWORD_LENGTH} characters.` });
const TypedPassword = Type.String({ minLength: 1, maxLength: 1000 });
const Code = Type.String({ minLength: 1, maxLength: 100, description: 'A code from the authenticator app, or a recovery code.' });
const RecoveryCodes = Type.Object({
  recovery_codes: Type.Array(Type.String(), { description: 'Shown this once; each works once, in place of an authenticator code.' }),
}, { additionalProperties: false });
const THROTTLED = { ...ADMIN_ERRORS, 429: Type.Ref('ErrorResponse') } as const;
const TAGS = ['admin: staff credentials'];

/**
 * A staff member's own credentials: changing the password, and TOTP two-factor (enrol, confirm,
 * disable, new recovery codes); and an admin's password reset of another account. Every check of
 * a password or code here counts, when wrong, as a failed login of the account (a stolen session
 * cannot guess them either).
 */
export const adminCredentialRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, totpBox } = context;
  const throttle = createStaffLoginThrottle(app, store.rateLimits, context.clock);

  /**
   * Audits a wrong password or code given to `purpose` (a stolen session guessing shows in the log,
   * as failed logins do; never the text typed) and returns the refusal to throw.
   */
  async function refused(request: FastifyRequest, purpose: string, step: StaffLoginStep, message: string): Promise<ReauthenticationFailed> {
    const staff = staffOf(request);
    await inStaffTransaction(context, request, (tx) => tx.record({
      action: 'staff.reauthentication_failed', detail: { staff_id: staff.id, failed_step: step, for: purpose },
    }));
    return new ReauthenticationFailed(step === 'password' ? 'wrong_password' : 'invalid_two_factor_code', message);
  }

  async function confirmPassword(request: FastifyRequest, purpose: string, password: string): Promise<void> {
    if (!(await store.staff.passwordIs(staffOf(request).id, password))) throw await refused(request, purpose, 'password', 'The password is wrong.');
  }

  async function confirmSecondFactor(request: FastifyRequest, purpose: string, code: string): Promise<'totp' | 'recovery_code'> {
    const check = await checkSecondFactor(store, totpBox, staffOf(request).id, code, context.clock());
    if (!check.enabled) throw new Conflict('two_factor_not_enabled', 'This account has no two-factor to check a code against.');
    if (check.result !== 'valid' || !check.via) {
      throw await refused(request, purpose, 'second_factor', 'The two-factor code is wrong, or was used already; wait for the next one.');
    }
    return check.via;
  }

  async function twoFactorEnabled(staffId: string): Promise<boolean> {
    return (await store.staffTwoFactor.totp(staffId))?.confirmedAt != null;
  }

  app.post('/me/password', {
    config: { staffAuth: 'password_change' },
    preHandler: throttle.preHandler,
    schema: {
      summary: 'Change your own password (needs the current one); ends your other sessions',
      tags: TAGS,
      security,
      body: Type.Object({ current_password: TypedPassword, new_password: NewPassword }, { additionalProperties: false }),
      response: { 200: Type.Object({ sessions_ended: Type.Integer() }, { additionalProperties: false }), ...THROTTLED },
    },
  }, async (request) => {
    const staff = staffOf(request);
    const { current_password: current, new_password: wanted } = request.body;
    await confirmPassword(request, 'password_change', current);
    await throttle.succeeded(request);
    if (wanted === current) throw new BadRequest('same_password', 'The new password must differ from the current one.');
    const passwordHash = await hashPassword(wanted);
    const ended = await inStaffTransaction(context, request, async (tx) => {
      await tx.store.staff.setPassword(staff.id, passwordHash, null);
      const keep = staff.credential.kind === 'session' ? staff.credential.id : undefined;
      const sessionsEnded = await tx.store.staff.revokeKind(staff.id, 'session', tx.now, keep);
      await tx.record({
        action: 'staff.password_change',
        detail: { staff_id: staff.id, sessions_ended: sessionsEnded, after_reset: staff.passwordResetAt !== null },
      });
      return sessionsEnded;
    });
    return { sessions_ended: ended };
  });

  app.post('/staff/:id/password-reset', {
    onRequest: requirePermission('manage_staff'),
    schema: {
      summary: "Reset another account's password (admin): a one-time password, shown once, that must be changed at the next login",
      description: 'Ends the account\'s sessions. Its API keys keep working unless `revoke_api_keys`; its two-factor stays unless `remove_two_factor` (for a lost authenticator and lost recovery codes).',
      tags: TAGS,
      security,
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      body: Type.Object({
        revoke_api_keys: Type.Optional(Type.Boolean({ default: false })),
        remove_two_factor: Type.Optional(Type.Boolean({ default: false })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          staff_id: Type.String(),
          one_time_password: Type.String({ description: 'Shown this once: give it to the person over a trusted channel.' }),
          expires_at: DateTime,
          sessions_ended: Type.Integer(),
          api_keys_revoked: Type.Integer(),
          two_factor_removed: Type.Boolean(),
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request) => {
    const { id } = request.params;
    const { revoke_api_keys: revokeKeys = false, remove_two_factor: removeTwoFactor = false } = request.body ?? {};
    if (id === staffOf(request).id) throw new Conflict('own_account', 'Change your own password with POST /admin/v1/me/password.');
    const oneTimePassword = generatePassword();
    const passwordHash = await hashPassword(oneTimePassword);
    return inStaffTransaction(context, request, async (tx) => {
      const target = await tx.store.staff.byId(id);
      if (!target) throw new NotFound(`No staff account ${id}.`);
      if (target.disabledAt !== null) throw new Conflict('staff_disabled', `The staff account ${id} is disabled.`);
      // A password the admin chose for an officer's account would let that admin approve as the officer:
      // one person satisfying the two-person rule (PRODUCT.md §5). Such accounts are reset the two-admin way.
      if (target.roles.some(isGuarded)) {
        throw new Conflict('guarded_account', `The account ${id} holds ${target.roles.filter(isGuarded).join(' and ')}: an admin cannot set its `
          + 'password alone. Remove those roles (PATCH /admin/v1/staff/:id), reset the password, and propose the roles again: a second admin '
          + 'confirms them, which gives the account a new password.');
      }
      await tx.store.staff.setPassword(id, passwordHash, tx.now);
      const sessionsEnded = await tx.store.staff.revokeKind(id, 'session', tx.now);
      const keysRevoked = revokeKeys ? await tx.store.staff.revokeKind(id, 'api_key', tx.now) : 0;
      const twoFactorRemoved = removeTwoFactor ? await tx.store.staffTwoFactor.remove(id) : false;
      await tx.record({
        action: 'staff.password_reset',
        detail: { staff_id: id, sessions_ended: sessionsEnded, api_keys_revoked: keysRevoked, two_factor_removed: twoFactorRemoved },
      });
      return {
        staff_id: id, one_time_password: oneTimePassword, expires_at: iso(tx.now + ONE_TIME_PASSWORD_TTL_MS),
        sessions_ended: sessionsEnded, api_keys_revoked: keysRevoked, two_factor_removed: twoFactorRemoved,
      };
    });
  });

  app.post('/me/two-factor', {
    preHandler: throttle.preHandler,
    schema: {
      summary: 'Start TOTP two-factor enrolment (needs your password): the secret, shown once, as an otpauth URI',
      description: 'Nothing changes at login until POST /admin/v1/me/two-factor/confirm gets a first code. Starting again replaces an unconfirmed enrolment.',
      tags: TAGS,
      security,
      body: Type.Object({ password: TypedPassword }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          otpauth_uri: Type.String({ description: 'For the authenticator app (as a QR code, or pasted).' }),
          secret: Type.String({ description: 'The same secret in base32, for typing in by hand.' }),
        }, { additionalProperties: false }),
        ...THROTTLED,
      },
    },
  }, async (request, reply) => {
    const staff = staffOf(request);
    await confirmPassword(request, 'two_factor_enrolment', request.body.password);
    await throttle.succeeded(request);
    if (await twoFactorEnabled(staff.id)) throw new Conflict('two_factor_enabled', 'Two-factor is on already; disable it first to enrol another authenticator.');
    const secret = newTotpSecret();
    await inStaffTransaction(context, request, async (tx) => {
      await tx.store.staffTwoFactor.startEnrolment(staff.id, totpBox.seal(secret, staff.id), tx.now);
      await tx.record({ action: 'staff.two_factor_enrolment', detail: { staff_id: staff.id } });
    });
    return reply.status(201).send({ otpauth_uri: totpUri(secret, staff.email), secret });
  });

  app.post('/me/two-factor/confirm', {
    preHandler: throttle.preHandler,
    schema: {
      summary: 'Confirm the enrolment with a first code: two-factor is on from now, and the recovery codes are shown once',
      tags: TAGS,
      security,
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 20 }) }, { additionalProperties: false }),
      response: { 200: RecoveryCodes, ...THROTTLED },
    },
  }, async (request) => {
    const staff = staffOf(request);
    const now = context.clock();
    const pending = await store.staffTwoFactor.totp(staff.id);
    if (!pending || pending.confirmedAt !== null) {
      throw new Conflict('no_enrolment', 'There is no enrolment to confirm: start one with POST /admin/v1/me/two-factor.');
    }
    const secret = totpBox.open(pending.secretSealed, staff.id);
    const step = secret === undefined ? null : matchingTotpStep(secret, request.body.code.trim(), now);
    if (step === null || !(await store.staffTwoFactor.useStep(staff.id, step, now, true))) {
      throw await refused(request, 'two_factor_enable', 'second_factor', 'The code is wrong: type the one the authenticator shows now.');
    }
    await throttle.succeeded(request);
    const codes = await inStaffTransaction(context, request, async (tx) => {
      const issued = await tx.store.staffTwoFactor.replaceRecoveryCodes(staff.id, RECOVERY_CODE_COUNT, tx.now);
      await tx.record({ action: 'staff.two_factor_enable', detail: { staff_id: staff.id, recovery_codes: issued.length } });
      return issued;
    });
    return { recovery_codes: codes };
  });

  app.post('/me/two-factor/disable', {
    preHandler: throttle.preHandler,
    schema: {
      summary: 'Turn two-factor off (needs your password and a code, or a recovery code)',
      tags: TAGS,
      security,
      body: Type.Object({ password: TypedPassword, code: Code }, { additionalProperties: false }),
      response: { 204: Type.Null(), ...THROTTLED },
    },
  }, async (request, reply) => {
    const staff = staffOf(request);
    await confirmPassword(request, 'two_factor_disable', request.body.password);
    const via = await confirmSecondFactor(request, 'two_factor_disable', request.body.code);
    await throttle.succeeded(request);
    await inStaffTransaction(context, request, async (tx) => {
      await tx.store.staffTwoFactor.remove(staff.id);
      await tx.record({ action: 'staff.two_factor_disable', detail: { staff_id: staff.id, second_factor: via } });
    });
    return reply.status(204).send(null);
  });

  app.post('/me/two-factor/recovery-codes', {
    preHandler: throttle.preHandler,
    schema: {
      summary: 'New recovery codes (needs your password and a code): the old ones stop working',
      tags: TAGS,
      security,
      body: Type.Object({ password: TypedPassword, code: Code }, { additionalProperties: false }),
      response: { 200: RecoveryCodes, ...THROTTLED },
    },
  }, async (request) => {
    const staff = staffOf(request);
    await confirmPassword(request, 'recovery_codes_replace', request.body.password);
    const via = await confirmSecondFactor(request, 'recovery_codes_replace', request.body.code);
    await throttle.succeeded(request);
    const codes = await inStaffTransaction(context, request, async (tx) => {
      const issued = await tx.store.staffTwoFactor.replaceRecoveryCodes(staff.id, RECOVERY_CODE_COUNT, tx.now);
      await tx.record({ action: 'staff.recovery_codes_replace', detail: { staff_id: staff.id, recovery_codes: issued.length, second_factor: via } });
      return issued;
    });
    return { recovery_codes: codes };
  });
};
