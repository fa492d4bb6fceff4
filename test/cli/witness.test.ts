/**
 * `datapact witness init|key|trust` and `datapact audit verify --witness-key` on a real SQLite
 * file: the latest checkpoint must carry the quorum of cosignatures that verify with the given
 * witness keys over the heads the log signed; earlier heads that lack them are named.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { checkpointBody, verifierKey } from '../../src/audit/checkpoint.js';
import { Cosigner } from '../../src/audit/cosignature.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { createStore } from '../../src/store/store.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-witness-cli-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ORIGIN = 'datapact.test/audit';
const database = join(folder, 'log.db');
const key = loadOrCreateAuditSigningKey(folder);
const blinding = loadOrCreateAuditBlinding(folder);
const alice = Cosigner.generate('alice.example/witness');
const bob = Cosigner.generate('bob.example/witness');

function entry(i: number): AuditEntry {
  return {
    at: NOW + i * 1000, requestId: `req-${i}`, appId: 'app', partnerId: 'p_1', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 7}`, purpose: 'device_experience',
    outcome: 'released', code: null, released: ['id', 'name'], withheld: {},
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
      env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder, DATAPACT_DATABASE: database, DATAPACT_PUBLIC_URL: 'https://datapact.test', ...env },
    }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

/** Heads at 2, 5 and 9; Alice cosigned 5 and 9, Bob only 9, and a row for 5 by Bob over another root does not count. */
before(async () => {
  const db = openSqlite(database);
  await migrateToLatest(db);
  const log = new AuditLog({ db, clock: () => NOW, signingKey: key, blinding, origin: ORIGIN, headIntervalMs: 0 });
  let size = 0;
  for (const batch of [2, 3, 4]) {
    await log.append(Array.from({ length: batch }, (_, i) => entry(size + i)));
    size += batch;
  }
  await log.close();
  const store = createStore(db);
  for (const head of await store.audit.heads()) {
    const body = checkpointBody(ORIGIN, head.size, head.root);
    const cosign = async (witness: Cosigner, text = body) => store.cosignatures.add({
      treeSize: head.size, witness: witness.verifierKey, rootHash: head.root, signatureLine: witness.cosign(text, 1_780_000_000), cosignedAt: 1_780_000_000,
    });
    if (head.size >= 5) await cosign(alice);
    if (head.size === 9) await cosign(bob);
    if (head.size === 5) await cosign(bob, checkpointBody(ORIGIN, 5, Buffer.alloc(32)));
  }
  await db.destroy();
});

describe('datapact audit verify --witness-key', { concurrency: 4 }, () => {
  test('the latest checkpoint has both cosignatures: OK, and the earlier heads that lack them are named', async () => {
    const run = await datapact(['audit', 'verify', '--witness-key', alice.verifierKey, '--witness-key', bob.verifierKey]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^OK: verified 9 entries and 3 signed heads/m);
    assert.match(run.stdout, /^Witnessed: the latest checkpoint \(tree size 9\) has 2 valid cosignatures of the 2 required \(alice\.example\/witness, bob\.example\/witness\)\.$/m);
    assert.match(run.stdout, /^Note: 2 earlier heads have fewer than 2 cosignatures: tree sizes 2, 5\.$/m);
  });

  test('a witness that did not cosign the latest checkpoint fails it; a quorum of one passes', async () => {
    const carol = Cosigner.generate('carol.example/witness');
    const failed = await datapact(['audit', 'verify', '--witness-key', alice.verifierKey, '--witness-key', carol.verifierKey]);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /^FAILED: the latest checkpoint \(tree size 9\) has 1 valid cosignature of the 2 required from the given witness keys \(alice\.example\/witness\)$/m);
    const quorum = await datapact(['audit', 'verify', '--witness-key', alice.verifierKey, '--witness-key', carol.verifierKey, '--witness-quorum', '1']);
    assert.equal(quorum.status, 0, quorum.stderr);
    assert.match(quorum.stdout, /^Note: 1 earlier head has fewer than 1 cosignatures: tree sizes 2\.$/m);
  });

  test('cosignatures over another origin do not count; bad keys and options are usage errors', async () => {
    const other = await datapact(['audit', 'verify', '--witness-key', alice.verifierKey, '--origin', 'elsewhere.example/audit']);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /has 0 valid cosignatures of the 1 required/);
    // Without --origin, the configured one: DATAPACT_LOG_ORIGIN, else the public URL's.
    const configured = await datapact(['audit', 'verify', '--witness-key', alice.verifierKey], { DATAPACT_LOG_ORIGIN: 'elsewhere.example/audit' });
    assert.equal(configured.status, 1);
    assert.match(configured.stderr, /has 0 valid cosignatures of the 1 required/);
    const logKey = verifierKey(ORIGIN, key.publicKey);
    const bad = [['--witness-key', logKey], ['--witness-key', 'nonsense'], ['--witness-quorum', '1'],
      ['--witness-key', alice.verifierKey, '--witness-quorum', '2'], ['--witness-key', alice.verifierKey, '--file', database]];
    const runs = await Promise.all(bad.map((args) => datapact(['audit', 'verify', ...args])));
    runs.forEach((run, i) => assert.equal(run.status, 2, `${bad[i]!.join(' ')}: ${run.stderr}`));
  });
});

describe('datapact witness init, key and trust', () => {
  test('init makes the key and config once and prints the verifier key; key prints it again; trust adds a log', async () => {
    const dir = join(folder, 'w');
    const init = await datapact(['witness', 'init', '--dir', dir, '--name', 'auditor.example/w']);
    assert.equal(init.status, 0, init.stderr);
    const vkey = init.stdout.trim();
    assert.match(vkey, /^auditor\.example\/w\+[0-9a-f]{8}\+B[A-P]/); // base64 of 0x04 || key starts "BA"…"BP"
    assert.equal((await datapact(['witness', 'key', '--dir', dir])).stdout.trim(), vkey);
    assert.notEqual((await datapact(['witness', 'init', '--dir', dir, '--name', 'auditor.example/w'])).status, 0);
    const logKey = verifierKey(ORIGIN, key.publicKey);
    assert.equal((await datapact(['witness', 'trust', logKey, '--dir', dir])).status, 0);
    const config = JSON.parse(readFileSync(join(dir, 'witness.json'), 'utf8'));
    assert.deepEqual(config, { name: 'auditor.example/w', logs: [{ origin: ORIGIN, vkey: logKey }] });
    assert.notEqual((await datapact(['witness', 'trust', 'not-a-key', '--dir', dir])).status, 0);
  });
});
