/**
 * The audit log's storage since migration 0020 (issue 11, point 3): a request's shared fields once,
 * a short row per subject, Merkle nodes only from level 4. A log written before the migration goes
 * on as one log with the new rows (verified, exported and proved across the boundary), and a
 * friend-list page costs the database at most 150 bytes per audited subject.
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { Migrator, sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { encodeEntry } from '../../src/audit/canonical-entry.js';
import { leafHashAt } from '../../src/audit/entry-leaf.js';
import { verifyExport } from '../../src/audit/export-verifier.js';
import { writeExport } from '../../src/audit/log-export.js';
import { LogProofs } from '../../src/audit/log-proofs.js';
import { leafHash } from '../../src/audit/merkle-hash.js';
import {
  LOWEST_STORED_LEVEL, MemorySubtreeStore, appendLeavesSync, consistencyProofPlan, inclusionProofPlan, inclusionProofSync, rootHashSync,
} from '../../src/audit/merkle-tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle-verify.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { verifyStoredLog } from '../../src/audit/stored-log-verifier.js';
import { signTreeHead } from '../../src/audit/tree-head.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { ENTRY_COLUMNS, pushEntryColumns } from '../../src/store/audit-rows.js';
import { migrateToLatest, openSqlite, type Db } from '../../src/store/database.js';
import { prng } from '../../bench/prng.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, emptyPostgresDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const key = loadOrCreateAuditSigningKey(undefined);
const blinding = loadOrCreateAuditBlinding(undefined);

/** Entry `i` of request `request`: its served entry first (counting friends passed over), then friends shown. */
function pageEntry(request: number, i: number, subject: string): AuditEntry {
  const shared = {
    at: NOW + request * 1000, requestId: `req-${request}`, appId: 'app', partnerId: 'p_1', agreementId: 'agr', agreementVersion: 3,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm_token0001', purpose: 'device_experience',
  };
  if (i === 0) {
    return { ...shared, subjectMemberId: null, outcome: 'served', code: null, released: [], withheld: {}, passedOver: { count: 7, reason: 'friend_opted_out' } };
  }
  // Friends differ in what they have and share: a few distinct lists over a page.
  return {
    ...shared, subjectMemberId: subject, outcome: 'released', code: 'through_friend',
    released: i % 3 === 0 ? ['id', 'name'] : ['id', 'name', 'birthday'],
    withheld: i % 4 === 0 ? { religion: 'sensitive_field', location: 'audience_restricted' } : { religion: 'sensitive_field' },
  };
}

function staffAction(i: number): AuditEntry {
  return {
    at: NOW + i, requestId: `staff-${i}`, appId: null, partnerId: 'p_1', agreementId: null, agreementVersion: null,
    rulesVersion: RULES_VERSION, tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'staff_action',
    code: 'partner.update', released: [], withheld: {}, actor: 'st_1', action: 'partner.update', detail: { field: 'webhook_url', n: i },
  };
}

/** A page of `friends` friends shown, as one request appends it. */
function page(request: number, friends: number): AuditEntry[] {
  return Array.from({ length: friends + 1 }, (_, i) => pageEntry(request, i, `m_${(request * 7919 + i * 104_729).toString(36).padStart(10, '0')}`));
}

async function migrateTo(db: Db, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(name);
  if (error) throw error;
}

async function emptyDatabase(t: TestContext, dialect: Dialect): Promise<Db> {
  if (dialect === 'postgres') return (await emptyPostgresDatabase(t)).db;
  const db = openSqlite(':memory:');
  t.after(() => db.destroy());
  return db;
}

/**
 * What a server before migration 0020 left: entries in audit_entries (the first `legacyFormat1` in
 * the legacy canonical form with their stored leaf hash, the rest blinded), every complete node from
 * level 1 in audit_nodes, and a signed head over them all.
 */
async function writeOldLog(db: Db, entries: readonly AuditEntry[], legacyFormat1: number): Promise<Buffer[]> {
  const hashes = entries.map((entry, i) => (i < legacyFormat1 ? leafHash(encodeEntry(entry)) : leafHashAt(entry, i, blinding)));
  for (const [i, entry] of entries.entries()) {
    const values: unknown[] = [];
    pushEntryColumns(values, entry);
    const row = Object.fromEntries(ENTRY_COLUMNS.map((column, k) => [column, values[k]]));
    const old = i < legacyFormat1 ? { format: 1, leaf_hash: hashes[i] } : { format: 2, leaf_hash: null };
    await db.insertInto('audit_entries').values({ ...row, ...old, seq: i + 1 } as never).execute();
  }
  const tree = new MemorySubtreeStore();
  const { writes } = appendLeavesSync(tree, 0, hashes);
  for (const w of writes.filter((w) => w.level > 0)) await db.insertInto('audit_nodes').values({ level: w.level, idx: w.index, hash: w.hash }).execute();
  tree.put(writes);
  const head = signTreeHead(key.privateKey, entries.length, rootHashSync(tree, entries.length), NOW);
  await db.insertInto('audit_heads').values({
    tree_size: head.size, root_hash: head.root, timestamp: head.timestamp, signature: head.signature, key_id: key.keyId,
  }).execute();
  return hashes;
}

async function exportText(store: ReturnType<typeof createStore>, from: number, to: number): Promise<string> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  await writeExport(store.audit, { from, to, publicKeyPem: key.publicKeyPem, blinding, out });
  return Buffer.concat(chunks).toString('utf8');
}

for (const dialect of DIALECTS) {
  describe(`the lean audit log on ${dialect}`, () => {
    test('a log begun before migration 0020 and continued after it verifies, exports and proves as one log across the boundary', async (t) => {
      const db = await emptyDatabase(t, dialect);
      await migrateTo(db, '0019-staff-credentials');
      const old = [...page(0, 9), staffAction(1), ...page(1, 12), ...page(2, 12)]; // 37 entries, 11 of them legacy form
      const hashes = await writeOldLog(db, old, 11);
      await migrateToLatest(db);

      const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, headIntervalMs: 0 });
      await log.start(); // the stored tree reproduces the old head
      const added = [page(3, 4), [staffAction(2)], page(4, 30), page(5, 0), [staffAction(3), staffAction(4)], page(6, 9)];
      for (const entries of added) await log.append(entries);
      await log.close();
      const all = [...old, ...added.flat()];
      const size = all.length;
      assert.equal(size, 87, 'a size not a multiple of 16');
      for (let i = old.length; i < size; i++) hashes.push(leafHashAt(all[i]!, i, blinding));
      const tree = new MemorySubtreeStore();
      tree.put(appendLeavesSync(tree, 0, hashes).writes);

      const store = createStore(db);
      const audit = store.audit.withBlinding(blinding);
      assert.equal(await audit.treeSize(), size);
      assert.equal(Number((await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 37, 'nothing appended to the frozen table');
      const requests = await db.selectFrom('audit_requests').select(['first_seq', 'leaf_count']).orderBy('first_seq').execute();
      assert.deepEqual(requests.map((r) => [Number(r.first_seq), Number(r.leaf_count)]), [[38, 5], [43, 1], [44, 31], [75, 1], [76, 1], [77, 1], [78, 10]],
        'one row per request or staff action, its leaves contiguous');
      const read = await audit.entriesAfter(0, 1000);
      assert.deepEqual(read, all.map((entry, i) => ({
        actor: null, action: null, detail: null, passedOver: null, ...entry, seq: i + 1, format: i < 11 ? 1 : 2,
      })), 'every entry reads back as it was appended, legacy and new alike');

      for (const head of await audit.heads()) assert.deepEqual(head.root, rootHashSync(tree, head.size), `head ${head.size}`);
      const verified = await verifyStoredLog(audit, { key: { publicKey: key.publicKey, keyId: key.keyId }, blinding, pageSize: 10 });
      assert.ok(verified.ok, verified.ok ? '' : verified.problem.message);
      assert.equal(verified.entries, size);

      const lowStored = await db.selectFrom('audit_nodes').select(['level', 'idx']).where('level', '<', LOWEST_STORED_LEVEL).execute();
      assert.ok(lowStored.every((n) => (Number(n.idx) + 1) * 2 ** n.level <= 37), 'no node below level 4 stored over the new leaves');
      assert.ok(lowStored.length > 0, 'the old log\'s low nodes stay');
      await db.deleteFrom('audit_nodes').where('level', '<', LOWEST_STORED_LEVEL).execute();

      for (const [from, to] of [[0, size], [20, 60], [37, 87], [40, 43]] as const) {
        const result = await verifyExport(Readable.from([await exportText(store, from, to)]), { key: { publicKey: key.publicKey, keyId: key.keyId } });
        assert.ok(result.ok, `export [${from}, ${to}): ${result.ok ? '' : result.problem.message}`);
      }
      for (const n of [37, 38, 43, 50, 74, 87]) {
        const root = rootHashSync(tree, n);
        for (let index = 0; index < n; index++) {
          const proof = await audit.run(inclusionProofPlan(index, n));
          assert.ok(verifyInclusion(hashes[index]!, index, n, proof, root), `inclusion of ${index} in ${n}`);
        }
        for (let m = 1; m < n; m += 3) {
          const proof = await audit.run(consistencyProofPlan(m, n));
          assert.ok(verifyConsistency(m, n, rootHashSync(tree, m), root, proof), `consistency ${m} → ${n}`);
        }
      }
      // As the endpoints serve them (on SQLite through the proof reads' own statements), a block of legacy and new leaves included.
      const proofs = new LogProofs(audit);
      for (const { size: n } of await audit.heads()) {
        for (let index = 0; index < n; index++) {
          const proof = await proofs.inclusion(index, n);
          assert.deepEqual(proof.leafHash, hashes[index], `leaf ${index}`);
          assert.deepEqual(proof.path, inclusionProofSync(tree, index, n), `served inclusion of ${index} in ${n}`);
        }
      }
    });
  });
}

/**
 * dbstat names of the counts kept on append (migrations 0021, 0028) and of the member sets with their deltas (0036).
 * `member_numbers` is left out: a row per member, written when the member joins, not per audited subject.
 */
const COUNTS = sql.raw(['audit_daily_counts', 'audit_release_', 'audit_exposure', 'audit_field_months', 'audit_token_months', 'member_set']
  .map((table) => `name like '${table}%'`).join(' or '));

describe('bytes per audited subject', () => {
  test('300 friend-list pages of 100 grow the log\'s tables by at most 150 bytes per subject (the counts kept on append reported beside)', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateToLatest(db);
    const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, headIntervalMs: 0 });
    // Pages per table (dbstat), split into the counts kept on append (migration 0021) and everything else the log writes.
    const bytes = async () => {
      const { rows } = await sql<{ counts: number; rest: number }>`
        select coalesce(sum(case when ${COUNTS} then pgsize end), 0) as counts,
               coalesce(sum(case when ${COUNTS} then 0 else pgsize end), 0) as rest
        from dbstat where name not like 'member_numbers%'`.execute(db);
      return { counts: Number(rows[0]!.counts), rest: Number(rows[0]!.rest) };
    };
    const pages = 300;
    // The friends are members of a world of a million, numbered as they joined: spread across it, not side by side.
    const subjects = new Set(Array.from({ length: pages + 10 }, (_, r) => page(r, 100)).flat().flatMap((e) => [e.subjectMemberId, e.tokenMemberId]));
    const draw = prng(2018);
    const numbers = new Set<number>();
    const numbered = [...subjects].filter((id) => id !== null).map((member_id) => {
      let number: number;
      do number = Math.floor(draw() * 1_000_000); while (numbers.has(number));
      numbers.add(number);
      return { number, member_id };
    });
    for (let start = 0; start < numbered.length; start += 500) await db.insertInto('member_numbers').values(numbered.slice(start, start + 500)).execute();
    for (let request = 0; request < 10; request++) await log.append(page(request, 100)); // the tables' first pages
    const before = await bytes();
    await Promise.all(Array.from({ length: pages }, (_, r) => log.append(page(10 + r, 100))));
    await log.close();
    const after = await bytes();
    const perSubject = (after.rest - before.rest) / (pages * 100);
    const countsPerSubject = (after.counts - before.counts) / (pages * 100);
    t.diagnostic(`${perSubject.toFixed(1)} bytes per audited subject for the log (target 150), ` +
      `${countsPerSubject.toFixed(1)} more for the counts kept on append (every subject a new member of the day and month): ` +
      `${(perSubject + countsPerSubject).toFixed(1)} in all`);
    assert.ok(perSubject <= 150, `${perSubject} bytes per subject`);
    assert.ok(countsPerSubject > 0, 'the counts kept on append are measured');
    assert.ok(perSubject + countsPerSubject <= 150, `${perSubject} + ${countsPerSubject} bytes per subject`);
  });
});
