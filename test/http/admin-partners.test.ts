import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as client from 'openid-client';
import { maskOf } from '../../src/domain/field-catalog.js';
import { DAY_MS } from '../../src/domain/time.js';
import { PARTNER_BODY, adminWorld, snapshot } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { NOW, oauthWorld } from '../oauth/oauth-world.js';

describe('partners', () => {
  test('create, list, read and edit a partner; each change audited with its actor and what changed', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const manager = staff.partnerships_manager;
    const created = await call(manager.token, 'POST', '/admin/v1/partners', PARTNER_BODY);
    assert.equal(created.statusCode, 201);
    const partner = created.json();
    assert.match(partner.id, /^p_[a-z0-9]{16}$/);
    assert.deepEqual({ ...partner, id: undefined }, { ...PARTNER_BODY, id: undefined });

    const minimal = await call(manager.token, 'POST', '/admin/v1/partners', {
      legal_name: 'Pixel Games', country: 'US', kind: 'app_developer', storage: { location: 'on_device' },
    });
    assert.equal(minimal.statusCode, 201);
    assert.deepEqual(minimal.json().risk_flags, []);
    assert.deepEqual(minimal.json().contacts, []);
    assert.equal(minimal.json().webhook_url, null);
    assert.equal(minimal.json().privacy_policy_url, null);

    const list = await call(staff.viewer.token, 'GET', '/admin/v1/partners');
    assert.deepEqual(list.json().data.map((p: { legal_name: string }) => p.legal_name), ['Acme Devices Ltd', 'Pixel Games']);
    const one = await call(staff.privacy_officer.token, 'GET', `/admin/v1/partners/${partner.id}`);
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json().apps, []);

    const edited = await call(manager.token, 'PATCH', `/admin/v1/partners/${partner.id}`, {
      risk_flags: ['state_influence', 'prior_violation'], storage: { location: 'on_device' }, webhook_url: null, country: 'CN',
    });
    assert.equal(edited.statusCode, 200);
    assert.deepEqual(edited.json().risk_flags, ['state_influence', 'prior_violation']);
    assert.deepEqual(edited.json().storage, { location: 'on_device' });
    assert.equal(edited.json().webhook_url, null);
    assert.equal(edited.json().legal_name, 'Acme Devices Ltd', 'what was not sent is kept');
    const stored = await store.partners.partner(partner.id);
    assert.equal(stored?.country, 'CN');
    assert.deepEqual(stored?.storage, { location: 'on_device' });

    const [create, , update] = await store.audit.staffActions(manager.id);
    assert.equal(create?.action, 'partner.create');
    assert.equal(create?.partnerId, partner.id);
    assert.equal(update?.action, 'partner.update');
    assert.deepEqual(update?.detail, {
      changes: {
        country: { from: 'GB', to: 'CN' },
        risk_flags: { from: ['prior_violation'], to: ['state_influence', 'prior_violation'] },
        storage: { from: { location: 'partner_servers', country: 'DE' }, to: { location: 'on_device' } },
        webhook_url: { from: 'https://acme.example/datapact/notices', to: null },
      },
    });
  });

  test('the privacy policy: https (plain http to this machine in development); a new agreement needs one (409 privacy_policy_missing)', async (t) => {
    const w = await agreementWorld(t);
    const refused = await w.call(w.manager.token, 'POST', '/admin/v1/partners', { ...PARTNER_BODY, privacy_policy_url: 'ftp://acme.example/privacy' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error.code, 'invalid_parameter');
    assert.match(refused.json().error.message, /privacy_policy_url must use https/);
    const cleared = await w.call(w.manager.token, 'PATCH', '/admin/v1/partners/p_acme', { privacy_policy_url: null });
    assert.equal(cleared.statusCode, 200);
    const draft = {
      partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name'], retention_days: 30,
      storage: { location: 'on_device' }, starts_at: new Date(NOW + DAY_MS).toISOString(), ends_at: new Date(NOW + 300 * DAY_MS).toISOString(),
    };
    const missing = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', draft);
    assert.equal(missing.statusCode, 409);
    assert.equal(missing.json().error.code, 'privacy_policy_missing');
    assert.equal((await w.store.db.selectFrom('agreements').select('id').where('partner_id', '=', 'p_acme').execute()).length, 0, 'nothing written');
    const set = await w.call(w.manager.token, 'PATCH', '/admin/v1/partners/p_acme', { privacy_policy_url: 'https://acme.example/privacy' });
    assert.equal(set.json().privacy_policy_url, 'https://acme.example/privacy');
    const drafted = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', draft);
    assert.equal(drafted.statusCode, 201, drafted.body);
  });

  test('webhooks: https; plain http only to this machine and only in development', async (t) => {
    const dev = await adminWorld(t);
    const prod = await adminWorld(t, NOW, { environment: 'production' });
    for (const [url, inDevelopment, inProduction] of [
      ['https://acme.example/hook', 201, 201],
      ['http://localhost:8081/hook', 201, 400],
      ['http://127.0.0.1/hook', 201, 400],
      ['http://acme.example/hook', 400, 400],
      ['ftp://acme.example/hook', 400, 400],
      ['https://user:pw@acme.example/hook', 400, 400],
      ['/relative/hook', 400, 400],
      // Never inside the platform's network: private, link-local (cloud metadata), CGNAT, unique-local,
      // IPv4-mapped, unspecified, multicast; loopback only in development, however it is spelt.
      ['https://169.254.169.254/latest/meta-data', 400, 400],
      ['https://169.254.169.254./latest/meta-data', 400, 400],
      ['https://10.0.0.5/hook', 400, 400],
      ['https://172.16.3.4/hook', 400, 400],
      ['https://192.168.1.1/hook', 400, 400],
      ['https://100.64.0.1/hook', 400, 400],
      ['https://[fd00::1]/hook', 400, 400],
      ['https://[fe80::1]/hook', 400, 400],
      ['https://[::ffff:10.0.0.5]/hook', 400, 400],
      ['https://0.0.0.0/hook', 400, 400],
      ['https://224.0.0.1/hook', 400, 400],
      ['https://localhost/hook', 201, 400],
      ['https://127.0.0.1/hook', 201, 400],
      ['https://2130706433/hook', 201, 400],
      ['https://[::1]/hook', 201, 400],
      ['https://93.184.216.34/hook', 201, 201],
      ['https://[2606:2800:220:1::1]/hook', 201, 201],
    ] as const) {
      const body = { ...PARTNER_BODY, webhook_url: url };
      assert.equal((await dev.call(dev.staff.admin.token, 'POST', '/admin/v1/partners', body)).statusCode, inDevelopment, `development ${url}`);
      assert.equal((await prod.call(prod.staff.admin.token, 'POST', '/admin/v1/partners', body)).statusCode, inProduction, `production ${url}`);
    }
  });

  test('a webhook on a private address is refused on creation and on an edit, saying why', async (t) => {
    const { call, staff } = await adminWorld(t);
    const created = await call(staff.admin.token, 'POST', '/admin/v1/partners', { ...PARTNER_BODY, webhook_url: 'https://169.254.169.254/latest/meta-data' });
    assert.equal(created.statusCode, 400);
    assert.equal(created.json().error.code, 'invalid_parameter');
    assert.match(created.json().error.message, /webhook_url must point to a public address: 169\.254\.169\.254 is a link-local address/);
    const partnerId = (await call(staff.admin.token, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id;
    const edited = await call(staff.admin.token, 'PATCH', `/admin/v1/partners/${partnerId}`, { webhook_url: 'https://[::ffff:a9fe:a9fe]/x' });
    assert.equal(edited.statusCode, 400);
    assert.match(edited.json().error.message, /link-local/);
  });

  test('a partner with device_partner apps cannot stop being a device maker', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const partnerId = (await call(staff.admin.token, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id;
    await call(staff.admin.token, 'POST', `/admin/v1/partners/${partnerId}/apps`, { name: 'Hub', class: 'device_partner' });
    const before = await snapshot(store.db);
    const response = await call(staff.admin.token, 'PATCH', `/admin/v1/partners/${partnerId}`, { kind: 'app_developer', legal_name: 'Renamed' });
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().error.code, 'partner_kind_conflict');
    assert.deepEqual(await snapshot(store.db), before);
  });
});

describe('apps', () => {
  test('register (client id and a secret shown once), list, edit, disable; the class follows the partner\'s kind', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const admin = staff.admin.token;
    const maker = (await call(admin, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id;
    const developer = (await call(admin, 'POST', '/admin/v1/partners', { ...PARTNER_BODY, kind: 'app_developer' })).json().id;

    const registered = await call(admin, 'POST', `/admin/v1/partners/${maker}/apps`, {
      name: 'Acme Hub', class: 'device_partner', redirect_uris: ['https://acme.example/oauth/callback', 'http://127.0.0.1:9999/callback'],
    });
    assert.equal(registered.statusCode, 201);
    const app = registered.json();
    assert.match(app.id, /^app_[a-z0-9]{16}$/);
    assert.equal(app.client_id, app.id);
    assert.match(app.client_secret, /^dpcs_[A-Za-z0-9_-]{43}$/);
    assert.equal(app.status, 'active');
    assert.equal((await store.partners.oauthClient(app.id))?.clientSecret, app.client_secret);

    // A third-party app of a device maker is fine; a device-partner app of an app developer is not.
    assert.equal((await call(admin, 'POST', `/admin/v1/partners/${maker}/apps`, { name: 'Acme Game', class: 'third_party' })).statusCode, 201);
    const refused = await call(admin, 'POST', `/admin/v1/partners/${developer}/apps`, { name: 'Nope', class: 'device_partner' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error.code, 'invalid_parameter');
    assert.match(refused.json().error.message, /device_maker/);

    const list = await call(staff.viewer.token, 'GET', `/admin/v1/partners/${maker}/apps`);
    assert.equal(list.json().data.length, 2);
    assert.ok(!list.body.includes(app.client_secret), 'never the secret again');
    const one = await call(staff.viewer.token, 'GET', `/admin/v1/partners/${maker}/apps/${app.id}`);
    assert.equal(one.json().client_secret, undefined);
    assert.deepEqual(one.json().redirect_uris, ['https://acme.example/oauth/callback', 'http://127.0.0.1:9999/callback']);
    // An app is found only under its own partner.
    assert.equal((await call(admin, 'GET', `/admin/v1/partners/${developer}/apps/${app.id}`)).statusCode, 404);

    const edited = await call(admin, 'PATCH', `/admin/v1/partners/${maker}/apps/${app.id}`, { redirect_uris: ['https://acme.example/cb2'], status: 'disabled' });
    assert.equal(edited.statusCode, 200);
    assert.deepEqual(edited.json().redirect_uris, ['https://acme.example/cb2']);
    assert.equal(edited.json().status, 'disabled');
    assert.equal((await store.partners.app(app.id))?.status, 'disabled');

    const actions = (await store.audit.staffActions(staff.admin.id)).map((e) => e.action);
    assert.deepEqual(actions, ['partner.create', 'partner.create', 'app.create', 'app.create', 'app.update']);
    assert.ok(!JSON.stringify(await store.audit.staffActions()).includes(app.client_secret), 'no secret in the audit log');
  });

  test('an app registered here is an OAuth client: client credentials work with its secret, and only the current one', async (t) => {
    const world = await oauthWorld(t);
    const hash = 'scrypt$unused';
    const admin = await world.store.staff.create({ email: 'admin@staff.example', name: 'Admin', roles: ['admin'], passwordHash: hash }, NOW);
    const token = (await world.store.staff.issue(admin.id, 'api_key', { label: 'test' }, NOW)).secret;
    const call = (method: 'POST' | 'PATCH', url: string, payload?: object) =>
      world.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

    const partnerId = (await call('POST', '/admin/v1/partners', PARTNER_BODY)).json().id;
    const app = (await call('POST', `/admin/v1/partners/${partnerId}/apps`, { name: 'Acme Hub', class: 'device_partner', redirect_uris: ['http://127.0.0.1:9999/callback'] })).json();

    // A client, but no token until an agreement is in force (PRODUCT.md §7).
    await assert.rejects(client.clientCredentialsGrant(await world.discover(app.id, app.client_secret)),
      (error: client.ResponseBodyError) => error.error === 'unauthorized_client');
    await world.store.agreements.insert({
      id: 'agr_acme', version: 1, partnerId, status: 'active', statusReason: null, purposes: ['device_experience'],
      retentionDays: 30, storage: { location: 'on_device' }, startsAt: NOW - 30 * DAY_MS, endsAt: NOW + 300 * DAY_MS,
      certificationDueAt: NOW + 200 * DAY_MS, windDown: null, appIds: [app.id], memberFields: maskOf(['id', 'name']), friendFields: 0,
    }, { actor: 'test', action: 'created', reason: null, at: NOW });
    const tokens = await client.clientCredentialsGrant(await world.discover(app.id, app.client_secret));
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal((await world.store.clientTokens.verify(tokens.access_token))?.app.id, app.id);

    const rotated = await call('POST', `/admin/v1/partners/${partnerId}/apps/${app.id}/rotate-secret`);
    assert.equal(rotated.statusCode, 200);
    const secret = rotated.json().client_secret;
    assert.notEqual(secret, app.client_secret);
    await assert.rejects(client.clientCredentialsGrant(await world.discover(app.id, app.client_secret)), (error: client.WWWAuthenticateChallengeError) => {
      assert.equal(error.status, 401);
      assert.equal(error.cause[0]?.parameters.error, 'invalid_client');
      return true;
    });
    assert.ok((await client.clientCredentialsGrant(await world.discover(app.id, secret))).access_token);

    // Disabled: no longer a client.
    await call('PATCH', `/admin/v1/partners/${partnerId}/apps/${app.id}`, { status: 'disabled' });
    await assert.rejects(client.clientCredentialsGrant(await world.discover(app.id, secret)));
  });

  test('redirect URIs: absolute https, or plain http to this machine in development; no fragments', async (t) => {
    const dev = await adminWorld(t);
    const prod = await adminWorld(t, NOW, { environment: 'production' });
    const partners = {
      dev: (await dev.call(dev.staff.admin.token, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id,
      prod: (await prod.call(prod.staff.admin.token, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id,
    };
    for (const [uri, inDevelopment, inProduction] of [
      ['https://acme.example/cb', 201, 201],
      ['http://127.0.0.1:9999/callback', 201, 400],
      ['http://localhost/callback', 201, 400],
      ['http://[::1]:8000/cb', 201, 400],
      ['http://acme.example/cb', 400, 400],
      ['https://acme.example/cb#frag', 400, 400],
      ['com.acme.app:/callback', 400, 400],
      ['acme.example/cb', 400, 400],
    ] as const) {
      const body = { name: 'App', class: 'third_party', redirect_uris: [uri] };
      const d = await dev.call(dev.staff.admin.token, 'POST', `/admin/v1/partners/${partners.dev}/apps`, body);
      assert.equal(d.statusCode, inDevelopment, `development ${uri}: ${d.body}`);
      const p = await prod.call(prod.staff.admin.token, 'POST', `/admin/v1/partners/${partners.prod}/apps`, body);
      assert.equal(p.statusCode, inProduction, `production ${uri}`);
      if (p.statusCode === 400) assert.match(p.json().error.message, /redirect_uris\/0/);
    }
  });
});
