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
  const runs: { level: number; from: number; to: number }[] = [];
  const cache = new NodeCache({
    async nodes(refs) {
      fetched.push(...refs);
      return refs.map((ref) => tree.getNodeSync(ref.level, ref.index)!);
    },
    async nodeRun(level, from, to) {
      runs.push({ level, from, to });
      return Buffer.concat(Array.from({ length: to - from }, (_, i) => tree.getNodeSync(level, from + i)!));
    },
  }, 4);
  return { cache, fetched, runs };
}

test('proofs through the node cache equal the proofs read from the store, and upper nodes are read once, in runs', async () => {
  const { cache, fetched, runs } = counted();
  let loading = 0;
  for (const size of [1000, 1337, SIZE]) {
    // The first proof of a larger tree starts loading the levels, and reads what is not loaded yet from the store.
    const first = inclusionProofPlan(size - 2, size);
    assert.deepEqual(await cache.run(first, size), runPlanSync(tree, first), `inclusion of ${size - 2} in ${size}, while loading`);
    await cache.ready();
    loading += fetched.splice(0).filter((ref) => ref.level >= 4).length;
    for (const index of [0, 1, 777, size - 1]) {
      const plan = inclusionProofPlan(index, size);
      assert.deepEqual(await cache.run(plan, size), runPlanSync(tree, plan), `inclusion of ${index} in ${size}`);
      assert.deepEqual(await cache.run(plan, size), runPlanSync(tree, plan), `inclusion of ${index} in ${size}, again`);
    }
    for (const m of [1, 100, 999]) {
      const plan = consistencyProofPlan(m, size);
      assert.deepEqual(await cache.run(plan, size), runPlanSync(tree, plan), `consistency ${m} → ${size}`);
    }
  }
  assert.ok(loading > 0 && fetched.every((ref) => ref.level < 4), 'once loaded, nodes at and above the cached level are never fetched one by one');
  const loaded = runs.flatMap(({ level, from, to }) => Array.from({ length: to - from }, (_, i) => `${level}:${from + i}`));
  assert.equal(new Set(loaded).size, loaded.length, 'each upper node is loaded once as the trees asked for grow');
  assert.ok(fetched.some((ref) => ref.level === 0), 'the lowest levels are still read from the store');
  const edge = fetched.filter((ref) => (ref.index + 1) * 2 ** ref.level > Math.floor(SIZE / 16) * 16 && ref.index * 2 ** ref.level < SIZE);
  assert.equal(new Set(edge.map((ref) => `${ref.level}:${ref.index}`)).size, edge.length, 'the right edge below the cached level is read once per tree');
});
