/**
 * Staff credentials (issue 12): changing one's password, an admin's reset that forces a change at
 * the next login, and TOTP two-factor with recovery codes; wrong passwords and codes count as
 * failed logins; nothing typed reaches the audit log.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ONE_TIME_PASSWORD_TTL_MS, TOTP_PERIOD_S, totpCodeAt } from '../../src/domain/staff-login.js';
import { LOGIN_ATTEMPTS_PER_ACCOUNT } from '../../src/http/login-throttle.js';
import { ADMIN_NOW as NOW, STAFF_PASSWORD, adminWorld, type Call } from '../helpers/admin.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';

const NEW_PASSWORD = 'a brand new staff password';
const STEP_MS = TOTP_PERIOD_S * 1000;

const login = (call: Call, email: string, password: string, code?: string) =>
  call(null, 'POST', '/admin/v1/login', { email, password, ...(code === undefined ? {} : { two_factor_code: code }) });

/** Every audit entry's JSON, to look for text that must never be there. */
async function auditText(store: Awaited<ReturnType<typeof adminWorld>>['store']): Promise<string> {
  const rows = await store.db.selectFrom('audit_log').selectAll().execute();
  return JSON.stringify(rows);
}

describe('changing one\'s own password', () => {
  test('needs the current password; ends the other sessions, keeps this one and the API keys; audited without the text', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const other = (await login(call, 'viewer@staff.example', STAFF_PASSWORD)).json().token;
    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'ci', staff_id: staff.viewer.id })).json().key;

    const wrong = await call(staff.viewer.token, 'POST', '/admin/v1/me/password', { current_password: 'not my password', new_password: NEW_PASSWORD });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error.code, 'wrong_password');
    const [refusal] = await store.audit.byRequest(wrong.json().error.request_id);
    assert.equal(refusal!.action, 'staff.reauthentication_failed');
    assert.equal(refusal!.actor, staff.viewer.id);
    assert.deepEqual(refusal!.detail, { staff_id: staff.viewer.id, failed_step: 'password', for: 'password_change' });
    const same = await call(staff.viewer.token, 'POST', '/admin/v1/me/password', { current_password: STAFF_PASSWORD, new_password: STAFF_PASSWORD });
    assert.equal(same.json().error.code, 'same_password');

    const changed = await call(staff.viewer.token, 'POST', '/admin/v1/me/password', { current_password: STAFF_PASSWORD, new_password: NEW_PASSWORD });
    assert.equal(changed.statusCode, 200);
    assert.deepEqual(changed.json(), { sessions_ended: 1 });
    assert.equal((await call(staff.viewer.token, 'GET', '/admin/v1/me')).statusCode, 200, 'this session goes on');
    assert.equal((await call(other, 'GET', '/admin/v1/me')).statusCode, 401, 'the other session ended');
    assert.equal((await call(key, 'GET', '/admin/v1/me')).statusCode, 200, 'API keys are kept');
    assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD)).statusCode, 401);
    assert.equal((await login(call, 'viewer@staff.example', NEW_PASSWORD)).statusCode, 200);

    const [entry] = await store.audit.byRequest(changed.json().request_id ?? changed.headers['x-request-id'] as string);
    assert.equal(entry!.action, 'staff.password_change');
    assert.equal(entry!.actor, staff.viewer.id);
    assert.deepEqual(entry!.detail, { staff_id: staff.viewer.id, sessions_ended: 1, after_reset: false });
    const text = await auditText(store);
    assert.ok(!text.includes(NEW_PASSWORD) && !text.includes('not my password'));
  });

  test('wrong current passwords count as failed logins: a stolen session cannot guess the password', async (t) => {
    const { call, staff } = await adminWorld(t);
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_ACCOUNT; i++) {
      const response = await call(staff.viewer.token, 'POST', '/admin/v1/me/password', { current_password: `guess ${i}`, new_password: NEW_PASSWORD });
      assert.equal(response.statusCode, 403);
    }
    const limited = await call(staff.viewer.token, 'POST', '/admin/v1/me/password', { current_password: STAFF_PASSWORD, new_password: NEW_PASSWORD });
    assert.equal(limited.statusCode, 429);
    assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD)).statusCode, 429, 'the same counter as the login');
  });
});

describe('an admin\'s password reset', () => {
  test('gives a one-time password; the account can only change it, then works again; sessions end, keys stay', async (t) => {
    const { call, staff, store, addStaff } = await adminWorld(t);
    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'ci', staff_id: staff.viewer.id })).json().key;
    assert.equal((await call(staff.viewer.token, 'POST', '/admin/v1/staff/' + staff.admin.id + '/password-reset', {})).statusCode, 403, 'admins only');
    assert.equal((await call(staff.admin.token, 'POST', `/admin/v1/staff/${staff.admin.id}/password-reset`, {})).json().error.code, 'own_account');
    // A password one admin set on an officer's account would let that admin approve as the officer (PRODUCT.md §5).
    for (const guarded of [staff.privacy_officer, await addStaff('second-admin@staff.example', ['admin'])]) {
      const refused = await call(staff.admin.token, 'POST', `/admin/v1/staff/${guarded.id}/password-reset`, {});
      assert.equal(refused.statusCode, 409, guarded.email);
      assert.equal(refused.json().error.code, 'guarded_account');
    }

    const reset = await call(staff.admin.token, 'POST', `/admin/v1/staff/${staff.viewer.id}/password-reset`, {});
    assert.equal(reset.statusCode, 200);
    const body = reset.json();
    assert.deepEqual({ ...body, one_time_password: typeof body.one_time_password }, {
      staff_id: staff.viewer.id, one_time_password: 'string', expires_at: new Date(NOW + ONE_TIME_PASSWORD_TTL_MS).toISOString(),
      sessions_ended: 1, api_keys_revoked: 0, two_factor_removed: false,
    });
    assert.equal((await call(staff.viewer.token, 'GET', '/admin/v1/me')).statusCode, 401, 'sessions ended');
    assert.equal((await call(key, 'GET', '/admin/v1/partners')).statusCode, 200, 'API keys kept');
    assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD)).statusCode, 401, 'the old password is gone');

    const session = await login(call, 'viewer@staff.example', body.one_time_password);
    assert.equal(session.statusCode, 200);
    assert.equal(session.json().password_change_required, true);
    const token = session.json().token;
    const refused = await call(token, 'GET', '/admin/v1/partners');
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'password_change_required');
    assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor', { password: body.one_time_password })).statusCode, 403);
    assert.equal((await call(token, 'GET', '/admin/v1/me')).json().password_change_required, true);

    const changed = await call(token, 'POST', '/admin/v1/me/password', { current_password: body.one_time_password, new_password: NEW_PASSWORD });
    assert.equal(changed.statusCode, 200);
    assert.equal((await call(token, 'GET', '/admin/v1/partners')).statusCode, 200, 'free again');
    assert.equal((await login(call, 'viewer@staff.example', NEW_PASSWORD)).json().password_change_required, false);

    const [entry] = await store.audit.byRequest(reset.headers['x-request-id'] as string);
    assert.deepEqual(entry!.detail, { staff_id: staff.viewer.id, sessions_ended: 1, api_keys_revoked: 0, two_factor_removed: false });
    assert.equal(entry!.actor, staff.admin.id);
    assert.ok(!(await auditText(store)).includes(body.one_time_password));
  });

  test('the one-time password expires after 72 hours; revoke_api_keys ends the keys too', async (t) => {
    const { call, staff, setNow } = await adminWorld(t);
    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'ci', staff_id: staff.viewer.id })).json().key;
    const reset = (await call(staff.admin.token, 'POST', `/admin/v1/staff/${staff.viewer.id}/password-reset`, { revoke_api_keys: true })).json();
    assert.equal(reset.api_keys_revoked, 1);
    assert.equal((await call(key, 'GET', '/admin/v1/me')).statusCode, 401);
    setNow(NOW + ONE_TIME_PASSWORD_TTL_MS);
    assert.equal((await login(call, 'viewer@staff.example', reset.one_time_password)).statusCode, 401);
  });
});

/** Enrols `token`'s account in two-factor; returns the secret and recovery codes. */
async function enrol(call: Call, token: string, now: number) {
  const started = await call(token, 'POST', '/admin/v1/me/two-factor', { password: STAFF_PASSWORD });
  assert.equal(started.statusCode, 201);
  const { secret, otpauth_uri: uri } = started.json();
  const confirmed = await call(token, 'POST', '/admin/v1/me/two-factor/confirm', { code: totpCodeAt(secret, now) });
  assert.equal(confirmed.statusCode, 200);
  return { secret: secret as string, uri: uri as string, recoveryCodes: confirmed.json().recovery_codes as string[] };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`TOTP two-factor on ${dialect}`, () => {
    test('enrolment: password first, the secret shown once as an otpauth URI, on only after a first code', async (t) => {
      const { call, staff, store } = await adminWorld(t, NOW, { dialect });
      const token = staff.viewer.token;
      assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor', { password: 'wrong' })).json().error.code, 'wrong_password');
      const started = (await call(token, 'POST', '/admin/v1/me/two-factor', { password: STAFF_PASSWORD })).json();
      assert.match(started.otpauth_uri, /^otpauth:\/\/totp\/Datapact:viewer%40staff\.example\?issuer=Datapact&secret=[A-Z2-7]{32}&algorithm=SHA1&digits=6&period=30$/);
      assert.ok(started.otpauth_uri.includes(started.secret));
      assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD)).statusCode, 200, 'not asked before it is confirmed');
      const wrong = await call(token, 'POST', '/admin/v1/me/two-factor/confirm', { code: '000000' === totpCodeAt(started.secret, NOW) ? '111111' : '000000' });
      assert.equal(wrong.json().error.code, 'invalid_two_factor_code');
      const confirmed = await call(token, 'POST', '/admin/v1/me/two-factor/confirm', { code: totpCodeAt(started.secret, NOW) });
      assert.equal(confirmed.statusCode, 200);
      const codes: string[] = confirmed.json().recovery_codes;
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
      assert.equal((await call(token, 'GET', '/admin/v1/me')).json().two_factor_enabled, true);
      assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor', { password: STAFF_PASSWORD })).json().error.code, 'two_factor_enabled');

      // What a database reader sees: neither the secret nor a recovery code.
      const rows = JSON.stringify([
        await store.db.selectFrom('staff_totp').selectAll().execute(),
        await store.db.selectFrom('staff_recovery_codes').selectAll().execute(),
        await store.db.selectFrom('audit_log').selectAll().execute(),
      ]);
      assert.ok(!rows.includes(started.secret), 'the secret is sealed');
      for (const code of codes) assert.ok(!rows.includes(code) && !rows.includes(code.replaceAll('-', '')), 'recovery codes are hashed');
    });

    test.both('transactions and locking', 'login asks for the code; a code works once (no replay); recovery codes work once each', async (t) => {
      const { call, staff, store, setNow } = await adminWorld(t, NOW, { dialect });
      const { secret, recoveryCodes } = await enrol(call, staff.viewer.token, NOW);
      const email = 'viewer@staff.example';

      const missing = await login(call, email, STAFF_PASSWORD);
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.json().error.code, 'two_factor_required');
      const [failed] = await store.audit.byRequest(missing.json().error.request_id);
      assert.deepEqual(failed!.detail, { staff_id: staff.viewer.id, failed_step: 'second_factor' });
      assert.equal((await login(call, email, 'wrong password', totpCodeAt(secret, NOW))).json().error.code, 'invalid_credentials');

      setNow(NOW + STEP_MS);
      const code = totpCodeAt(secret, NOW + STEP_MS);
      assert.equal((await login(call, email, STAFF_PASSWORD, code)).statusCode, 200);
      const replay = await login(call, email, STAFF_PASSWORD, code);
      assert.equal(replay.statusCode, 401);
      assert.equal(replay.json().error.code, 'invalid_two_factor_code', 'the same code twice in its window');
      assert.equal((await login(call, email, STAFF_PASSWORD, totpCodeAt(secret, NOW))).statusCode, 401, 'an older code after a newer one');
      setNow(NOW + 2 * STEP_MS);
      assert.equal((await login(call, email, STAFF_PASSWORD, totpCodeAt(secret, NOW + 2 * STEP_MS))).statusCode, 200, 'the next code');

      const recovered = await login(call, email, STAFF_PASSWORD, recoveryCodes[0]!.toUpperCase());
      assert.equal(recovered.statusCode, 200);
      const [entry] = await store.audit.byRequest(recovered.headers['x-request-id'] as string);
      assert.equal(entry!.detail!.second_factor, 'recovery_code');
      assert.equal((await login(call, email, STAFF_PASSWORD, recoveryCodes[0])).json().error.code, 'invalid_two_factor_code', 'used once');
      assert.equal((await login(call, email, STAFF_PASSWORD, recoveryCodes[1])).statusCode, 200, 'another still works');
    });

    test('failures at the code step count as failed logins', async (t) => {
      const { call, staff } = await adminWorld(t, NOW, { dialect });
      const { secret } = await enrol(call, staff.viewer.token, NOW);
      for (let i = 0; i < LOGIN_ATTEMPTS_PER_ACCOUNT; i++) {
        assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD, i % 2 ? undefined : 'nope')).statusCode, 401);
      }
      assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD, totpCodeAt(secret, NOW + STEP_MS))).statusCode, 429);
    });

    test('disable needs the password and a code; new recovery codes void the old; an admin reset can remove it', async (t) => {
      const { call, staff, setNow } = await adminWorld(t, NOW, { dialect });
      const { secret, recoveryCodes } = await enrol(call, staff.viewer.token, NOW);
      const token = staff.viewer.token;
      setNow(NOW + STEP_MS);
      const renewed = await call(token, 'POST', '/admin/v1/me/two-factor/recovery-codes', { password: STAFF_PASSWORD, code: totpCodeAt(secret, NOW + STEP_MS) });
      assert.equal(renewed.statusCode, 200);
      const fresh: string[] = renewed.json().recovery_codes;
      assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor/disable', { password: STAFF_PASSWORD, code: recoveryCodes[1]! })).json().error.code, 'invalid_two_factor_code');
      assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor/disable', { password: 'wrong', code: fresh[0]! })).json().error.code, 'wrong_password');
      assert.equal((await call(token, 'POST', '/admin/v1/me/two-factor/disable', { password: STAFF_PASSWORD, code: fresh[0]! })).statusCode, 204);
      assert.equal((await login(call, 'viewer@staff.example', STAFF_PASSWORD)).statusCode, 200, 'no code asked any more');

      const second = await enrol(call, staff.partnerships_manager.token, NOW + STEP_MS);
      assert.ok(second.secret);
      const reset = await call(staff.admin.token, 'POST', `/admin/v1/staff/${staff.partnerships_manager.id}/password-reset`, { remove_two_factor: true });
      assert.equal(reset.json().two_factor_removed, true);
      assert.equal((await login(call, 'partnerships_manager@staff.example', reset.json().one_time_password)).statusCode, 200);
    });
  });
}
