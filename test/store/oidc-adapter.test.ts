import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { OidcAdapter } from '../../src/store/oidc-adapter.js';
import { DIALECTS, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

async function adapters(t: TestContext, dialect: Dialect) {
  const { db } = await testDatabase(t, dialect);
  let now = NOW;
  const clock = () => now;
  return {
    db,
    adapter: (model: string) => new OidcAdapter(db, model, clock),
    advance: (ms: number) => { now += ms; },
  };
}

for (const dialect of DIALECTS) {
  describe(`OidcAdapter (oidc_payloads) on ${dialect}`, () => {
    test('upsert then find returns the payload; a second upsert replaces it; models do not mix', async (t) => {
      const { adapter } = await adapters(t, dialect);
      const codes = adapter('AuthorizationCode');
      await codes.upsert('c1', { kind: 'AuthorizationCode', jti: 'c1', grantId: 'g1', scope: 'name' }, 60);
      assert.deepEqual(await codes.find('c1'), { kind: 'AuthorizationCode', jti: 'c1', grantId: 'g1', scope: 'name' });
      await codes.upsert('c1', { kind: 'AuthorizationCode', jti: 'c1', grantId: 'g1', scope: 'name email' }, 60);
      assert.equal((await codes.find('c1'))?.scope, 'name email');
      assert.equal(await adapter('AccessToken').find('c1'), undefined);
      assert.equal(await codes.find('nope'), undefined);
    });

    test('an expired payload is never found, and purgeExpired deletes it; one without expiry stays', async (t) => {
      const { adapter, advance, db } = await adapters(t, dialect);
      const sessions = adapter('Session');
      await sessions.upsert('s1', { kind: 'Session', uid: 'u1' }, 10);
      await sessions.upsert('s2', { kind: 'Session', uid: 'u2' });
      advance(9_999);
      assert.ok(await sessions.find('s1'));
      advance(1);
      assert.equal(await sessions.find('s1'), undefined, 'expired at its exact instant');
      assert.equal(await sessions.findByUid('u1'), undefined);
      assert.ok(await sessions.find('s2'));
      assert.equal(await sessions.purgeExpired(), 1);
      const left = await db.selectFrom('oidc_payloads').select('id').execute();
      assert.deepEqual(left.map((row) => row.id), ['s2']);
    });

    test('consume marks the payload consumed (a timestamp in seconds) and keeps it', async (t) => {
      const { adapter } = await adapters(t, dialect);
      const tokens = adapter('RefreshToken');
      await tokens.upsert('r1', { kind: 'RefreshToken', grantId: 'g1' }, 3600);
      assert.equal((await tokens.find('r1'))?.consumed, undefined);
      await tokens.consume('r1');
      assert.equal((await tokens.find('r1'))?.consumed, NOW / 1000);
    });

    test('destroy removes one payload', async (t) => {
      const { adapter } = await adapters(t, dialect);
      const tokens = adapter('AccessToken');
      await tokens.upsert('a1', { kind: 'AccessToken', grantId: 'g1' }, 3600);
      await tokens.upsert('a2', { kind: 'AccessToken', grantId: 'g1' }, 3600);
      await tokens.destroy('a1');
      assert.equal(await tokens.find('a1'), undefined);
      assert.ok(await tokens.find('a2'));
    });

    test('revokeByGrantId removes every payload of that grant in its model, and nothing else', async (t) => {
      const { adapter } = await adapters(t, dialect);
      const access = adapter('AccessToken');
      const refresh = adapter('RefreshToken');
      await access.upsert('a1', { kind: 'AccessToken', grantId: 'g1' }, 3600);
      await access.upsert('a2', { kind: 'AccessToken', grantId: 'g1' }, 3600);
      await access.upsert('a3', { kind: 'AccessToken', grantId: 'g2' }, 3600);
      await refresh.upsert('r1', { kind: 'RefreshToken', grantId: 'g1' }, 3600);
      await access.revokeByGrantId('g1');
      assert.equal(await access.find('a1'), undefined);
      assert.equal(await access.find('a2'), undefined);
      assert.ok(await access.find('a3'), 'another grant is untouched');
      assert.ok(await refresh.find('r1'), 'another model is untouched (the library revokes each model)');
    });

    test('findByUid and findByUserCode use their own indexed columns', async (t) => {
      const { adapter } = await adapters(t, dialect);
      const sessions = adapter('Session');
      await sessions.upsert('s1', { kind: 'Session', uid: 'uid-1', accountId: 'me' }, 60);
      assert.equal((await sessions.findByUid('uid-1'))?.accountId, 'me');
      assert.equal(await sessions.findByUid('uid-2'), undefined);
      const devices = adapter('DeviceCode');
      await devices.upsert('d1', { kind: 'DeviceCode', userCode: 'ABCD-EFGH' }, 60);
      assert.equal((await devices.findByUserCode('ABCD-EFGH'))?.kind, 'DeviceCode');
      assert.equal(await devices.findByUserCode('ZZZZ-ZZZZ'), undefined);
      assert.equal(await adapter('Session').findByUserCode('ABCD-EFGH'), undefined, 'scoped to the model');
    });
  });
}
