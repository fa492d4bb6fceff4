/**
 * The demo world's credentials, found by what they let in (PRODUCT.md §7: a production server
 * refuses to start with them), and removed; on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { findDemoCredentials, removeDemoCredentials } from '../../src/seed/demo-credentials.js';
import { DEMO_LOCAL_REDIRECT_URI, demoClientSecret, seedDemoPartners } from '../../src/seed/demo-partners.js';
import { seedDemoStaff } from '../../src/seed/demo-staff.js';
import { DEMO_PASSWORD, DEMO_SEED } from '../../src/seed/demo-world.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import { seedMembers } from '../../src/seed/world-generator.js';
import { hashPassword } from '../../src/store/member-credential-repository.js';
import { createStore, type Store } from '../../src/store/store.js';
import { DIALECTS, dialectTest, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-11-15T12:00:00Z');

/** A small demo world: the demo seed's first members, the demo partners and staff, all with the demo credentials. */
async function demoWorld(t: TestContext, dialect: Dialect): Promise<Store> {
  const store = createStore((await testDatabase(t, dialect)).db);
  await seedMembers(store, { members: 12, avgFriends: 2, seed: DEMO_SEED, now: NOW });
  await seedDemoPartners(store, NOW);
  const demoHash = await hashPassword(DEMO_PASSWORD);
  await store.credentials.setHashes(Array.from({ length: 10 }, (_, i) => memberIdAt(DEMO_SEED, i)), demoHash, NOW);
  await seedDemoStaff(store, demoHash, NOW);
  return store;
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`demo credentials (${dialect})`, () => {
    test('found by what they let in; real credentials beside them are not', async (t) => {
      const store = await demoWorld(t, dialect);
      // A real account, a real member password and a real app beside the demo ones.
      await store.staff.create({ email: 'ops@platform.example', name: 'Ops', roles: ['admin'], passwordHash: await hashPassword('a real passphrase') }, NOW);
      await store.credentials.setPassword(memberIdAt(DEMO_SEED, 10), 'another real one', NOW);
      await store.partners.setClientSecret('app_lenovo', 'dpcs_real');
      await store.partners.setRedirectUris('app_lenovo', ['https://lenovo.example/cb']);
      // Disabled does not make a demo password safe: it can be enabled again.
      const viewer = await store.staff.byEmail('viewer@datapact.example');
      await store.staff.update(viewer!.id, { disabledAt: NOW });

      const found = await findDemoCredentials(store);
      const staff = found.flatMap((item) => (item.kind === 'staff_password' ? [item.email] : [])).sort();
      assert.deepEqual(staff, ['admin2@datapact.example', 'admin@datapact.example', 'partnerships@datapact.example', 'privacy1@datapact.example', 'privacy2@datapact.example', 'viewer@datapact.example']);
      const members = found.filter((item) => item.kind === 'member_password');
      assert.equal(members.length, 1);
      assert.equal(members[0]!.kind === 'member_password' && members[0]!.members, 10);
      const secrets = found.flatMap((item) => (item.kind === 'client_secret' ? [item.appId] : []));
      assert.deepEqual(secrets, ['app_blackberry', 'app_huawei', 'app_oppo', 'app_pixelharbour', 'app_tcl', 'app_zte']);
      const uris = found.flatMap((item) => (item.kind === 'redirect_uri' ? [`${item.appId} ${item.uri}`] : []));
      assert.equal(uris.length, 6);
      assert.ok(uris.every((entry) => entry.endsWith(DEMO_LOCAL_REDIRECT_URI)) && !uris.some((entry) => entry.startsWith('app_lenovo')));
    });

    test('a demo password set in bulk on other members is found too (a shared hash)', async (t) => {
      const store = createStore((await testDatabase(t, dialect)).db);
      await seedMembers(store, { members: 5, avgFriends: 1, seed: 7, now: NOW });
      const ids = (await store.db.selectFrom('members').select('id').execute()).map((row) => row.id);
      await store.credentials.setHashes(ids.slice(0, 3), await hashPassword(DEMO_PASSWORD), NOW);
      await store.credentials.setHashes(ids.slice(3), await hashPassword('a shared but real password'), NOW);
      const found = await findDemoCredentials(store);
      assert.deepEqual(found.map((item) => item.kind === 'member_password' && item.members), [3]);
    });

    test.both('transactions and locking', 'removed in one audited transaction: nothing demo is left, real credentials untouched', async (t) => {
      const store = await demoWorld(t, dialect);
      await store.partners.setRedirectUris('app_lenovo', ['https://lenovo.example/cb', DEMO_LOCAL_REDIRECT_URI]);
      const before = await store.audit.append([]);

      const removed = await removeDemoCredentials(store, NOW);
      assert.equal(removed.staffDisabled.length, 6);
      assert.equal(removed.memberPasswordsDeleted, 10);
      assert.equal(removed.rotatedSecrets.length, 7);
      assert.equal(removed.redirectUrisRemoved.length, 7);
      assert.deepEqual(await findDemoCredentials(store), []);

      assert.equal(await store.staff.verifyPassword('admin@datapact.example', DEMO_PASSWORD), undefined);
      assert.notEqual((await store.staff.byEmail('admin@datapact.example'))!.disabledAt, null);
      assert.equal(await store.credentials.verify(memberIdAt(DEMO_SEED, 0), DEMO_PASSWORD), undefined);
      const lenovo = await store.partners.oauthClient('app_lenovo');
      assert.deepEqual(lenovo!.redirectUris, ['https://lenovo.example/cb']);
      assert.notEqual(lenovo!.clientSecret, demoClientSecret('app_lenovo'));
      assert.equal(lenovo!.clientSecret, removed.rotatedSecrets.find((item) => item.appId === 'app_lenovo')!.clientSecret);

      const after = await store.audit.append([]);
      assert.equal(after.size - before.size, 6 + 1 + 7 + 7, 'one entry per change');
      const actions = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('seq', '>', before.size).execute();
      assert.ok(actions.every((entry) => entry.actor === 'system'));
      assert.deepEqual(await removeDemoCredentials(store, NOW), { staffDisabled: [], memberPasswordsDeleted: 0, rotatedSecrets: [], redirectUrisRemoved: [] });
    });
  });
}
