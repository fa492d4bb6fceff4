import type { Instant } from '../domain/time.js';
import { DAY_MS } from '../domain/time.js';
import { Prng } from './random.js';

/**
 * The social graph of the demo world, one member at a time, without ever holding the whole edge set.
 *
 * Member i "picks" k_i distinct offsets d in [1, ⌊(N−1)/2⌋] and befriends member (i + d) mod N.
 * Because every offset is below N/2, the pair {i, j} can be produced only by the member whose
 * forward offset to the other is the smaller one, so no friendship is ever generated twice, and
 * d ≠ 0 rules out self loops. Deduplication is only needed within one member's own picks.
 *
 * Each member's degree is k_i picked plus the picks of others landing on it, so the average degree
 * is exactly twice the average k_i. About half the picks fall in a window of nearby indices (a
 * circle of friends who know each other, as real graphs have), the rest anywhere in the world.
 */

export interface GraphShape {
  readonly members: number;
  readonly avgFriends: number;
  readonly seed: number;
  /** Index of a member with far more friends than average (the demo's showcase member). */
  readonly hubIndex?: number;
  readonly hubFriends?: number;
}

export interface PickedFriend {
  readonly index: number;
  readonly since: Instant;
}

const LOCAL_SHARE = 0.5;
/** Spread of the log-normal degree factor: most members near the average, a few with many friends. */
const DEGREE_SIGMA = 0.5;
const MAX_DEGREE_FACTOR = 5;

export function maxOffset(members: number): number {
  return Math.max(0, Math.floor((members - 1) / 2));
}

function pickCount(shape: GraphShape, index: number, random: Prng, limit: number): number {
  const half = shape.avgFriends / 2;
  if (index === shape.hubIndex && shape.hubFriends !== undefined) {
    // The hub also receives about `half` friendships from others' picks.
    return Math.max(0, Math.min(limit, Math.round(shape.hubFriends - half)));
  }
  const factor = Math.min(MAX_DEGREE_FACTOR, Math.exp(DEGREE_SIGMA * random.normal() - (DEGREE_SIGMA * DEGREE_SIGMA) / 2));
  // Randomised rounding keeps the mean at `half` even when it is small or odd.
  const raw = half * factor;
  const whole = Math.floor(raw);
  return Math.min(limit, whole + (random.chance(raw - whole) ? 1 : 0));
}

/**
 * The friendships member `index` starts, with their start dates: after both members joined, before
 * `now`. `createdAt` holds every member's join instant by index.
 */
export function friendsPickedBy(
  shape: GraphShape,
  index: number,
  createdAt: ArrayLike<number>,
  now: Instant,
): PickedFriend[] {
  const { members, avgFriends, seed } = shape;
  const limit = maxOffset(members);
  if (limit === 0) return [];
  const random = Prng.of('friendships', seed, index);
  const count = pickCount(shape, index, random, limit);
  const window = Math.min(limit, Math.max(2 * count, Math.ceil(3 * avgFriends)));

  const offsets = new Set<number>();
  let attempts = 0;
  while (offsets.size < count) {
    const local = attempts < 20 * count && random.chance(LOCAL_SHARE);
    offsets.add(random.int(1, local ? window : limit));
    attempts++;
  }

  const joined = createdAt[index]!;
  const picked: PickedFriend[] = [];
  for (const offset of offsets) {
    const other = (index + offset) % members;
    const from = Math.max(joined, createdAt[other]!);
    const to = Math.max(from, now - DAY_MS);
    picked.push({ index: other, since: Math.floor(from + random.next() * (to - from)) });
  }
  return picked;
}
