import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { EMPTY_TREE_HASH, leafHash, leafHashOfText, nodeHash } from '../../src/audit/merkle-hash.js';
import {
  MemorySubtreeStore,
  MissingNodeError,
  appendLeaves,
  appendLeavesSync,
  completeSubtrees,
  consistencyProof,
  consistencyProofSync,
  inclusionProof,
  inclusionProofSync,
  rootHash,
  rootHashSync,
  type NodeWrite,
  type SubtreeStore,
} from '../../src/audit/merkle-tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle-verify.js';
import { UniformStore } from '../helpers/uniform-subtree-store.js';

// ---------------------------------------------------------------------------------------------
// The reference: RFC 9162 §2.1 written literally on the raw list of inputs, recursively, with its
// own hashing. It knows nothing of stored subtrees.

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const HASH_LEAF = (d: Uint8Array): Buffer => sha256(Uint8Array.of(0x00), d);
const HASH_NODE = (l: Uint8Array, r: Uint8Array): Buffer => sha256(Uint8Array.of(0x01), l, r);
/** k: the largest power of two smaller than n (n > 1). */
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/** MTH(D[n]) */
function MTH(D: readonly Buffer[]): Buffer {
  if (D.length === 0) return sha256();
  if (D.length === 1) return HASH_LEAF(D[0] as Buffer);
  const k = split(D.length);
  return HASH_NODE(MTH(D.slice(0, k)), MTH(D.slice(k)));
}

/** PATH(m, D[n]) (§2.1.3.1) */
function PATH(m: number, D: readonly Buffer[]): Buffer[] {
  if (D.length === 1) return [];
  const k = split(D.length);
  return m < k ? [...PATH(m, D.slice(0, k)), MTH(D.slice(k))] : [...PATH(m - k, D.slice(k)), MTH(D.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (§2.1.4.1) */
function PROOF(m: number, D: readonly Buffer[]): Buffer[] {
  return SUBPROOF(m, D, true);
}
function SUBPROOF(m: number, D: readonly Buffer[], b: boolean): Buffer[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  const k = split(n);
  return m <= k
    ? [...SUBPROOF(m, D.slice(0, k), b), MTH(D.slice(k))]
    : [...SUBPROOF(m - k, D.slice(k), false), MTH(D.slice(0, k))];
}

/** The same recursion over index ranges of pre-hashed leaves, memoized, for trees of thousands. */
function memoReference(leafHashes: readonly Buffer[]) {
  const memo = new Map<string, Buffer>();
  const mth = (a: number, b: number): Buffer => {
    const key = `${a}:${b}`;
    let r = memo.get(key);
    if (r === undefined) {
      if (b - a === 1) r = leafHashes[a] as Buffer;
      else {
        const k = split(b - a);
        r = HASH_NODE(mth(a, a + k), mth(a + k, b));
      }
      memo.set(key, r);
    }
    return r;
  };
  const subproof = (m: number, a: number, b: number, flag: boolean): Buffer[] => {
    if (m === b) return flag ? [] : [mth(a, b)];
    const k = split(b - a);
    return m <= a + k ? [...subproof(m, a, a + k, flag), mth(a + k, b)] : [...subproof(m, a + k, b, false), mth(a, a + k)];
  };
  return { root: (n: number) => mth(0, n), proof: (m: number, n: number) => subproof(m, 0, n, true) };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const hex = (b: Buffer): string => b.toString('hex');
const hexes = (bs: readonly Buffer[]): string[] => bs.map(hex);
/** Inputs "0", "1", "2", … (ASCII), so a reader can recompute hashes with sha256sum. */
const digits = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(String(i)));

function buildStore(data: readonly Buffer[], chunks?: readonly number[]): MemorySubtreeStore {
  const store = new MemorySubtreeStore();
  let size = 0;
  const sizes = chunks ?? data.map(() => 1);
  for (const c of sizes) {
    const batch = data.slice(size, size + c).map((d) => leafHash(d));
    const { newSize, writes } = appendLeavesSync(store, size, batch);
    store.put(writes);
    size = newSize;
  }
  if (size !== data.length) throw new Error('chunks do not cover the data');
  return store;
}

function flipBit(b: Buffer, bit: number): Buffer {
  const copy = Buffer.from(b);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

function withFlipped(list: readonly Buffer[], element: number, bit: number): Buffer[] {
  return list.map((b, i) => (i === element ? flipBit(b, bit) : b));
}

const ceilLog2 = (n: number): number => {
  let l = 0;
  while (2 ** l < n) l++;
  return l;
};

const popcount = (n: number): number => {
  let c = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) c += v % 2;
  return c;
};

// ---------------------------------------------------------------------------------------------

describe('hashes, checked by hand', () => {
  // printf '\x000' | sha256sum    (0x00 || "0")
  const L0 = 'db3426e878068d28d269b6c87172322ce5372b65756d0789001d34835f601c03';
  const L1 = '2215e8ac4e2b871c2a48189e79738c956c081e23ac2f2415bf77da199dfd920c';
  const L2 = 'fa61e3dec3439589f4784c893bf321d0084f04c572c7af2b68e3f3360a35b486';
  // (printf '\x01'; echo -n "$L0$L1" | xxd -r -p) | sha256sum
  const ROOTS: Record<number, string> = {
    1: L0,
    2: 'cb00989d94a569c0a678ae042b63dcd4625db96440517f37a6eb7976ea24ed4b', // H(L0, L1)
    3: '725d5230db68f557470dc35f1d8865813acd7ebb07ad152774141decbae71327', // H(root2, L2)
    4: '9f4a3fc20d4162dc37d4e23d907848731a76043ffff6d69288bf1abfbcff478e', // H(root2, H(L2, L3))
    5: 'b6748f6ed7a99de7da84fd97e1a3bac6fab8999f4a43695cab9528a2de431147', // H(root4, L4)
  };

  test('leaf hash is SHA-256(0x00 || entry)', () => {
    assert.equal(hex(leafHash(Buffer.from('0'))), L0);
    assert.equal(hex(leafHash(Buffer.from('1'))), L1);
    assert.equal(hex(leafHash(Buffer.from('2'))), L2);
  });

  test('the leaf hash of a text is that of its UTF-8 bytes', () => {
    assert.equal(hex(leafHashOfText('0')), L0);
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
      assert.deepEqual(leafHashOfText(text), leafHash(Buffer.from(text, 'utf8')));
    }), { numRuns: 300 });
  });

  test('node hash is SHA-256(0x01 || left || right)', () => {
    assert.equal(hex(nodeHash(Buffer.from(L0, 'hex'), Buffer.from(L1, 'hex'))), ROOTS[2]);
    assert.throws(() => nodeHash(Buffer.alloc(31), Buffer.alloc(32)), RangeError);
  });

  test('the empty tree hash is SHA-256 of the empty string', async () => {
    assert.equal(hex(EMPTY_TREE_HASH), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(hex(await rootHash(new MemorySubtreeStore(), 0)), hex(EMPTY_TREE_HASH));
    assert.equal(hex(MTH([])), hex(EMPTY_TREE_HASH));
  });

  test('roots of the trees over "0", "1", … for sizes 1 to 5, computed with sha256sum', () => {
    const store = buildStore(digits(5));
    for (const [size, expected] of Object.entries(ROOTS)) {
      assert.equal(hex(rootHashSync(store, Number(size))), expected, `size ${size}`);
      assert.equal(hex(MTH(digits(Number(size)))), expected, `reference, size ${size}`);
    }
  });

  test('the Certificate Transparency test vectors (RFC 6962 implementations) for sizes 1 to 8', () => {
    const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
      Buffer.from(h, 'hex'),
    );
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const store = buildStore(inputs);
    roots.forEach((root, i) => assert.equal(hex(rootHashSync(store, i + 1)), root, `size ${i + 1}`));
  });
});

describe('trees of sizes 1 to 9 against the RFC 9162 definitions', () => {
  const D = digits(9);
  const store = buildStore(D);

  test('MTH for every size, sync and async', async () => {
    for (let n = 1; n <= 9; n++) {
      const expected = hex(MTH(D.slice(0, n)));
      assert.equal(hex(rootHashSync(store, n)), expected, `size ${n}`);
      assert.equal(hex(await rootHash(store, n)), expected, `size ${n} (async)`);
    }
  });

  test('the stored nodes are exactly the complete subtrees', () => {
    // 9 leaves: 9 + 4 + 2 + 1 nodes.
    assert.equal(store.nodeCount, 16);
    assert.equal(hex(store.getNodeSync(3, 0) as Buffer), hex(MTH(D.slice(0, 8))));
    assert.equal(hex(store.getNodeSync(1, 3) as Buffer), hex(MTH(D.slice(6, 8))));
    assert.equal(store.getNodeSync(1, 4), undefined);
  });

  test('inclusion proofs for every index equal PATH(m, D[n]) and verify', async () => {
    for (let n = 1; n <= 9; n++) {
      const root = MTH(D.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProofSync(store, m, n);
        assert.deepEqual(hexes(proof), hexes(PATH(m, D.slice(0, n))), `PATH(${m}, D[${n}])`);
        assert.deepEqual(hexes(await inclusionProof(store, m, n)), hexes(proof));
        assert.equal(verifyInclusion(HASH_LEAF(D[m] as Buffer), m, n, proof, root), true, `verify ${m} in ${n}`);
      }
    }
  });

  test('a worked example: leaf 2 of 7 has the path [L3, H(L0, L1), H(H(L4, L5), L6)]', () => {
    const L = D.map(HASH_LEAF);
    const expected = [L[3], HASH_NODE(L[0] as Buffer, L[1] as Buffer), HASH_NODE(HASH_NODE(L[4] as Buffer, L[5] as Buffer), L[6] as Buffer)];
    assert.deepEqual(hexes(inclusionProofSync(store, 2, 7)), hexes(expected as Buffer[]));
  });

  test('consistency proofs for every 1 <= m <= n <= 9 equal PROOF(m, D[n]) and verify; m = n is empty', async () => {
    for (let n = 1; n <= 9; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProofSync(store, m, n);
        assert.deepEqual(hexes(proof), hexes(PROOF(m, D.slice(0, n))), `PROOF(${m}, D[${n}])`);
        assert.deepEqual(hexes(await consistencyProof(store, m, n)), hexes(proof));
        if (m === n) assert.equal(proof.length, 0);
        assert.equal(verifyConsistency(m, n, MTH(D.slice(0, m)), MTH(D.slice(0, n)), proof), true, `verify ${m} -> ${n}`);
      }
    }
  });

  test('worked examples from the RFC text (RFC 6962 §2.1.3, the tree of 7 leaves, its labels)', () => {
    // Leaves d0..d5 are a..f and d6 is j; g = H(a, b), h = H(c, d), i = H(e, f), k = H(g, h), l = H(i, j).
    const [a, b, c, d, e, f, j] = D.map(HASH_LEAF) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
    const g = HASH_NODE(a, b);
    const h = HASH_NODE(c, d);
    const i = HASH_NODE(e, f);
    const k = HASH_NODE(g, h);
    const l = HASH_NODE(i, j);
    assert.deepEqual(hexes(inclusionProofSync(store, 0, 7)), hexes([b, h, l]));
    assert.deepEqual(hexes(inclusionProofSync(store, 3, 7)), hexes([c, g, l]));
    assert.deepEqual(hexes(inclusionProofSync(store, 4, 7)), hexes([f, j, k]));
    assert.deepEqual(hexes(inclusionProofSync(store, 6, 7)), hexes([i, k]));
    assert.deepEqual(hexes(consistencyProofSync(store, 3, 7)), hexes([c, d, g, l]));
    assert.deepEqual(hexes(consistencyProofSync(store, 4, 7)), hexes([l]));
    assert.deepEqual(hexes(consistencyProofSync(store, 6, 7)), hexes([i, j, k]));
  });

  test('the m = 0 edge: the empty tree is a prefix of every tree, with an empty proof', () => {
    assert.deepEqual(consistencyProofSync(store, 0, 5), []);
    assert.equal(verifyConsistency(0, 5, EMPTY_TREE_HASH, MTH(D.slice(0, 5)), []), true);
    assert.equal(verifyConsistency(0, 5, flipBit(EMPTY_TREE_HASH, 0), MTH(D.slice(0, 5)), []), false);
  });

  test('flipping any bit of any proof element, of the leaf or of a root fails (exhaustive, sizes 1..9)', () => {
    for (let n = 1; n <= 9; n++) {
      const root = MTH(D.slice(0, n));
      for (let m = 0; m < n; m++) {
        const leaf = HASH_LEAF(D[m] as Buffer);
        const proof = inclusionProofSync(store, m, n);
        for (let bit = 0; bit < 256; bit++) {
          assert.equal(verifyInclusion(flipBit(leaf, bit), m, n, proof, root), false);
          assert.equal(verifyInclusion(leaf, m, n, proof, flipBit(root, bit)), false);
          for (let e = 0; e < proof.length; e++) assert.equal(verifyInclusion(leaf, m, n, withFlipped(proof, e, bit), root), false);
        }
      }
      for (let m = 1; m < n; m++) {
        const rootM = MTH(D.slice(0, m));
        const proof = consistencyProofSync(store, m, n);
        for (let bit = 0; bit < 256; bit++) {
          assert.equal(verifyConsistency(m, n, flipBit(rootM, bit), root, proof), false);
          assert.equal(verifyConsistency(m, n, rootM, flipBit(root, bit), proof), false);
          for (let e = 0; e < proof.length; e++) assert.equal(verifyConsistency(m, n, rootM, root, withFlipped(proof, e, bit)), false);
        }
      }
    }
  });

  test('a wrong index, a wrong (size, root) pair, a missing or extra element fails', () => {
    for (let n = 1; n <= 9; n++) {
      const root = MTH(D.slice(0, n));
      for (let m = 0; m < n; m++) {
        const leaf = HASH_LEAF(D[m] as Buffer);
        const proof = inclusionProofSync(store, m, n);
        for (let other = 0; other <= 10; other++) {
          if (other !== m) assert.equal(verifyInclusion(leaf, other, n, proof, root), false, `index ${other} for ${m} in ${n}`);
        }
        for (let size = 1; size <= 10; size++) {
          if (size !== n) assert.equal(verifyInclusion(leaf, m, size, proof, MTH(D.concat(digits(10).slice(9)).slice(0, size))), false);
        }
        if (proof.length > 0) assert.equal(verifyInclusion(leaf, m, n, proof.slice(0, -1), root), false);
        assert.equal(verifyInclusion(leaf, m, n, [...proof, root], root), false);
      }
      for (let m = 1; m < n; m++) {
        const proof = consistencyProofSync(store, m, n);
        for (let other = 1; other < n; other++) {
          if (other !== m) assert.equal(verifyConsistency(other, n, MTH(D.slice(0, other)), root, proof), false, `m ${other} for ${m} -> ${n}`);
        }
        assert.equal(verifyConsistency(m, n, MTH(D.slice(0, m)), root, proof.slice(0, -1)), false);
        assert.equal(verifyConsistency(m, n, MTH(D.slice(0, m)), root, [...proof, root]), false);
      }
    }
  });

  test('the size is bound only through the root: the (size, root) pair must come from a signed tree head', () => {
    // Leaf 0's path in a tree of 3 has the same shape as in a tree of 4, so against root(3) it
    // "verifies" for a claimed size 4. A verifier must take size and root together from one STH.
    const proof3 = inclusionProofSync(store, 0, 3);
    assert.equal(verifyInclusion(HASH_LEAF(D[0] as Buffer), 0, 4, proof3, MTH(D.slice(0, 3))), true);
    assert.equal(verifyInclusion(HASH_LEAF(D[0] as Buffer), 0, 4, proof3, MTH(D.slice(0, 4))), false);
  });

  test('out-of-range requests are refused', async () => {
    assert.throws(() => inclusionProofSync(store, 3, 3), RangeError);
    assert.throws(() => inclusionProofSync(store, -1, 3), RangeError);
    assert.throws(() => inclusionProofSync(store, 0, 0), RangeError);
    assert.throws(() => consistencyProofSync(store, 4, 3), RangeError);
    assert.throws(() => rootHashSync(store, 1.5), RangeError);
    assert.throws(() => rootHashSync(store, 10), MissingNodeError);
    await assert.rejects(rootHash(store, 12), MissingNodeError);
    assert.equal(verifyInclusion(HASH_LEAF(D[0] as Buffer), 0, 0, [], EMPTY_TREE_HASH), false);
    assert.equal(verifyConsistency(5, 3, EMPTY_TREE_HASH, EMPTY_TREE_HASH, []), false);
    assert.equal(verifyConsistency(3, 5, MTH(D.slice(0, 3)), MTH(D.slice(0, 5)), []), false);
  });
});

describe('appendLeaves', () => {
  test('writes each leaf and every subtree it completes, reading at most one node per level', async () => {
    const store = new MemorySubtreeStore();
    let size = 0;
    const reads: string[] = [];
    const counting: SubtreeStore = {
      getNode: (level, index) => {
        reads.push(`${level}:${index}`);
        return store.getNode(level, index);
      },
    };
    for (const d of digits(8)) {
      reads.length = 0;
      const { newSize, writes } = await appendLeaves(counting, size, [leafHash(d)]);
      store.put(writes);
      // Appending leaf i writes 1 + (number of trailing ones of i) nodes and reads as many minus one.
      let t = 0;
      while ((size >> t) & 1) t++;
      assert.equal(writes.length, 1 + t, `append #${size}`);
      assert.equal(reads.length, t);
      size = newSize;
    }
    assert.deepEqual(
      (await appendLeaves(store, 8, [leafHash(Buffer.from('8'))])).writes.map((w) => [w.level, w.index]),
      [[0, 8]],
    );
    assert.equal(hex(store.getNodeSync(3, 0) as Buffer), hex(MTH(digits(8))));
  });

  test('appending nothing writes nothing; bad hashes and sizes are refused', () => {
    const store = buildStore(digits(3));
    assert.deepEqual(appendLeavesSync(store, 3, []), { newSize: 3, writes: [] });
    assert.throws(() => appendLeavesSync(store, 3, [Buffer.alloc(31)]), RangeError);
    assert.throws(() => appendLeavesSync(store, -1, []), RangeError);
  });

  test('property: any batching gives the same stored nodes as one leaf at a time, about 2n of them', () => {
    const data = digits(300);
    const oneByOne = buildStore(data);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 40 }), (rawChunks) => {
        const chunks: number[] = [];
        let total = 0;
        for (const c of rawChunks) {
          const take = Math.min(c, data.length - total);
          if (take > 0) chunks.push(take);
          total += take;
        }
        const n = total;
        const batched = buildStore(data.slice(0, n), chunks);
        assert.equal(batched.nodeCount, 2 * n - popcount(n));
        for (let level = 0; 2 ** level <= n; level++) {
          for (let i = 0; (i + 1) * 2 ** level <= n; i++) {
            assert.equal(hex(batched.getNodeSync(level, i) as Buffer), hex(oneByOne.getNodeSync(level, i) as Buffer));
          }
        }
        assert.equal(hex(rootHashSync(batched, n)), hex(MTH(data.slice(0, n))));
      }),
      { numRuns: 60 },
    );
  });

  test('the store refuses to overwrite a node with another hash', () => {
    const store = buildStore(digits(2));
    const write: NodeWrite = { level: 0, index: 1, hash: leafHash(Buffer.from('x')) };
    assert.throws(() => store.put([write]));
  });
});

describe('properties on trees up to 2000 leaves', () => {
  const N = 2000;
  const data = Array.from({ length: N }, (_, i) => Buffer.from(`entry-${i}`));
  const leaves = data.map(HASH_LEAF);
  const store = buildStore(data, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 405]);
  const reference = memoReference(leaves);
  const rootOf = reference.root;

  const sizeAndIndex = fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));
  const sizes = fc.tuple(fc.integer({ min: 1, max: N }), fc.integer({ min: 1, max: N })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

  test('the root of every random size equals MTH', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: N }), (n) => hex(rootHashSync(store, n)) === hex(rootOf(n))), { numRuns: 100 });
  });

  test('every inclusion proof verifies; any flipped bit, wrong index or wrong (size, root) fails', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: N }), fc.integer({ min: 1, max: N }), ([n, m], pick, bit, otherIndex, otherSize) => {
        const root = rootOf(n);
        const leaf = leaves[m] as Buffer;
        const proof = inclusionProofSync(store, m, n);
        assert.ok(proof.length <= ceilLog2(n));
        assert.equal(verifyInclusion(leaf, m, n, proof, root), true);
        assert.equal(verifyInclusion(flipBit(leaf, bit), m, n, proof, root), false);
        assert.equal(verifyInclusion(leaf, m, n, proof, flipBit(root, bit)), false);
        if (proof.length > 0) assert.equal(verifyInclusion(leaf, m, n, withFlipped(proof, pick % proof.length, bit), root), false);
        if (otherIndex !== m) assert.equal(verifyInclusion(leaf, otherIndex, n, proof, root), false);
        if (otherSize !== n) assert.equal(verifyInclusion(leaf, m, otherSize, proof, rootOf(otherSize)), false);
      }),
      { numRuns: 1000 },
    );
  });

  test('every consistency proof verifies; any flipped bit or wrong size fails', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: N }), ([m, n], pick, bit, other) => {
        const rootM = rootOf(m);
        const rootN = rootOf(n);
        const proof = consistencyProofSync(store, m, n);
        assert.deepEqual(hexes(proof), hexes(reference.proof(m, n)));
        assert.equal(verifyConsistency(m, n, rootM, rootN, proof), true);
        if (m === n) return;
        assert.equal(verifyConsistency(m, n, flipBit(rootM, bit), rootN, proof), false);
        assert.equal(verifyConsistency(m, n, rootM, flipBit(rootN, bit), proof), false);
        assert.equal(verifyConsistency(m, n, rootM, rootN, withFlipped(proof, pick % proof.length, bit)), false);
        if (other !== m && other < n) assert.equal(verifyConsistency(other, n, rootOf(other), rootN, proof), false);
        if (other !== n && other > m) assert.equal(verifyConsistency(m, other, rootM, rootOf(other), proof), false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('reads are O(log n)', () => {
  test('root, inclusion and consistency proofs read at most 2·⌈log2 n⌉ + 2 nodes, up to 10^6 and beyond', async () => {
    const check = async (n: number, m: number, first: number): Promise<void> => {
      const store = new UniformStore(n);
      const bound = 2 * ceilLog2(n) + 2;
      const root = rootHashSync(store, n);
      assert.equal(store.reads, popcount(n));
      store.reads = 0;
      const proof = await inclusionProof(store, m, n);
      assert.ok(store.reads <= bound, `inclusion(${m}, ${n}) read ${store.reads} > ${bound}`);
      assert.equal(verifyInclusion(store.getNodeSync(0, 0) as Buffer, m, n, proof, root), true);
      store.reads = 0;
      const consistency = consistencyProofSync(store, first, n);
      assert.ok(store.reads <= bound, `consistency(${first}, ${n}) read ${store.reads} > ${bound}`);
      assert.equal(verifyConsistency(first, n, rootHashSync(new UniformStore(first), first), root, consistency), true);
    };
    await check(1_000_000, 999_999, 999_999);
    await check(1_000_000, 0, 1);
    await check(2 ** 20 - 1, 2 ** 20 - 2, 2 ** 19 + 1);
    await check(2 ** 40 + 12345, 2 ** 40 + 7, 2 ** 40 - 1);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: n }))),
        ([n, m, first]) => check(n, m, first),
      ),
      { numRuns: 200 },
    );
  });

  test('completeSubtrees splits an aligned range into its powers of two, largest first', () => {
    assert.deepEqual(completeSubtrees(0, 13), [
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    assert.deepEqual(completeSubtrees(8, 11), [
      { level: 1, index: 4 },
      { level: 0, index: 10 },
    ]);
    assert.throws(() => completeSubtrees(3, 7));
  });
});
