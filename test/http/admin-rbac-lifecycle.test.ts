import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { STAFF_ROLES, can, type Permission } from '../../src/domain/staff.js';
import { addDays } from '../../src/domain/time.js';
import { ADMIN_NOW, snapshot } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';

const day = (n: number) => new Date(addDays(ADMIN_NOW, n)).toISOString();
const DRAFT = {
  partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name', 'friends'],
  friend_fields: [] as string[], retention_days: 30, storage: { location: 'on_device' }, starts_at: day(1), ends_at: day(366),
};

interface Endpoint {
  readonly method: InjectOptions['method'];
  readonly path: string;
  readonly permission: Permission;
  readonly body?: object;
}

/** The agreement, notice and report endpoints, with the permission each needs ({id}: a draft agreement). */
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'POST', path: '/admin/v1/agreements', permission: 'manage_agreements', body: DRAFT },
  { method: 'GET', path: '/admin/v1/agreements', permission: 'read' },
  { method: 'GET', path: '/admin/v1/agreements/{id}', permission: 'read' },
  { method: 'GET', path: '/admin/v1/agreements/{id}/history', permission: 'read' },
  { method: 'PATCH', path: '/admin/v1/agreements/{id}', permission: 'manage_agreements', body: { retention_days: 20 } },
  { method: 'POST', path: '/admin/v1/agreements/{id}/submit', permission: 'manage_agreements' },
  { method: 'POST', path: '/admin/v1/agreements/{id}/return-to-draft', permission: 'manage_agreements', body: { reason: 'r' } },
  { method: 'POST', path: '/admin/v1/agreements/{id}/approve', permission: 'approve_agreements' },
  { method: 'POST', path: '/admin/v1/agreements/{id}/activate', permission: 'manage_agreements' },
  { method: 'POST', path: '/admin/v1/agreements/{id}/suspend', permission: 'manage_agreements', body: { reason: 'r' } },
  { method: 'POST', path: '/admin/v1/agreements/{id}/resume', permission: 'approve_agreements' },
  { method: 'POST', path: '/admin/v1/agreements/{id}/wind-down', permission: 'manage_agreements',
    body: { no_new_grants: day(10), no_friend_data: day(20), access_ended: day(30) } },
  { method: 'POST', path: '/admin/v1/agreements/{id}/deletion-attestation', permission: 'manage_agreements',
    body: { signed_by: 'x', statement: 'y' } },
  { method: 'POST', path: '/admin/v1/agreements/{id}/terminate', permission: 'manage_agreements', body: { reason: 'r' } },
  { method: 'GET', path: '/admin/v1/notices', permission: 'read' },
  { method: 'POST', path: '/admin/v1/partners/p_acme/webhook-secret/rotate', permission: 'manage_partners' },
  { method: 'GET', path: '/admin/v1/reports/inventory', permission: 'read' },
];

test('agreement, notice and report endpoints refuse every role lacking the permission, writing nothing; the others pass the check', async (t) => {
  const w = await agreementWorld(t);
  const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', DRAFT);
  assert.equal(created.statusCode, 201, created.body);
  const url = (endpoint: Endpoint) => endpoint.path.replace('{id}', created.json().id as string);

  const before = await snapshot(w.store.db);
  let refusals = 0;
  for (const endpoint of ENDPOINTS) {
    for (const role of STAFF_ROLES) {
      if (can([role], endpoint.permission)) continue;
      const response = await w.call(w.staff[role].token, endpoint.method, url(endpoint), endpoint.body);
      const label = `${role} ${endpoint.method} ${url(endpoint)}`;
      assert.equal(response.statusCode, 403, label);
      assert.equal(response.json().error.code, 'forbidden', label);
      refusals++;
    }
  }
  assert.equal(refusals, 26);
  const after = await snapshot(w.store.db);
  // API keys record their last use; nothing else may change.
  delete (after as Record<string, unknown>).staff_credentials;
  delete (before as Record<string, unknown>).staff_credentials;
  assert.deepEqual(after, before, 'a refused request writes nothing, not even an audit entry');

  for (const endpoint of ENDPOINTS) {
    for (const role of STAFF_ROLES) {
      if (!can([role], endpoint.permission)) continue;
      const response = await w.call(w.staff[role].token, endpoint.method, url(endpoint), endpoint.body);
      // Allowed through the permission check: the lifecycle may still refuse the state (409), never 401/403.
      assert.ok(![401, 403].includes(response.statusCode), `${role} ${endpoint.method} ${url(endpoint)}: ${response.body}`);
    }
  }
});
