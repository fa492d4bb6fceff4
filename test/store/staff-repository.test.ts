import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { hashToken } from '../../src/store/access-token-repository.js';
import { createStore, type Store } from '../../src/store/store.js';
import { STAFF_PASSWORD, staffPasswordHash, snapshot } from '../helpers/admin.js';
import { DIALECTS, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;

async function store(t: TestContext, dialect: Dialect): Promise<Store> {
  return createStore((await testDatabase(t, dialect)).db);
}

for (const dialect of DIALECTS) {
  describe(`StaffRepository on ${dialect}`, () => {
    test('accounts: emails are unique less case and spaces; roles are kept as a set', async (t) => {
      const s = await store(t, dialect);
      const hash = await staffPasswordHash();
      const made = await s.staff.create({ email: '  Ada@Staff.Example ', name: 'Ada', roles: ['admin', 'viewer', 'admin'], passwordHash: hash }, NOW);
      assert.match(made.id, /^st_[a-z0-9]{16}$/);
      assert.equal(made.email, 'ada@staff.example');
      assert.deepEqual(made.roles, ['admin', 'viewer']);
      assert.equal(made.createdAt, NOW);
      assert.equal(made.disabledAt, null);
      assert.equal((await s.staff.byEmail('ADA@staff.example'))?.id, made.id);
      await assert.rejects(s.staff.create({ email: 'ada@STAFF.example', name: 'Twin', roles: ['viewer'], passwordHash: hash }, NOW), /UNIQUE|unique constraint/);
      await s.staff.update(made.id, { roles: ['privacy_officer'], name: 'Ada L.' });
      assert.deepEqual((await s.staff.byId(made.id))?.roles, ['privacy_officer']);
      assert.equal(await s.staff.count(), 1);
    });

    test('passwords: right, wrong, unknown email, disabled account', async (t) => {
      const s = await store(t, dialect);
      const made = await s.staff.create({ email: 'ada@staff.example', name: 'Ada', roles: ['admin'], passwordHash: await staffPasswordHash() }, NOW);
      assert.equal((await s.staff.verifyPassword('Ada@staff.example', STAFF_PASSWORD))?.id, made.id);
      assert.equal(await s.staff.verifyPassword('ada@staff.example', 'wrong'), undefined);
      assert.equal(await s.staff.verifyPassword('nobody@staff.example', STAFF_PASSWORD), undefined);
      await s.staff.update(made.id, { disabledAt: NOW });
      assert.equal(await s.staff.verifyPassword('ada@staff.example', STAFF_PASSWORD), undefined);
    });

    test('credentials: the secret is returned once and only its SHA-256 is stored; expiry, revocation and disabling end it', async (t) => {
      const s = await store(t, dialect);
      const made = await s.staff.create({ email: 'ada@staff.example', name: 'Ada', roles: ['admin'], passwordHash: 'scrypt$unused' }, NOW);
      const session = await s.staff.issue(made.id, 'session', { expiresAt: NOW + HOUR }, NOW);
      const key = await s.staff.issue(made.id, 'api_key', { label: 'ci' }, NOW);
      assert.match(session.secret, /^dps_/);
      assert.match(key.secret, /^dpk_/);
      assert.match(key.id, /^key_/);
      const dump = JSON.stringify(await snapshot(s.db));
      assert.ok(!dump.includes(session.secret) && !dump.includes(key.secret));
      assert.ok(dump.includes(hashToken(key.secret)));

      const authenticated = await s.staff.authenticate(key.secret, NOW + 1000);
      assert.equal(authenticated?.staff.id, made.id);
      assert.equal(authenticated?.credential.kind, 'api_key');
      assert.equal((await s.staff.credential(key.id))?.lastUsedAt, NOW + 1000);
      await s.staff.authenticate(key.secret, NOW + 2000);
      assert.equal((await s.staff.credential(key.id))?.lastUsedAt, NOW + 1000, 'noted at most once a minute');

      assert.ok(await s.staff.authenticate(session.secret, NOW + HOUR - 1));
      assert.equal(await s.staff.authenticate(session.secret, NOW + HOUR), undefined, 'expired');
      assert.equal(await s.staff.authenticate(key.secret.slice(0, -1) + 'x', NOW), undefined, 'forged');
      assert.equal(await s.staff.authenticate('dp_' + key.secret.slice(4), NOW), undefined, 'another kind of token');

      const listed = await s.staff.apiKeys();
      assert.deepEqual(listed.map((k) => k.id), [key.id]);
      assert.ok(!JSON.stringify(listed).includes(key.secret));

      assert.equal(await s.staff.revoke(key.id, NOW + 5), true);
      assert.equal(await s.staff.revoke(key.id, NOW + 6), false, 'once');
      assert.equal(await s.staff.authenticate(key.secret, NOW + 10), undefined, 'revoked');

      const other = await s.staff.issue(made.id, 'api_key', { label: 'other' }, NOW);
      await s.staff.update(made.id, { disabledAt: NOW });
      assert.equal(await s.staff.authenticate(other.secret, NOW), undefined, 'account disabled');
      await s.staff.update(made.id, { disabledAt: null });
      assert.ok(await s.staff.authenticate(other.secret, NOW));
      assert.equal(await s.staff.revokeAll(made.id, NOW), 2, 'the live session and key');
    });

    test('staff actions in the audit log keep their actor, action and detail', async (t) => {
      const s = await store(t, dialect);
      await s.audit.append([{
        at: NOW, requestId: 'r1', appId: null, partnerId: 'p_1', agreementId: null, agreementVersion: null, rulesVersion: 'v',
        tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'staff_action', code: 'partner.update', released: [],
        withheld: {}, actor: 'st_1', action: 'partner.update', detail: { changes: { country: { from: 'GB', to: 'CN' } } },
      }, {
        at: NOW, requestId: 'r2', appId: null, partnerId: null, agreementId: null, agreementVersion: null, rulesVersion: 'v',
        tokenMemberId: 'm', subjectMemberId: 'm', purpose: 'login', outcome: 'released', code: null, released: ['id'], withheld: {},
      }]);
      const [entry] = await s.audit.staffActions('st_1');
      assert.equal(entry?.action, 'partner.update');
      assert.deepEqual(entry?.detail, { changes: { country: { from: 'GB', to: 'CN' } } });
      const [released] = await s.audit.byRequest('r2');
      assert.equal(released?.actor, null);
      assert.equal(released?.action, null);
      assert.equal(released?.detail, null);
    });
  });
}
