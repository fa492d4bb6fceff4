import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  checkpointBody, checkpointNote, noteKeyIdBytes, openCheckpoint, parseCheckpointText, signCheckpoint, verifierKey,
} from '../../src/audit/checkpoint.js';
import { COSIGNATURE_V1_TYPE, Cosigner, cosignatureTime, noteVerifierFromKey } from '../../src/audit/cosignature.js';
import { EMPTY_TREE_HASH } from '../../src/audit/merkle-hash.js';
import { NoteError, noteKeyId, openNote, parseVerifierKey, signatureLine } from '../../src/audit/signed-note.js';
import { goNoteAvailable, goNoteOpen } from '../helpers/go-note.js';

/**
 * Vectors published with the formats: Go's golang.org/x/mod/sumdb/note note_test.go (PeterNeumann,
 * EnochRoot), the C2SP signed-note spec's example, and transparency-dev/formats' cosignature tests.
 * Each is copied from its source unchanged, so a reader here that passes them reads notes as Go does.
 */

const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = 'If you think cryptography is the answer to your problem,\nthen you don\'t know what your problem is.\n';
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

/** Go's `PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)` as a Node key. */
function goSigningKey(skey: string): { name: string; privateKey: KeyObject } {
  const parts = skey.split('+');
  const name = parts[2] ?? '';
  const seed = Buffer.from(parts.slice(4).join('+'), 'base64').subarray(1);
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return { name, privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

function errorKind(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof NoteError) return error.kind;
    throw error;
  }
  return 'none';
}

describe('signed-note (Go sumdb/note vectors)', () => {
  const peter = noteVerifierFromKey(PETER_VKEY);
  const enoch = noteVerifierFromKey(ENOCH_VKEY);

  test('TestNewVerifier: the vkey parses, and every substring or one-byte change of it is refused', () => {
    assert.equal(peter.name, 'PeterNeumann');
    assert.equal(peter.keyId, 0xc74f20a3);
    let accepted = 0;
    const tries: string[] = [];
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) if (i !== 0 || j !== PETER_VKEY.length) tries.push(PETER_VKEY.slice(i, j));
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      tries.push(PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1));
    }
    for (const mangled of tries) if (errorKind(() => noteVerifierFromKey(mangled)) === 'none') accepted++;
    assert.equal(accepted, 0);
    // A wrong-length key and an unknown algorithm, each with its key hash adjusted to match.
    assert.equal(errorKind(() => noteVerifierFromKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')), 'malformed');
    assert.equal(errorKind(() => noteVerifierFromKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')), 'malformed');
  });

  test('TestSign: the Go signing key signs the text into exactly Go\'s note (Ed25519 is deterministic)', () => {
    const { name, privateKey } = goSigningKey(PETER_SKEY);
    assert.equal(name, 'PeterNeumann');
    const publicKey = createPublicKey(privateKey);
    assert.equal(verifierKey(name, publicKey), PETER_VKEY);
    assert.equal(noteKeyIdBytes(name, publicKey).toString('hex'), 'c74f20a3');
    const note = `${TEXT}\n${signatureLine(name, peter.keyId, sign(null, Buffer.from(TEXT), privateKey))}`;
    assert.equal(note, `${TEXT}\n${PETER_SIG}`);
  });

  test('TestOpen: one known key of two, both known, none known', () => {
    const one = openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, [peter]);
    assert.equal(one.text, TEXT);
    assert.deepEqual(one.verified.map((s) => s.line), [PETER_SIG]);
    assert.deepEqual(one.unverified.map((s) => s.line), [ENOCH_SIG]);
    const both = openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, [peter, enoch]);
    assert.deepEqual(both.verified.map((s) => [s.name, s.keyId]), [['PeterNeumann', 0xc74f20a3], ['EnochRoot', 0xaf0cfe78]]);
    assert.equal(both.unverified.length, 0);
    assert.equal(errorKind(() => openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, [])), 'unverified');
  });

  test('TestOpen: duplicated verifiers are ambiguous only when their key signed', () => {
    assert.equal(errorKind(() => openNote(TEXT + '\n' + ENOCH_SIG, [enoch, peter, enoch])), 'ambiguous_key');
    assert.equal(openNote(TEXT + '\n' + PETER_SIG, [enoch, peter, enoch]).verified.length, 1);
  });

  test('TestOpen: more than 100 signatures, an altered signature, and malformed notes are refused', () => {
    assert.equal(errorKind(() => openNote(TEXT + '\n' + PETER_SIG.repeat(101), [peter])), 'malformed');
    assert.equal(errorKind(() => openNote(TEXT + '\n' + PETER_SIG.repeat(101), [])), 'malformed');
    assert.equal(openNote(TEXT + '\n' + PETER_SIG.repeat(16), [peter]).verified.length, 1);
    const altered = TEXT + '\n' + PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    assert.equal(errorKind(() => openNote(altered, [peter])), 'invalid_signature');
    const badMessages = [
      TEXT,
      TEXT + '\n',
      TEXT + '\n' + PETER_SIG.slice(0, -1),
      '\x01' + TEXT + '\n' + PETER_SIG,
      Buffer.concat([Buffer.from([0xff]), Buffer.from(TEXT + '\n' + PETER_SIG)]),
      TEXT + '\n' + '— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
      TEXT + '\n' + PETER_SIG + 'Unexpected line.\n',
    ];
    for (const message of badMessages) assert.equal(errorKind(() => openNote(message, [peter])), 'malformed', String(message));
  });

  test('TestOpen: repeated signatures are dropped; an unknown key\'s bad signature is only unverified', () => {
    const enochAbcd = ENOCH_SIG.slice(0, 60) + 'ABCD' + ENOCH_SIG.slice(60);
    const opened = openNote(TEXT + '\n' + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enochAbcd, [peter]);
    assert.deepEqual(opened.verified.map((s) => s.line), [PETER_SIG]);
    assert.deepEqual(opened.unverified.map((s) => s.line), [ENOCH_SIG, enochAbcd]);
  });

  test('an altered text does not verify', () => {
    assert.equal(errorKind(() => openNote(TEXT.replace('answer', 'Answer') + '\n' + PETER_SIG, [peter])), 'invalid_signature');
  });

  test('the C2SP signed-note example verifies with its vkey', () => {
    const vkey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
    const note = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    assert.equal(openNote(note, [noteVerifierFromKey(vkey)]).verified.length, 1);
  });
});

describe('checkpoints (tlog-checkpoint)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const origin = 'datapact.example/audit';
  const root = Buffer.alloc(32, 7);

  test('a signed checkpoint opens with the log\'s vkey, as any signed-note reader opens it', () => {
    const note = checkpointNote(origin, 42, root, publicKey, signCheckpoint(privateKey, origin, 42, root));
    const { checkpoint } = openCheckpoint(note, [noteVerifierFromKey(verifierKey(origin, publicKey))]);
    assert.deepEqual([checkpoint.origin, checkpoint.size, checkpoint.root.equals(root)], [origin, 42, true]);
    assert.equal(note, `${origin}\n42\n${root.toString('base64')}\n\n— ${origin} ${Buffer.concat([noteKeyIdBytes(origin, publicKey), signCheckpoint(privateKey, origin, 42, root)]).toString('base64')}\n`);
  });

  test('checkpoint text: size without leading zeros, a 32-byte root, no empty extension line', () => {
    assert.equal(parseCheckpointText(checkpointBody(origin, 0, EMPTY_TREE_HASH)).size, 0);
    assert.deepEqual(parseCheckpointText(`${origin}\n1\n${root.toString('base64')}\next\n`).extensions, ['ext']);
    for (const bad of [`${origin}\n01\n${root.toString('base64')}\n`, `${origin}\n1\n${root.subarray(1).toString('base64')}\n`,
      `${origin}\n1\n${root.toString('base64')}\n\nx\n`, `${origin}\n-1\n${root.toString('base64')}\n`, `\n1\n${root.toString('base64')}\n`]) {
      assert.throws(() => parseCheckpointText(bad), /checkpoint|line/, bad);
    }
  });
});

describe('cosignature/v1 (tlog-cosignature)', () => {
  test('a published witness vkey (transparency-dev/formats) has the type 0x04 key id its name and key give', () => {
    const key = parseVerifierKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
    assert.equal(key.type, COSIGNATURE_V1_TYPE);
    assert.equal(noteKeyId(key.name, COSIGNATURE_V1_TYPE, key.publicKey), 0xda77ade7);
    assert.equal(noteVerifierFromKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2').keyId, 0xda77ade7);
  });

  test('the timestamp in published cosignatures: formats\' TestCoSigV1Timestamp and the C2SP example', () => {
    const formats = Buffer.from('ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==', 'base64');
    assert.equal(cosignatureTime(formats.subarray(4)), 1727964367);
    const notCosignature = Buffer.from('eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=', 'base64');
    assert.equal(cosignatureTime(notCosignature.subarray(4)), undefined);
    // tlog-cosignature's example line signs the message whose time line is `time 1679315147`.
    const c2sp = Buffer.from('jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==', 'base64');
    assert.equal(cosignatureTime(c2sp.subarray(4)), 1679315147);
  });

  test('a cosignature signs `cosignature/v1\\ntime <t>\\n` + the body, rebuilt here by hand', () => {
    const origin = 'datapact.example/audit';
    const body = `${origin}\n5\n${Buffer.alloc(32, 1).toString('base64')}\n`;
    const witness = Cosigner.generate('auditor.example/w1');
    const line = witness.cosign(body, 1_700_000_000);
    const bytes = Buffer.from(line.trimEnd().split(' ')[2]!, 'base64');
    assert.equal(bytes.length, 4 + 8 + 64);
    assert.equal(bytes.readBigUInt64BE(4), 1_700_000_000n);
    const message = Buffer.concat([Buffer.from('cosignature/v1\n'), Buffer.from('time 1700000000\n'), Buffer.from(body)]);
    assert.equal(verify(null, message, witness.publicKey, bytes.subarray(12)), true);
    // The key id is of type 0x04, so a plain Ed25519 (0x01) vkey of the same key cannot take it for a log signature.
    assert.equal(bytes.readUInt32BE(0), noteKeyId(witness.name, 0x04, witness.publicKey.export({ format: 'der', type: 'spki' }).subarray(12)));
    const logNote = `${body}\n${line}`;
    assert.equal(openNote(logNote, [noteVerifierFromKey(witness.verifierKey)]).verified.length, 1);
    assert.equal(errorKind(() => openNote(logNote, [noteVerifierFromKey(verifierKey(witness.name, witness.publicKey))])), 'unverified');
    assert.equal(errorKind(() => openNote(body.replace('\n5\n', '\n6\n') + '\n' + line, [noteVerifierFromKey(witness.verifierKey)])), 'invalid_signature');
  });
});

describe('Go\'s sumdb/note opens Datapact\'s checkpoints (reference implementation)', { skip: goNoteAvailable() ? false : 'no `go` with golang.org/x/mod in GOPATH' }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const origin = 'datapact.example/audit';
  const root = Buffer.alloc(32, 9);
  const note = checkpointNote(origin, 1234, root, publicKey, signCheckpoint(privateKey, origin, 1234, root),
    [Cosigner.generate('auditor.example/w1').cosign(checkpointBody(origin, 1234, root), 1_700_000_000)]);

  test('the checkpoint with a cosignature opens with the log\'s vkey (the cosignature is a signature Go does not know)', () => {
    const { status, output } = goNoteOpen(note, [verifierKey(origin, publicKey)]);
    assert.equal(output, `verified ${origin}\nunverified 1\n`);
    assert.equal(status, 0);
  });

  test('an altered size, or another log\'s key, does not open', () => {
    assert.match(goNoteOpen(note.replace('\n1234\n', '\n1235\n'), [verifierKey(origin, publicKey)]).output, /invalid signature for key datapact\.example\/audit/);
    assert.match(goNoteOpen(note, [verifierKey(origin, generateKeyPairSync('ed25519').publicKey)]).output, /no verifiable signatures/);
  });
});
