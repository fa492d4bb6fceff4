/**
 * The login throttle on its own (issue 12): only failures count, per address in two windows (15
 * minutes and a day, against password spraying) and per account; attempts in flight at once cannot
 * overshoot a limit, because each is counted as it arrives and a success is taken back after.
 * A bare route stands for a login form here, so no password hashing slows the many attempts.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { registerErrorHandling } from '../../src/http/error-handler.js';
import {
  LOGIN_ATTEMPTS_PER_ACCOUNT, LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_DAY_MS, LOGIN_FAILURES_PER_ADDRESS_PER_DAY, LOGIN_WINDOW_MS,
  createMemberLoginThrottle, databaseCounterStore,
} from '../../src/http/login-throttle.js';
import { RateLimitCounterRepository } from '../../src/store/rate-limit-counter-repository.js';
import { DIALECTS, dialectTest, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/** A login form whose password is right when the body says so. */
async function form(t: TestContext, dialect: (typeof DIALECTS)[number]) {
  const counters = new RateLimitCounterRepository((await testDatabase(t, dialect)).db);
  let now = NOW;
  const clock = () => now;
  const app = Fastify();
  registerErrorHandling(app);
  await app.register(rateLimit, { global: false, store: databaseCounterStore(counters, clock) });
  const throttle = createMemberLoginThrottle(app, counters, clock);
  app.post<{ Body: { member_id: string; right: boolean } }>('/login', { preHandler: throttle.preHandler }, async (request, reply) => {
    if (!request.body.right) return reply.status(401).send({ failed: true });
    await throttle.succeeded(request);
    return { ok: true };
  });
  t.after(() => app.close());
  const attempt = async (memberId: string, right: boolean, address = '192.0.2.1') =>
    (await app.inject({ method: 'POST', url: '/login', payload: { member_id: memberId, right }, remoteAddress: address })).statusCode;
  return { attempt, setNow: (instant: number) => { now = instant; } };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`login throttle on ${dialect}`, () => {
    test(`per address, also ${LOGIN_FAILURES_PER_ADDRESS_PER_DAY} failures a day: a spray spread over 15-minute windows stops`, async (t) => {
      const { attempt, setNow } = await form(t, dialect);
      const windows = LOGIN_FAILURES_PER_ADDRESS_PER_DAY / LOGIN_ATTEMPTS_PER_ADDRESS;
      for (let window = 0; window < windows; window++) {
        setNow(NOW + window * LOGIN_WINDOW_MS);
        for (let i = 0; i < LOGIN_ATTEMPTS_PER_ADDRESS; i++) assert.equal(await attempt(`member${window}-${i}`, false), 401);
      }
      setNow(NOW + windows * LOGIN_WINDOW_MS);
      assert.equal(await attempt('someone', false), 429, 'a fresh 15-minute window, but the day is used up');
      assert.equal(await attempt('ann', true), 429, 'even the right password, from that address');
      assert.equal(await attempt('ann', true, '192.0.2.2'), 200, 'another address');
      setNow(NOW + LOGIN_DAY_MS);
      assert.equal(await attempt('ann', true), 200, 'the next day');
    });

    test.both('transactions and locking', 'attempts in flight at once are each counted: no more get through than the limit', async (t) => {
      const { attempt } = await form(t, dialect);
      const statuses = await Promise.all(Array.from({ length: 3 * LOGIN_ATTEMPTS_PER_ACCOUNT }, (_, i) => attempt('ann', false, `198.51.100.${i}`)));
      assert.equal(statuses.filter((s) => s === 401).length, LOGIN_ATTEMPTS_PER_ACCOUNT);
      assert.equal(statuses.filter((s) => s === 429).length, 2 * LOGIN_ATTEMPTS_PER_ACCOUNT);
    });

    test('successes are free, and clear the account\'s failures', async (t) => {
      const { attempt } = await form(t, dialect);
      for (let i = 0; i < 3 * LOGIN_ATTEMPTS_PER_ADDRESS; i++) assert.equal(await attempt('ann', true), 200);
      for (let i = 1; i < LOGIN_ATTEMPTS_PER_ACCOUNT; i++) assert.equal(await attempt('ann', false), 401);
      assert.equal(await attempt('ann', true), 200);
      for (let i = 1; i < LOGIN_ATTEMPTS_PER_ACCOUNT; i++) assert.equal(await attempt('ann', false), 401);
      assert.equal(await attempt('ann', true), 200, 'the failures before the success were forgotten');
    });
  });
}
