/**
 * One log, one key (issue 6, several instances): a server whose audit key is not the one the log's
 * heads are signed with refuses to start, before it signs anything; a server with the same key
 * (the shared secrets folder) starts and goes on signing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const blinding = loadOrCreateAuditBlinding(undefined);
const entry = {
  at: NOW, requestId: 'req-1', appId: 'app', partnerId: 'partner', agreementId: 'agr', agreementVersion: 1,
  rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: 'm1', purpose: 'device_experience',
  outcome: 'released', code: null, released: ['id'], withheld: {},
} as const;

for (const dialect of DIALECTS) {
  describe(`one audit key per log on ${dialect}`, () => {
    test('a log started with another key than its heads\' is refused; with the same key it starts', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const first = loadOrCreateAuditSigningKey(undefined);
      const log = new AuditLog({ db, clock: () => NOW, signingKey: first, blinding, headIntervalMs: 0 });
      await log.start();
      await log.append([entry]);
      await log.close();
      const heads = (await new AuditRepository(db).heads()).length;

      const other = new AuditLog({ db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(undefined), blinding });
      await assert.rejects(other.start(), (error: Error) =>
        error.message.includes(first.keyId.slice(0, 16)) && /same key/.test(error.message) && /Scaling out/.test(error.message));
      assert.equal((await new AuditRepository(db).heads()).length, heads, 'nothing signed with the other key');

      const same = new AuditLog({ db, clock: () => NOW + 1, signingKey: first, blinding, headIntervalMs: 0 });
      await same.start();
      await same.append([{ ...entry, requestId: 'req-2' }]);
      await same.close();
      const latest = await new AuditRepository(db).latestHead();
      assert.equal(latest?.size, 2);
      assert.equal(latest?.keyId, first.keyId);
    });
  });
}
