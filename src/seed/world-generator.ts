import { availableParallelism } from 'node:os';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { FRIENDSHIP_COLUMNS, KyselyWorldLoader, MEMBER_COLUMNS, type CellValue, type WorldLoader } from '../store/world-loader.js';
import { buildFriendGraph, turn, type FriendGraph } from './friend-graph.js';
import type { GraphShape } from './friendship-edges.js';
import { isoInstant } from './iso-instant.js';
import { memberDirectory, type MemberDirectory } from './member-directory.js';
import { MAX_MEMBERS } from './member-ids.js';
import { memberBatches } from './member-batches.js';

/**
 * Writes a deterministic world of members and friendships: the same seed gives the same ids,
 * names, settings and edges, whatever the database. Every member is drawn from (seed, index)
 * alone and every friendship from its picker's (seed, index), so the order of writing is free:
 * members are written in id order, then each member's friends in friend id order, which keeps
 * every B-tree insert an append (see friend-graph.ts for what that costs in memory).
 */

/** `indexes`: after the last row, while the loader builds what it left for the end (PostgreSQL's keys). */
export type SeedPhase = 'members' | 'friendships' | 'indexes';

export interface SeedMembersOptions {
  readonly members: number;
  readonly avgFriends: number;
  readonly seed: number;
  readonly now: Instant;
  /**
   * Called as work advances. `total` is three times the member count: one unit per member
   * written (phase `members`), then one per member whose friendships are generated and one per
   * member whose friendship rows are written (both phase `friendships`).
   */
  readonly onProgress?: (done: number, total: number, phase: SeedPhase) => void;
  /**
   * Friends of the first member, the showcase of a demo (default: four times the average, at most
   * 556, the friend count of the 2018 reporter's test). Its platform setting is always on.
   */
  readonly firstMemberFriends?: number;
  /** Threads drawing members (default: one per core, at most 4, from WORKER_THRESHOLD members up; 0: this thread). */
  readonly workers?: number;
}

export interface SeedSummary {
  readonly members: number;
  readonly friendships: number;
  readonly ms: number;
}

/** Members per batch (one transaction, or one chunk of each COPY). */
const MEMBER_BATCH = 2000;
/** Below this, starting threads (and compiling the generator in each) costs more than it saves. */
const WORKER_THRESHOLD = 20_000;
/** Friendship rows per batch: small enough for the batch to die young (a cheap minor GC, not a major one). */
const FRIENDSHIP_ROWS = 5_000;

/** Seeds through the store's own connection: for small worlds (tests, the demo). */
export async function seedMembers(store: Store, options: SeedMembersOptions): Promise<SeedSummary> {
  return seedWorld(new KyselyWorldLoader(store.db), options);
}

/** Seeds through `loader` and finishes it (the caller closes it). */
export async function seedWorld(loader: WorldLoader, options: SeedMembersOptions): Promise<SeedSummary> {
  const started = performance.now();
  const { members, avgFriends, seed } = options;
  if (!Number.isInteger(members) || members < 0 || members > MAX_MEMBERS) throw new RangeError(`members must be an integer in [0, ${MAX_MEMBERS}]`);
  if (!(avgFriends >= 0)) throw new RangeError('avgFriends must be zero or more');
  if (!Number.isInteger(seed)) throw new RangeError('seed must be an integer');
  const progress = (done: number, phase: SeedPhase) => options.onProgress?.(done, 3 * members, phase);

  const directory = memberDirectory(seed, members);
  const { createdAt, sharesByRank } = await writeMembers(loader, directory, options, (done) => progress(done, 'members'));
  const shape: GraphShape = {
    members,
    avgFriends,
    seed,
    hubIndex: 0,
    hubFriends: options.firstMemberFriends ?? Math.min(556, Math.round(4 * avgFriends)),
  };
  const graph = await buildFriendGraph(shape, directory.rank, createdAt, options.now, (done) => progress(members + done, 'friendships'));
  await writeFriendships(loader, directory, sharesByRank, graph, (done) => progress(2 * members + done, 'friendships'));
  progress(3 * members, 'indexes');
  await loader.finish();
  return { members, friendships: graph.edges, ms: Math.round(performance.now() - started) };
}

/**
 * Writes every member in id order; returns each member's join instant by index and whether they
 * share through friends' apps (platform on, sharing on) by rank, which friendships need.
 */
async function writeMembers(
  loader: WorldLoader,
  directory: MemberDirectory,
  { seed, now, members, workers }: SeedMembersOptions,
  onProgress: (done: number) => void,
): Promise<{ createdAt: Float64Array; sharesByRank: Uint8Array }> {
  const createdAt = new Float64Array(members);
  const sharesByRank = new Uint8Array(members);
  const threads = workers ?? (members >= WORKER_THRESHOLD ? Math.min(4, availableParallelism()) : 0);
  const width = MEMBER_COLUMNS.length;
  const platform = MEMBER_COLUMNS.indexOf('platform_enabled');
  const sharing = MEMBER_COLUMNS.indexOf('share_via_friends');
  onProgress(0);
  for await (const { start, batch } of memberBatches(directory, { seed, now, batchSize: MEMBER_BATCH, workers: threads })) {
    batch.createdAt.forEach((instant, i) => {
      createdAt[directory.order[start + i]!] = instant;
      sharesByRank[start + i] = batch.rows.members[i * width + platform] === 1 && batch.rows.members[i * width + sharing] === 1 ? 1 : 0;
    });
    await loader.writeMembers(batch.rows);
    onProgress(start + batch.createdAt.length);
  }
  return { createdAt, sharesByRank };
}

/** Writes both directions of every friendship, by member id, then friend id. */
async function writeFriendships(
  loader: WorldLoader,
  { ids, order }: MemberDirectory,
  sharesByRank: Uint8Array,
  { edges, offsets, keys, since }: FriendGraph,
  onProgress: (done: number) => void,
): Promise<void> {
  const byRank = Array.from(order, (index) => ids[index]!);
  let rows: CellValue[] = [];
  let lastTurn = performance.now();
  for (let r = 0; r < byRank.length; r++) {
    const id = byRank[r]!;
    for (let k = offsets[r]!; k < offsets[r + 1]!; k++) {
      const key = keys[k]!;
      const friendRank = Math.floor(key / edges);
      rows.push(id, byRank[friendRank]!, isoInstant(since[key - friendRank * edges]!), sharesByRank[friendRank]!, k - offsets[r]! + 1);
    }
    if (rows.length >= FRIENDSHIP_COLUMNS.length * FRIENDSHIP_ROWS || r === byRank.length - 1) {
      await loader.writeFriendships(rows);
      rows = [];
      onProgress(r + 1);
      // A synchronous loader (SQLite) resolves at once: without a turn now and then, timers (a
      // progress bar's, when stderr is not a terminal) would wait for the end.
      if (performance.now() - lastTurn > 100) {
        await turn();
        lastTurn = performance.now();
      }
    }
  }
}
