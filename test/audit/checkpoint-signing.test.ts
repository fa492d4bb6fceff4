/**
 * Checkpoints signed when their heads are (issue 11, point 2): every head the AuditLog signs
 * carries the log's C2SP checkpoint signature, made then and stored with it; the checkpoints
 * served are those stored bytes (nothing is signed when one is served); a log's origin is fixed
 * once it has signed a checkpoint; a log upgraded from before checkpoints (migration 0022) gets
 * one for its latest head at start, and none for the heads before it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { AuditLog } from '../../src/audit/audit-log.js';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { checkpointNote, logVerifier, openCheckpoint, verifierKey, verifyCheckpointSignature } from '../../src/audit/checkpoint.js';
import { LogCheckpoints } from '../../src/audit/log-checkpoints.js';
import { verifyStoredLog } from '../../src/audit/stored-log-verifier.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import type { Db } from '../../src/store/database.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';
import { goNoteAvailable, goNoteOpen } from '../helpers/go-note.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ORIGIN = 'datapact.test/audit';
const key = loadOrCreateAuditSigningKey(undefined);
const blinding = loadOrCreateAuditBlinding(undefined);

function entry(i: number): AuditEntry {
  return {
    at: NOW + i, requestId: `req-${i}`, appId: 'app', partnerId: 'partner', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: 'm1', purpose: 'device_experience',
    outcome: 'released', code: null, released: ['id'], withheld: {},
  };
}

function auditLog(db: Db, origin?: string): AuditLog {
  return new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, headIntervalMs: 0, ...(origin === undefined ? {} : { origin }) });
}

/** Three heads (sizes 1, 3, 6) signed by a started log under `origin`. */
async function signedLog(db: Db, origin = ORIGIN): Promise<void> {
  const log = auditLog(db, origin);
  await log.start();
  let size = 0;
  for (const batch of [1, 2, 3]) {
    await log.append(Array.from({ length: batch }, (_, i) => entry(size + i)));
    size += batch;
  }
  await log.close();
}

function checkpointsOf(db: Db): LogCheckpoints {
  const store = createStore(db);
  return new LogCheckpoints(store.audit, store.cosignatures, ORIGIN, key);
}

for (const dialect of DIALECTS) {
  describe(`checkpoints signed with their heads on ${dialect}`, () => {
    test('every head carries its checkpoint signature, made as it was signed, which the log\'s verifier key (and Go\'s note.Open) accepts', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await signedLog(db);
      const heads = await createStore(db).audit.heads();
      assert.deepEqual(heads.map((head) => head.size), [1, 3, 6]);
      for (const head of heads) {
        assert.equal(head.checkpoint?.origin, ORIGIN);
        assert.ok(verifyCheckpointSignature(key.publicKey, ORIGIN, head.size, head.root, head.checkpoint!.signature), `head ${head.size}`);
      }
      const latest = await checkpointsOf(db).latest();
      const { checkpoint } = openCheckpoint(latest!.note, [logVerifier(ORIGIN, key.publicKey)]);
      assert.deepEqual([checkpoint.origin, checkpoint.size, checkpoint.root], [ORIGIN, 6, heads[2]!.root]);
      if (goNoteAvailable()) assert.deepEqual(goNoteOpen(latest!.note, [verifierKey(ORIGIN, key.publicKey)]), { status: 0, output: `verified ${ORIGIN}\nunverified 0\n` });
    });

    test('the checkpoint served is the stored bytes: nothing is signed when it is served', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await signedLog(db);
      const head = (await createStore(db).audit.latestHead())!;
      const stored = checkpointNote(ORIGIN, head.size, head.root, key.publicKey, head.checkpoint!.signature);
      assert.equal((await checkpointsOf(db).latestView()).note, stored);

      // What the database holds is what is served, even when it no longer verifies: the server would
      // otherwise be signing, at every request, whatever the database says.
      const other = Buffer.alloc(64, 7);
      await sql`update audit_heads set checkpoint_signature = ${other} where tree_size = ${head.size}`.execute(db);
      const served = (await checkpointsOf(db).latestView()).note;
      assert.equal(served, checkpointNote(ORIGIN, head.size, head.root, key.publicKey, other));
      assert.throws(() => openCheckpoint(served, [logVerifier(ORIGIN, key.publicKey)]), /invalid signature/);
    });

    test('audit verify checks each head\'s stored checkpoint signature too', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await signedLog(db);
      const verify = () => verifyStoredLog(createStore(db).audit, { key, blinding });
      assert.ok((await verify()).ok);
      await sql`update audit_heads set checkpoint_signature = (select checkpoint_signature from audit_heads where tree_size = 6) where tree_size = 3`.execute(db);
      const result = await verify();
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.problem.message,
        'tree head 3: its checkpoint signature (origin datapact.test/audit) does not verify with the given public key');
    });

    test('a log that signed checkpoints under one origin refuses to start under another, before signing anything', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await signedLog(db);
      const renamed = auditLog(db, 'elsewhere.example/audit');
      await assert.rejects(renamed.start(), (error: Error) =>
        error.message.includes("signed under the origin 'datapact.test/audit'")
        && error.message.includes("would sign them under 'elsewhere.example/audit'")
        && error.message.includes('set DATAPACT_LOG_ORIGIN=datapact.test/audit'));
      assert.deepEqual((await createStore(db).audit.heads()).map((head) => head.size), [1, 3, 6], 'nothing signed');

      const same = auditLog(db, ORIGIN);
      await same.start();
      await same.append([entry(6)]);
      await same.close();
      assert.equal((await createStore(db).audit.latestHead())?.checkpoint?.origin, ORIGIN);
    });

    test('upgraded from before 0022: the latest head gets its checkpoint at start, after it is checked; earlier heads get none', async (t) => {
      const { db } = await testDatabase(t, dialect);
      await signedLog(db);
      // As migration 0022 leaves the heads signed before it.
      await sql`update audit_heads set checkpoint_origin = null, checkpoint_signature = null`.execute(db);
      assert.equal(await checkpointsOf(db).latest(), undefined, 'no checkpoint to submit before the start');
      await assert.rejects(checkpointsOf(db).latestView(), /signed before the log signed checkpoints/);

      // The root stored for head 6 no longer reproduces: the log refuses to start, and signs no checkpoint for it.
      const [sixth] = (await sql<{ root_hash: Buffer }>`select root_hash from audit_heads where tree_size = 6`.execute(db)).rows;
      await sql`update audit_heads set root_hash = ${Buffer.alloc(32, 1)} where tree_size = 6`.execute(db);
      await assert.rejects(auditLog(db, ORIGIN).start(), /not signed by this server's audit key|no longer reproduces/);
      await sql`update audit_heads set root_hash = ${sixth!.root_hash} where tree_size = 6`.execute(db);
      assert.equal((await createStore(db).audit.latestHead())?.checkpoint, undefined);

      const log = auditLog(db, ORIGIN);
      await log.start();
      const views = await checkpointsOf(db).views(await createStore(db).audit.latestHeads(10));
      assert.deepEqual(views.map((view) => [view.head.size, view.note !== undefined]), [[6, true], [3, false], [1, false]]);
      const { checkpoint } = openCheckpoint(views[0]!.note!, [logVerifier(ORIGIN, key.publicKey)]);
      assert.equal(checkpoint.size, 6);
      assert.equal((await checkpointsOf(db).latest())?.note, views[0]!.note);
      await log.close();
    });
  });
}
