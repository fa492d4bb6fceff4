import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { ADMIN_NOW, PARTNER_BODY, adminWorld, snapshot } from '../helpers/admin.js';

interface Ids {
  readonly partnerId: string;
  readonly developerId: string;
  readonly appId: string;
  readonly staffId: string;
  readonly sessionId: string;
}

interface Case {
  readonly method: InjectOptions['method'];
  readonly url: (ids: Ids) => string;
  readonly body?: unknown;
  readonly status: number;
  readonly code: string;
  /** The message says this (the property at fault, the rule broken). */
  readonly message?: RegExp;
}

const long = 'x'.repeat(101);
const partner = (change: object) => ({ ...PARTNER_BODY, ...change });

/** Bad input on every staff, partner and app endpoint: each with its status, code and what the message names. */
const CASES: readonly Case[] = [
  // The login.
  { method: 'POST', url: () => '/admin/v1/login', body: { email: 5, password: 'x' }, status: 400, code: 'invalid_parameter', message: /body\/email must be string/ },
  { method: 'POST', url: () => '/admin/v1/login', body: { email: 'a@b.example' }, status: 400, code: 'invalid_parameter', message: /required property `password`/ },
  { method: 'POST', url: () => '/admin/v1/login', body: { email: 'a@b.example', password: 'p', remember: true }, status: 400, code: 'invalid_parameter', message: /unknown property `remember`/ },
  // Staff accounts.
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'not-an-email', name: 'N', roles: ['viewer'] }, status: 400, code: 'invalid_parameter', message: /body\/email must match format "email"/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: 'N', roles: ['superuser'] }, status: 400, code: 'invalid_parameter', message: /body\/roles\/0 must be one of: viewer, partnerships_manager, privacy_officer, admin/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: 'N', roles: [] }, status: 400, code: 'invalid_parameter', message: /body\/roles/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: 'N', roles: 'admin' }, status: 400, code: 'invalid_parameter', message: /body\/roles must be array/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: 'N', roles: ['viewer', 'viewer'] }, status: 400, code: 'invalid_parameter', message: /duplicate/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: '   ', roles: ['viewer'] }, status: 400, code: 'invalid_parameter', message: /body\/name/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'n@staff.example', name: 'N', roles: ['viewer'], password: 'short' }, status: 400, code: 'invalid_parameter', message: /body\/password must NOT have fewer than 12 characters/ },
  { method: 'POST', url: () => '/admin/v1/staff', body: { email: 'viewer@staff.example', name: 'N', roles: ['viewer'] }, status: 409, code: 'email_taken' },
  { method: 'PATCH', url: (ids) => `/admin/v1/staff/${ids.staffId}`, body: {}, status: 400, code: 'invalid_parameter', message: /fewer than 1 properties/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/staff/${ids.staffId}`, body: { disabled: 'true' }, status: 400, code: 'invalid_parameter', message: /body\/disabled must be boolean/ },
  { method: 'PATCH', url: () => '/admin/v1/staff/st_nobody', body: { name: 'N' }, status: 404, code: 'not_found' },
  { method: 'PATCH', url: () => `/admin/v1/staff/${long}`, body: { name: 'N' }, status: 400, code: 'invalid_parameter', message: /params\/id/ },
  { method: 'GET', url: () => '/admin/v1/staff/st_nobody', status: 404, code: 'not_found' },
  // API keys.
  { method: 'POST', url: () => '/admin/v1/api-keys', body: {}, status: 400, code: 'invalid_parameter', message: /required property `label`/ },
  { method: 'POST', url: () => '/admin/v1/api-keys', body: { label: 'l'.repeat(101) }, status: 400, code: 'invalid_parameter', message: /body\/label/ },
  { method: 'POST', url: () => '/admin/v1/api-keys', body: { label: 'k', expires_at: 'next tuesday' }, status: 400, code: 'invalid_parameter', message: /body\/expires_at must match format "date-time"/ },
  { method: 'POST', url: () => '/admin/v1/api-keys', body: { label: 'k', expires_at: '2026-05-31T23:59:59Z' }, status: 400, code: 'invalid_parameter', message: /expires_at must be in the future/ },
  { method: 'POST', url: () => '/admin/v1/api-keys', body: { label: 'k', staff_id: 'st_nobody' }, status: 404, code: 'not_found' },
  { method: 'POST', url: () => '/admin/v1/api-keys', body: { label: 'k', staff_id: 7 }, status: 400, code: 'invalid_parameter', message: /body\/staff_id must be string/ },
  { method: 'DELETE', url: () => '/admin/v1/api-keys/key_nobody', status: 404, code: 'not_found' },
  { method: 'DELETE', url: (ids) => `/admin/v1/api-keys/${ids.sessionId}`, status: 404, code: 'not_found' },
  { method: 'GET', url: () => '/admin/v1/api-keys?owner=me', status: 400, code: 'invalid_parameter', message: /unknown property `owner`/ },
  // Partners.
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ country: 'UK' }), status: 400, code: 'invalid_parameter', message: /`UK` is not an ISO 3166-1 alpha-2 country code \(the United Kingdom is GB\)/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ country: 'XX' }), status: 400, code: 'invalid_parameter', message: /body\/country `XX`/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ country: 'gb' }), status: 400, code: 'invalid_parameter', message: /body\/country must match pattern/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ country: 44 }), status: 400, code: 'invalid_parameter', message: /body\/country must be string/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ kind: 'extension_of_us' }), status: 400, code: 'invalid_parameter', message: /body\/kind must be one of: device_maker, app_developer/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ risk_flags: ['friendly'] }), status: 400, code: 'invalid_parameter', message: /body\/risk_flags\/0 must be one of: state_influence, sanctions, prior_violation/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ risk_flags: 'sanctions' }), status: 400, code: 'invalid_parameter', message: /body\/risk_flags must be array/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ storage: { location: 'partner_servers' } }), status: 400, code: 'invalid_parameter', message: /storage\/country is required for `partner_servers`/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ storage: { location: 'on_device', country: 'DE' } }), status: 400, code: 'invalid_parameter', message: /storage\/country is only for `partner_servers`/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ storage: { location: 'partner_servers', country: 'EU' } }), status: 400, code: 'invalid_parameter', message: /body\/storage\/country `EU`/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ storage: { location: 'the_cloud' } }), status: 400, code: 'invalid_parameter', message: /body\/storage\/location must be one of: on_device, partner_servers/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ contacts: ['not an email'] }), status: 400, code: 'invalid_parameter', message: /body\/contacts\/0 must match format "email"/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ webhook_url: 'http://acme.example/hook' }), status: 400, code: 'invalid_parameter', message: /webhook_url must use https/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ webhook_url: 42 }), status: 400, code: 'invalid_parameter', message: /body\/webhook_url must be string or null/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ legal_name: '' }), status: 400, code: 'invalid_parameter', message: /body\/legal_name/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: partner({ id: 'p_chosen' }), status: 400, code: 'invalid_parameter', message: /unknown property `id`/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: { legal_name: 'X' }, status: 400, code: 'invalid_parameter', message: /required property/ },
  { method: 'POST', url: () => '/admin/v1/partners', body: [PARTNER_BODY], status: 400, code: 'invalid_parameter', message: /body must be object/ },
  { method: 'GET', url: () => '/admin/v1/partners/p_nobody', status: 404, code: 'not_found' },
  { method: 'PATCH', url: () => '/admin/v1/partners/p_nobody', body: { legal_name: 'X' }, status: 404, code: 'not_found', message: /No partner p_nobody/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}`, body: {}, status: 400, code: 'invalid_parameter' },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}`, body: { country: 'ZZ' }, status: 400, code: 'invalid_parameter', message: /`ZZ`/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}`, body: { risk_flags: ['sanctions', 'sanctions'] }, status: 400, code: 'invalid_parameter', message: /duplicate/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}`, body: { kind: 'app_developer' }, status: 409, code: 'partner_kind_conflict' },
  // Apps.
  { method: 'POST', url: () => '/admin/v1/partners/p_nobody/apps', body: { name: 'A', class: 'third_party' }, status: 404, code: 'not_found', message: /No partner p_nobody/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps`, body: { name: 'A', class: 'extension_of_us' }, status: 400, code: 'invalid_parameter', message: /body\/class must be one of: device_partner, third_party/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.developerId}/apps`, body: { name: 'A', class: 'device_partner' }, status: 400, code: 'invalid_parameter', message: /needs a device_maker partner/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps`, body: { name: 'A', class: 'third_party', redirect_uris: 'https://a.example/cb' }, status: 400, code: 'invalid_parameter', message: /body\/redirect_uris must be array/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps`, body: { name: 'A', class: 'third_party', redirect_uris: ['https://a.example/cb', 'http://evil.example/cb'] }, status: 400, code: 'invalid_parameter', message: /body\/redirect_uris\/1: redirect_uri must use https/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps`, body: { name: 'A', class: 'third_party', redirect_uris: Array.from({ length: 21 }, (_, i) => `https://a.example/${i}`) }, status: 400, code: 'invalid_parameter', message: /more than 20 items/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps`, body: { class: 'third_party' }, status: 400, code: 'invalid_parameter', message: /required property `name`/ },
  { method: 'GET', url: () => '/admin/v1/partners/p_nobody/apps', status: 404, code: 'not_found' },
  { method: 'GET', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/app_nobody`, status: 404, code: 'not_found' },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/app_nobody`, body: { status: 'disabled' }, status: 404, code: 'not_found' },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.developerId}/apps/${ids.appId}`, body: { status: 'disabled' }, status: 404, code: 'not_found', message: /No app/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/${ids.appId}`, body: { status: 'paused' }, status: 400, code: 'invalid_parameter', message: /body\/status must be one of: active, disabled/ },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/${ids.appId}`, body: {}, status: 400, code: 'invalid_parameter' },
  { method: 'PATCH', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/${ids.appId}`, body: { redirect_uris: ['https://a.example/cb#x'] }, status: 400, code: 'invalid_parameter', message: /fragment/ },
  { method: 'POST', url: (ids) => `/admin/v1/partners/${ids.partnerId}/apps/app_nobody/rotate-secret`, status: 404, code: 'not_found' },
  { method: 'POST', url: (ids) => `/admin/v1/partners/p_nobody/apps/${ids.appId}/rotate-secret`, status: 404, code: 'not_found' },
];

/** Endpoints that take a JSON body: each also meets a malformed one and one over 64 KiB. */
const WITH_BODIES: ReadonlyArray<[InjectOptions['method'], (ids: Ids) => string]> = [
  ['POST', () => '/admin/v1/login'],
  ['POST', () => '/admin/v1/staff'],
  ['PATCH', (ids) => `/admin/v1/staff/${ids.staffId}`],
  ['POST', () => '/admin/v1/api-keys'],
  ['POST', () => '/admin/v1/partners'],
  ['PATCH', (ids) => `/admin/v1/partners/${ids.partnerId}`],
  ['POST', (ids) => `/admin/v1/partners/${ids.partnerId}/apps`],
  ['PATCH', (ids) => `/admin/v1/partners/${ids.partnerId}/apps/${ids.appId}`],
];

describe('bad input on the admin API', () => {
  test('each is refused with its 4xx in the documented shape, and the database is left exactly as it was', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const admin = staff.admin.token;
    const partnerId = (await call(admin, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id;
    const developerId = (await call(admin, 'POST', '/admin/v1/partners', { ...PARTNER_BODY, kind: 'app_developer' })).json().id;
    const appId = (await call(admin, 'POST', `/admin/v1/partners/${partnerId}/apps`, { name: 'Hub', class: 'device_partner', redirect_uris: ['https://a.example/cb'] })).json().id;
    const sessionId = (await call(admin, 'GET', '/admin/v1/me')).json().credential.id;
    const ids: Ids = { partnerId, developerId, appId, staffId: staff.viewer.id, sessionId };

    const before = await snapshot(store.db);
    const check = (response: Awaited<ReturnType<typeof call>>, status: number, code: string, label: string, message?: RegExp) => {
      assert.equal(response.statusCode, status, `${label}: ${response.body}`);
      const body = response.json();
      assert.deepEqual(Object.keys(body), ['error'], label);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'request_id'], label);
      assert.equal(body.error.code, code, label);
      assert.equal(body.error.request_id, response.headers['x-request-id'], label);
      if (message) assert.match(body.error.message, message, label);
    };

    for (const c of CASES) {
      const label = `${c.method} ${c.url(ids)} ${JSON.stringify(c.body)?.slice(0, 120)}`;
      check(await call(admin, c.method, c.url(ids), c.body), c.status, c.code, label, c.message);
    }
    for (const [method, url] of WITH_BODIES) {
      const json = { 'content-type': 'application/json' };
      check(await call(admin, method, url(ids), '{"name": ', json), 400, 'invalid_request', `${method} ${url(ids)} malformed`);
      check(await call(admin, method, url(ids), JSON.stringify({ name: 'x'.repeat(70_000) }), json), 413, 'invalid_request', `${method} ${url(ids)} oversized`);
      check(await call(admin, method, url(ids), 'name=x', { 'content-type': 'text/plain' }), 415, 'invalid_request', `${method} ${url(ids)} text`);
      check(await call(admin, method, url(ids), 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'invalid_request', `${method} ${url(ids)} form`);
      check(await call(admin, method, url(ids), '<name/>', { 'content-type': 'application/xml' }), 415, 'invalid_request', `${method} ${url(ids)} XML`);
    }
    assert.deepEqual(await snapshot(store.db), before, 'nothing half-written, nothing written at all');
  });

  test('a tree head the audit log signs in the background between two snapshots is not a change (no test waits on that timer)', async (t) => {
    // The app and the test's second log share the data directory's keys, as two servers do.
    const dataDir = mkdtempSync(join(tmpdir(), 'datapact-bad-input-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const { store } = await adminWorld(t, ADMIN_NOW, { dataDir });
    // A staff action's entry, written in its own transaction: its head is due within about a second.
    await store.audit.append([{
      at: ADMIN_NOW, requestId: 'r_staff', appId: null, partnerId: null, agreementId: null, agreementVersion: null, rulesVersion: RULES_VERSION,
      tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'staff_action', code: 'partner.create', released: [], withheld: {},
      actor: 'st_someone', action: 'partner.create', detail: {},
    }]);
    const before = await snapshot(store.db);
    // The timer fires now (on a loaded machine it can fire at any moment of a test, so the app's own may have).
    const log = new AuditLog({ db: store.db, clock: () => ADMIN_NOW, signingKey: loadOrCreateAuditSigningKey(dataDir), blinding: loadOrCreateAuditBlinding(dataDir) });
    await log.signHeadIfBehind();
    assert.ok((await store.audit.latestHead())!.size >= 1, 'a head covers the staff action');
    assert.deepEqual(await snapshot(store.db), before);
  });

  test('a failure after the change was written rolls the change back with its audit entry', async (t) => {
    const { call, staff, store } = await adminWorld(t);
    const before = await snapshot(store.db);
    // The audit entry is appended after the partner row; make it fail and the partner row must go too.
    const { AuditRepository } = await import('../../src/store/audit-repository.js');
    const original = AuditRepository.prototype.append;
    AuditRepository.prototype.append = async () => { throw new Error('disk full'); };
    t.after(() => { AuditRepository.prototype.append = original; });
    const response = await call(staff.admin.token, 'POST', '/admin/v1/partners', PARTNER_BODY);
    AuditRepository.prototype.append = original;
    assert.equal(response.statusCode, 500);
    assert.equal(response.json().error.code, 'internal_error');
    assert.doesNotMatch(response.body, /disk full/);
    assert.deepEqual(await snapshot(store.db), before);
  });
});
