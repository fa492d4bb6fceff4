import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_TREE_HASH } from '../../src/audit/merkle-hash.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import {
  MAX_TREE_HEAD_TIMESTAMP,
  TreeHeadFormatError,
  signTreeHead,
  treeHeadFromJson,
  treeHeadSigningInput,
  treeHeadToJson,
  verifyTreeHead,
  type TreeHead,
} from '../../src/audit/tree-head.js';

const key = loadOrCreateAuditSigningKey(undefined);
const root = createHash('sha256').update('some root').digest();
const size = 1_234_567;
const timestamp = Date.parse('2026-03-04T05:06:07.089Z');

function flipBit(buf: Buffer, bit: number): Buffer {
  const copy = Buffer.from(buf);
  copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
  return copy;
}

/** The README's procedure, by hand: the layout rebuilt with Buffer operations only. */
function signingInputByHand(treeSize: number, rootHash: Buffer, ms: number): Buffer {
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(treeSize));
  const timeBytes = Buffer.alloc(8);
  timeBytes.writeBigUInt64BE(BigInt(ms));
  return Buffer.concat([Buffer.from('datapact-tree-head-v1\n', 'ascii'), sizeBytes, timeBytes, rootHash]);
}

describe('tree head signing', () => {
  test('sign then verify round trip, including the empty tree', () => {
    const head = signTreeHead(key.privateKey, size, root, timestamp);
    assert.equal(head.size, size);
    assert.deepEqual(head.root, root);
    assert.equal(head.timestamp, timestamp);
    assert.equal(head.signature.length, 64);
    assert.equal(verifyTreeHead(head, key.publicKey), true);
    const empty = signTreeHead(key.privateKey, 0, EMPTY_TREE_HASH, 0);
    assert.equal(verifyTreeHead(empty, key.publicKey), true);
    const big = signTreeHead(key.privateKey, Number.MAX_SAFE_INTEGER, root, MAX_TREE_HEAD_TIMESTAMP);
    assert.equal(verifyTreeHead(big, key.publicKey), true);
  });

  test('the signing input has the documented layout', () => {
    const input = treeHeadSigningInput(size, root, timestamp);
    assert.equal(input.length, 70);
    assert.equal(input.subarray(0, 22).toString('ascii'), 'datapact-tree-head-v1\n');
    assert.equal(input.readBigUInt64BE(22), BigInt(size));
    assert.equal(input.readBigUInt64BE(30), BigInt(timestamp));
    assert.deepEqual(input.subarray(38), root);
    assert.deepEqual(input, signingInputByHand(size, root, timestamp));
    // A fixed vector, so the layout cannot drift unnoticed.
    assert.equal(
      treeHeadSigningInput(258, Buffer.alloc(32, 0xab), 1).toString('hex'),
      Buffer.from('datapact-tree-head-v1\n').toString('hex') + '0000000000000102' + '0000000000000001' + 'ab'.repeat(32),
    );
  });

  test('signing input refuses out-of-range values', () => {
    assert.throws(() => treeHeadSigningInput(-1, root, timestamp), RangeError);
    assert.throws(() => treeHeadSigningInput(1.5, root, timestamp), RangeError);
    assert.throws(() => treeHeadSigningInput(2 ** 53, root, timestamp), RangeError);
    assert.throws(() => treeHeadSigningInput(size, root.subarray(1), timestamp), RangeError);
    assert.throws(() => treeHeadSigningInput(size, root, -1), RangeError);
    assert.throws(() => treeHeadSigningInput(size, root, MAX_TREE_HEAD_TIMESTAMP + 1), RangeError);
    assert.throws(() => treeHeadSigningInput(size, root, Number.NaN), RangeError);
  });

  test('any flipped bit of root, size, timestamp or signature fails', () => {
    const head = signTreeHead(key.privateKey, size, root, timestamp);
    for (let bit = 0; bit < 256; bit++) {
      assert.equal(verifyTreeHead({ ...head, root: flipBit(head.root, bit) }, key.publicKey), false, `root bit ${bit}`);
    }
    for (let bit = 0; bit < 512; bit++) {
      assert.equal(verifyTreeHead({ ...head, signature: flipBit(head.signature, bit) }, key.publicKey), false, `sig bit ${bit}`);
    }
    // Every bit of a safe integer (53 bits); XOR on BigInt keeps it exact.
    for (let bit = 0; bit < 53; bit++) {
      const s = Number(BigInt(size) ^ (1n << BigInt(bit)));
      assert.equal(verifyTreeHead({ ...head, size: s }, key.publicKey), false, `size bit ${bit}`);
      const t = Number(BigInt(timestamp) ^ (1n << BigInt(bit)));
      // Flips that leave the valid range are refused too (false, not a throw).
      assert.equal(verifyTreeHead({ ...head, timestamp: t }, key.publicKey), false, `timestamp bit ${bit}`);
    }
  });

  test('another key, malformed heads and wrong key types', () => {
    const head = signTreeHead(key.privateKey, size, root, timestamp);
    const other = loadOrCreateAuditSigningKey(undefined);
    assert.notEqual(other.keyId, key.keyId);
    assert.equal(verifyTreeHead(head, other.publicKey), false);
    assert.equal(verifyTreeHead({ ...head, signature: head.signature.subarray(0, 63) }, key.publicKey), false);
    assert.equal(verifyTreeHead({ ...head, root: Buffer.concat([head.root, Buffer.of(0)]) }, key.publicKey), false);
    assert.equal(verifyTreeHead({ ...head, size: -1 }, key.publicKey), false);
    assert.equal(verifyTreeHead({ ...head, timestamp: 0.5 }, key.publicKey), false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => signTreeHead(ec.privateKey, size, root, timestamp), TypeError);
    assert.throws(() => verifyTreeHead(head, ec.publicKey), TypeError);
    assert.throws(() => verifyTreeHead(head, key.privateKey as never), TypeError);
    assert.throws(() => signTreeHead(key.publicKey, size, root, timestamp), TypeError);
  });

  test('the documented procedure: rebuild the input by hand and crypto.verify(null, …)', () => {
    const head = signTreeHead(key.privateKey, size, root, timestamp);
    // What an auditor has: the JSON and the published PEM.
    const json = JSON.parse(JSON.stringify(treeHeadToJson(head))) as Record<string, string | number>;
    const publicKey = createPublicKey(key.publicKeyPem);
    const input = signingInputByHand(
      json['tree_size'] as number,
      Buffer.from(json['root_hash'] as string, 'base64'),
      new Date(json['timestamp'] as string).getTime(),
    );
    const sig = Buffer.from(json['signature'] as string, 'base64');
    assert.equal(verify(null, input, publicKey, sig), true);
    assert.equal(verify(null, signingInputByHand(size + 1, root, timestamp), publicKey, sig), false);
  });
});

/** 32 bytes are 43 base64 digits and one '=': the last digit's two low bits are padding, zero when canonical. */
function setPaddingBit(b64: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = alphabet.indexOf(b64[42]!);
  return `${b64.slice(0, 42)}${alphabet[last | 1]!}=`;
}

describe('tree head JSON', () => {
  const head = signTreeHead(key.privateKey, size, root, timestamp);
  const good = treeHeadToJson(head);

  test('round trip', () => {
    assert.deepEqual(Object.keys(good).sort(), ['root_hash', 'signature', 'timestamp', 'tree_size']);
    assert.equal(good.tree_size, size);
    assert.equal(good.timestamp, '2026-03-04T05:06:07.089Z');
    assert.equal(good.root_hash, root.toString('base64'));
    const back = treeHeadFromJson(JSON.parse(JSON.stringify(good)));
    assert.deepEqual(back, head);
    assert.equal(verifyTreeHead(back, key.publicKey), true);
    assert.deepEqual(treeHeadFromJson(JSON.stringify(good)), head); // the text form too
    const edge = signTreeHead(key.privateKey, 0, EMPTY_TREE_HASH, MAX_TREE_HEAD_TIMESTAMP);
    assert.deepEqual(treeHeadFromJson(treeHeadToJson(edge)), edge);
    assert.equal(treeHeadToJson(edge).timestamp, '9999-12-31T23:59:59.999Z');
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON text', '{"tree_size":', /not valid JSON/],
    ['null', null, /JSON object/],
    ['an array', [good], /JSON object/],
    ['a number', 3, /JSON object/],
    ['an unknown field', { ...good, key_id: 'x' }, /unknown field\(s\): key_id/],
    ['tree_size missing', { root_hash: good.root_hash, timestamp: good.timestamp, signature: good.signature }, /missing tree_size/],
    ['signature missing', { tree_size: size, root_hash: good.root_hash, timestamp: good.timestamp }, /missing signature/],
    ['tree_size as a string', { ...good, tree_size: String(size) }, /tree_size/],
    ['tree_size negative', { ...good, tree_size: -1 }, /tree_size/],
    ['tree_size fractional', { ...good, tree_size: 1.5 }, /tree_size/],
    ['tree_size unsafe', { ...good, tree_size: 2 ** 53 }, /tree_size/],
    ['timestamp as a number', { ...good, timestamp: timestamp }, /timestamp must be an ISO/],
    ['timestamp without ms', { ...good, timestamp: '2026-03-04T05:06:07Z' }, /timestamp must be an ISO/],
    ['timestamp with an offset', { ...good, timestamp: '2026-03-04T05:06:07.089+00:00' }, /timestamp must be an ISO/],
    ['timestamp impossible date', { ...good, timestamp: '2026-02-30T05:06:07.089Z' }, /not a valid time/],
    ['timestamp before 1970', { ...good, timestamp: '1969-12-31T23:59:59.999Z' }, /not a valid time/],
    ['root_hash hex', { ...good, root_hash: root.toString('hex') }, /root_hash must be the canonical base64 of exactly 32 bytes/],
    ['root_hash base64url', { ...good, root_hash: Buffer.alloc(32, 0xff).toString('base64url') }, /root_hash must be a string of standard padded base64/],
    ['root_hash too short', { ...good, root_hash: root.subarray(1).toString('base64') }, /root_hash .*32 bytes/],
    ['root_hash unpadded', { ...good, root_hash: good.root_hash.replace(/=+$/, '') }, /root_hash must be a string/],
    ['root_hash non-canonical padding bits', { ...good, root_hash: setPaddingBit(good.root_hash) }, /root_hash must be the canonical/],
    ['root_hash with whitespace', { ...good, root_hash: ` ${good.root_hash}` }, /root_hash/],
    ['root_hash null', { ...good, root_hash: null }, /root_hash/],
    ['signature too long', { ...good, signature: Buffer.alloc(65).toString('base64') }, /signature .*64 bytes/],
    ['signature empty', { ...good, signature: '' }, /signature .*64 bytes/],
  ];
  for (const [name, value, message] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => treeHeadFromJson(value), (error: unknown) => {
        assert.ok(error instanceof TreeHeadFormatError, `a TreeHeadFormatError, got ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('audit signing key', () => {
  test('persists in the data directory: same key on the second load, mode 0600', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'datapact-audit-key-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = loadOrCreateAuditSigningKey(dir);
    const path = join(dir, 'secrets', 'audit-ed25519.pem');
    const pem = readFileSync(path, 'utf8');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
    const second = loadOrCreateAuditSigningKey(dir);
    assert.equal(second.keyId, first.keyId);
    assert.equal(second.publicKeyPem, first.publicKeyPem);
    assert.equal(readFileSync(path, 'utf8'), pem);
    // A head signed before the "restart" verifies with the key loaded after it.
    const head = signTreeHead(first.privateKey, 3, root, timestamp);
    assert.equal(verifyTreeHead(head, second.publicKey), true);
  });

  test('keyId is the hex SHA-256 of the DER SubjectPublicKeyInfo; publicKeyPem is SPKI', () => {
    assert.match(key.keyId, /^[0-9a-f]{64}$/);
    const der = createPublicKey(key.publicKeyPem).export({ format: 'der', type: 'spki' });
    assert.equal(createHash('sha256').update(der).digest('hex'), key.keyId);
    assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(key.publicKey.asymmetricKeyType, 'ed25519');
  });

  test('a fresh in-memory key each time without a data directory', () => {
    const a = loadOrCreateAuditSigningKey(undefined);
    const b = loadOrCreateAuditSigningKey(undefined);
    assert.notEqual(a.keyId, b.keyId);
  });

  test('refuses a key file that is not Ed25519, naming the file', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'datapact-audit-key-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    loadOrCreateAuditSigningKey(dir);
    const path = join(dir, 'secrets', 'audit-ed25519.pem');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(path, ec);
    assert.throws(() => loadOrCreateAuditSigningKey(dir), /audit-ed25519\.pem is ec, expected ed25519/);
    writeFileSync(path, 'garbage');
    assert.throws(() => loadOrCreateAuditSigningKey(dir), /audit-ed25519\.pem is not a readable private key/);
  });
});

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const opensslSkip =
  openssl.error !== undefined || openssl.status !== 0 ? 'openssl is not on PATH: the openssl verification test is skipped' : false;

describe('verification with openssl (the README command)', () => {
  test('openssl pkeyutl -verify accepts a head and refuses a tampered one', { skip: opensslSkip }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'datapact-openssl-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const head: TreeHead = treeHeadFromJson(treeHeadToJson(signTreeHead(key.privateKey, size, randomBytes(32), timestamp)));
    writeFileSync(join(dir, 'pub.pem'), key.publicKeyPem);
    writeFileSync(join(dir, 'input.bin'), signingInputByHand(head.size, head.root, head.timestamp));
    writeFileSync(join(dir, 'sig.bin'), head.signature);
    const run = () =>
      spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'input.bin', '-sigfile', 'sig.bin'], {
        cwd: dir,
        encoding: 'utf8',
      });
    const ok = run();
    assert.equal(ok.status, 0, `openssl refused a valid head: ${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, /Signature Verified Successfully/);

    writeFileSync(join(dir, 'input.bin'), signingInputByHand(head.size + 1, head.root, head.timestamp));
    const tampered = run();
    assert.notEqual(tampered.status, 0, 'openssl accepted a tampered head');
    assert.doesNotMatch(tampered.stdout, /Signature Verified Successfully/);
  });
});
