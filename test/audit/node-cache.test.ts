import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leafHash } from '../../src/audit/merkle-hash.js';
import { MemorySubtreeStore, appendLeavesSync, consistencyProofPlan, inclusionProofPlan, runPlanSync, type NodeRef } from '../../src/audit/merkle-tree.js';
import { NodeCache } from '../../src/audit/node-cache.js';

const SIZE = 5000;
const tree = new MemorySubtreeStore();
tree.put(appendLeavesSync(tree, 0, Array.from({ length: SIZE }, (_, i) => leafHash(Buffer.from(`entry ${i}`)))).writes);

function counted() {
  const fetched: NodeRef[] = [];
  const cache = new NodeCache(async (refs) => {
    fetched.push(...refs);
    return refs.map((ref) => tree.getNodeSync(ref.level, ref.index)!);
  }, 4);
  return { cache, fetched };
}

test('proofs through the node cache equal the proofs read from the store, and upper nodes are read once', async () => {
  const { cache, fetched } = counted();
  for (const index of [0, 1, 777, 2048, SIZE - 1]) {
    const plan = inclusionProofPlan(index, SIZE);
    assert.deepEqual(await cache.run(plan), runPlanSync(tree, plan), `inclusion of ${index}`);
    assert.deepEqual(await cache.run(plan), runPlanSync(tree, plan), `inclusion of ${index}, again`);
  }
  for (const m of [1, 100, 4096]) {
    const plan = consistencyProofPlan(m, SIZE);
    assert.deepEqual(await cache.run(plan), runPlanSync(tree, plan), `consistency ${m} → ${SIZE}`);
  }
  const keys = fetched.map((ref) => `${ref.level}:${ref.index}`);
  const upper = keys.filter((key) => Number(key.split(':')[0]) >= 4);
  assert.equal(new Set(upper).size, upper.length, 'a node at or above the cached level is fetched at most once');
  assert.ok(keys.some((key) => key.startsWith('0:')), 'the lowest levels are still read from the store');
});
