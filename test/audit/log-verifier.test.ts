/**
 * The audit log's verifiers (issue 5): the streaming compact range against merkle-tree.ts, the
 * offline verifier over exports built in memory, and the database verifier over in-memory SQLite.
 * The CLI and tampering of a real database file are in test/cli/audit.test.ts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { leafHashAt } from '../../src/audit/entry-leaf.js';
import { encodeEntry } from '../../src/audit/canonical-entry.js';
import { verifyExport } from '../../src/audit/export-verifier.js';
import { EXPORT_FORMAT, type ExportHeader } from '../../src/audit/log-export.js';
import { CompactRange, MerkleHasher, type VerifyResult } from '../../src/audit/log-verifier.js';
import { leafHash, nodeHash } from '../../src/audit/merkle-hash.js';
import { MemorySubtreeStore, appendLeavesSync, completeSubtrees, rootHashPlan, rootHashSync, type NodeWrite } from '../../src/audit/merkle-tree.js';
import { auditPublicKeyFromPem, loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { verifyStoredLog } from '../../src/audit/stored-log-verifier.js';
import { signTreeHead, treeHeadToJson } from '../../src/audit/tree-head.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { createStore, type Store } from '../../src/store/store.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const key = loadOrCreateAuditSigningKey(undefined);
const verifyKey = { publicKey: key.publicKey, keyId: key.keyId };
const otherKey = loadOrCreateAuditSigningKey(undefined);
const blinding = loadOrCreateAuditBlinding(undefined);

function entry(i: number): AuditEntry {
  if (i % 5 === 4) {
    return {
      at: NOW + i, requestId: `req-${i}`, appId: null, partnerId: 'p_1', agreementId: null, agreementVersion: null,
      rulesVersion: RULES_VERSION, tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'staff_action',
      code: 'partner.update', released: [], withheld: {}, actor: 'staff-1', action: 'partner.update',
      detail: { z: [i, { b: true, a: null }], name: 'Zoë 😀' },
    };
  }
  return {
    at: NOW + Math.floor(i / 3), requestId: `req-${Math.floor(i / 3)}`, appId: 'app', partnerId: 'p_1', agreementId: 'agr', agreementVersion: 2,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 7}`, purpose: 'device_experience',
    outcome: i % 2 ? 'released' : 'withheld', code: i % 2 ? null : 'sensitive_field', released: ['id', 'name'],
    withheld: i % 2 ? {} : { religion: 'sensitive_field', email: 'not_in_agreement' },
  };
}

/** The reference tree of merkle-tree.ts over entries 0..n-1. */
function memoryTree(n: number) {
  const store = new MemorySubtreeStore();
  const leaves = Array.from({ length: n }, (_, i) => leafHash(encodeEntry(entry(i))));
  const writes: NodeWrite[] = [];
  for (let i = 0; i < n; i++) {
    const { writes: w } = appendLeavesSync(store, i, [leaves[i]!]);
    store.put(w);
    writes.push(...w.filter((x) => x.level > 0));
  }
  return { store, leaves, writes };
}

const hex = (b: Buffer) => b.toString('hex');

function assertProblem(result: VerifyResult, kind: string, message: RegExp) {
  assert.equal(result.ok, false, 'expected a problem');
  if (result.ok) return;
  assert.equal(result.problem.kind, kind, result.problem.message);
  assert.match(result.problem.message, message);
}

describe('MerkleHasher and CompactRange', () => {
  test("the hashes are merkle-hash.ts's, for any input length", () => {
    const hasher = new MerkleHasher();
    for (const text of ['', 'a', 'é😀 \u0000 end', 'x'.repeat(5000), encodeEntry(entry(4)).toString()]) {
      assert.equal(hasher.leafOfText(text), hex(leafHash(Buffer.from(text))), `text of ${text.length}`);
      assert.equal(hasher.leaf(Buffer.from(text)), hex(leafHash(Buffer.from(text))));
    }
    const [a, b] = [leafHash(Buffer.from('a')), leafHash(Buffer.from('b'))];
    assert.equal(hasher.node(hex(a), hex(b)), hex(nodeHash(a, b)));
  });

  test('the root after every size 0..130 and around powers of two is RFC 9162 MTH', () => {
    const n = 1100;
    const { store, leaves } = memoryTree(n);
    const range = new CompactRange(new MerkleHasher());
    const check = (size: number) => [...Array(131).keys(), 255, 256, 257, 511, 512, 513, 1023, 1024, 1025].includes(size);
    assert.equal(range.root(), hex(rootHashSync(store, 0)));
    for (let i = 0; i < n; i++) {
      range.append(hex(leaves[i]!));
      if (check(range.size)) assert.equal(range.root(), hex(rootHashSync(store, range.size)), `size ${range.size}`);
    }
  });

  test('the interior nodes it completes are exactly those appendLeaves writes, in the same order', () => {
    const { leaves, writes } = memoryTree(300);
    const seen: string[] = [];
    const range = new CompactRange(new MerkleHasher());
    for (const leaf of leaves) range.append(hex(leaf), { node: (level, index, hash) => seen.push(`${level}:${index}:${hash}`) });
    assert.deepEqual(seen, writes.map((w) => `${w.level}:${w.index}:${hex(w.hash)}`));
  });

  test("started from a prefix's complete subtrees, it reaches the same roots", () => {
    const n = 200;
    const { store, leaves } = memoryTree(n);
    for (const from of [0, 1, 2, 3, 5, 8, 13, 64, 100, 127, 128, 199, 200]) {
      const prefix = completeSubtrees(0, from).map((r) => store.getNodeSync(r.level, r.index)!);
      const range = new CompactRange(new MerkleHasher(), from, prefix);
      assert.equal(range.root(), hex(rootHashSync(store, from)), `root at the prefix ${from}`);
      for (let i = from; i < n; i++) {
        range.append(hex(leaves[i]!));
        if (range.size % 17 === 0 || range.size === n) assert.equal(range.root(), hex(rootHashSync(store, range.size)), `${from} → ${range.size}`);
      }
    }
  });

  test('a prefix must have one hash per complete subtree', () => {
    const h = leafHash(Buffer.from('x'));
    assert.throws(() => new CompactRange(new MerkleHasher(), 3, [h]), /a prefix of 3 leaves has 2 complete subtrees, got 1/);
    assert.throws(() => new CompactRange(new MerkleHasher(), 2, [Buffer.alloc(31)]), /32 bytes/);
  });
});

// ---------------------------------------------------------------------------------------------

/** An export of entries [from, to) of a log of n entries, with heads (signed by `signer`) at these sizes. */
function exportOf(n: number, headSizes: number[], options: { from?: number; to?: number; logSize?: number; signer?: typeof key; publicKeyPem?: string } = {}) {
  const { store } = memoryTree(n);
  const from = options.from ?? 0;
  const to = options.to ?? n;
  const signer = options.signer ?? key;
  const header: ExportHeader = {
    format: EXPORT_FORMAT, from, to, log_size: options.logSize ?? n,
    prefix: completeSubtrees(0, from).map((r) => store.getNodeSync(r.level, r.index)!.toString('base64')),
    heads: headSizes.map((size) => ({ ...treeHeadToJson(signTreeHead(signer.privateKey, size, rootHashSync(store, size), NOW + size)), key_id: signer.keyId })),
    public_key: options.publicKeyPem ?? key.publicKeyPem,
  };
  const lines = Array.from({ length: to - from }, (_, i) => encodeEntry(entry(from + i)).toString('utf8'));
  return { header, lines };
}

function text({ header, lines }: { header: unknown; lines: string[] }): string {
  return [JSON.stringify(header), ...lines].map((line) => `${line}\n`).join('');
}

/** The text fed in chunks of `size` bytes, as a file stream would (lines cut anywhere). */
async function* chunked(content: string, size: number) {
  const bytes = Buffer.from(content);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** The header as version 1 wrote it: no log_size. */
function v1Header(header: ExportHeader) {
  const { log_size: _size, ...rest } = header;
  return { ...rest, format: 'datapact-audit-export-v1' };
}

const verifyText = (content: string, chunk = 65_536) => verifyExport(chunked(content, chunk), { key: verifyKey });

describe('verifyExport (offline)', () => {
  test('good exports of many sizes, with heads at various sizes, verify', async () => {
    const cases: [number, number[]][] = [[0, [0]], [1, [1]], [1, [0, 1]], [2, [1, 2]], [3, [3]], [7, [1, 4, 7]], [8, [8]], [9, [2, 9]], [100, [1, 31, 32, 64, 99]]];
    for (const [n, heads] of cases) {
      const result = await verifyText(text(exportOf(n, heads)), 7);
      assert.ok(result.ok, `${n} entries, heads ${heads}: ${result.ok ? '' : result.problem.message}`);
      assert.equal(result.entries, n);
      assert.equal(result.heads, heads.length);
      assert.equal(result.lastGoodHead, heads.at(-1));
    }
  });

  test('a partial export verifies from its prefix', async () => {
    for (const [from, to, heads] of [[1, 100, [1, 50]], [37, 64, [40, 64]], [64, 64, [64]], [64, 100, [64, 100]], [99, 100, [100]]] as const) {
      const result = await verifyText(text(exportOf(100, [...heads], { from, to })));
      assert.ok(result.ok, `[${from}, ${to}): ${result.ok ? '' : result.problem.message}`);
      assert.equal(result.from, from);
      assert.equal(result.entries, to - from);
    }
  });

  test('an edited line fails at the next head, naming the lines since the last good head', async () => {
    const file = exportOf(60, [10, 30, 60]);
    file.lines[14] = file.lines[14]!.replace('req-', 'reQ-'); // leaf index 14, seq 15, line 16
    const result = await verifyText(text(file));
    assertProblem(result, 'root-mismatch', /^tree head 30: its root_hash does not match the root recomputed from the export: something in lines 12\.\.31 \(leaf indices 10\.\.29, seq 11\.\.30\) changed since the last good head \(tree size 10\)$/);
    assert.deepEqual(!result.ok && result.problem.leafRange, [10, 30]);
    assert.equal(result.heads, 1);
  });

  test('in a partial export without an earlier head, the prefix is a suspect too', async () => {
    const file = exportOf(60, [30], { from: 20, to: 40 });
    const prefix = [...file.header.prefix.slice(0, -1), leafHash(Buffer.from('forged')).toString('base64')];
    assertProblem(await verifyText(text({ header: { ...file.header, prefix }, lines: file.lines })), 'root-mismatch', /something in lines 2\.\.11 \(leaf indices 20\.\.29, seq 21\.\.30\) or the header's prefix changed/);
  });

  test('a line not in canonical form is named by line, leaf index and seq', async () => {
    const file = exportOf(10, [10]);
    file.lines[3] = file.lines[3]!.replace('"at":', '"at": ');
    assertProblem(await verifyText(text(file)), 'not-canonical', /^line 5 \(leaf index 3, seq 4\) is not a canonical entry: not in canonical form$/);
  });

  test('missing last lines are a truncation; extra lines are refused', async () => {
    const file = exportOf(10, [5, 10]);
    assertProblem(await verifyText(text({ ...file, lines: file.lines.slice(0, 7) })), 'truncated', /^the export ends at seq 7 \(line 8\) but a head signed 10: entries from seq 8 are missing$/);
    const unsignedTail = exportOf(10, [5]);
    assertProblem(await verifyText(text({ ...unsignedTail, lines: unsignedTail.lines.slice(0, 7) })), 'truncated', /header says it holds seq 1\.\.10: entries from seq 8 are missing/);
    assertProblem(await verifyText(text({ ...file, lines: [...file.lines, file.lines[0]!] })), 'bad-export', /^line 12: the header says the export ends with seq 10, but the file goes on$/);
  });

  test('a head past the log\'s size at export fails: the log was truncated after it was signed (issue 11, point 6)', async () => {
    // The log signed 10 entries; 8 were left when it was exported, all of them in the export.
    const truncated = exportOf(10, [5, 10], { to: 8, logSize: 8 });
    const result = await verifyText(text(truncated));
    assertProblem(result, 'truncated',
      /^the log held 8 entries when it was exported \(log_size\), but a head signed tree_size 10: entries from seq 9 were removed after they were signed \(the log was truncated\)$/);
    assert.deepEqual(!result.ok && result.problem.leafRange, [8, 10]);
    // The same entries as a version 1 export, which could not carry that head, verified clean.
    const v1 = { header: { ...v1Header(truncated.header), heads: truncated.header.heads.slice(0, 1) }, lines: truncated.lines };
    assert.ok((await verifyText(text(v1))).ok);
  });

  test('a partial export carries the latest head past its end: its signature is checked, its root cannot be', async () => {
    const partial = exportOf(100, [50, 100], { to: 60 });
    const result = await verifyText(text(partial));
    assert.ok(result.ok, result.ok ? '' : result.problem.message);
    assert.deepEqual([result.entries, result.heads, result.lastGoodHead, result.signedBeyond], [60, 1, 50, 100]);
    const forged = partial.header.heads.map((h) => (h.tree_size === 100 ? { ...h, timestamp: new Date(NOW).toISOString() } : h));
    assertProblem(await verifyText(text({ header: { ...partial.header, heads: forged }, lines: partial.lines })), 'bad-signature',
      /^tree head 100: the signature does not verify with the given public key$/);
  });

  test('heads: an edited head, a head by another key, a header with another public key, no head at all', async () => {
    const file = exportOf(10, [4, 10]);
    const heads = file.header.heads.map((h) => (h.tree_size === 10 ? { ...h, timestamp: new Date(NOW).toISOString() } : h));
    assertProblem(await verifyText(text({ header: { ...file.header, heads }, lines: file.lines })), 'bad-signature', /^tree head 10: the signature does not verify with the given public key$/);

    const signedByOther = exportOf(10, [10], { signer: otherKey });
    assertProblem(await verifyText(text(signedByOther)), 'bad-signature', /^tree head 10: the signature does not verify with the given public key \(it names key [0-9a-f]{16}…/);

    const otherPublicKey = exportOf(10, [10], { publicKeyPem: otherKey.publicKeyPem });
    assertProblem(await verifyText(text(otherPublicKey)), 'wrong-key', /its public_key is not the given public key/);

    assertProblem(await verifyText(text(exportOf(10, []))), 'bad-export', /holds no signed head/);
  });

  test('a malformed header is named', async () => {
    const good = exportOf(3, [3]);
    const cases: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      [{ ...good.header, format: 'v0' }, /format is "v0"/],
      [{ ...good.header, extra: 1 }, /unknown field\(s\) extra/],
      [{ ...good.header, from: 2 }, /prefix must list 1 hash\(es\) for from = 2/],
      [{ ...good.header, heads: [good.header.heads[0], good.header.heads[0]] }, /heads\[1\] has tree_size 3: heads must be in increasing order, at least 0/],
      [{ ...good.header, log_size: 2 }, /log_size must be the log's size at export, at least to/],
      [{ ...good.header, log_size: undefined }, /log_size must be the log's size at export/],
      [{ ...v1Header(good.header), to: 2 }, /heads\[0\] has tree_size 3: heads must be in increasing order, from 0 to 2/],
      [{ ...v1Header(good.header), log_size: 3 }, /unknown field\(s\) log_size/],
      [{ ...good.header, heads: [{ ...good.header.heads[0], key_id: undefined }] }, /heads\[0\] must be a tree head with a key_id/],
      [{ ...good.header, public_key: 'nope' }, /public_key is not a PEM public key/],
    ];
    for (const [header, message] of cases) {
      const raw = typeof header === 'string' ? `${header}\n${good.lines.join('\n')}\n` : text({ header, lines: good.lines });
      assertProblem(await verifyText(raw), 'bad-export', message);
    }
    assertProblem(await verifyText(''), 'bad-export', /the export is empty/);
  });

  test('an Ed25519 public key PEM or the private key file both give the key id of signing-key.ts', () => {
    assert.equal(auditPublicKeyFromPem(key.publicKeyPem, 'pub').keyId, key.keyId);
    const pkcs8 = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    assert.equal(auditPublicKeyFromPem(pkcs8, 'priv').keyId, key.keyId);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.throws(() => auditPublicKeyFromPem(rsa, 'rsa.pem'), /rsa\.pem is rsa, expected ed25519/);
  });
});

// ---------------------------------------------------------------------------------------------

/** A log in in-memory SQLite: entries appended in batches, a head signed at each size in `headSizes`. */
async function storedLog(t: TestContext, n: number, headSizes: number[]): Promise<Store> {
  const db = openSqlite(':memory:');
  await migrateToLatest(db);
  t.after(() => db.destroy());
  const store = createStore(db);
  const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding });
  const stops = [...new Set([...headSizes, n])].sort((a, b) => a - b);
  let size = 0;
  for (const stop of stops) {
    if (stop > size) await store.audit.append(Array.from({ length: stop - size }, (_, i) => entry(size + i)));
    await log.addPendingLeaves();
    size = stop;
    if (headSizes.includes(stop)) {
      const root = await store.audit.withBlinding(blinding).run(rootHashPlan(stop));
      await store.audit.insertHead(signTreeHead(key.privateKey, stop, root, NOW + stop), key.keyId);
    }
  }
  return store;
}

const verifyStore = (store: Store, pageSize = 16) => verifyStoredLog(store.audit, { key: verifyKey, blinding, pageSize });

describe('verifyStoredLog (database)', () => {
  test('good logs of many sizes, with heads at various sizes and pages of any size, verify', async (t) => {
    const cases: [number, number[]][] = [[0, []], [0, [0]], [1, [1]], [2, [0, 1, 2]], [3, [2]], [5, [1, 5]], [8, [3, 8]], [100, [1, 17, 64, 100]], [257, [128, 255, 257]]];
    for (const [n, heads] of cases) {
      const store = await storedLog(t, n, heads);
      for (const pageSize of [1, 3, 16, 10_000]) {
        const result = await verifyStore(store, pageSize);
        assert.ok(result.ok, `${n} entries, heads ${heads}, pages of ${pageSize}: ${result.ok ? '' : result.problem.message}`);
        assert.deepEqual([result.entries, result.heads, result.lastGoodHead], [n, heads.length, heads.at(-1)]);
      }
    }
  });

  test('progress is reported per page, up to the tree size', async (t) => {
    const store = await storedLog(t, 40, [40]);
    const seen: [number, number][] = [];
    await verifyStoredLog(store.audit, { key: verifyKey, blinding, pageSize: 16, onProgress: (done, total) => seen.push([done, total]) });
    assert.deepEqual(seen, [[16, 40], [32, 40], [40, 40]]);
  });

  test('a changed column, an unreadable one, a missing entry', async (t) => {
    const store = await storedLog(t, 40, [20, 40]);
    await sql`update audit_requests set purpose = 'device_experiencE' where first_seq = (select seq - pos from audit_leaves where seq = 23)`.execute(store.db);
    // A blinded entry has no stored leaf hash: the lowest stored node above it (leaves 16..31) no longer matches.
    assertProblem(await verifyStore(store), 'node-mismatch', /^stored node \(4, 1\) over leaf indices 16\.\.31 \(seq 17\.\.32\) does not match/);
    await sql`insert into audit_field_sets (id, json) values (999, '["id",')`.execute(store.db);
    await sql`update audit_leaves set released = 999 where seq = 7`.execute(store.db);
    assertProblem(await verifyStore(store), 'not-canonical', /^entry seq 7 cannot be read: /);
    await sql`delete from audit_leaves where seq = 3`.execute(store.db);
    assertProblem(await verifyStore(store), 'missing-entry', /^entry seq 3 is missing \(the next stored entry is seq 4\)$/);
  });

  test('entries swapped with their leaf hashes fail at the stored node above them', async (t) => {
    const store = await storedLog(t, 40, [40]);
    // Seq 10 and 15 are leaves 9 and 14, staff actions each their own request: node (4, 0) covers leaves 0..15.
    const swap = async (from: number, to: number) => {
      await sql`update audit_leaves set seq = ${to} where seq = ${from}`.execute(store.db);
      await sql`update audit_requests set first_seq = ${to} where first_seq = ${from}`.execute(store.db);
    };
    await swap(10, -1);
    await swap(15, 10);
    await swap(-1, 15);
    assertProblem(await verifyStore(store), 'node-mismatch', /^stored node \(4, 0\) over leaf indices 0\.\.15 \(seq 1\.\.16\) does not match the hash recomputed from those entries$/);
  });

  test('an entry rewritten with its leaf hash and every node above it fails at the next head', async (t) => {
    const store = await storedLog(t, 40, [16, 33, 40]);
    const forged = { ...entry(20), purpose: 'advertising' };
    const entries = Array.from({ length: 40 }, (_, i) => (i === 20 ? forged : entry(i)));
    const tree = new MemorySubtreeStore();
    const leaves = entries.map((e, i) => leafHashAt(e, i, blinding));
    tree.put(appendLeavesSync(tree, 0, leaves).writes);
    // Seq 21's request holds it alone (seq 20 is a staff action's, seq 22 another request's).
    await sql`update audit_requests set purpose = 'advertising' where first_seq = 21 and leaf_count = 1`.execute(store.db);
    await sql`delete from audit_nodes`.execute(store.db);
    for (let level = 4; 2 ** level <= 40; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= 40; index++) {
        await store.db.insertInto('audit_nodes').values({ level, idx: index, hash: tree.getNodeSync(level, index)! }).execute();
      }
    }
    assertProblem(await verifyStore(store), 'root-mismatch', /^tree head 33: its root_hash does not match the root recomputed from the entries: something in leaf indices 16\.\.32 \(seq 17\.\.33\) changed since the last good head \(tree size 16\)$/);
  });

  test('a missing node, a head past the last entry, a node past it', async (t) => {
    const store = await storedLog(t, 40, [40]);
    await sql`delete from audit_nodes where level = 4 and idx = 1`.execute(store.db);
    assertProblem(await verifyStore(store), 'missing-hash', /^audit_nodes has no node \(4, 1\) over leaf indices 16\.\.31 \(seq 17\.\.32\)$/);

    const truncated = await storedLog(t, 12, [8, 12]);
    await sql`delete from audit_leaves where seq > 9`.execute(truncated.db);
    assertProblem(await verifyStore(truncated), 'truncated', /^the log ends at 9 entries but a head signed 12: entries from seq 10 are missing$/);

    const unsigned = await storedLog(t, 40, [8]);
    await sql`delete from audit_leaves where seq > 20`.execute(unsigned.db);
    assertProblem(await verifyStore(unsigned), 'truncated', /^the log ends at 20 entries but audit_nodes holds node \(4, 1\) over leaf indices 16\.\.31: entries from seq 21 are missing$/);
  });

  test("a head's signature, its key id, its root", async (t) => {
    const store = await storedLog(t, 12, [4, 12]);
    await sql`update audit_heads set key_id = 'abc' where tree_size = 4`.execute(store.db);
    assertProblem(await verifyStore(store), 'wrong-key', /^tree head 4: names key abc but was signed by the given key [0-9a-f]{16}…$/);
    const other = await verifyStoredLog(store.audit, { key: { publicKey: otherKey.publicKey, keyId: otherKey.keyId }, blinding });
    assertProblem(other, 'bad-signature', /^tree head 4: the signature does not verify with the given public key \(it names key abc/);
  });
});
