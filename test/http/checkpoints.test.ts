/**
 * Checkpoints and witnesses end to end (issue 11): a server with real Graph API traffic, a
 * `datapact witness` listening on a real port with its own folder, configured with the log's
 * verifier key; the server's submitter (stepped by the test, never by a timer) sends each new
 * checkpoint, the cosigned checkpoint is published at GET /v1/audit/checkpoint, and it is opened
 * by the signed-note reader tested on Go's vectors and, where `go` is installed, by Go's own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { checkpointNote, openCheckpoint, verifierKey } from '../../src/audit/checkpoint.js';
import { noteVerifierFromKey } from '../../src/audit/cosignature.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { initWitnessFolder, openWitnessFolder, trustedLog } from '../../src/audit/witness/witness-folder.js';
import { buildWitnessServer } from '../../src/audit/witness/witness-server.js';
import { adminWorld } from '../helpers/admin.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { goNoteAvailable, goNoteOpen } from '../helpers/go-note.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ORIGIN = 'datapact.test/audit';

function temporaryFolder(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The log's key made first (as `serve` makes it in its data directory), so the witness can be told to trust it. */
async function witnessedServer(t: TestContext, dialect: Dialect, options: { quorum?: number; extraWitnessKey?: string } = {}) {
  const dataDir = temporaryFolder(t, 'datapact-data-');
  const logKey = loadOrCreateAuditSigningKey(dataDir);
  const logVkey = verifierKey(ORIGIN, logKey.publicKey);
  const witnessDir = temporaryFolder(t, 'datapact-witness-');
  const cosigner = initWitnessFolder(witnessDir, 'auditor.example/witness', [trustedLog(logVkey)]);
  const witness = await buildWitnessServer(openWitnessFolder(witnessDir, () => NOW));
  const url = await witness.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => witness.close());
  const witnesses = [{ url, vkey: cosigner.verifierKey }];
  if (options.extraWitnessKey !== undefined) witnesses.push({ url: 'http://127.0.0.1:9/unreachable', vkey: options.extraWitnessKey });
  const world = await adminWorld(t, NOW, {
    dialect, dataDir, logOrigin: ORIGIN, witnesses, witnessQuorum: options.quorum ?? 1, audit: { headIntervalMs: 0 },
  });
  await addMembers(world.store, [{ id: 'm_alice' }], NOW);
  const partner = await addPartner(world.store, 'dev', { agreement: { memberFields: ['id', 'name'], friendFields: [] } }, NOW);
  const { token } = await grantToken(world.store, { memberId: 'm_alice', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'], friendFields: [] }, NOW);
  const traffic = async (requests: number) => {
    for (let i = 0; i < requests; i++) {
      const response = await world.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 200, response.body);
    }
  };
  return { ...world, dataDir, logVkey, witnessVkey: cosigner.verifierKey, witnessDir, traffic };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`checkpoints cosigned by a live datapact witness on ${dialect}`, () => {
    test.both('JSON and blob columns', 'the submitter sends the checkpoint, the cosigned checkpoint is published, and it opens with the log and witness keys', async (t) => {
      const server = await witnessedServer(t, dialect);
      await server.traffic(3);
      const published = await server.app.inject({ url: '/v1/audit/verifier-key' });
      assert.equal(published.body, `${server.logVkey}\n`);

      const before = await server.app.inject({ url: '/v1/audit/checkpoint' });
      assert.equal(before.statusCode, 200);
      assert.equal(before.headers['content-type'], 'text/plain; charset=utf-8');
      // Byte for byte the checkpoint stored when its head was signed: nothing is signed as it is served.
      const signed = (await server.store.audit.latestHead())!;
      assert.equal(before.body, checkpointNote(ORIGIN, signed.size, signed.root, loadOrCreateAuditSigningKey(server.dataDir).publicKey, signed.checkpoint!.signature));
      assert.deepEqual([before.headers['x-cosignatures'], before.headers['x-witness-quorum'], before.headers['x-under-quorum']], ['0', '1', 'true']);

      const outcomes = await server.app.witnessing.step();
      assert.deepEqual(outcomes.map((o) => o.outcome), ['cosigned']);
      const after = await server.app.inject({ url: '/v1/audit/checkpoint' });
      assert.deepEqual([after.headers['x-cosignatures'], after.headers['x-under-quorum']], ['1', undefined]);
      const { checkpoint, note } = openCheckpoint(after.body, [noteVerifierFromKey(server.logVkey), noteVerifierFromKey(server.witnessVkey)]);
      assert.equal(note.verified.length, 2);
      const head = (await server.app.inject({ url: '/v1/audit/tree-head' })).json();
      assert.deepEqual([checkpoint.origin, checkpoint.size, checkpoint.root.toString('base64')], [ORIGIN, head.tree_size, head.root_hash]);
      if (goNoteAvailable()) {
        const go = goNoteOpen(after.body, [server.logVkey]);
        assert.deepEqual([go.status, go.output], [0, `verified ${ORIGIN}\nunverified 1\n`]);
      }

      // The log grows: the next checkpoint is cosigned with a consistency proof from the last one.
      await server.traffic(4);
      assert.deepEqual((await server.app.witnessing.step()).map((o) => o.outcome), ['cosigned']);
      assert.deepEqual((await server.app.witnessing.step()).map((o) => o.outcome), ['already_cosigned']);
      const grown = openCheckpoint((await server.app.inject({ url: '/v1/audit/checkpoint' })).body, [noteVerifierFromKey(server.witnessVkey)]);
      // Each /v1/me writes two entries: the request's and the member's.
      assert.equal(grown.checkpoint.size, checkpoint.size + 2 * 4);
      const state = JSON.parse(readFileSync(join(server.witnessDir, 'state.json'), 'utf8')) as { logs: Record<string, { size: number }> };
      assert.equal(state.logs[ORIGIN]?.size, checkpoint.size + 2 * 4);
    });

    test('staff see each head\'s cosignatures; heads under the quorum are flagged; an unreachable witness is retried after a backoff', async (t) => {
      const absent = initWitnessFolder(temporaryFolder(t, 'datapact-absent-'), 'absent.example/witness', []);
      const server = await witnessedServer(t, dialect, { quorum: 2, extraWitnessKey: absent.verifierKey });
      await server.traffic(2);
      const outcomes = await server.app.witnessing.step();
      assert.deepEqual(outcomes.map((o) => o.outcome), ['cosigned', 'failed']);
      assert.deepEqual((await server.app.witnessing.step()).map((o) => o.outcome), ['already_cosigned', 'backing_off']);

      const page = await server.call(server.staff.viewer.token, 'GET', '/admin/v1/audit/checkpoints');
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json();
      assert.equal(body.quorum, 2);
      assert.equal(body.verifier_key, server.logVkey);
      const [latest, ...older] = body.data;
      assert.deepEqual(latest.cosignatures.map((c: { witness: string }) => c.witness), [server.witnessVkey]);
      assert.equal(latest.under_quorum, true);
      assert.ok(older.every((head: { under_quorum: boolean; cosignatures: unknown[] }) => head.under_quorum && head.cosignatures.length === 0));
      const checkpoint = await server.app.inject({ url: '/v1/audit/checkpoint' });
      assert.deepEqual([checkpoint.headers['x-cosignatures'], checkpoint.headers['x-witness-quorum'], checkpoint.headers['x-under-quorum']], ['1', '2', 'true']);
      assert.equal((await server.call(null, 'GET', '/admin/v1/audit/checkpoints')).statusCode, 401);
    });
  });
}
