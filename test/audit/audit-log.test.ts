/**
 * The audit log's append path (issue 5): group commit over a real database (SQLite, and PostgreSQL
 * when the tests have a server), the Merkle tree it keeps beside the entries, and the signed tree heads.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { storedLeafHash } from '../../src/audit/entry-leaf.js';
import { MemorySubtreeStore, appendLeavesSync, consistencyProofPlan, inclusionProofPlan, rootHashPlan, rootHashSync } from '../../src/audit/merkle-tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle-verify.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { verifyTreeHead } from '../../src/audit/tree-head.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { entryFromColumnsJson } from '../../src/store/audit-rows.js';
import { releasedVolume } from '../../src/store/inventory-queries.js';
import { openPostgres } from '../../src/store/database.js';
import { createStore, type Store } from '../../src/store/store.js';
import { DIALECTS, freshDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const key = loadOrCreateAuditSigningKey(undefined);
const blinding = loadOrCreateAuditBlinding(undefined);

function entry(i: number, requestId = `req-${i}`): AuditEntry {
  return {
    at: NOW + i, requestId, appId: 'app', partnerId: 'partner', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 7}`, purpose: 'device_experience',
    outcome: 'released', code: null, released: ['id', 'name'], withheld: i % 2 ? { email: 'sensitive_field' } : {},
  };
}

/** A log over a fresh database; `transactions()` counts the transactions it opened. */
async function world(t: TestContext, dialect: Dialect, options: Partial<AuditLogOptions> = {}) {
  const database = await freshDatabase(dialect);
  const db = database.db;
  const store = createStore(db);
  let transactions = 0;
  const originalTransaction = db.transaction.bind(db);
  db.transaction = () => { transactions++; return originalTransaction(); };
  const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, ...options });
  t.after(async () => {
    await log.close();
    await database.drop();
  });
  return { db, store, log, transactions: () => transactions };
}

/** The tree recomputed from the stored entries alone (the leaf hashes re-derived from the columns). */
async function recomputedTree(store: Store) {
  const tree = new MemorySubtreeStore();
  const entries = await store.audit.hashedEntries(0, 1_000_000);
  const hashes = entries.map(({ entry: e }) => storedLeafHash(e, blinding));
  tree.put(appendLeavesSync(tree, 0, hashes).writes);
  return { tree, size: hashes.length, hashes };
}

for (const dialect of DIALECTS) {
  describe(`audit log on ${dialect}`, () => {
    describe('group commit', () => {
      test('concurrent appends share one transaction, in arrival order, and all resolve after it commits', async (t) => {
        const { store, log, transactions } = await world(t, dialect, { maxDelayMs: 50 });
        const before = transactions();
        const appends = Array.from({ length: 40 }, (_, i) => log.append([entry(2 * i), entry(2 * i + 1)]));
        assert.equal(await store.audit.count(), 0, 'nothing is written before the batch commits');
        await Promise.all(appends);
        assert.equal(transactions() - before, 1);
        const stored = await store.audit.hashedEntries(0, 1000);
        assert.deepEqual(stored.map((s) => s.entry.requestId), Array.from({ length: 80 }, (_, i) => `req-${i}`));
        assert.deepEqual(stored.map((s) => s.entry.seq), Array.from({ length: 80 }, (_, i) => i + 1));
      });

      test('a batch with only work and no entries commits that work and signs no second head of the same size', async (t) => {
        const { store, log } = await world(t, dialect, { headIntervalMs: 0 });
        await log.append([entry(0)]);
        let ran = 0;
        await log.append([], async () => { ran++; });
        assert.equal(ran, 1);
        assert.deepEqual((await store.audit.heads()).map((h) => h.size), [1]);
      });

      test('a batch is committed as soon as it holds maxBatchEntries, without waiting for the delay', async (t) => {
        const { store, log } = await world(t, dialect, { maxBatchEntries: 10, maxDelayMs: 60_000 });
        await log.append(Array.from({ length: 10 }, (_, i) => entry(i)));
        assert.equal(await store.audit.count(), 10);
      });

      test('a full batch appended as the previous batch resolves is committed too (no append waits forever)', async (t) => {
    const { store, log } = await world(t, dialect, { maxBatchEntries: 20, maxDelayMs: 60_000 });
    await log.append(Array.from({ length: 20 }, (_, i) => entry(i)));
    // Runs in the first append's continuation, before the first commit loop has wound up.
    await log.append(Array.from({ length: 20 }, (_, i) => entry(20 + i)));
    assert.equal(await store.audit.count(), 40);
  });

  test('appends that arrive while a batch commits go into the next batch, and none is lost', async (t) => {
        const { store, log } = await world(t, dialect, { maxBatchEntries: 7, maxDelayMs: 1 });
        const appends: Promise<void>[] = [];
        for (let i = 0; i < 300; i++) {
          appends.push(log.append([entry(i)]));
          if (i % 37 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.all(appends);
        const stored = await store.audit.hashedEntries(0, 1000);
        assert.deepEqual(stored.map((s) => s.entry.requestId), Array.from({ length: 300 }, (_, i) => `req-${i}`));
      });

      test('work done with the entries commits in their transaction; when it fails, the whole batch fails and nothing is kept', async (t) => {
        const { store, log } = await world(t, dialect, { maxDelayMs: 20 });
        const good = log.append([entry(1)]);
        const bad = log.append([entry(2)], async () => { throw new Error('disk full'); });
        await assert.rejects(good, /disk full/);
        await assert.rejects(bad, /disk full/);
        assert.equal(await store.audit.count(), 0);
        await log.append([entry(3)]);
        assert.deepEqual((await store.audit.hashedEntries(0, 10)).map((s) => s.entry.requestId), ['req-3']);
      });

      test('the stored leaves and subtrees give the same root and proofs as the tree recomputed from the entries', async (t) => {
        const { store, log } = await world(t, dialect, { maxBatchEntries: 13, maxDelayMs: 1 });
        for (let round = 0; round < 9; round++) {
          await Promise.all(Array.from({ length: round * 5 + 1 }, (_, i) => log.append([entry(round * 100 + i)])));
        }
        const { tree, size, hashes } = await recomputedTree(store);
        assert.equal(await store.audit.treeSize(), size);
        const stored = await store.audit.hashedEntries(0, 1000);
        assert.deepEqual(stored.map((s) => s.leafHash), hashes.map(() => null), 'a blinded leaf hash is never stored');
        const audit = store.audit.withBlinding(blinding);
        for (const n of [1, 2, 3, 7, 8, 64, size]) {
          const root = rootHashSync(tree, n);
          assert.deepEqual(await audit.run(rootHashPlan(n)), root, `root of ${n}`);
          for (const index of [0, Math.floor(n / 2), n - 1]) {
            const proof = await audit.run(inclusionProofPlan(index, n));
            assert.ok(verifyInclusion(hashes[index]!, index, n, proof, root), `inclusion of ${index} in ${n}`);
          }
          for (const m of [1, Math.floor(n / 3), n]) {
            if (m < 1 || m > n) continue;
            const proof = await audit.run(consistencyProofPlan(m, n));
            assert.ok(verifyConsistency(m, n, rootHashSync(tree, m), root, proof), `consistency ${m} → ${n}`);
          }
        }
      });
    });

    describe('the counts the reports read', () => {
      test('each batch adds its members to the sets as one delta per set, and no per-member row', async (t) => {
        const { db, log } = await world(t, dialect, { maxDelayMs: 1 });
        // A request's released friends, each a member of their own.
        for (let batch = 0; batch < 30; batch++) {
          await log.append(Array.from({ length: 10 }, (_, i) => ({ ...entry(batch * 10 + i), subjectMemberId: `s${batch * 10 + i}` })));
        }
        const count = async (table: 'audit_release_days' | 'audit_exposure' | 'audit_token_months' | 'member_set_deltas' | 'member_sets') =>
          Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
        assert.deepEqual(await Promise.all([count('audit_release_days'), count('audit_exposure'), count('audit_token_months')]), [0, 0, 0]);
        // Five sets a batch (the release day, the token members, exposure `*`, `id` and `name`), merged now and then.
        const rows = (await count('member_set_deltas')) + (await count('member_sets'));
        assert.ok(rows <= 30 * 5, `${rows} set rows after 30 batches`);
        const volume = (await releasedVolume(db, NOW, NOW + 1_000)).get('agr');
        assert.equal(volume?.members, 300, 'every released member counted once');
      });

      test('a batch that fails leaves no member number behind: the members it numbered are numbered again, each their own', async (t) => {
        const { db, log } = await world(t, dialect, { maxDelayMs: 1 });
        const released = (i: number, subject: string) => ({ ...entry(i), subjectMemberId: subject });
        await log.append([released(0, 'known')]);
        await assert.rejects(log.append([released(1, 'new_1')], async () => { throw new Error('the batch fails'); }), /the batch fails/);
        // SQLite gives `new_2` the number `new_1` had in the transaction rolled back.
        await log.append([released(2, 'new_2')]);
        await log.append([released(3, 'new_1')]);
        const volume = (await releasedVolume(db, NOW, NOW + 1_000)).get('agr');
        assert.equal(volume?.members, 3);
      });
    });

    describe('the bulk reads of audit verify and export', () => {
      test('entriesAsJson and nodesAtHex give the same entries, leaf hashes and nodes as the row reads', async (t) => {
        const { store, log } = await world(t, dialect, { maxBatchEntries: 5, maxDelayMs: 1 });
        await Promise.all(Array.from({ length: 23 }, (_, i) => log.append([{ ...entry(i), detail: i === 3 ? { b: 1, a: 'x' } : null }])));
        const rows = await store.audit.hashedEntries(0, 100);
        const fromJson = (await store.audit.entriesAsJson(0, 100)).map(entryFromColumnsJson);
        assert.deepEqual(fromJson.map((e) => e.entry), rows.map((r) => r.entry));
        assert.deepEqual(fromJson.map((e) => e.leafHashHex), rows.map(() => null));
        for (const level of [1, 2, 3]) {
          const nodes = await store.audit.nodesAt(level, 0, 100);
          assert.deepEqual(await store.audit.nodesAtHex(level, 0, 100), { count: nodes.length, hex: nodes.map((n) => n.hash.toString('hex')).join('') });
        }
        assert.deepEqual(await store.audit.nodesAtHex(9, 0, 100), { count: 0, hex: '' });
      });
    });

    describe('signed tree heads', () => {
      test('a quiet log signs a head with each batch; each head verifies and matches the recomputed root', async (t) => {
        const { store, log } = await world(t, dialect, { headIntervalMs: 0 });
        await log.append([entry(0)]);
        await log.append([entry(1), entry(2)]);
        const heads = await store.audit.heads();
        assert.deepEqual(heads.map((h) => h.size), [1, 3]);
        const { tree } = await recomputedTree(store);
        for (const head of heads) {
          assert.ok(verifyTreeHead(head, key.publicKey));
          assert.equal(head.keyId, key.keyId);
          assert.deepEqual(head.root, rootHashSync(tree, head.size));
          assert.equal(head.timestamp, NOW);
        }
      });

      test('under load at most one head per interval is signed in a batch, and the entries after it get a head when the log closes', async (t) => {
        const { store, log } = await world(t, dialect, { headIntervalMs: 3_600_000, maxDelayMs: 1 });
        for (let i = 0; i < 5; i++) await log.append([entry(i)]);
        assert.deepEqual((await store.audit.heads()).map((h) => h.size), [1]);
        await log.close();
        assert.deepEqual((await store.audit.heads()).map((h) => h.size), [1, 5]);
      });

      test('signHeadIfBehind signs only when the log grew since the latest head', async (t) => {
        const { store, log } = await world(t, dialect, { headIntervalMs: 3_600_000 });
        const first = await log.signHeadIfBehind(true);
        assert.equal(first?.size, 0, 'the empty log gets a head too');
        assert.equal(await log.signHeadIfBehind(true), undefined);
        await store.audit.append([entry(1)]); // a staff action's own transaction
        assert.equal((await log.signHeadIfBehind())?.size, 1);
      });
    });
  });
}

/**
 * Two server instances on one PostgreSQL database: each has its own pool and its own AuditLog,
 * and their batches (and a staff action's own transaction) interleave. The advisory lock that
 * every append takes must still make one log: every entry once, seq 1..n without a gap, and every
 * head either instance signed a signature over the root of exactly the first `size` entries.
 */
if (DIALECTS.includes('postgres')) {
  describe('two instances appending to one PostgreSQL database', () => {
    test('give one gap-free log whose heads all verify', async (t) => {
      const { db, url, drop } = await freshDatabase('postgres');
      const second = openPostgres(url!);
      const options = { clock: () => NOW, signingKey: key, blinding, maxBatchEntries: 9, maxDelayMs: 1, headIntervalMs: 0 };
      const logs = [new AuditLog({ db, ...options }), new AuditLog({ db: second, ...options })];
      t.after(async () => {
        await Promise.allSettled(logs.map((log) => log.close()));
        await second.destroy();
        await drop();
      });
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < 600; i++) {
        appends.push(i % 50 === 49 ? createStore(second).audit.append([entry(i)]) : logs[i % 2]!.append([entry(i)]));
        if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 1)); // many small batches, overlapping
      }
      await Promise.all(appends);
      await Promise.all(logs.map((log) => log.close()));

      const store = createStore(db);
      const stored = await store.audit.hashedEntries(0, 10_000);
      assert.deepEqual(stored.map((s) => s.entry.seq), Array.from({ length: 600 }, (_, i) => i + 1), 'seq 1..600, no gap');
      assert.deepEqual(stored.map((s) => s.entry.requestId).sort(), Array.from({ length: 600 }, (_, i) => `req-${i}`).sort());
      const { tree } = await recomputedTree(store);
      assert.ok(stored.every((s) => s.leafHash === null), 'a blinded leaf hash is never stored');
      const heads = await store.audit.heads();
      // How many batches (and so heads) there are depends on how the two interleave; never fewer than two.
      assert.ok(heads.length >= 2, `heads signed: ${heads.length}`);
      assert.equal(heads.at(-1)!.size, 600);
      for (const head of heads) {
        assert.ok(verifyTreeHead(head, key.publicKey), `head ${head.size} verifies`);
        assert.deepEqual(head.root, rootHashSync(tree, head.size), `head ${head.size} signs the root of the first ${head.size} entries`);
      }
      assert.deepEqual(await store.audit.withBlinding(blinding).run(rootHashPlan(600)), rootHashSync(tree, 600), 'the stored subtrees agree');
    });
  });
}
