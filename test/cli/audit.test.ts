/**
 * `datapact audit export` and `datapact audit verify` (issue 5) on a real SQLite file written by
 * the AuditLog: the good log verifies, and every kind of tampering fails with exit code 1 and a
 * message that names the place (a seq, a head's tree size, a line of the export).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { nodeHash } from '../../src/audit/merkle-hash.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { Migrator, sql } from 'kysely';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations/index.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-audit-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const NOW = Date.parse('2026-06-01T00:00:00Z');
const good = join(folder, 'good.db');
const key = loadOrCreateAuditSigningKey(folder); // the data directory's key, as the server makes it
const blinding = loadOrCreateAuditBlinding(folder);
const publicKey = join(folder, 'pub.pem');
const otherPublicKey = join(folder, 'other.pem');
/** Appended in these batches, with a head signed after each: heads at 1, 3, 8, 21, 50 and 100. */
const BATCHES = [1, 2, 5, 13, 29, 50];

function entry(i: number): AuditEntry {
  return {
    at: NOW + i * 1000, requestId: `req-${i}`, appId: 'app', partnerId: 'p_1', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 7}`, purpose: 'device_experience',
    outcome: 'released', code: null, released: ['id', 'name'], withheld: i % 2 ? { religion: 'sensitive_field' } : {},
  };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function datapact(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/datapact.js', ...args], {
      env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder, DATAPACT_DATABASE: good, ...env }, maxBuffer: 64 << 20,
    }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

/** A copy of the good database, changed by `tamper` with plain SQL. */
function tampered(name: string, tamper: (db: Database.Database) => void): string {
  const path = join(folder, `${name}.db`);
  copyFileSync(good, path);
  const db = new Database(path);
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return path;
}

function verifyFails(run: Run, message: RegExp): void {
  assert.equal(run.status, 1, `expected exit 1, got ${run.status}: ${run.stdout}${run.stderr}`);
  assert.match(run.stderr, message);
  assert.match(run.stdout, /^Checked .* before the problem\./m);
}

before(async () => {
  const db = openSqlite(good);
  await migrateToLatest(db);
  const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, headIntervalMs: 0 });
  let size = 0;
  for (const batch of BATCHES) {
    await log.append(Array.from({ length: batch }, (_, i) => entry(size + i)));
    size += batch;
  }
  await log.close();
  await db.destroy();
  writeFileSync(publicKey, key.publicKeyPem);
  writeFileSync(otherPublicKey, loadOrCreateAuditSigningKey(undefined).publicKeyPem);
});

describe('datapact audit verify (the database)', { concurrency: 4 }, () => {
  test('the log as written verifies, with the data directory key or the published public key', async () => {
    for (const run of await Promise.all([datapact(['audit', 'verify']), datapact(['audit', 'verify', '--public-key', publicKey])])) {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^OK: verified 100 entries and 6 signed heads of the database in \d+\.\d\d s \([\d,]+ entries\/s\)\.$/m);
      assert.doesNotMatch(run.stdout, /Note:/);
    }
  });

  test('another public key: the first head fails', async () => {
    verifyFails(await datapact(['audit', 'verify', '--public-key', otherPublicKey]), /^FAILED: tree head 1: the signature does not verify with the given public key \(it names key/m);
  });

  test('one byte of one entry changed', async () => {
    // Entry 42 is the one entry of its request: its request id is in the request's row.
    const path = tampered('byte', (db) => db.prepare("update audit_requests set request_id = 'req-4X' where first_seq = 42 and leaf_count = 1").run());
    // A blinded entry has no stored leaf hash: the lowest stored node above it (leaves 32..47) no longer matches.
    verifyFails(await datapact(['audit', 'verify', '--database', path]), /^FAILED: stored node \(4, 2\) over leaf indices 32\.\.47 \(seq 33\.\.48\) does not match/m);
  });

  test('without --public-key it names the key it trusted (issue 11, point 6)', async () => {
    const result = await datapact(['audit', 'verify', '--database', good]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`Trusting the data directory's audit key .*audit-ed25519\\.pem \\(key id ${key.keyId}\\)`));
  });

  test('one entry deleted', async () => {
    const path = tampered('delete', (db) => db.prepare('delete from audit_leaves where seq = 30').run());
    verifyFails(await datapact(['audit', 'verify', '--database', path]), /^FAILED: entry seq 30 is missing \(the next stored entry is seq 31\)$/m);
  });

  test("two entries' contents swapped", async () => {
    const path = tampered('swap', (db) => {
      // Each entry is its request's only one: moving an entry is moving its leaf row and its request row.
      const move = (from: number, to: number) => {
        db.prepare('update audit_leaves set seq = ? where seq = ?').run(to, from);
        db.prepare('update audit_requests set first_seq = ? where first_seq = ?').run(to, from);
      };
      move(10, -1);
      move(11, 10);
      move(-1, 11);
    });
    verifyFails(await datapact(['audit', 'verify', '--database', path]), /^FAILED: stored node \(4, 0\) over leaf indices 0\.\.15 \(seq 1\.\.16\) does not match/m);
  });

  test('the log truncated: its last entries deleted', async () => {
    const path = tampered('truncate', (db) => db.prepare('delete from audit_leaves where seq > 90').run());
    verifyFails(await datapact(['audit', 'verify', '--database', path]), /^FAILED: the log ends at 90 entries but a head signed 100: entries from seq 91 are missing$/m);
  });

  test("a head's signature replaced", async () => {
    const path = tampered('signature', (db) =>
      db.prepare('update audit_heads set signature = (select signature from audit_heads where tree_size = 50) where tree_size = 21').run());
    verifyFails(await datapact(['audit', 'verify', '--database', path]), /^FAILED: tree head 21: the signature does not verify with the given public key$/m);
  });

  test('bad usage exits with 2: no database, no key, an unreadable key, an unknown option', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--database', join(folder, 'nope.db')], {}, /no database at .*nope\.db/],
      [[], { DATAPACT_DATA_DIR: join(folder, 'empty') }, /no audit signing key at .*audit-ed25519\.pem \(set DATAPACT_DATA_DIR, or pass --public-key FILE\)/],
      [['--public-key', good], {}, /is not a readable PEM key/],
      [['--public-key', join(folder, 'nope.pem')], {}, /cannot read public key .*nope\.pem/],
      [['--bogus'], {}, /unknown option '--bogus'/],
    ];
    const runs = await Promise.all(cases.map(([args, env]) => datapact(['audit', 'verify', ...args], env)));
    cases.forEach(([args, , message], i) => {
      assert.equal(runs[i]!.status, 2, `${args.join(' ')}: ${runs[i]!.stderr}`);
      assert.match(runs[i]!.stderr, message);
    });
  });

  test('a database whose schema is behind is refused (exit 2), not migrated: verify and export only read', async () => {
    const path = join(folder, 'older.db');
    const db = openSqlite(path);
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0012-clustered-friendships');
    await db.destroy();
    assert.equal(error, undefined);
    for (const command of [['verify'], ['export', '--out', join(folder, 'older.ndjson')]]) {
      const run = await datapact(['audit', ...command, '--database', path]);
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /schema is older than this version of Datapact \(missing migrations: 0013-rate-limit-counters.*\); this command only reads/);
    }
    const after = openSqlite(path);
    const { rows } = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(after);
    await after.destroy();
    assert.equal(rows[0]!.n, 12, 'still the 12 migrations it had');
  });
});

describe('datapact audit export, and verify --file', { concurrency: 4 }, () => {
  let full: string;
  before(async () => {
    const run = await datapact(['audit', 'export']);
    assert.equal(run.status, 0, run.stderr);
    full = run.stdout;
  });

  /** The full export with `change` applied to its lines (0 is the header), written to a file. */
  function exportFile(name: string, change: (lines: string[]) => void = () => {}): string {
    const lines = full.split('\n');
    change(lines);
    const path = join(folder, `${name}.ndjson`);
    writeFileSync(path, lines.join('\n'));
    return path;
  }

  test('the export: a header, then each entry as the canonical bytes its leaf hash covers', () => {
    const lines = full.split('\n');
    assert.equal(lines.length, 102, 'header, 100 entries, and the final line feed');
    assert.equal(lines.at(-1), '');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(header), ['format', 'from', 'to', 'log_size', 'prefix', 'heads', 'public_key']);
    assert.deepEqual([header.format, header.from, header.to, header.log_size, header.prefix, header.public_key],
      ['datapact-audit-export-v2', 0, 100, 100, [], key.publicKeyPem]);
    const heads = header.heads as Record<string, unknown>[];
    assert.deepEqual(heads.map((h) => h.tree_size), [1, 3, 8, 21, 50, 100]);
    assert.deepEqual(Object.keys(heads[0]!), ['tree_size', 'root_hash', 'timestamp', 'signature', 'key_id']);
    assert.equal(heads[0]!.key_id, key.keyId);
    const db = new Database(good, { readonly: true });
    try {
      // Leaves 32..47 (lines 33..48) hash to the stored node above them: the lines are the leaves.
      const stored = db.prepare('select hash from audit_nodes where level = 4 and idx = 2').get() as { hash: Buffer };
      const leaf = (n: number) => createHash('sha256').update(Buffer.from([0])).update(Buffer.from(lines[n]!, 'utf8')).digest();
      let level: Buffer[] = Array.from({ length: 16 }, (_, i) => leaf(33 + i));
      while (level.length > 1) level = Array.from({ length: level.length / 2 }, (_, i) => nodeHash(level[2 * i]!, level[2 * i + 1]!));
      assert.deepEqual(level[0], stored.hash);
      assert.match(lines[43]!, /^\{"v":2,.*,"blind":"[A-Za-z0-9_-]{22}"\}$/, 'a blinded entry, with its blinding');
    } finally {
      db.close();
    }
  });

  test('--out writes the same bytes; the export verifies offline with the public key alone', async () => {
    const out = join(folder, 'out.ndjson');
    const written = await datapact(['audit', 'export', '--out', out]);
    assert.equal(written.status, 0, written.stderr);
    assert.match(written.stderr, /Exported 100 entries \(leaf indices 0\.\.99\) and 6 signed heads to .*out\.ndjson/);
    assert.equal(readFileSync(out, 'utf8'), full);
    // No database, no data directory: only the file and the key.
    const run = await datapact(['audit', 'verify', '--file', out, '--public-key', publicKey], { DATAPACT_DATA_DIR: join(folder, 'none'), DATAPACT_DATABASE: join(folder, 'none.db') });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^OK: verified 100 entries and 6 signed heads of .*out\.ndjson in/m);
  });

  test('one edited entry line: the next head fails, naming the lines since the last good head', async () => {
    const path = exportFile('edited-line', (lines) => { lines[42] = lines[42]!.replace('"req-41"', '"req-4l"'); });
    verifyFails(await datapact(['audit', 'verify', '--file', path, '--public-key', publicKey]),
      /^FAILED: tree head 50: its root_hash does not match the root recomputed from the export: something in lines 23\.\.51 \(leaf indices 21\.\.49, seq 22\.\.50\) changed since the last good head \(tree size 21\)$/m);
  });

  test("an edited head in the header fails its signature", async () => {
    const path = exportFile('edited-head', (lines) => {
      const header = JSON.parse(lines[0]!) as { heads: { tree_size: number; timestamp: string }[] };
      header.heads[2]!.timestamp = '2027-01-01T00:00:00.000Z';
      lines[0] = JSON.stringify(header);
    });
    verifyFails(await datapact(['audit', 'verify', '--file', path, '--public-key', publicKey]), /^FAILED: tree head 8: the signature does not verify with the given public key$/m);
  });

  test('another public key than the export carries fails', async () => {
    verifyFails(await datapact(['audit', 'verify', '--file', exportFile('as-is'), '--public-key', otherPublicKey]),
      /^FAILED: line 1 \(the header\): its public_key is not the given public key/m);
  });

  test('a partial export, by leaf index or by instant, verifies', async () => {
    const byIndex = await datapact(['audit', 'export', '--from', '10', '--to', '60']);
    assert.equal(byIndex.status, 0, byIndex.stderr);
    const header = JSON.parse(byIndex.stdout.split('\n')[0]!) as { from: number; to: number; log_size: number; prefix: string[]; heads: { tree_size: number }[] };
    // The heads over its entries, and the latest head, past them: how far the log was signed when it was exported.
    assert.deepEqual([header.from, header.to, header.log_size, header.prefix.length, header.heads.map((h) => h.tree_size)], [10, 60, 100, 2, [21, 50, 100]]);
    const byInstant = await datapact(['audit', 'export', '--from', new Date(NOW + 10_000).toISOString(), '--to', '2026-06-01T00:01:00Z']);
    assert.equal(byInstant.stdout, byIndex.stdout, 'seq 11 is the first entry at NOW + 10 s, seq 61 the first at NOW + 60 s');
    const path = join(folder, 'partial.ndjson');
    writeFileSync(path, byIndex.stdout);
    const run = await datapact(['audit', 'verify', '--file', path, '--public-key', publicKey]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^OK: verified 50 entries and 2 signed heads/m);
    assert.match(run.stdout,
      /^Note: seq 51\.\.60 come after the last head within .*partial\.ndjson; head 100, past its end, signs them \(its signature was checked, its root cannot be recomputed without the entries after them\)\.$/m);
  });

  test('an export of a log whose last entries were deleted carries the heads past them, and fails to verify (issue 11, point 6)', async () => {
    const truncated = tampered('truncated-export', (db) => db.exec('delete from audit_leaves where seq > 80; delete from audit_requests where first_seq > 80'));
    const out = join(folder, 'truncated.ndjson');
    const written = await datapact(['audit', 'export', '--database', truncated, '--out', out]);
    assert.equal(written.status, 0, written.stderr);
    const header = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]!) as { to: number; log_size: number; heads: { tree_size: number }[] };
    assert.deepEqual([header.to, header.log_size, header.heads.map((h) => h.tree_size)], [80, 80, [1, 3, 8, 21, 50, 100]]);
    verifyFails(await datapact(['audit', 'verify', '--file', out, '--public-key', publicKey]),
      /^FAILED: the log held 80 entries when it was exported \(log_size\), but a head signed tree_size 100: entries from seq 81 were removed after they were signed \(the log was truncated\)$/m);
    // A part of it that ends before the cut fails the same way: the latest head is past the log's end.
    const part = await datapact(['audit', 'export', '--database', truncated, '--to', '50']);
    const partFile = join(folder, 'truncated-part.ndjson');
    writeFileSync(partFile, part.stdout);
    verifyFails(await datapact(['audit', 'verify', '--file', partFile, '--public-key', publicKey]), /^FAILED: the log held 80 entries when it was exported/m);
  });

  test('a failed export leaves no partial file, and the file at --out as it was', async () => {
    const gap = tampered('gap', (db) => db.prepare('delete from audit_leaves where seq = 70').run());
    const out = join(folder, 'kept.ndjson');
    writeFileSync(out, 'the previous export\n');
    const run = await datapact(['audit', 'export', '--database', gap, '--out', out]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /entry seq 70 is missing/);
    assert.equal(readFileSync(out, 'utf8'), 'the previous export\n');
    assert.deepEqual(readdirSync(folder).filter((name) => name.startsWith('kept.ndjson')), ['kept.ndjson']);
  });

  test('bad usage exits with 2: no --public-key with --file, no such file, a range past the log', async () => {
    const cases: [string[], RegExp][] = [
      [['verify', '--file', exportFile('usage')], /--file needs --public-key FILE/],
      [['verify', '--file', join(folder, 'nope.ndjson'), '--public-key', publicKey], /no export file at .*nope\.ndjson/],
      [['export', '--to', '101'], /--from 0 and --to 101 must satisfy 0 ≤ from ≤ to ≤ 100/],
      [['export', '--from', 'yesterday'], /expected a leaf index \(0, 1, …\) or an ISO 8601 instant/],
    ];
    const runs = await Promise.all(cases.map(([args]) => datapact(['audit', ...args])));
    cases.forEach(([args, message], i) => {
      assert.equal(runs[i]!.status, 2, `${args.join(' ')}: ${runs[i]!.stderr}`);
      assert.match(runs[i]!.stderr, message);
    });
  });
});
