/**
 * Proofs read from the lean leaves' columns (lean-leaf-hashes.ts, LeafWriter): for every leaf of a log
 * of a few hundred entries of every shape (requests of one entry and of many, refusals, staff actions
 * with details, ids and texts that JSON escapes or UTF-8 spells in several bytes), the inclusion proof
 * LogProofs serves and the one a Merkle plan reads are those of a tree built from the entries read back
 * and hashed as before (entryFromRow, storedLeafHash), at several signed sizes; consistency proofs too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { leafHashAt, storedLeafHash } from '../../src/audit/entry-leaf.js';
import { LogProofs } from '../../src/audit/log-proofs.js';
import {
  MemorySubtreeStore, appendLeavesSync, consistencyProofSync, inclusionProofPlan, inclusionProofSync,
} from '../../src/audit/merkle-tree.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import type { Field } from '../../src/domain/field-catalog.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const key = loadOrCreateAuditSigningKey(undefined);
const blinding = loadOrCreateAuditBlinding(undefined);

/** Ids and texts that JSON escapes, and that UTF-8 writes in several bytes. */
const ODD = ['m_"quoted"', 'm_back\\slash', 'm_é😀', 'm_\u0001ctl', 'm_\u2028x', 'm_\u007f'];
const LISTS: readonly (readonly Field[])[] = [['id', 'name'], ['name', 'id', 'birthday'], [], ['email']];

/** Request `n`'s entries: a page of friends, a refusal, a staff action or one member read, in turn. */
function request(n: number): AuditEntry[] {
  const bare = n % 5 === 0;
  const shared = {
    at: NOW + n * 997, requestId: n % 7 === 0 ? `req-"${n}"\\é` : `req-${n}`, appId: bare ? null : `app_${n % 3}`, partnerId: `p_${n % 2}`,
    agreementId: bare ? null : 'agr', agreementVersion: bare ? null : n % 4, rulesVersion: RULES_VERSION,
    tokenMemberId: n % 6 === 0 ? null : `m_token${n % 4}`, purpose: bare ? null : 'device_experience',
  };
  switch (n % 4) {
    case 0:
      return [
        { ...shared, subjectMemberId: null, outcome: 'served', code: null, released: [], withheld: {}, passedOver: { count: n, reason: 'friend_opted_out' } },
        ...Array.from({ length: n % 23 }, (_, i): AuditEntry => ({
          ...shared, subjectMemberId: i % 9 === 4 ? ODD[(n + i) % ODD.length]! : `m_${n}_${i}`, outcome: 'released', code: 'through_friend',
          released: LISTS[(n + i) % LISTS.length]!,
          withheld: i % 4 === 0 ? { religion: 'sensitive_field', location: 'audience_restricted', birthday: 'not_consented' } : {},
        })),
      ];
    case 1:
      return [{ ...shared, subjectMemberId: `m_${n}`, outcome: 'denied', code: 'token_expired', released: [], withheld: {} }];
    case 2:
      return [{
        ...shared, appId: null, tokenMemberId: null, subjectMemberId: null, outcome: 'staff_action', code: 'partner.update', released: [], withheld: {},
        actor: n % 8 === 2 ? 'st_"é"' : 'st_1', action: 'partner.update', detail: { z: [n, 'é😀', { b: true, a: null }], a: { y: 1, x: '\u0000' } },
      }];
    default:
      return [{ ...shared, subjectMemberId: ODD[n % ODD.length]!, outcome: 'released', code: null, released: ['id', 'name'], withheld: { email: 'not_in_agreement' } }];
  }
}

for (const dialect of DIALECTS) {
  describe(`proofs from the lean leaves' columns on ${dialect}`, () => {
    test('every leaf\'s inclusion proof, and the consistency proofs between heads, are those of the entries as read and hashed before', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, headIntervalMs: 0 });
      const appended: AuditEntry[] = [];
      for (let n = 0; n < 90; n++) {
        const entries = request(n);
        await log.append(entries); // one head each
        appended.push(...entries);
      }
      await log.close();
      const audit = createStore(db).audit.withBlinding(blinding);
      const size = await audit.treeSize();
      assert.ok(size > 300 && size % 16 !== 0, `${size} entries, the last block incomplete`);

      // The old reading: each entry read back whole and hashed from it.
      const hashes = (await audit.entriesAfter(0, size)).map((entry) => storedLeafHash(entry, blinding));
      hashes.forEach((hash, i) => assert.deepEqual(hash, leafHashAt(appended[i]!, i, blinding), `leaf ${i} as appended`));
      const tree = new MemorySubtreeStore();
      tree.put(appendLeavesSync(tree, 0, hashes).writes);

      // Without the audit_log view the proofs cannot fall back to reading whole entries through it.
      await sql`drop view audit_log`.execute(db);
      const heads = (await audit.heads()).map((head) => head.size);
      assert.equal(heads.at(-1), size);
      const proofs = new LogProofs(audit);
      for (const at of [heads[3]!, heads[20]!, heads[41]!, heads[70]!, size]) {
        for (let index = 0; index < at; index++) {
          const proof = await proofs.inclusion(index, at);
          assert.deepEqual(proof.leafHash, hashes[index], `leaf ${index}`);
          assert.deepEqual(proof.path, inclusionProofSync(tree, index, at), `inclusion of ${index} in ${at}`);
          assert.deepEqual(await audit.run(inclusionProofPlan(index, at)), proof.path, `the plan's reading of ${index} in ${at}`);
        }
      }
      for (const [i, from] of heads.entries()) {
        for (const to of [heads[i + 1], size]) {
          if (to !== undefined) assert.deepEqual(await proofs.consistency(from, to), consistencyProofSync(tree, from, to), `consistency ${from} → ${to}`);
        }
      }
    });
  });
}
