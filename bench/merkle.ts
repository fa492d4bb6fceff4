/**
 * Benchmark of the audit log's Merkle tree (issue 5): inclusion proofs at 10,000,000 leaves.
 *
 * The tree is synthetic and sparse: every leaf has the same hash, so the complete subtree at
 * level l is H_l whatever its index, and a store of any size costs ~24 hashes to set up. It is
 * still a real, consistent tree (every proof verifies), and it refuses reads of subtrees that are
 * not complete, so the work measured is the real plan + reads + hashing of partial subtrees; only
 * the lookup is free. A database read costs far more than anything timed here.
 *
 * Prints p50/p99 per proof for: the proof through the synchronous store, through the async
 * interface the database will implement, and verifying it; and the root hash.
 *
 * Run: npm run bench:merkle   (--smoke: 100,000 leaves, a few hundred proofs)
 */
import {
  consistencyProofSync,
  inclusionProof,
  inclusionProofSync,
  rootHashSync,
} from '../src/audit/merkle-tree.js';
import { verifyConsistency, verifyInclusion } from '../src/audit/merkle-verify.js';
import { isMain, runAsScript, type BenchOptions, type BenchResult, type Figure } from './lib/figures.js';
import { prng } from './prng.js';
import { UniformStore } from '../test/helpers/uniform-subtree-store.js';

const FULL = { SIZE: 10_000_000, PROOFS: 20_000, WARMUP: 2_000, OTHERS: 5_000 };
const SMOKE = { SIZE: 100_000, PROOFS: 500, WARMUP: 100, OTHERS: 200 };
const SEED = 0x5eed_2026;


/** p50, p99 and max of samples in nanoseconds, in microseconds. */
function quantiles(samplesNs: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const at = (q: number): number => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) / 1000;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

function percentiles(samplesNs: number[]): string {
  const { p50, p99, max } = quantiles(samplesNs);
  const us = (v: number): string => `${v.toFixed(1)} µs`;
  return `p50 ${us(p50)}  p99 ${us(p99)}  max ${us(max)}`;
}

/** Proofs over a synthetic tree of SIZE leaves; prints its lines and returns the figures. */
export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const { SIZE, PROOFS, WARMUP, OTHERS } = options.smoke ? SMOKE : FULL;
  const store = new UniformStore(SIZE);
  const leaf = store.getNodeSync(0, 0) as Buffer;
  const root = rootHashSync(store, SIZE);
  const random = prng(SEED);
  const indices = Array.from({ length: PROOFS + WARMUP }, () => Math.floor(random() * SIZE));
  // A few edges: first, last, and the right edge of the largest complete subtree.
  const largestSubtree = 2 ** Math.floor(Math.log2(SIZE - 1)); // 2 ** 23 at 10,000,000 leaves
  indices.push(0, SIZE - 1, largestSubtree - 1, largestSubtree);

  const syncNs: number[] = [];
  const asyncNs: number[] = [];
  const verifyNs: number[] = [];
  let maxReads = 0;
  let maxLength = 0;
  for (let n = 0; n < indices.length; n++) {
    const index = indices[n] as number;
    store.reads = 0;
    let t = process.hrtime.bigint();
    const proof = inclusionProofSync(store, index, SIZE);
    const tSync = process.hrtime.bigint() - t;
    maxReads = Math.max(maxReads, store.reads);
    maxLength = Math.max(maxLength, proof.length);

    t = process.hrtime.bigint();
    const again = await inclusionProof(store, index, SIZE);
    const tAsync = process.hrtime.bigint() - t;

    t = process.hrtime.bigint();
    const ok = verifyInclusion(leaf, index, SIZE, proof, root);
    const tVerify = process.hrtime.bigint() - t;
    if (!ok || again.length !== proof.length) throw new Error(`proof for ${index} does not verify`);
    if (n >= WARMUP) {
      syncNs.push(Number(tSync));
      asyncNs.push(Number(tAsync));
      verifyNs.push(Number(tVerify));
    }
  }

  const rootNs: number[] = [];
  for (let n = 0; n < OTHERS; n++) {
    const size = SIZE - Math.floor(random() * 1000);
    const t = process.hrtime.bigint();
    rootHashSync(store, size);
    rootNs.push(Number(process.hrtime.bigint() - t));
  }

  const consistencyNs: number[] = [];
  for (let n = 0; n < OTHERS; n++) {
    const m = 1 + Math.floor(random() * (SIZE - 1));
    const t = process.hrtime.bigint();
    const proof = consistencyProofSync(store, m, SIZE);
    consistencyNs.push(Number(process.hrtime.bigint() - t));
    if (n % 50 === 0 && !verifyConsistency(m, SIZE, rootHashSync(new UniformStore(m), m), root, proof)) {
      throw new Error(`consistency ${m} -> ${SIZE} does not verify`);
    }
  }

  console.log(`merkle: ${SIZE.toLocaleString('en')} leaves (synthetic sparse store), ${PROOFS.toLocaleString('en')} random indices`);
  console.log(`  inclusion proof (sync store):   ${percentiles(syncNs)}  (≤ ${maxLength} hashes, ≤ ${maxReads} reads)`);
  console.log(`  inclusion proof (async store):  ${percentiles(asyncNs)}`);
  console.log(`  verify inclusion:               ${percentiles(verifyNs)}`);
  console.log(`  consistency proof (sync store): ${percentiles(consistencyNs)}`);
  console.log(`  root hash (sync store):         ${percentiles(rootNs)}`);
  const figure = (name: string, samplesNs: number[], which: 'p50' | 'p99'): Figure =>
    ({ name: `${name} ${which}`, value: quantiles(samplesNs)[which], unit: 'µs', kind: 'info' });
  return {
    benchmark: 'merkle',
    ok: true,
    figures: [
      figure('inclusion proof (sync store)', syncNs, 'p50'),
      figure('inclusion proof (sync store)', syncNs, 'p99'),
      figure('inclusion proof (async store)', asyncNs, 'p99'),
      figure('verify inclusion', verifyNs, 'p99'),
      figure('consistency proof (sync store)', consistencyNs, 'p99'),
    ],
    notes: [`${SIZE} leaves (synthetic sparse store), ${PROOFS} random indices`],
  };
}

if (isMain(import.meta.url)) await runAsScript(run);
