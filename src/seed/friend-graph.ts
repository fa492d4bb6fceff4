import type { Instant } from '../domain/time.js';
import { friendsPickedBy, type GraphShape } from './friendship-edges.js';

/**
 * The whole friendship graph in memory, as each member's friends in id order (a CSR adjacency).
 *
 * `friendsPickedBy` streams the friendships member by member, but each is stored in both
 * directions, and a member's friends come from its own picks and from the picks of members
 * anywhere in the world. Writing the rows in primary-key order (member id, then friend id) keeps
 * every B-tree insert an append, which is what makes a 150-million-row table load in minutes
 * instead of hours; that order needs the whole graph first. It keeps 24 bytes per friendship (both
 * directions' keys and the date), 40 while it is being arranged: 1.8 GB, and 3 GB at the peak, for
 * a million members with 150 friends each.
 */
export interface FriendGraph {
  /** Friendships, each stored once here and written in both directions. */
  readonly edges: number;
  /** Member (by rank) r's rows are `keys[offsets[r]]` up to, not including, `keys[offsets[r + 1]]`. */
  readonly offsets: Float64Array;
  /** One per row: `friendRank * edges + edge`, so that sorting a member's keys sorts its friends by id. */
  readonly keys: Float64Array;
  /** Start of each friendship (epoch ms), by edge. */
  readonly since: Float64Array;
}

/** Picked friendships as parallel typed arrays, grown as needed: objects would cost 10x the memory. */
class EdgeList {
  size = 0;
  a: Uint32Array;
  b: Uint32Array;
  since: Float64Array;

  constructor(capacity: number) {
    this.a = new Uint32Array(capacity);
    this.b = new Uint32Array(capacity);
    this.since = new Float64Array(capacity);
  }

  push(a: number, b: number, since: number): void {
    if (this.size === this.a.length) this.grow();
    this.a[this.size] = a;
    this.b[this.size] = b;
    this.since[this.size] = since;
    this.size++;
  }

  private grow(): void {
    const capacity = Math.ceil(this.a.length * 1.25) + 1024;
    const a = new Uint32Array(capacity);
    const b = new Uint32Array(capacity);
    const since = new Float64Array(capacity);
    a.set(this.a);
    b.set(this.b);
    since.set(this.since);
    [this.a, this.b, this.since] = [a, b, since];
  }
}

/**
 * Generates every member's picks (`friendsPickedBy`, in index order, so exactly the friendships
 * of the streaming generator) and arranges them by member rank. `onProgress` gets the number of
 * members whose picks are done; the event loop gets a turn now and then (a progress bar's timer).
 */
export async function buildFriendGraph(
  shape: GraphShape,
  rank: Uint32Array,
  createdAt: Float64Array,
  now: Instant,
  onProgress?: (members: number) => void,
): Promise<FriendGraph> {
  const { members } = shape;
  const list = new EdgeList(Math.ceil((members * shape.avgFriends) / 2 * 1.02) + (shape.hubFriends ?? 0) + 1024);
  const degree = new Uint32Array(members);
  for (let index = 0; index < members; index++) {
    const from = rank[index]!;
    for (const friend of friendsPickedBy(shape, index, createdAt, now)) {
      const to = rank[friend.index]!;
      list.push(from, to, friend.since);
      degree[from]!++;
      degree[to]!++;
    }
    if ((index & 4095) === 4095) {
      onProgress?.(index + 1);
      await turn();
    }
  }
  onProgress?.(members);
  return arrange(list, degree);
}

async function arrange(list: EdgeList, degree: Uint32Array): Promise<FriendGraph> {
  const edges = list.size;
  const members = degree.length;
  if (members * Math.max(1, edges) >= Number.MAX_SAFE_INTEGER) throw new RangeError(`${members} members and ${edges} friendships are too many to sort in memory`);
  const offsets = new Float64Array(members + 1);
  for (let r = 0; r < members; r++) offsets[r + 1] = offsets[r]! + degree[r]!;
  const keys = new Float64Array(2 * edges);
  const cursor = offsets.slice(0, members);
  for (let edge = 0; edge < edges; edge++) {
    const a = list.a[edge]!;
    const b = list.b[edge]!;
    keys[cursor[a]!++] = b * edges + edge;
    keys[cursor[b]!++] = a * edges + edge;
  }
  for (let r = 0; r < members; r++) {
    keys.subarray(offsets[r]!, offsets[r + 1]!).sort();
    if ((r & 65535) === 65535) await turn();
  }
  return { edges, offsets, keys, since: list.since.subarray(0, edges) };
}

/** Lets timers and I/O run: the loops here would otherwise hold the thread for a minute. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
