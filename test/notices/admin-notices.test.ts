import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { StaffRole } from '../../src/domain/staff.js';
import { enqueueNotice } from '../../src/notices/notice-outbox.js';
import { WebhookDispatcher } from '../../src/notices/webhook-dispatcher.js';
import { build } from '../helpers/build.js';
import { partnerVerifies, startReceiver } from './receiver.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const MINUTE = 60_000;

/** An app with one partner whose webhook is `webhookUrl`, and a staff API key per role asked for. */
async function adminWorld(t: TestContext, webhookUrl: string | null) {
  const built = await build(t, NOW);
  const { store } = built;
  await store.partners.insertPartner({
    id: 'p_acme', legalName: 'Acme Ltd', country: 'CN', kind: 'device_maker', riskFlags: [],
    storage: { location: 'on_device' }, contacts: [], webhookUrl, privacyPolicyUrl: null,
  }, NOW);
  await store.partners.insertPartner({
    id: 'p_quiet', legalName: 'Quiet Ltd', country: 'GB', kind: 'app_developer', riskFlags: [],
    storage: { location: 'on_device' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null,
  }, NOW);
  const keyFor = async (role: StaffRole) => {
    const staff = await store.staff.create({ email: `${role}@platform.example`, name: role, roles: [role], passwordHash: 'scrypt$unused' }, NOW);
    return (await store.staff.issue(staff.id, 'api_key', { label: 'test' }, NOW)).secret;
  };
  const viewer = await keyFor('viewer');
  const manager = await keyFor('partnerships_manager');
  const call = (method: 'GET' | 'POST', url: string, key: string | null = viewer) =>
    built.app.inject({ method, url, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { ...built, viewer, manager, call };
}

describe('the delivery log in the admin API', () => {
  test('shows every attempt of a notice a failing receiver finally took', async (t) => {
    const receiver = await startReceiver(t, [503, 500]);
    const { store, call } = await adminWorld(t, receiver.url);
    await enqueueNotice(store.db, {
      partnerId: 'p_acme', agreementId: 'agr_acme', type: 'agreement.suspended', at: NOW,
      payload: { reason: 'certification_overdue', actor: 'system' },
    });
    const dispatcher = new WebhookDispatcher({ allowLoopback: true, store });
    for (const at of [NOW, NOW + MINUTE, NOW + 6 * MINUTE]) await dispatcher.dispatchDue(at);
    assert.equal(receiver.received.length, 3);

    const list = await call('GET', '/admin/v1/notices?partner_id=p_acme');
    assert.equal(list.statusCode, 200);
    const [summary] = list.json().data;
    assert.equal(list.json().data.length, 1);
    assert.deepEqual(summary, {
      id: summary.id, partner_id: 'p_acme', agreement_id: 'agr_acme', type: 'agreement.suspended',
      created_at: '2026-06-01T00:00:00.000Z', status: 'delivered', reason: null, attempts: 3,
      next_attempt_at: null, delivered_at: '2026-06-01T00:06:00.000Z',
      data: { reason: 'certification_overdue', actor: 'system' },
    });

    const one = await call('GET', `/admin/v1/notices/${summary.id}`);
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json().deliveries, [
      { attempt: 1, attempted_at: '2026-06-01T00:00:00.000Z', status: 'failed', http_status: 503, error: 'HTTP 503', next_attempt_at: '2026-06-01T00:01:00.000Z' },
      { attempt: 2, attempted_at: '2026-06-01T00:01:00.000Z', status: 'failed', http_status: 500, error: 'HTTP 500', next_attempt_at: '2026-06-01T00:06:00.000Z' },
      { attempt: 3, attempted_at: '2026-06-01T00:06:00.000Z', status: 'delivered', http_status: 200, error: null, next_attempt_at: null },
    ]);
  });

  test('filters by partner, agreement and status, pages with `after`, and shows notices that cannot be delivered', async (t) => {
    const { store, call } = await adminWorld(t, 'https://hooks.example/acme');
    for (let i = 0; i < 5; i += 1) {
      await enqueueNotice(store.db, { partnerId: 'p_acme', agreementId: i % 2 ? 'agr_1' : 'agr_2', type: 'agreement.activated', at: NOW + i * MINUTE, payload: { i } });
    }
    await enqueueNotice(store.db, { partnerId: 'p_quiet', agreementId: null, type: 'wind_down.phase_upcoming', at: NOW, payload: {} });

    const quiet = (await call('GET', '/admin/v1/notices?status=undeliverable')).json().data;
    assert.deepEqual(quiet.map((n: { partner_id: string; status: string; reason: string; next_attempt_at: null }) => [n.partner_id, n.status, n.reason, n.next_attempt_at]), [
      ['p_quiet', 'undeliverable', 'no_webhook_url', null],
    ]);
    assert.deepEqual((await call('GET', '/admin/v1/notices?agreement_id=agr_1')).json().data.map((n: { data: { i: number } }) => n.data.i), [3, 1]);
    assert.equal((await call('GET', '/admin/v1/notices?status=pending&partner_id=p_acme')).json().data.length, 5);

    const seen: number[] = [];
    let url = '/admin/v1/notices?partner_id=p_acme&limit=2';
    for (let page = 0; page < 5; page += 1) {
      const body = (await call('GET', url)).json();
      seen.push(...body.data.map((n: { data: { i: number } }) => n.data.i));
      if (body.next === null) break;
      url = `/admin/v1/notices?partner_id=p_acme&limit=2&after=${body.next}`;
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0], 'newest first, each once');

    const badCursor = await call('GET', '/admin/v1/notices?after=not-a-cursor');
    assert.equal(badCursor.statusCode, 400);
    assert.equal(badCursor.json().error.code, 'invalid_cursor');
    assert.equal((await call('GET', '/admin/v1/notices?status=lost')).statusCode, 400);
    const missing = await call('GET', '/admin/v1/notices/ntc_nope');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'not_found');
  });

  test('needs a staff credential', async (t) => {
    const { call } = await adminWorld(t, null);
    const response = await call('GET', '/admin/v1/notices', null);
    assert.equal(response.statusCode, 401);
    assert.equal((await call('GET', '/admin/v1/notices', 'dpk_forged')).statusCode, 401);
  });
});

describe('POST /admin/v1/partners/:id/webhook-secret/rotate', () => {
  test('returns a new secret once; later notices are signed with it; the rotation is audited without it', async (t) => {
    const receiver = await startReceiver(t);
    const { store, call, manager, viewer } = await adminWorld(t, receiver.url);
    const before = await store.notices.webhookSecret('p_acme');

    const refused = await call('POST', '/admin/v1/partners/p_acme/webhook-secret/rotate', viewer);
    assert.equal(refused.statusCode, 403);
    assert.equal(await store.notices.webhookSecret('p_acme'), before);

    const rotated = await call('POST', '/admin/v1/partners/p_acme/webhook-secret/rotate', manager);
    assert.equal(rotated.statusCode, 200);
    const { partner_id, webhook_secret } = rotated.json();
    assert.equal(partner_id, 'p_acme');
    assert.match(webhook_secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(webhook_secret, before);

    await enqueueNotice(store.db, { partnerId: 'p_acme', agreementId: null, type: 'agreement.activated', at: NOW, payload: {} });
    await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW);
    assert.equal(partnerVerifies(webhook_secret, receiver.received[0]!, NOW), true);
    assert.equal(partnerVerifies(before!, receiver.received[0]!, NOW), false);

    const entries = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'partner.rotate_webhook_secret').execute();
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.partner_id, 'p_acme');
    assert.ok(!JSON.stringify(entries[0]).includes(webhook_secret), 'the secret is not in the audit log');

    const unknown = await call('POST', '/admin/v1/partners/p_nobody/webhook-secret/rotate', manager);
    assert.equal(unknown.statusCode, 404);
  });
});

describe('POST /admin/v1/partners/:id/webhook-ping', () => {
  test('a test notice, delivered and signed like any other, in the delivery log; audited; managers only', async (t) => {
    const receiver = await startReceiver(t);
    const { store, call, manager, viewer } = await adminWorld(t, receiver.url);
    assert.equal((await call('POST', '/admin/v1/partners/p_acme/webhook-ping', viewer)).statusCode, 403);
    assert.equal((await call('POST', '/admin/v1/partners/p_nobody/webhook-ping', manager)).statusCode, 404);

    const ping = await call('POST', '/admin/v1/partners/p_acme/webhook-ping', manager);
    assert.equal(ping.statusCode, 202, ping.body);
    assert.deepEqual({ ...(ping.json() as object), id: 'x' }, {
      id: 'x', partner_id: 'p_acme', agreement_id: null, type: 'webhook.ping', created_at: '2026-06-01T00:00:00.000Z', status: 'pending',
      reason: null, attempts: 0, next_attempt_at: '2026-06-01T00:00:00.000Z', delivered_at: null, data: { test: true },
    });
    await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW);
    assert.equal(receiver.received.length, 1);
    assert.equal(partnerVerifies((await store.notices.webhookSecret('p_acme'))!, receiver.received[0]!, NOW), true);
    const logged = (await call('GET', `/admin/v1/notices/${ping.json().id}`)).json();
    assert.equal(logged.status, 'delivered');
    assert.equal(logged.deliveries.length, 1);

    const entries = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'partner.webhook_ping').execute();
    assert.deepEqual(entries.map((e) => [e.partner_id, JSON.parse(e.detail!).notice_id]), [['p_acme', ping.json().id]]);

    const quiet = await call('POST', '/admin/v1/partners/p_quiet/webhook-ping', manager);
    assert.equal(quiet.json().status, 'undeliverable', 'no webhook URL: recorded, never sent');
    assert.equal(quiet.json().reason, 'no_webhook_url');
  });
});
