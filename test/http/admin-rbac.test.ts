import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { STAFF_ROLES, can, type Permission, type StaffRole } from '../../src/domain/staff.js';
import { PARTNER_BODY, adminWorld, snapshot, type AdminWorld } from '../helpers/admin.js';

interface Fixture {
  readonly partnerId: string;
  readonly appId: string;
  readonly keyId: string;
  readonly targetStaffId: string;
}

interface Endpoint {
  readonly method: InjectOptions['method'];
  readonly url: (f: Fixture) => string;
  /** null: any authenticated staff member. */
  readonly permission: Permission | null;
  readonly body?: (role: StaffRole) => unknown;
  /** The audit action a successful call records; undefined for reads. */
  readonly action?: string;
  /** Needs a session of its own (the logout ends it). */
  readonly ownSession?: boolean;
}

/** Every endpoint of the staff, partner and app admin API (the login aside: it needs no credential). */
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', url: () => '/admin/v1/me', permission: null },
  { method: 'POST', url: () => '/admin/v1/logout', permission: null, action: 'staff.logout', ownSession: true },
  { method: 'POST', url: () => '/admin/v1/staff', permission: 'manage_staff', action: 'staff.create',
    body: (role) => ({ email: `made-by-${role}@staff.example`, name: 'Made', roles: ['viewer'] }) },
  { method: 'GET', url: () => '/admin/v1/staff', permission: 'manage_staff' },
  { method: 'GET', url: (f) => `/admin/v1/staff/${f.targetStaffId}`, permission: 'manage_staff' },
  { method: 'PATCH', url: (f) => `/admin/v1/staff/${f.targetStaffId}`, permission: 'manage_staff', action: 'staff.update',
    body: (role) => ({ name: `Renamed by ${role}` }) },
  { method: 'POST', url: () => '/admin/v1/api-keys', permission: 'manage_staff', action: 'api_key.create', body: (role) => ({ label: `by ${role}` }) },
  { method: 'GET', url: () => '/admin/v1/api-keys', permission: 'manage_staff' },
  { method: 'DELETE', url: (f) => `/admin/v1/api-keys/${f.keyId}`, permission: 'manage_staff', action: 'api_key.revoke' },
  { method: 'POST', url: () => '/admin/v1/partners', permission: 'manage_partners', action: 'partner.create',
    body: (role) => ({ ...PARTNER_BODY, legal_name: `Made by ${role}` }) },
  { method: 'GET', url: () => '/admin/v1/partners', permission: 'read' },
  { method: 'GET', url: (f) => `/admin/v1/partners/${f.partnerId}`, permission: 'read' },
  { method: 'PATCH', url: (f) => `/admin/v1/partners/${f.partnerId}`, permission: 'manage_partners', action: 'partner.update',
    body: (role) => ({ legal_name: `Renamed by ${role}` }) },
  { method: 'POST', url: (f) => `/admin/v1/partners/${f.partnerId}/apps`, permission: 'manage_partners', action: 'app.create',
    body: (role) => ({ name: `App of ${role}`, class: 'device_partner', redirect_uris: ['https://acme.example/cb'] }) },
  { method: 'GET', url: (f) => `/admin/v1/partners/${f.partnerId}/apps`, permission: 'read' },
  { method: 'GET', url: (f) => `/admin/v1/partners/${f.partnerId}/apps/${f.appId}`, permission: 'read' },
  { method: 'PATCH', url: (f) => `/admin/v1/partners/${f.partnerId}/apps/${f.appId}`, permission: 'manage_partners', action: 'app.update',
    body: (role) => ({ name: `App renamed by ${role}` }) },
  { method: 'POST', url: (f) => `/admin/v1/partners/${f.partnerId}/apps/${f.appId}/rotate-secret`, permission: 'manage_partners', action: 'app.rotate_secret' },
];

async function fixture(world: AdminWorld): Promise<Fixture> {
  const admin = world.staff.admin.token;
  const partnerId = (await world.call(admin, 'POST', '/admin/v1/partners', PARTNER_BODY)).json().id as string;
  const appId = (await world.call(admin, 'POST', `/admin/v1/partners/${partnerId}/apps`, { name: 'Hub', class: 'third_party' })).json().id as string;
  const keyId = (await world.call(admin, 'POST', '/admin/v1/api-keys', { label: 'to revoke' })).json().id as string;
  const target = await world.addStaff('target@staff.example', ['viewer']);
  return { partnerId, appId, keyId, targetStaffId: target.id };
}

async function bearerFor(world: AdminWorld, role: StaffRole, endpoint: Endpoint): Promise<{ token: string; staffId: string }> {
  if (!endpoint.ownSession) return { token: world.staff[role].token, staffId: world.staff[role].id };
  const own = await world.store.staff.issue(world.staff[role].id, 'session', { expiresAt: null }, 0);
  return { token: own.secret, staffId: world.staff[role].id };
}

describe('RBAC of the admin API', () => {
  test('the permission table', () => {
    const table: Record<Permission, StaffRole[]> = {
      read: ['viewer', 'partnerships_manager', 'privacy_officer', 'admin'],
      manage_partners: ['partnerships_manager', 'admin'],
      manage_agreements: ['partnerships_manager', 'admin'],
      approve_agreements: ['privacy_officer'],
      manage_staff: ['admin'],
    };
    for (const [permission, roles] of Object.entries(table) as Array<[Permission, StaffRole[]]>) {
      assert.deepEqual(STAFF_ROLES.filter((role) => can([role], permission)), roles, permission);
    }
    assert.equal(can(['viewer', 'privacy_officer'], 'approve_agreements'), true, 'roles add up');
    assert.equal(can([], 'read'), false);
  });

  test('every endpoint refuses every role that lacks its permission (403 forbidden, nothing written) and serves the others, auditing each change with its actor', async (t) => {
    const world = await adminWorld(t);
    const f = await fixture(world);

    // Refusals first, all of them: the database must come out as it went in.
    const before = await snapshot(world.store.db);
    let refusals = 0;
    for (const endpoint of ENDPOINTS) {
      for (const role of STAFF_ROLES) {
        if (endpoint.permission === null || can([role], endpoint.permission)) continue;
        const { token } = await bearerFor(world, role, endpoint);
        const response = await world.call(token, endpoint.method, endpoint.url(f), endpoint.body?.(role));
        const label = `${role} ${endpoint.method} ${endpoint.url(f)}`;
        assert.equal(response.statusCode, 403, label);
        assert.deepEqual(Object.keys(response.json().error).sort(), ['code', 'message', 'request_id'], label);
        assert.equal(response.json().error.code, 'forbidden', label);
        assert.match(response.json().error.message, new RegExp(`\`${endpoint.permission}\``), label);
        refusals++;
      }
    }
    assert.equal(refusals, 31);
    assert.deepEqual(await snapshot(world.store.db), before, 'a refused request writes nothing, not even an audit entry');

    // Then every role that may: served, and each change audited once, with the caller as actor.
    let served = 0;
    for (const endpoint of ENDPOINTS) {
      for (const role of STAFF_ROLES) {
        if (endpoint.permission !== null && !can([role], endpoint.permission)) continue;
        const { token, staffId } = await bearerFor(world, role, endpoint);
        const response = await world.call(token, endpoint.method, endpoint.url(f), endpoint.body?.(role));
        const label = `${role} ${endpoint.method} ${endpoint.url(f)}`;
        assert.ok(response.statusCode >= 200 && response.statusCode < 300, `${label}: ${response.statusCode} ${response.body}`);
        const entries = await world.store.audit.byRequest(String(response.headers['x-request-id']));
        if (endpoint.action === undefined) {
          assert.equal(entries.length, 0, `${label} reads, and writes no audit entry`);
        } else {
          assert.equal(entries.length, 1, label);
          assert.equal(entries[0]!.outcome, 'staff_action', label);
          assert.equal(entries[0]!.action, endpoint.action, label);
          assert.equal(entries[0]!.code, endpoint.action, label);
          assert.equal(entries[0]!.actor, staffId, label);
        }
        served++;
      }
    }
    assert.equal(served, ENDPOINTS.length * STAFF_ROLES.length - refusals);
  });

  test('a refused role learns nothing about the body: the permission is checked before validation', async (t) => {
    const { call, staff } = await adminWorld(t);
    for (const payload of ['{"legal_name":', { legal_name: 7 }, { x: 'y'.repeat(70_000) }]) {
      const response = await call(staff.viewer.token, 'POST', '/admin/v1/partners', payload, { 'content-type': 'application/json' });
      assert.equal(response.statusCode, 403);
      assert.equal(response.json().error.code, 'forbidden');
    }
  });

  test('an API key carries its account\'s roles, no more', async (t) => {
    const { call, staff } = await adminWorld(t);
    const key = (await call(staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'pm bot', staff_id: staff.partnerships_manager.id })).json().key;
    assert.equal((await call(key, 'POST', '/admin/v1/partners', PARTNER_BODY)).statusCode, 201);
    assert.equal((await call(key, 'GET', '/admin/v1/staff')).statusCode, 403);
    assert.equal((await call(key, 'POST', '/admin/v1/api-keys', { label: 'escalate' })).statusCode, 403);
  });
});
