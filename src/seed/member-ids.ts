import { sha256 } from './random.js';

/**
 * Opaque member ids for the demo world: `m_` and ten base-32 characters.
 *
 * The member's index goes through a keyed Feistel permutation over 50 bits whose round function is
 * SHA-256 of the seed, the round and the half. The ids look random and differ from seed to seed,
 * yet two indices can never share an id (a permutation is a bijection), however large the world.
 */

const HALF_BITS = 25;
const HALF_MASK = 2 ** HALF_BITS - 1;
const ROUNDS = 4;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const MAX_MEMBERS = 2 ** (2 * HALF_BITS);

function roundKey(seed: number, round: number, half: number): number {
  return sha256(['member-id', seed, round, half]).readUInt32BE(0) & HALF_MASK;
}

function permute(seed: number, index: number): number {
  let left = Math.floor(index / 2 ** HALF_BITS);
  let right = index & HALF_MASK;
  for (let r = 0; r < ROUNDS; r++) {
    const next = (left ^ roundKey(seed, r, right)) & HALF_MASK;
    left = right;
    right = next;
  }
  return left * 2 ** HALF_BITS + right;
}

/** The id of the member at `index` in the world generated from `seed`. */
export function memberIdAt(seed: number, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_MEMBERS) throw new RangeError(`member index out of range: ${index}`);
  let value = permute(seed, index);
  let text = '';
  for (let i = 0; i < 10; i++) {
    text = ALPHABET[value % 32]! + text;
    value = Math.floor(value / 32);
  }
  return `m_${text}`;
}
