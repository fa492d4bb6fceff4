import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { enqueueNotice } from '../../src/notices/notice-outbox.js';
import {
  DEFAULT_BACKOFF_MS,
  NOTICE_ID_HEADER,
  WebhookDispatcher,
  signatureHeader,
  startNoticeDispatcher,
  verifySignature,
} from '../../src/notices/webhook-dispatcher.js';
import { createStore, type Store } from '../../src/store/store.js';
import { DIALECTS, dialectTest, testDatabase, type Dialect } from '../helpers/dialects.js';
import { partnerVerifies, refusingUrl, startReceiver } from './receiver.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const MINUTE = 60_000;

async function storeWithPartner(t: TestContext, dialect: Dialect, webhookUrl: string | null, partnerId = 'p_acme'): Promise<Store> {
  const store = createStore((await testDatabase(t, dialect)).db);
  await addPartner(store, partnerId, webhookUrl);
  return store;
}

async function addPartner(store: Store, id: string, webhookUrl: string | null): Promise<void> {
  await store.partners.insertPartner({
    id, legalName: `${id} Ltd`, country: 'CN', kind: 'device_maker', riskFlags: [],
    storage: { location: 'on_device' }, contacts: [], webhookUrl, privacyPolicyUrl: null,
  }, NOW);
}

function activated(partnerId = 'p_acme', at = NOW, dedupeKey?: string) {
  return {
    partnerId, agreementId: 'agr_acme', type: 'agreement.activated', at,
    payload: { agreement_version: 3, reason: 'approved by two privacy officers', actor: 'st_officer' },
    ...(dedupeKey === undefined ? {} : { dedupeKey }),
  };
}

/**
 * Two views of `store` whose `notices.due` returns only once both have read: both dispatchers see
 * every notice due before either claims one, the race the claims must settle. (SQLite's one
 * connection happened to order it so; PostgreSQL's pool lets one dispatcher finish before the other reads.)
 */
function bothReadFirst(store: Store): [Store, Store] {
  let read = 0;
  let release = () => {};
  const bothRead = new Promise<void>((resolve) => { release = resolve; });
  const view = (): Store => {
    const notices: Store['notices'] = Object.create(store.notices);
    notices.due = async (now, limit) => {
      const due = await store.notices.due(now, limit);
      if (++read === 2) release();
      await bothRead;
      return due;
    };
    return { ...store, notices };
  };
  return [view(), view()];
}

async function onlyNotice(store: Store) {
  const notices = await store.notices.list({ limit: 10 });
  assert.equal(notices.length, 1);
  return notices[0]!;
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`notices to partners on ${dialect}`, () => {
    describe('webhook delivery', () => {
      test('a notice is posted as signed JSON that the partner can verify with its secret', async (t) => {
        const receiver = await startReceiver(t);
        const store = await storeWithPartner(t, dialect, receiver.url);
        await enqueueNotice(store.db, activated());
        const report = await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW);
        assert.deepEqual(report, { delivered: 1, failed: 0, abandoned: 0, undeliverable: 0, skipped: 0 });

        assert.equal(receiver.received.length, 1);
        const [request] = receiver.received;
        const notice = await onlyNotice(store);
        assert.equal(request!.headers['content-type'], 'application/json');
        assert.equal(request!.headers[NOTICE_ID_HEADER], notice.id);
        assert.match(String(request!.headers['x-datapact-signature']), /^t=\d+,v1=[0-9a-f]{64}$/);
        assert.deepEqual(JSON.parse(request!.rawBody), {
          id: notice.id, type: 'agreement.activated', created_at: '2026-06-01T00:00:00.000Z', partner_id: 'p_acme', agreement_id: 'agr_acme',
          data: { agreement_version: 3, reason: 'approved by two privacy officers', actor: 'st_officer' },
        });

        const secret = (await store.notices.webhookSecret('p_acme'))!;
        assert.match(secret, /^whsec_/);
        assert.equal(partnerVerifies(secret, request!, NOW), true, 'the README recipe verifies it');
        assert.equal(verifySignature(secret, request!.rawBody, String(request!.headers['x-datapact-signature']), NOW), true);
        // A forger without the secret, a tampered body and a replay long after are all refused.
        assert.equal(partnerVerifies('whsec_wrong', request!, NOW), false);
        assert.equal(partnerVerifies(secret, { ...request!, rawBody: request!.rawBody.replace('"agreement.activated"', '"agreement.suspended"') }, NOW), false);
        assert.equal(partnerVerifies(secret, request!, NOW + 10 * MINUTE), false);

        const delivered = await store.notices.notice(notice.id);
        assert.equal(delivered!.status, 'delivered');
        assert.equal(delivered!.deliveredAt, NOW);
        assert.deepEqual((await store.notices.deliveries(notice.id)).map((d) => [d.attempt, d.status, d.httpStatus, d.error]), [[1, 'delivered', 200, null]]);
        // Nothing is due any more: a second run sends nothing.
        assert.equal((await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW + DEFAULT_BACKOFF_MS[4]!)).delivered, 0);
        assert.equal(receiver.received.length, 1);
      });

      test.both('date math', 'a failing receiver is retried at the backoff times (500, then a timeout), then delivered', async (t) => {
        const receiver = await startReceiver(t, [500, 'hang']);
        const store = await storeWithPartner(t, dialect, receiver.url);
        const dispatcher = new WebhookDispatcher({ allowLoopback: true, store, timeoutMs: 250 });
        await enqueueNotice(store.db, activated());
        const { id } = await onlyNotice(store);

        assert.equal((await dispatcher.dispatchDue(NOW)).failed, 1);
        assert.deepEqual(await store.notices.notice(id).then((n) => [n!.status, n!.attempts, n!.nextAttemptAt]), ['failed', 1, NOW + MINUTE]);
        // Not before the first backoff (1 min)...
        await dispatcher.dispatchDue(NOW + MINUTE - 1);
        assert.equal(receiver.received.length, 1);
        // ...but at it. The receiver never answers: the timeout makes it a failure; next wait 5 min.
        assert.equal((await dispatcher.dispatchDue(NOW + MINUTE)).failed, 1);
        assert.equal(receiver.received.length, 2);
        await dispatcher.dispatchDue(NOW + 6 * MINUTE - 1);
        assert.equal(receiver.received.length, 2);
        assert.equal((await dispatcher.dispatchDue(NOW + 6 * MINUTE)).delivered, 1);
        assert.equal(receiver.received.length, 3);

        // Every attempt is the same notice (same id, same body), each freshly signed at its own time.
        const secret = (await store.notices.webhookSecret('p_acme'))!;
        const sentAt = [NOW, NOW + MINUTE, NOW + 6 * MINUTE];
        receiver.received.forEach((request, i) => {
          assert.equal(request.headers[NOTICE_ID_HEADER], id);
          assert.equal(request.rawBody, receiver.received[0]!.rawBody);
          assert.equal(partnerVerifies(secret, request, sentAt[i]!), true);
          assert.equal(request.headers['x-datapact-signature'], signatureHeader(secret, request.rawBody, sentAt[i]!));
        });

        const log = await store.notices.deliveries(id);
        assert.deepEqual(log.map((d) => ({ attempt: d.attempt, at: d.attemptedAt, status: d.status, http: d.httpStatus, next: d.nextAttemptAt })), [
          { attempt: 1, at: NOW, status: 'failed', http: 500, next: NOW + MINUTE },
          { attempt: 2, at: NOW + MINUTE, status: 'failed', http: null, next: NOW + 6 * MINUTE },
          { attempt: 3, at: NOW + 6 * MINUTE, status: 'delivered', http: 200, next: null },
        ]);
        assert.equal(log[0]!.error, 'HTTP 500');
        assert.equal(log[1]!.error, 'timeout: no response within 250 ms');
        const notice = (await store.notices.notice(id))!;
        assert.deepEqual([notice.status, notice.attempts, notice.nextAttemptAt, notice.deliveredAt], ['delivered', 3, null, NOW + 6 * MINUTE]);
      });

      test.both('date math', 'a receiver that refuses connections is retried with backoff and abandoned after the last attempt', async (t) => {
        const store = await storeWithPartner(t, dialect, await refusingUrl());
        const dispatcher = new WebhookDispatcher({ allowLoopback: true, store });
        await enqueueNotice(store.db, activated());
        const { id } = await onlyNotice(store);
        let at = NOW;
        for (const wait of DEFAULT_BACKOFF_MS) {
          assert.equal((await dispatcher.dispatchDue(at)).failed, 1);
          at += wait;
        }
        assert.equal((await dispatcher.dispatchDue(at)).abandoned, 1);
        const log = await store.notices.deliveries(id);
        assert.equal(log.length, dispatcher.maxAttempts);
        assert.deepEqual([...new Set(log.map((d) => d.error))], ['connection refused (ECONNREFUSED)']);
        // The waits between attempts: 1 min, 5 min, 30 min, 2 h, 12 h.
        assert.deepEqual(log.slice(1).map((d, i) => (d.attemptedAt - log[i]!.attemptedAt) / MINUTE), [1, 5, 30, 120, 720]);
        assert.equal(log[log.length - 1]!.nextAttemptAt, null);
        const notice = (await store.notices.notice(id))!;
        assert.deepEqual([notice.status, notice.nextAttemptAt], ['abandoned', null]);
        assert.equal((await dispatcher.dispatchDue(at + 365 * 24 * 60 * MINUTE)).failed, 0, 'an abandoned notice is never tried again');
      });

      test('a redirect counts as a failure: notices go to the registered URL only', async (t) => {
        const receiver = await startReceiver(t, [302]);
        const store = await storeWithPartner(t, dialect, receiver.url);
        await enqueueNotice(store.db, activated());
        assert.equal((await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW)).failed, 1);
        const { id } = await onlyNotice(store);
        assert.deepEqual((await store.notices.deliveries(id)).map((d) => [d.httpStatus, d.error]), [[302, 'HTTP 302']]);
      });
    });

    describe('the outbox', () => {
      test.both('transactions and locking', 'the same dedupe key is enqueued once, even from two racing producers', async (t) => {
        const receiver = await startReceiver(t);
        const store = await storeWithPartner(t, dialect, receiver.url);
        const key = 'wind_down.phase_upcoming:agr_acme:v4:no_friend_data:7d';
        const upcoming = { ...activated('p_acme', NOW, key), type: 'wind_down.phase_upcoming', payload: { phase: 'no_friend_data', starts_at: '2026-06-08T00:00:00.000Z', days_before: 7 } };
        await Promise.all([enqueueNotice(store.db, upcoming), enqueueNotice(store.db, upcoming)]);
        await enqueueNotice(store.db, { ...upcoming, at: NOW + MINUTE });
        await store.db.transaction().execute((trx) => enqueueNotice(trx, upcoming));
        const notice = await onlyNotice(store);
        assert.equal(notice.dedupeKey, key);
        // Notices without a key are never merged.
        await enqueueNotice(store.db, activated());
        await enqueueNotice(store.db, activated());
        assert.equal((await store.notices.list({ limit: 10 })).length, 3);
        await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW);
        assert.equal(receiver.received.filter((r) => JSON.parse(r.rawBody).type === 'wind_down.phase_upcoming').length, 1);
      });

      test.both('transactions and locking', "a notice enqueued in a transaction that rolls back is never recorded (it joins the producer's change)", async (t) => {
        const store = await storeWithPartner(t, dialect, 'https://hooks.example/acme');
        await assert.rejects(store.db.transaction().execute(async (trx) => {
          await enqueueNotice(trx, activated());
          throw new Error('the transition failed');
        }), /the transition failed/);
        assert.deepEqual(await store.notices.list({ limit: 10 }), []);
      });

      test('a partner without a webhook URL: the notice is recorded as undeliverable and nothing is sent', async (t) => {
        const lookups: string[] = [];
        const store = await storeWithPartner(t, dialect, null);
        await enqueueNotice(store.db, activated());
        const report = await new WebhookDispatcher({ allowLoopback: true, store, resolve: async (name) => { lookups.push(name); return []; } }).dispatchDue(NOW);
        assert.equal(report.delivered + report.failed, 0);
        assert.deepEqual(lookups, []);
        const notice = await onlyNotice(store);
        assert.deepEqual([notice.status, notice.attempts, notice.nextAttemptAt], ['undeliverable', 0, null]);
        assert.deepEqual(await store.notices.list({ limit: 10, status: 'undeliverable' }).then((n) => n.map((x) => x.id)), [notice.id]);
      });

      test('a webhook URL removed after the notice was recorded makes it undeliverable at its next attempt', async (t) => {
        const store = await storeWithPartner(t, dialect, 'https://hooks.example/acme');
        await enqueueNotice(store.db, activated());
        await store.db.updateTable('partners').set({ webhook_url: null }).execute();
        assert.equal((await new WebhookDispatcher({ allowLoopback: true, store }).dispatchDue(NOW)).undeliverable, 1);
        assert.equal((await onlyNotice(store)).status, 'undeliverable');
      });

      test('enqueueing for an unknown partner is refused', async (t) => {
        const store = await storeWithPartner(t, dialect, null);
        await assert.rejects(enqueueNotice(store.db, activated('p_nobody')), /No partner p_nobody/);
      });
    });

    describe('several dispatchers', () => {
      test.both('transactions and locking', 'two dispatchers racing over the same notices send each exactly once', async (t) => {
        const receiver = await startReceiver(t);
        const store = await storeWithPartner(t, dialect, receiver.url);
        for (let i = 0; i < 6; i += 1) await enqueueNotice(store.db, { ...activated(), payload: { n: i } });
        const [first, second] = bothReadFirst(store);
        const one = new WebhookDispatcher({ allowLoopback: true, store: first, id: 'one' });
        const two = new WebhookDispatcher({ allowLoopback: true, store: second, id: 'two' });
        const [a, b] = await Promise.all([one.dispatchDue(NOW), two.dispatchDue(NOW)]);
        assert.equal(a.delivered + b.delivered, 6);
        assert.equal(a.skipped + b.skipped, 6, 'both saw every notice due; only one could claim each');
        assert.equal(receiver.received.length, 6);
        assert.equal(new Set(receiver.received.map((r) => r.headers[NOTICE_ID_HEADER])).size, 6);
        for (const notice of await store.notices.list({ limit: 10 })) {
          assert.deepEqual((await store.notices.deliveries(notice.id)).map((d) => d.attempt), [1]);
        }
      });

      test.both('transactions and locking', "a claim is a lease: a dispatcher that died mid-send is replaced once it expires, and its late result is dropped", async (t) => {
        const receiver = await startReceiver(t);
        const store = await storeWithPartner(t, dialect, receiver.url);
        await enqueueNotice(store.db, activated());
        const { id } = await onlyNotice(store);
        assert.equal(await store.notices.claim(id, 0, 'crashed', NOW, NOW + 2 * MINUTE), true);
        assert.equal(await store.notices.claim(id, 0, 'other', NOW, NOW + 2 * MINUTE), false);
        const dispatcher = new WebhookDispatcher({ allowLoopback: true, store });
        assert.equal((await dispatcher.dispatchDue(NOW + MINUTE)).delivered, 0);
        assert.equal(receiver.received.length, 0);
        assert.equal((await dispatcher.dispatchDue(NOW + 2 * MINUTE)).delivered, 1);
        const late = await store.notices.recordAttempt({
          noticeId: id, claimedBy: 'crashed', attempt: 1, attemptedAt: NOW, status: 'failed', httpStatus: 500, error: 'HTTP 500', nextAttemptAt: NOW + MINUTE,
        });
        assert.equal(late, false);
        assert.deepEqual((await store.notices.deliveries(id)).map((d) => d.status), ['delivered']);
      });

      test('a webhook whose name resolves to a private, link-local or (in production) loopback address is never called', async (t) => {
        for (const [addresses, allowLoopback, why] of [
          [['10.0.0.7'], true, 'hooks.acme.example resolves to 10.0.0.7, a private address.'],
          [['93.184.216.34', '169.254.169.254'], true, 'hooks.acme.example resolves to 169.254.169.254, a link-local address.'],
          [['::ffff:169.254.169.254'], true, 'hooks.acme.example resolves to ::ffff:169.254.169.254, a link-local address.'],
          [['fd12::1'], true, 'hooks.acme.example resolves to fd12::1, a unique-local address.'],
          [['100.64.1.2'], true, 'hooks.acme.example resolves to 100.64.1.2, a shared (CGNAT) address.'],
          [['127.0.0.1'], false, 'hooks.acme.example resolves to 127.0.0.1, a loopback address (allowed in development only).'],
        ] as const) {
          const store = await storeWithPartner(t, dialect, 'https://hooks.acme.example/datapact');
          await enqueueNotice(store.db, activated());
          const lookups: string[] = [];
          const resolve = async (name: string) => {
            lookups.push(name);
            return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
          };
          const report = await new WebhookDispatcher({ store, allowLoopback, resolve }).dispatchDue(NOW);
          assert.equal(report.failed, 1, addresses.join());
          assert.deepEqual(lookups, ['hooks.acme.example']);
          const { id } = await onlyNotice(store);
          assert.deepEqual((await store.notices.deliveries(id)).map((d) => [d.status, d.httpStatus, d.error]), [['failed', null, `refused: ${why}`]]);
        }
      });

      test('a webhook URL with a private address in it (registered before the rule) is refused at delivery, without a lookup', async (t) => {
        const store = await storeWithPartner(t, dialect, 'https://169.254.169.254/latest/meta-data');
        await enqueueNotice(store.db, activated());
        const lookups: string[] = [];
        const report = await new WebhookDispatcher({ store, allowLoopback: true, resolve: async (name) => { lookups.push(name); return []; } }).dispatchDue(NOW);
        assert.equal(report.failed, 1);
        assert.deepEqual(lookups, []);
        const { id } = await onlyNotice(store);
        assert.deepEqual((await store.notices.deliveries(id)).map((d) => d.error), ['refused: 169.254.169.254 is a link-local address.']);
      });

      test('the request goes to the address that was checked: a name that changes its answer afterwards (DNS rebinding) is not looked up again', async (t) => {
        const receiver = await startReceiver(t);
        const port = new URL(receiver.url).port;
        const store = await storeWithPartner(t, dialect, `http://hooks.acme.test:${port}/hooks/datapact`);
        await enqueueNotice(store.db, activated());
        const answers = [[{ address: '127.0.0.1', family: 4 }], [{ address: '10.0.0.7', family: 4 }]];
        const lookups: string[] = [];
        const resolve = async (name: string) => { lookups.push(name); return answers[Math.min(lookups.length - 1, 1)]!; };
        const report = await new WebhookDispatcher({ store, allowLoopback: true, resolve }).dispatchDue(NOW);
        assert.equal(report.delivered, 1);
        assert.deepEqual(lookups, ['hooks.acme.test']);
        assert.equal(receiver.received.length, 1);
        assert.equal(receiver.received[0]!.headers.host, `hooks.acme.test:${port}`);
      });

      test('startNoticeDispatcher runs at start, and stopping waits for the run in progress', async (t) => {
        const receiver = await startReceiver(t);
        const store = await storeWithPartner(t, dialect, receiver.url);
        await enqueueNotice(store.db, activated());
        const errors: unknown[] = [];
        const stop = startNoticeDispatcher({ store, allowLoopback: true, clock: () => NOW, intervalSeconds: 3600, onError: (e) => errors.push(e) });
        await stop();
        assert.equal(receiver.received.length, 1);
        assert.deepEqual(errors, []);
      });
    });
  });
}
