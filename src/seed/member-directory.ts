import { memberIdAt } from './member-ids.js';

/**
 * Every member's id, and the members in id order. The generator numbers members 0..N-1, but every
 * table is keyed by the (random-looking) id: writing members, and each member's friends, in id
 * order turns each B-tree insert into an append at the right edge, instead of a jump to a random
 * page of a tree far bigger than the cache.
 */
export interface MemberDirectory {
  /** Id by index. */
  readonly ids: readonly string[];
  /** Index by rank: `order[0]` is the member whose id sorts first. */
  readonly order: Uint32Array;
  /** Rank by index: the inverse of `order`. */
  readonly rank: Uint32Array;
}

export function memberDirectory(seed: number, members: number): MemberDirectory {
  const ids = new Array<string>(members);
  for (let index = 0; index < members; index++) ids[index] = memberIdAt(seed, index);
  // Ids are ASCII, so code-unit order is SQLite's BINARY order and PostgreSQL's "C" order.
  const sorted = Array.from({ length: members }, (_, index) => index).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
  const order = Uint32Array.from(sorted);
  const rank = new Uint32Array(members);
  for (let r = 0; r < members; r++) rank[order[r]!] = r;
  return { ids, order, rank };
}
