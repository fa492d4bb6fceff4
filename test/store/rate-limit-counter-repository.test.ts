/**
 * Login-attempt counters in the database (issue 6): one upsert per hit, so hits from several
 * instances at once are all counted, a window starts over when it has ended, and ended counters
 * are purged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimitCounterRepository } from '../../src/store/rate-limit-counter-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const WINDOW = 15 * 60_000;

for (const dialect of DIALECTS) {
  describe(`rate-limit counters on ${dialect}`, () => {
    test('hits at the same moment, from two connections on PostgreSQL, are each counted once', async (t) => {
      const { db, url } = await testDatabase(t, dialect);
      const second = url === undefined ? db : openDatabase(url);
      if (second !== db) t.after(() => second.destroy());
      const instances = [new RateLimitCounterRepository(db), new RateLimitCounterRepository(second)];
      const states = await Promise.all(Array.from({ length: 40 }, (_, i) => instances[i % 2]!.hit('login-account:ann', WINDOW, NOW)));
      assert.deepEqual(states.map((s) => s.hits).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
      assert.ok(states.every((s) => s.windowEndsAt === NOW + WINDOW), 'one window for all');
      assert.equal((await instances[0]!.hit('login-account:bob', WINDOW, NOW)).hits, 1, 'keys count apart');
    });

    test('a window counts until it ends, then the next hit starts a new one', async (t) => {
      const counters = new RateLimitCounterRepository((await testDatabase(t, dialect)).db);
      assert.deepEqual(await counters.hit('k', WINDOW, NOW), { hits: 1, windowEndsAt: NOW + WINDOW });
      assert.deepEqual(await counters.hit('k', WINDOW, NOW + WINDOW - 1), { hits: 2, windowEndsAt: NOW + WINDOW });
      assert.deepEqual(await counters.hit('k', WINDOW, NOW + WINDOW), { hits: 1, windowEndsAt: NOW + 2 * WINDOW });
      assert.deepEqual(await counters.hit('k', WINDOW, NOW + WINDOW + 5), { hits: 2, windowEndsAt: NOW + 2 * WINDOW });
    });

    test('unhit takes back one hit of the current window, never below zero; clear forgets the key', async (t) => {
      const counters = new RateLimitCounterRepository((await testDatabase(t, dialect)).db);
      await counters.hit('k', WINDOW, NOW);
      await counters.hit('k', WINDOW, NOW);
      await counters.unhit('k', NOW + 1);
      assert.equal((await counters.hit('k', WINDOW, NOW + 2)).hits, 2);
      for (let i = 0; i < 4; i++) await counters.unhit('k', NOW + 3);
      assert.equal((await counters.hit('k', WINDOW, NOW + 4)).hits, 1, 'not below zero');
      await counters.unhit('k', NOW + WINDOW);
      assert.equal((await counters.hit('k', WINDOW, NOW + WINDOW)).hits, 1, 'an ended window is not touched, the next hit starts anew');
      await counters.unhit('absent', NOW);
      await counters.hit('k', WINDOW, NOW + WINDOW + 1);
      await counters.clear('k');
      assert.equal((await counters.hit('k', WINDOW, NOW + WINDOW + 2)).hits, 1);
    });

    test('the purge deletes only counters whose window has ended', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const counters = new RateLimitCounterRepository(db);
      await counters.hit('old', WINDOW, NOW);
      await counters.hit('new', WINDOW, NOW + 60_000);
      assert.equal(await counters.purgeEnded(NOW + WINDOW), 1);
      const left = await db.selectFrom('rate_limit_counters').select('key').execute();
      assert.deepEqual(left.map((row) => row.key), ['new']);
      assert.equal((await counters.hit('old', WINDOW, NOW + WINDOW)).hits, 1);
    });
  });
}
