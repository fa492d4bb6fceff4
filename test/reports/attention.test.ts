/**
 * The console's home (src/reports/attention.ts): witnesses behind the latest signed head. The head's
 * cosignatures against the quorum, from the log's checkpoints; nothing without witnesses or a head.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFound } from '../../src/domain/errors.js';
import { attentionReport, type LatestCheckpoint } from '../../src/reports/attention.js';
import { createStore } from '../../src/store/store.js';
import { testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function checkpoint(cosignatures: number, quorum: number): LatestCheckpoint {
  return {
    latestView: async () => ({
      head: { size: 42 } as never, cosignatures: Array.from({ length: cosignatures }, () => ({}) as never), quorum, underQuorum: cosignatures < quorum,
    }),
  };
}

test('witnesses behind: the latest head has fewer cosignatures than the quorum; none without witnesses or a head', async (t) => {
  const store = createStore((await testDatabase(t, 'sqlite')).db);
  assert.deepEqual((await attentionReport(store, NOW, checkpoint(1, 2))).witnesses, { size: 42, cosignatures: 1, quorum: 2, behind: true });
  assert.deepEqual((await attentionReport(store, NOW, checkpoint(2, 2))).witnesses, { size: 42, cosignatures: 2, quorum: 2, behind: false });
  assert.equal((await attentionReport(store, NOW, checkpoint(0, 0))).witnesses, null, 'no witness configured');
  const noHead: LatestCheckpoint = { latestView: async () => { throw new NotFound('No tree head is signed yet.'); } };
  assert.equal((await attentionReport(store, NOW, noHead)).witnesses, null);
  const broken: LatestCheckpoint = { latestView: async () => { throw new Error('disk'); } };
  await assert.rejects(attentionReport(store, NOW, broken), /disk/, 'other failures are not hidden');
});
