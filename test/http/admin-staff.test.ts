import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashToken } from '../../src/store/access-token-repository.js';
import { ADMIN_NOW as NOW, STAFF_PASSWORD, adminWorld, snapshot } from '../helpers/admin.js';

const HOUR = 3_600_000;

describe('POST /admin/v1/login', () => {
  test('email and password give a 12-hour bearer session token that the admin API accepts', async (t) => {
    const { call, staff, store, setNow } = await adminWorld(t);
    const login = await call(null, 'POST', '/admin/v1/login', { email: ' Admin@Staff.Example ', password: STAFF_PASSWORD });
    assert.equal(login.statusCode, 200);
    const body = login.json();
    assert.match(body.token, /^dps_[A-Za-z0-9_-]{43}$/);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_at, new Date(NOW + 12 * HOUR).toISOString());
    assert.deepEqual(body.staff.roles, ['admin']);
    assert.equal(body.staff.id, staff.admin.id);
    assert.equal(body.staff.password_hash, undefined);

    const me = await call(body.token, 'GET', '/admin/v1/me');
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().email, 'admin@staff.example');
    assert.deepEqual(me.json().permissions, ['read', 'manage_partners', 'manage_agreements', 'manage_staff']);
    assert.equal(me.json().credential.kind, 'session');

    // Only the SHA-256 is stored.
    const rows = await store.db.selectFrom('staff_credentials').selectAll().execute();
    assert.ok(rows.some((row) => row.token_hash === hashToken(body.token)));
    assert.ok(!JSON.stringify(rows).includes(body.token));

    setNow(NOW + 12 * HOUR - 1);
    assert.equal((await call(body.token, 'GET', '/admin/v1/me')).statusCode, 200);
    setNow(NOW + 12 * HOUR);
    const expired = await call(body.token, 'GET', '/admin/v1/me');
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().error.code, 'invalid_token');
  });

  test('a wrong password, an unknown email and a disabled account get the same 401, and the attempt is audited', async (t) => {
    const { call, store, staff } = await adminWorld(t);
    await store.staff.update(staff.viewer.id, { disabledAt: NOW });
    for (const [email, password] of [['admin@staff.example', 'wrong password!'], ['nobody@staff.example', STAFF_PASSWORD], ['viewer@staff.example', STAFF_PASSWORD]] as const) {
      const response = await call(null, 'POST', '/admin/v1/login', { email, password });
      assert.equal(response.statusCode, 401, email);
      assert.deepEqual(Object.keys(response.json().error).sort(), ['code', 'message', 'request_id']);
      assert.equal(response.json().error.code, 'invalid_credentials');
      assert.equal(response.json().error.message, 'The email or password is wrong.');
      const [entry] = await store.audit.byRequest(response.json().error.request_id);
      assert.equal(entry?.action, 'staff.login_failed');
      assert.equal(entry?.actor, null);
      assert.ok(!JSON.stringify(entry).includes(email.split('@')[0]!), 'nothing typed is in the log');
      assert.ok(!JSON.stringify(entry).includes(password), 'nothing typed is in the log');
    }
  });

  test('a failed login is audited as a failure, naming the account by id when it exists, never with the text typed', async (t) => {
    const { call, store, staff } = await adminWorld(t);
    // A password typed into the email box, then into the right box with a wrong email.
    const typedAsEmail = await call(null, 'POST', '/admin/v1/login', { email: STAFF_PASSWORD, password: STAFF_PASSWORD });
    const wrongPassword = await call(null, 'POST', '/admin/v1/login', { email: 'admin@staff.example', password: 'hunter2 secret' });
    const all = await store.audit.byRequest(typedAsEmail.json().error.request_id);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.action, 'staff.login_failed');
    assert.equal(all[0]!.actor, null);
    assert.deepEqual(all[0]!.detail, { staff_id: null, failed_step: 'password' });
    assert.ok(!JSON.stringify(all[0]).includes(STAFF_PASSWORD), 'the password typed as the email is not in the log');
    const [known] = await store.audit.byRequest(wrongPassword.json().error.request_id);
    assert.deepEqual(known!.detail, { staff_id: staff.admin.id, failed_step: 'password' });
    assert.ok(!JSON.stringify(known).includes('hunter2') && !JSON.stringify(known).includes('admin@staff.example'));
  });

  test('only failures count: six correct logins in a row do not lock an account, and a success clears its failures', async (t) => {
    const { call } = await adminWorld(t);
    const login = (password: string) => call(null, 'POST', '/admin/v1/login', { email: 'admin@staff.example', password });
    for (let i = 1; i <= 6; i++) assert.equal((await login(STAFF_PASSWORD)).statusCode, 200, `correct login ${i}`);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) assert.equal((await login(`guess ${i}`)).statusCode, 401);
      assert.equal((await login(STAFF_PASSWORD)).statusCode, 200, `round ${round}`);
    }
    for (let i = 0; i < 5; i++) await login(`guess ${i}`);
    assert.equal((await login(STAFF_PASSWORD)).statusCode, 429);
  });

  test('is limited to 5 attempts per email and 20 per address in 15 minutes', async (t) => {
    const { call } = await adminWorld(t);
    for (let i = 0; i < 5; i++) {
      assert.equal((await call(null, 'POST', '/admin/v1/login', { email: 'admin@staff.example', password: `guess number ${i}` })).statusCode, 401);
    }
    const limited = await call(null, 'POST', '/admin/v1/login', { email: 'ADMIN@staff.example', password: STAFF_PASSWORD });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Another account from the same address still may, until the address's own limit.
    assert.equal((await call(null, 'POST', '/admin/v1/login', { email: 'viewer@staff.example', password: STAFF_PASSWORD })).statusCode, 200);
    for (let i = 0; i < 14; i++) await call(null, 'POST', '/admin/v1/login', { email: `n${i}@staff.example`, password: 'x' });
    assert.equal((await call(null, 'POST', '/admin/v1/login', { email: 'partnerships_manager@staff.example', password: STAFF_PASSWORD })).statusCode, 429);
  });
});

describe('authentication of the admin API', () => {
  test('no credential is 401 login_required; a garbled, forged, member or partner token is 401 invalid_token', async (t) => {
    const { call } = await adminWorld(t);
    const none = await call(null, 'GET', '/admin/v1/partners');
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'login_required');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    for (const bearer of ['garbage', 'dps_' + 'A'.repeat(43), 'dpk_' + 'B'.repeat(43), 'dp_' + 'C'.repeat(43)]) {
      const response = await call(bearer, 'GET', '/admin/v1/partners');
      assert.equal(response.statusCode, 401, bearer);
      assert.equal(response.json().error.code, 'invalid_token');
    }
  });

  test('logout ends the session at once; an API key has no session to end', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const logout = await call(staff.viewer.token, 'POST', '/admin/v1/logout');
    assert.equal(logout.statusCode, 204);
    const after = await call(staff.viewer.token, 'GET', '/admin/v1/me');
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error.code, 'invalid_token');
    const [entry] = await store.audit.byRequest(String(logout.headers['x-request-id']));
    assert.equal(entry?.action, 'staff.logout');
    assert.equal(entry?.actor, staff.viewer.id);

    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'ci' })).json().key;
    const refused = await call(key, 'POST', '/admin/v1/logout');
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error.code, 'not_a_session');
    assert.equal((await call(key, 'GET', '/admin/v1/me')).statusCode, 200);
  });

  test('roles are read at every request: a change acts on live tokens; disabling an account revokes its credentials', async (t) => {
    const { call, staff } = await adminWorld(t);
    assert.equal((await call(staff.viewer.token, 'POST', '/admin/v1/partners', {})).json().error.code, 'forbidden');
    const promoted = await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.viewer.id}`, { roles: ['viewer', 'partnerships_manager'] });
    assert.equal(promoted.statusCode, 200);
    assert.deepEqual(promoted.json().roles, ['viewer', 'partnerships_manager']);
    assert.equal((await call(staff.viewer.token, 'GET', '/admin/v1/me')).json().permissions.includes('manage_partners'), true);

    const disabled = await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.viewer.id}`, { disabled: true });
    assert.equal(disabled.statusCode, 200);
    assert.equal(disabled.json().disabled_at, new Date(NOW).toISOString());
    assert.equal((await call(staff.viewer.token, 'GET', '/admin/v1/me')).statusCode, 401);
    assert.equal((await call(null, 'POST', '/admin/v1/login', { email: 'viewer@staff.example', password: STAFF_PASSWORD })).statusCode, 401);
    // Enabled again: the old token stays revoked, a new login works.
    await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.viewer.id}`, { disabled: false });
    assert.equal((await call(staff.viewer.token, 'GET', '/admin/v1/me')).statusCode, 401);
    assert.equal((await call(null, 'POST', '/admin/v1/login', { email: 'viewer@staff.example', password: STAFF_PASSWORD })).statusCode, 200);
  });
});

describe('staff accounts', () => {
  test('an admin creates accounts (a generated password is shown once) and lists them; emails are unique', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const created = await call(staff.admin.token, 'POST', '/admin/v1/staff', { email: 'New.Officer@Staff.example', name: 'New Officer', roles: ['privacy_officer'] });
    assert.equal(created.statusCode, 201);
    const body = created.json();
    assert.equal(body.email, 'new.officer@staff.example');
    assert.equal(typeof body.initial_password, 'string');
    assert.ok(body.initial_password.length >= 20);
    const login = await call(null, 'POST', '/admin/v1/login', { email: 'new.officer@staff.example', password: body.initial_password });
    assert.equal(login.statusCode, 200);
    assert.equal((await call(staff.admin.token, 'GET', `/admin/v1/staff/${body.id}`)).json().initial_password, undefined);

    const given = await call(staff.admin.token, 'POST', '/admin/v1/staff', { email: 'pm2@staff.example', name: 'PM', roles: ['partnerships_manager'], password: 'chosen password 1' });
    assert.equal(given.statusCode, 201);
    assert.equal(given.json().initial_password, undefined);

    const duplicate = await call(staff.admin.token, 'POST', '/admin/v1/staff', { email: 'PM2@staff.example', name: 'PM', roles: ['viewer'] });
    assert.equal(duplicate.statusCode, 409);
    assert.equal(duplicate.json().error.code, 'email_taken');

    const list = await call(staff.admin.token, 'GET', '/admin/v1/staff');
    assert.equal(list.statusCode, 200);
    assert.equal(list.json().data.length, 6);
    assert.ok(!list.body.includes('scrypt'));
    assert.ok(!JSON.stringify(await store.audit.staffActions()).includes('chosen password 1'));
  });

  test('the last enabled admin cannot lose the role or be disabled', async (t) => {
    const { call, staff, store, addStaff } = await adminWorld(t);
    const before = await snapshot(store.db);
    for (const change of [{ roles: ['viewer'] }, { disabled: true }]) {
      const response = await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.admin.id}`, change);
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'last_admin');
    }
    assert.deepEqual(await snapshot(store.db), before);
    // Another admin (granted by two: proposed by one, confirmed by a second) lets the first step down.
    const second = await addStaff('second-admin@staff.example', ['admin']);
    const proposed = (await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.viewer.id}`, { roles: ['admin'] })).json();
    assert.equal((await call(second.token, 'POST', `/admin/v1/role-proposals/${proposed.role_proposal_id}/confirm`)).statusCode, 200);
    assert.equal((await call(staff.admin.token, 'PATCH', `/admin/v1/staff/${staff.admin.id}`, { roles: ['viewer'] })).statusCode, 200);
  });
});

describe('API keys', () => {
  test('shown once, stored hashed, act with the account\'s roles, listed without secrets, revocable', async (t) => {
    const { call, staff, store, setNow } = await adminWorld(t);
    const issued = await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'nightly export', staff_id: staff.viewer.id });
    assert.equal(issued.statusCode, 201);
    const key = issued.json();
    assert.match(key.key, /^dpk_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.staff_id, staff.viewer.id);
    assert.equal(key.expires_at, null);

    const rows = await store.db.selectFrom('staff_credentials').selectAll().where('id', '=', key.id).execute();
    assert.equal(rows[0]?.token_hash, hashToken(key.key));
    assert.ok(!JSON.stringify(await snapshot(store.db)).includes(key.key), 'the secret is nowhere in the database');

    // It speaks for the viewer: reads, never writes.
    setNow(NOW + 5 * 60_000);
    assert.equal((await call(key.key, 'GET', '/admin/v1/partners')).statusCode, 200);
    assert.equal((await call(key.key, 'POST', '/admin/v1/partners', {})).statusCode, 403);
    const me = (await call(key.key, 'GET', '/admin/v1/me')).json();
    assert.equal(me.id, staff.viewer.id);
    assert.equal(me.credential.kind, 'api_key');

    const list = await call(staff.admin.token, 'GET', '/admin/v1/api-keys');
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(key.key));
    const listed = list.json().data.find((k: { id: string }) => k.id === key.id);
    assert.equal(listed.key, undefined);
    assert.equal(listed.last_used_at, new Date(NOW + 5 * 60_000).toISOString());
    assert.equal((await call(staff.admin.token, 'GET', `/admin/v1/api-keys?staff_id=${staff.admin.id}`)).json().data.length, 0);

    const revoked = await call(staff.admin.token, 'DELETE', `/admin/v1/api-keys/${key.id}`);
    assert.equal(revoked.statusCode, 204);
    const refused = await call(key.key, 'GET', '/admin/v1/partners');
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'invalid_token');
    const again = await call(staff.admin.token, 'DELETE', `/admin/v1/api-keys/${key.id}`);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'already_revoked');
    assert.equal((await call(staff.admin.token, 'GET', '/admin/v1/api-keys')).json().data[0].revoked_at, new Date(NOW + 5 * 60_000).toISOString());
  });

  test('an expiry date in the future ends the key by itself', async (t) => {
    const { call, staff, setNow } = await adminWorld(t);
    const expiresAt = new Date(NOW + 24 * HOUR).toISOString();
    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'a day', expires_at: expiresAt })).json();
    assert.equal(key.expires_at, expiresAt);
    assert.equal((await call(key.key, 'GET', '/admin/v1/me')).statusCode, 200);
    setNow(NOW + 24 * HOUR);
    assert.equal((await call(key.key, 'GET', '/admin/v1/me')).statusCode, 401);
  });
});
