import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { WebSessionStore } from '../../src/store/web-session-store.js';
import { DIALECTS, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;

async function sessions(t: TestContext, dialect: Dialect) {
  const { db } = await testDatabase(t, dialect);
  let now = NOW;
  const store = new WebSessionStore(db, () => now);
  const rows = () => db.selectFrom('web_sessions').selectAll().orderBy('id').execute();
  return { db, store, rows, setNow: (instant: number) => { now = instant; } };
}

for (const dialect of DIALECTS) {
  describe(`WebSessionStore on ${dialect}`, () => {
    test('keeps a session until it expires, then treats it as absent and drops it', async (t) => {
      const { store, rows, setNow } = await sessions(t, dialect);
      const data = { memberId: 'm1', cookie: { originalMaxAge: 12 * HOUR } };
      await store.set('s1', data, NOW + HOUR);
      assert.deepEqual(await store.get('s1'), data);
      setNow(NOW + HOUR - 1);
      assert.deepEqual(await store.get('s1'), data);
      setNow(NOW + HOUR);
      assert.equal(await store.get('s1'), undefined, 'expired at the exact instant');
      assert.deepEqual(await rows(), [], 'and deleted');
    });

    test('set replaces a session (data and expiry); destroy removes it', async (t) => {
      const { store, rows } = await sessions(t, dialect);
      await store.set('s1', { memberId: 'm1' }, NOW + HOUR);
      await store.set('s1', { memberId: 'm2' }, NOW + 2 * HOUR);
      assert.deepEqual(await store.get('s1'), { memberId: 'm2' });
      assert.equal((await rows()).length, 1);
      assert.equal((await rows())[0]!.expires_at, '2026-06-01T02:00:00.000Z');
      await store.destroy('s1');
      assert.equal(await store.get('s1'), undefined);
      await store.destroy('never-was');
    });

    test('an unknown id and unreadable data are absent', async (t) => {
      const { store, db } = await sessions(t, dialect);
      assert.equal(await store.get('nobody'), undefined);
      await db.insertInto('web_sessions').values([
        { id: 'broken', data: '{not json', expires_at: '2027-01-01T00:00:00.000Z' },
        { id: 'list', data: '[1,2]', expires_at: '2027-01-01T00:00:00.000Z' },
      ]).execute();
      assert.equal(await store.get('broken'), undefined);
      assert.equal(await store.get('list'), undefined);
    });

    test('purgeExpired deletes exactly the expired sessions', async (t) => {
      const { store, rows, setNow } = await sessions(t, dialect);
      await store.set('a', {}, NOW + HOUR);
      await store.set('b', {}, NOW + 3 * HOUR);
      await store.set('c', {}, NOW + 2 * HOUR);
      setNow(NOW + 2 * HOUR);
      assert.equal(await store.purgeExpired(), 2);
      assert.deepEqual((await rows()).map((r) => r.id), ['b']);
    });
  });
}
