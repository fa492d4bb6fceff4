import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Proof verifiers written from the text of RFC 9162 (§2.1.3.2 and §2.1.4.2), independently of
 * merkle-tree.ts, so that a bug in how proofs are built cannot hide in how they are checked.
 * An auditor can verify the log with this file and node:crypto alone. Sizes and indices are
 * plain non-negative safe integers; "right-shift" is floor division by two so they may exceed 2^32.
 */

const HASH_SIZE = 32;

function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(0x01)).update(left).update(right).digest();
}

function lsb(x: number): boolean {
  return x % 2 === 1;
}

function shr(x: number): number {
  return Math.floor(x / 2);
}

function isPowerOfTwo(x: number): boolean {
  let v = x;
  if (v < 1) return false;
  while (v % 2 === 0) v /= 2;
  return v === 1;
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === HASH_SIZE && b.length === HASH_SIZE && timingSafeEqual(a, b);
}

function wellFormed(hashes: readonly Uint8Array[]): boolean {
  return hashes.every((h) => h instanceof Uint8Array && h.length === HASH_SIZE);
}

function isCount(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show that the leaf with hash `leafHash` is at `index` in the
 * tree of `size` leaves whose root is `root`? (The size is bound only through the root: trust a
 * size and root only as a pair, as a signed tree head carries them.)
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isCount(index) || !isCount(size) || !wellFormed([leafHash, root, ...proof])) return false;
  // 1. If leaf_index is greater than or equal to tree_size, fail.
  if (index >= size) return false;
  // 2. Set fn to leaf_index and sn to tree_size - 1.
  let fn = index;
  let sn = size - 1;
  // 3. Set r to hash.
  let r: Buffer = Buffer.from(leafHash);
  // 4. For each value p in the inclusion_path array:
  for (const p of proof) {
    // a. If sn is 0, stop the iteration and fail.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (lsb(fn) || fn === sn) {
      // i. Set r to HASH(0x01 || p || r).
      r = hashChildren(p, r);
      // ii. If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      // Otherwise: set r to HASH(0x01 || r || p).
      r = hashChildren(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. If sn is 0 and r equals root_hash, inclusion is proven.
  return sn === 0 && sameHash(r, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `m` leaves with root `rootM` is a prefix
 * of the tree of `n` leaves with root `rootN`? The RFC covers 0 < m < n; for m = n the proof must
 * be empty and the roots equal, and for m = 0 the proof must be empty and `rootM` the empty
 * tree's hash (SHA-256 of the empty string).
 */
export function verifyConsistency(
  m: number,
  n: number,
  rootM: Uint8Array,
  rootN: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isCount(m) || !isCount(n) || m > n || !wellFormed([rootM, rootN, ...proof])) return false;
  if (m === 0) return proof.length === 0 && sameHash(rootM, createHash('sha256').digest());
  if (m === n) return proof.length === 0 && sameHash(rootM, rootN);
  // 1. If consistency_path is an empty array, stop and fail.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
  const path: readonly Uint8Array[] = isPowerOfTwo(m) ? [rootM, ...proof] : proof;
  // 3. Set fn to first - 1 and sn to second - 1.
  let fn = m - 1;
  let sn = n - 1;
  // 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(path[0] as Uint8Array);
  // 6. For each subsequent value c in the consistency_path array:
  for (const c of path.slice(1)) {
    // a. If sn is 0, stop the iteration and fail.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (lsb(fn) || fn === sn) {
      // i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // iii. If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      // Otherwise: set sr to HASH(0x01 || sr || c).
      sr = hashChildren(sr, c);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
  return sn === 0 && sameHash(fr, rootM) && sameHash(sr, rootN);
}
