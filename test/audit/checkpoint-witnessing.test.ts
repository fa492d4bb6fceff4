import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CheckpointSubmitter, parseWitnessList, parseWitnessQuorum, type CheckpointLog, type Cosignature, type CosignatureStore, type PostText,
} from '../../src/audit/checkpoint-witnessing.js';
import { Cosigner } from '../../src/audit/cosignature.js';
import { trustedLog } from '../../src/audit/witness/witness-folder.js';
import { Witness, type LogState } from '../../src/audit/witness/witness.js';
import { TestLog } from '../helpers/test-log.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function memoryCosignatures(): CosignatureStore & { rows: Cosignature[] } {
  const rows: Cosignature[] = [];
  return {
    rows,
    add: async (c) => {
      if (!rows.some((r) => r.treeSize === c.treeSize && r.witness === c.witness)) rows.push(c);
    },
    forSizes: async (sizes) => new Map(sizes.map((size) => [size, rows.filter((r) => r.treeSize === size)])),
    latestSizeBy: async (witness) => {
      const sizes = rows.filter((r) => r.witness === witness).map((r) => r.treeSize);
      return sizes.length === 0 ? undefined : Math.max(...sizes);
    },
  };
}

function asCheckpointLog(log: TestLog): CheckpointLog {
  return {
    latest: async () => ({ size: log.size, root: log.root(), note: log.checkpoint() }),
    consistencyProof: async (from, to) => log.proof(from, to),
  };
}

/** A witness in memory, reached through `post`, which records each request's `old` line. */
function memoryWitness(log: TestLog) {
  const states = new Map<string, LogState>();
  const cosigner = Cosigner.generate('auditor.example/w');
  const witness = new Witness({
    cosigner, logs: [trustedLog(log.vkey)], clock: () => NOW,
    state: { get: (origin) => states.get(origin), put: async (origin, state) => void states.set(origin, state) },
  });
  const olds: string[] = [];
  const post: PostText = async (_url, body) => {
    olds.push(body.slice(0, body.indexOf('\n')));
    const result = await witness.addCheckpoint(Buffer.from(body));
    if (result.status === 200) return { status: 200, body: result.cosignature };
    if (result.status === 409) return { status: 409, body: `${result.size}\n` };
    return { status: result.status, body: result.reason };
  };
  return { witness, cosigner, post, olds, endpoint: { url: 'http://witness.test', vkey: cosigner.verifierKey } };
}

describe('the checkpoint submitter', () => {
  test('a witness that already cosigned a larger size than the log knows answers 409, and the resend from that size is cosigned', async () => {
    const log = new TestLog().append(5);
    const w = memoryWitness(log);
    assert.equal((await w.witness.addCheckpoint(Buffer.from(log.submission(0)))).status, 200); // fed by someone else
    log.append(6);
    const cosignatures = memoryCosignatures();
    const submitter = new CheckpointSubmitter({ log: asCheckpointLog(log), cosignatures, witnesses: [w.endpoint], post: w.post, clock: () => NOW });
    assert.deepEqual((await submitter.step()).map((o) => o.outcome), ['cosigned']);
    assert.deepEqual(w.olds, ['old 0', 'old 5']);
    assert.deepEqual(cosignatures.rows.map((c) => [c.treeSize, c.witness, c.cosignedAt]), [[11, w.cosigner.verifierKey, NOW / 1000]]);
  });

  test('a witness that refuses (the log rewrote its history) is recorded as failed and retried only after a growing backoff', async () => {
    const honest = new TestLog().append(5);
    const w = memoryWitness(honest);
    assert.equal((await w.witness.addCheckpoint(Buffer.from(honest.submission(0)))).status, 200);
    const rewritten = new TestLog(honest.origin, honest.keys).append(2).append(7, 'rewritten');
    let now = NOW;
    const submitter = new CheckpointSubmitter({
      log: asCheckpointLog(rewritten), cosignatures: memoryCosignatures(), witnesses: [w.endpoint], post: w.post, clock: () => now,
    });
    const [first] = await submitter.step();
    assert.equal(first?.outcome, 'failed');
    assert.match(first?.outcome === 'failed' ? first.reason : '', /^422: no valid consistency proof from the cosigned size 5 to 9/);
    assert.equal(first?.outcome === 'failed' && first.retryAt, NOW + 5000);
    assert.equal((await submitter.step())[0]?.outcome, 'backing_off');
    now = NOW + 5000;
    const [second] = await submitter.step();
    assert.equal(second?.outcome === 'failed' && second.retryAt, now + 10_000);
  });

  test('an answer that is not a valid cosignature by the witness\'s key is not kept', async () => {
    const log = new TestLog().append(3);
    const w = memoryWitness(log);
    const impostor = Cosigner.generate('auditor.example/w');
    const cosignatures = memoryCosignatures();
    const body = log.checkpoint().slice(0, log.checkpoint().indexOf('\n\n') + 1);
    const post: PostText = async () => ({ status: 200, body: impostor.cosign(body, NOW / 1000) });
    const submitter = new CheckpointSubmitter({ log: asCheckpointLog(log), cosignatures, witnesses: [w.endpoint], post, clock: () => NOW });
    assert.equal((await submitter.step())[0]?.outcome, 'failed');
    assert.equal(cosignatures.rows.length, 0);
  });

  test('DATAPACT_WITNESSES and DATAPACT_WITNESS_QUORUM are checked', () => {
    const key = Cosigner.generate('w.example/1').verifierKey;
    assert.deepEqual(parseWitnessList(`https://w.example/ ${key}`), [{ url: 'https://w.example', vkey: key }]);
    assert.equal(parseWitnessList(` https://a.example ${key},\nhttps://b.example ${Cosigner.generate('w.example/2').verifierKey}`).length, 2);
    for (const bad of ['https://w.example', `w.example ${key}`, `ftp://w.example ${key}`, `https://w.example ${new TestLog().vkey}`, `https://a.example ${key}, https://b.example ${key}`]) {
      assert.throws(() => parseWitnessList(bad), /DATAPACT_WITNESSES/, bad);
    }
    assert.equal(parseWitnessQuorum(undefined, 3), 3);
    assert.equal(parseWitnessQuorum('2', 3), 2);
    for (const bad of ['4', '-1', '1.5', 'all']) assert.throws(() => parseWitnessQuorum(bad, 3), /DATAPACT_WITNESS_QUORUM/);
  });
});
