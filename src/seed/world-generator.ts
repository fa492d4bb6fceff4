import type { Instant } from '../domain/time.js';
import type { Friendship } from '../store/friendship-repository.js';
import type { NewMember } from '../store/member-repository.js';
import { createStore, type Store } from '../store/store.js';
import { friendsPickedBy, type GraphShape } from './friendship-edges.js';
import { memberIdAt, MAX_MEMBERS } from './member-ids.js';
import { createSeedFaker, generateMember } from './member-profile.js';

/**
 * Writes a deterministic demo world of members and friendships: the same seed gives the same ids,
 * names, settings and edges. Built to stream: members and friendships are generated and written in
 * batches, one transaction per batch, and nothing but each member's id and join date is kept in
 * memory, so a million members with 150 friends each fits in an ordinary process.
 */

export type SeedPhase = 'members' | 'friendships';

export interface SeedMembersOptions {
  readonly members: number;
  readonly avgFriends: number;
  readonly seed: number;
  readonly now: Instant;
  /**
   * Called as work advances. `total` is twice the member count: one unit per member written, then
   * one per member whose friendships are written.
   */
  readonly onProgress?: (done: number, total: number, phase: SeedPhase) => void;
  /**
   * Friends of the first member, the showcase of a demo (default: four times the average, at most
   * 556, the friend count of the 2018 reporter's test). Its platform setting is always on.
   */
  readonly firstMemberFriends?: number;
}

export interface SeedSummary {
  readonly members: number;
  readonly friendships: number;
  readonly ms: number;
}

const MEMBER_BATCH = 1000;
/** Friendships per transaction; each is two rows. */
const FRIENDSHIP_BATCH = 10_000;

/** Runs `work` in one transaction with repositories bound to it. */
async function inTransaction(store: Store, work: (store: Store) => Promise<void>): Promise<void> {
  await store.db.transaction().execute((trx) => work(createStore(trx)));
}

export async function seedMembers(store: Store, options: SeedMembersOptions): Promise<SeedSummary> {
  const started = performance.now();
  const { members, avgFriends, seed, now, onProgress } = options;
  if (!Number.isInteger(members) || members < 0 || members > MAX_MEMBERS) throw new RangeError(`members must be an integer in [0, ${MAX_MEMBERS}]`);
  if (!(avgFriends >= 0)) throw new RangeError('avgFriends must be zero or more');
  if (!Number.isInteger(seed)) throw new RangeError('seed must be an integer');
  const total = 2 * members;
  let done = 0;

  // What the friendship phase needs of every member; about 60 bytes per member.
  const ids: string[] = new Array<string>(members);
  const createdAt = new Float64Array(members);

  const faker = createSeedFaker(now);
  for (let start = 0; start < members; start += MEMBER_BATCH) {
    const batch: NewMember[] = [];
    for (let index = start; index < Math.min(members, start + MEMBER_BATCH); index++) {
      const id = memberIdAt(seed, index);
      const member = generateMember(faker, { seed, index, id, now, showcase: index === 0 });
      ids[index] = id;
      createdAt[index] = member.createdAt;
      batch.push(member);
    }
    await inTransaction(store, (trx) => trx.members.insertMany(batch));
    done += batch.length;
    onProgress?.(done, total, 'members');
  }

  const shape: GraphShape = {
    members,
    avgFriends,
    seed,
    hubIndex: 0,
    hubFriends: options.firstMemberFriends ?? Math.min(556, Math.round(4 * avgFriends)),
  };
  let friendships = 0;
  let pending: Friendship[] = [];
  let pendingMembers = 0;
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    if (batch.length > 0) await inTransaction(store, (trx) => trx.friendships.insertMany(batch));
    friendships += batch.length;
    done += pendingMembers;
    pendingMembers = 0;
    onProgress?.(done, total, 'friendships');
  };
  for (let index = 0; index < members; index++) {
    for (const friend of friendsPickedBy(shape, index, createdAt, now)) {
      pending.push({ a: ids[index]!, b: ids[friend.index]!, since: friend.since });
    }
    pendingMembers++;
    if (pending.length >= FRIENDSHIP_BATCH) await flush();
  }
  if (pendingMembers > 0) await flush();

  return { members, friendships, ms: Math.round(performance.now() - started) };
}
