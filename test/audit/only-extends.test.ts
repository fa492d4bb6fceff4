/**
 * Issue 11, point 1: the log signs only trees that extend its last signed head. Someone with write
 * access to the database and no key edits an entry, recomputes the stored nodes above it, deletes
 * the heads from there on and restarts the server: it must refuse to start rather than sign the
 * forged tree. The same for a log truncated under its last head. Also: appends and edits made
 * under a running log never change what it signs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { leafHashAt } from '../../src/audit/entry-leaf.js';
import { MemorySubtreeStore, appendLeavesSync, rootHashSync } from '../../src/audit/merkle-tree.js';
import { readSavedHead, savedHeadPath } from '../../src/audit/saved-head.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { Overloaded } from '../../src/domain/errors.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import type { StoredAuditEntry } from '../../src/store/audit-rows.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, freshDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function entry(i: number): AuditEntry {
  return {
    at: NOW + i, requestId: `req-${i}`, appId: 'app', partnerId: 'partner', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 7}`, purpose: 'device_experience',
    outcome: 'released', code: null, released: ['id', 'name'], withheld: {},
  };
}

/** A data directory (keys and the saved head) and a database holding a signed log of `size` entries. */
async function signedLog(t: TestContext, dialect: Dialect, size: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-only-extends-'));
  const database = await freshDatabase(dialect);
  t.after(async () => {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const options: AuditLogOptions = {
    db: database.db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(dataDir),
    blinding: loadOrCreateAuditBlinding(dataDir), savedHeadFile: savedHeadPath(dataDir), headIntervalMs: 0,
  };
  const first = new AuditLog(options);
  await first.start();
  for (let i = 0; i < size; i += 5) await first.append(Array.from({ length: Math.min(5, size - i) }, (_, k) => entry(i + k)));
  await first.close();
  const store = createStore(database.db);
  /** A new log over the same data directory and database: what a restarted server makes. */
  const restart = (extra: Partial<AuditLogOptions> = {}) => new AuditLog({ ...options, ...extra });
  return { store, db: database.db, dataDir, options, restart };
}

/**
 * The attacker's rewrite: entry `index` edited (in its own row, `leaf`, or in what it shares with its request,
 * `request`), every stored node above it recomputed, heads from there on deleted.
 */
async function rewrite(log: Awaited<ReturnType<typeof signedLog>>, index: number, where: 'leaf' | 'request' = 'request') {
  const { store, db, options } = log;
  const seq = index + 1;
  const forged = (e: StoredAuditEntry) => (where === 'leaf' ? { ...e, subjectMemberId: 'm_forged' } : { ...e, purpose: 'advertising' });
  const entries = (await store.audit.entriesAfter(0, 1_000_000)).map((e) => (e.seq === seq ? forged(e) : e));
  if (where === 'leaf') await sql`update audit_leaves set subject_member_id = 'm_forged' where seq = ${seq}`.execute(db);
  else await sql`update audit_requests set purpose = 'advertising' where first_seq = ${seq} and leaf_count = 1`.execute(db);
  assert.deepEqual((await store.audit.bySeq([seq])).get(seq), { ...entries[index], format: 2 }, 'the edit is what the log now reads');
  // The attacker knows no blinding key either: suppose the worst, that they do, so every node is right for the forged entry.
  const tree = new MemorySubtreeStore();
  tree.put(appendLeavesSync(tree, 0, entries.map((e, i) => leafHashAt(e, i, options.blinding))).writes);
  for (let level = 1; 2 ** level <= entries.length; level++) {
    for (let idx = 0; (idx + 1) * 2 ** level <= entries.length; idx++) {
      await sql`update audit_nodes set hash = ${tree.getNodeSync(level, idx)!} where level = ${level} and idx = ${idx}`.execute(db);
    }
  }
  await sql`delete from audit_heads where tree_size > ${index}`.execute(db);
  return rootHashSync(tree, entries.length);
}

for (const dialect of DIALECTS) {
  describe(`only-extends signing on ${dialect}`, () => {
    for (const where of ['request', 'leaf'] as const) {
      test(`an entry edited in its ${where} row, the nodes above it recomputed and the later heads deleted: the restarted log refuses to start`, async (t) => {
        const log = await signedLog(t, dialect, 40);
        const signed = readSavedHead(savedHeadPath(log.dataDir))!;
        assert.equal(signed.size, 40, 'the last head is kept outside the database');
        await rewrite(log, 17, where);
        assert.ok(((await log.store.audit.latestHead())?.size ?? 0) <= 17, 'the database keeps no head over the forged entry');
        const restarted = log.restart();
        await assert.rejects(restarted.start(), /no longer reproduces its last signed tree head \(tree_size 40\)/);
        await assert.rejects(restarted.append([entry(99)]), /no longer reproduces its last signed tree head/);
        assert.equal((await log.store.audit.heads(18)).length, 0, 'nothing was signed over the forged tree');
      });
    }

    test('the last entries deleted under the last signed head: the restarted log refuses to start', async (t) => {
      const log = await signedLog(t, dialect, 40);
      await sql`delete from audit_leaves where seq > 33`.execute(log.db);
      await sql`delete from audit_heads where tree_size > 33`.execute(log.db);
      await assert.rejects(log.restart().start(), /holds 33 entries but a signed tree head covers 40/);
    });

    test('a running log whose database is rewritten underneath goes on signing the true tree only', async (t) => {
      const log = await signedLog(t, dialect, 40);
      const running = log.restart();
      await running.start();
      await running.append([entry(40)]);
      const trueTree = new MemorySubtreeStore();
      const entries = await log.store.audit.entriesAfter(0, 1_000);
      trueTree.put(appendLeavesSync(trueTree, 0, entries.map((e) => leafHashAt(e, e.seq - 1, log.options.blinding))).writes);
      await rewrite(log, 3);
      await running.append([entry(41)]);
      const next = await running.signHeadIfBehind();
      const head = next ?? (await log.store.audit.latestHead())!;
      assert.equal(head.size, 42);
      const honest = new MemorySubtreeStore();
      honest.put(appendLeavesSync(honest, 0, [
        ...entries.map((e) => leafHashAt(e, e.seq - 1, log.options.blinding)),
        leafHashAt(entry(41), 41, log.options.blinding),
      ]).writes);
      assert.deepEqual(head.root, rootHashSync(honest, 42), 'the head is over the entries as they were appended');
      await running.close();
    });

    test('a full append queue refuses at once with Overloaded (503, Retry-After) instead of growing', async (t) => {
      const log = await signedLog(t, dialect, 0);
      const bounded = log.restart({ maxQueuedEntries: 1, maxDelayMs: 60_000, maxBatchEntries: 1000 });
      const waiting = bounded.append([entry(0)]); // queued: its batch waits for the timer
      await assert.rejects(bounded.append([entry(1)]), (error: unknown) =>
        error instanceof Overloaded && error.status === 503 && error.code === 'overloaded' && error.retryAfterSeconds >= 1);
      await bounded.flush();
      await waiting;
      const accepted = bounded.append([entry(1)]); // the queue drained: accepted again
      await bounded.close();
      await accepted;
      assert.equal(await log.store.audit.treeSize(), 2);
    });
  });
}
