import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openCheckpoint } from '../../../src/audit/checkpoint.js';
import { Cosigner, noteVerifierFromKey } from '../../../src/audit/cosignature.js';
import { initWitnessFolder, openWitnessFolder, trustedLog } from '../../../src/audit/witness/witness-folder.js';
import { buildWitnessServer } from '../../../src/audit/witness/witness-server.js';
import { originHash, Witness, type LogState, type WitnessStateStore } from '../../../src/audit/witness/witness.js';
import { openNote } from '../../../src/audit/signed-note.js';
import { TestLog } from '../../helpers/test-log.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function folder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'datapact-witness-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function witnessServer(t: TestContext, log: TestLog, dir = folder(t)): Promise<{ server: FastifyInstance; dir: string; vkey: string }> {
  const cosigner = initWitnessFolder(dir, 'auditor.example/witness', [trustedLog(log.vkey)]);
  const server = await buildWitnessServer(openWitnessFolder(dir, () => NOW));
  t.after(() => server.close());
  return { server, dir, vkey: cosigner.verifierKey };
}

function add(server: FastifyInstance, body: string) {
  return server.inject({ method: 'POST', url: '/add-checkpoint', payload: body, headers: { 'content-type': 'text/plain' } });
}

describe('datapact witness (tlog-witness add-checkpoint)', () => {
  test('cosigns a first checkpoint, then a consistent extension; each cosignature verifies with the witness key', async (t) => {
    const log = new TestLog().append(5);
    const { server, vkey } = await witnessServer(t, log);
    const first = await add(server, log.submission(0));
    assert.equal(first.statusCode, 200);
    assert.match(first.body, /^— auditor\.example\/witness [A-Za-z0-9+/=]+\n$/);
    const cosigned = openNote(log.checkpoint() + first.body, [noteVerifierFromKey(log.vkey), noteVerifierFromKey(vkey)]);
    assert.equal(cosigned.verified.length, 2);

    log.append(4);
    const second = await add(server, log.submission(5));
    assert.equal(second.statusCode, 200);
    const { checkpoint } = openCheckpoint(log.checkpoint() + second.body, [noteVerifierFromKey(vkey)]);
    assert.equal(checkpoint.size, 9);
    // The same size and root again: cosigned afresh (a newer time), as the spec allows.
    assert.equal((await add(server, log.submission(9))).statusCode, 200);
  });

  test('a stale old size gets 409 with the cosigned size as text/x.tlog.size', async (t) => {
    const log = new TestLog().append(5);
    const { server } = await witnessServer(t, log);
    assert.equal((await add(server, log.submission(0))).statusCode, 200);
    log.append(3);
    const stale = await add(server, log.submission(0));
    assert.equal(stale.statusCode, 409);
    assert.equal(stale.headers['content-type'], 'text/x.tlog.size');
    assert.equal(stale.body, '5\n');
  });

  test('refuses a rewritten history: another root at the cosigned size, or a proof that does not reach the cosigned root', async (t) => {
    const log = new TestLog().append(5);
    const { server } = await witnessServer(t, log);
    assert.equal((await add(server, log.submission(0))).statusCode, 200);
    // The same log key signs a history whose entry 3 changed: its checkpoints verify, its proofs do not.
    const rewritten = new TestLog(log.origin, log.keys).append(3).append(6, 'rewritten');
    const sameSize = await add(server, rewritten.submission(5, 5, []));
    assert.equal(sameSize.statusCode, 422);
    const extended = await add(server, rewritten.submission(5, 9));
    assert.equal(extended.statusCode, 422);
    assert.match(extended.body, /no valid consistency proof from the cosigned size 5 to 9/);
    // Nor does the honest log's proof make the rewritten checkpoint pass.
    log.append(4);
    assert.equal((await add(server, rewritten.submission(5, 9, log.proof(5, 9)))).statusCode, 422);
    assert.equal((await add(server, log.submission(5))).statusCode, 200);
  });

  test('refuses a truncated history: a smaller checkpoint is 409 (old size) or 400 (old size beyond it)', async (t) => {
    const log = new TestLog().append(9);
    const { server } = await witnessServer(t, log);
    assert.equal((await add(server, log.submission(0))).statusCode, 200);
    const asIfNew = await add(server, log.submission(0, 4));
    assert.deepEqual([asIfNew.statusCode, asIfNew.body], [409, '9\n']);
    const fromCosigned = await add(server, `old 9\n\n${log.checkpoint(4)}`);
    assert.equal(fromCosigned.statusCode, 400);
  });

  test('unknown log 404, a signature that does not verify 403, malformed 400, a proof from 0 or a bad empty root 422', async (t) => {
    const log = new TestLog().append(5);
    const { server } = await witnessServer(t, log);
    assert.equal((await add(server, new TestLog('other.example/log').append(2).submission(0))).statusCode, 404);
    const impostor = new TestLog(log.origin).append(5);
    assert.equal((await add(server, impostor.submission(0))).statusCode, 403);
    const altered = log.submission(0).replace('\n5\n', '\n6\n');
    assert.equal((await add(server, altered)).statusCode, 403);
    for (const body of ['', 'old 0\n', `old -1\n\n${log.checkpoint()}`, `old 01\n\n${log.checkpoint()}`, `old 0\nnot-base64\n\n${log.checkpoint()}`,
      `new 0\n\n${log.checkpoint()}`, `old 0\n\n${log.checkpoint().replace(/\n— .*\n$/, '\n')}`,
      `old 0\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(64)}\n${log.checkpoint()}`, `old 6\n\n${log.checkpoint()}`]) {
      assert.equal((await add(server, body)).statusCode, 400, JSON.stringify(body.slice(0, 40)));
    }
    assert.equal((await add(server, log.submission(0, 5, [Buffer.alloc(32)]))).statusCode, 422);
    assert.equal((await add(server, `old 0\n\n${log.checkpoint(0, log.root(5))}`)).statusCode, 422);
    assert.equal((await add(server, `old 0\n\n${log.checkpoint(0)}`)).statusCode, 200);
  });

  test('remembers what it cosigned across restarts, and serves it at /<sha256(origin)>/checkpoint', async (t) => {
    const log = new TestLog().append(7);
    const { server, dir, vkey } = await witnessServer(t, log);
    assert.equal((await add(server, log.submission(0))).statusCode, 200);
    await server.close();

    const again = await buildWitnessServer(openWitnessFolder(dir, () => NOW + 1000));
    t.after(() => again.close());
    assert.deepEqual([(await add(again, log.submission(0))).statusCode, (await add(again, log.submission(0))).body], [409, '7\n']);
    const served = await again.inject({ url: `/${originHash(log.origin)}/checkpoint` });
    assert.equal(served.statusCode, 200);
    const opened = openNote(served.body, [noteVerifierFromKey(log.vkey), noteVerifierFromKey(vkey)]);
    assert.equal(opened.verified.length, 2);
    assert.equal((await again.inject({ url: `/${originHash('nobody')}/checkpoint` })).statusCode, 404);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { logs: Record<string, { size: number }> };
    assert.equal(state.logs[log.origin]?.size, 7);
  });

  test('concurrent submissions are checked and stored one at a time: no cosigned size is ever rolled back', async () => {
    const log = new TestLog().append(20);
    const stored: LogState[] = [];
    // A store that yields before it stores, so that unserialized requests would interleave.
    const state: WitnessStateStore = {
      get: () => stored.at(-1),
      put: async (_origin, value) => {
        await new Promise((resolve) => setImmediate(resolve));
        stored.push(value);
      },
    };
    const witness = new Witness({ cosigner: Cosigner.generate('auditor.example/w'), logs: [trustedLog(log.vkey)], state, clock: () => NOW });
    const sizes = [3, 8, 5, 20, 11, 2, 17];
    const results = await Promise.all(sizes.map((size) => witness.addCheckpoint(Buffer.from(log.submission(0, size)))));
    assert.deepEqual(results.map((r) => r.status), [200, 409, 409, 409, 409, 409, 409]);
    assert.deepEqual(stored.map((s) => s.size), [3]);
    // Each then follows up from the size it was told; they are cosigned in turn, only ever growing.
    for (const size of [8, 5, 20, 11]) {
      const latest = stored.at(-1)!.size;
      const result = await witness.addCheckpoint(Buffer.from(log.submission(latest, Math.max(size, latest))));
      assert.equal(result.status, 200);
    }
    assert.deepEqual(stored.map((s) => s.size), [3, 8, 8, 20, 20]);
  });
});
