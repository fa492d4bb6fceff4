import { sql } from 'kysely';
import type { Db } from './database.js';
import { sqliteReaderOf } from './database.js';

/**
 * Today's friend graph by member number (`member_numbers`, migration 0028), read whole, in
 * compressed sparse row form: member n's friends are `friends[offsets[n] .. offsets[n + 1])`, sorted
 * ascending. For work that expands most of the graph (the counterfactual's reach indexing, a
 * replay): reading it once costs far less than reading lists a chunk at a time with two joins on
 * text ids per friendship, and 100 friends a member fit in 4 bytes each (400 MB at a million).
 *
 * Members without a number are left out: every row of `members` gets one from migration 0028's
 * trigger, so only an id the log names but `members` does not hold (a member since deleted) has
 * none, and such an id has no friendships. A number above `maxNumber` (a member numbered after the
 * graph was read) has no friends here: `friendsOf` gives an empty list.
 */
export interface FriendGraph {
  /** The highest member number when the graph was read (0 if there is none). */
  readonly maxNumber: number;
  /** Length maxNumber + 2. */
  readonly offsets: Uint32Array;
  readonly friends: Uint32Array;
  /** Member n's friends, ascending (a view into `friends`, not a copy). */
  friendsOf(n: number): Uint32Array;
}

/** Members a PostgreSQL page reads (by number range): Kysely's pg dialect here has no cursor to stream with. */
const POSTGRES_PAGE_MEMBERS = 20_000;

/** The friend graph as it stands, in one pass over `friendships` in member number order. */
export async function loadFriendGraph(db: Db): Promise<FriendGraph> {
  const reader = sqliteReaderOf(db);
  if (reader !== undefined) {
    // One read transaction, so the highest number and the rows are of one state.
    return reader.transaction(() => {
      const max = Number((reader.prepare('select coalesce(max(number), 0) as max from member_numbers').get() as { max: number }).max);
      const builder = new GraphBuilder(max);
      // Numbers in order (the outer loop walks member_numbers by its integer key, so no sort), each member's
      // friends by the clustered key of friendships, each friend's number by the unique index on member_id.
      const rows = reader.prepare(`select mn.number, fn.number from member_numbers mn
        cross join friendships f on f.member_id = mn.member_id
        cross join member_numbers fn on fn.member_id = f.friend_id
        order by mn.number`).raw(true).iterate() as IterableIterator<[number, number]>;
      for (const [member, friend] of rows) builder.add(member, friend);
      return builder.finish();
    }).deferred();
  }
  const { rows: [top] } = await sql<{ max: number | null }>`select max(number) as max from member_numbers`.execute(db);
  const builder = new GraphBuilder(Number(top?.max ?? 0));
  for (let from = 0; from <= builder.maxNumber; from += POSTGRES_PAGE_MEMBERS) {
    const { rows } = await sql<{ member: number; friend: number }>`select mn.number as member, fn.number as friend from member_numbers mn
      join friendships f on f.member_id = mn.member_id
      join member_numbers fn on fn.member_id = f.friend_id
      where mn.number >= ${from} and mn.number < ${from + POSTGRES_PAGE_MEMBERS}
      order by mn.number`.execute(db);
    for (const row of rows) builder.add(Number(row.member), Number(row.friend));
  }
  return builder.finish();
}

/** Fills the CSR from rows in ascending member order, growing `friends` as it goes. */
class GraphBuilder {
  readonly offsets: Uint32Array;
  private friends = new Uint32Array(1 << 16);
  private length = 0;
  /** Members up to here have their offsets set. */
  private closed = -1;

  constructor(readonly maxNumber: number) {
    this.offsets = new Uint32Array(maxNumber + 2);
  }

  add(member: number, friend: number): void {
    if (member > this.maxNumber || friend > this.maxNumber) return; // numbered after the graph's highest number
    if (member < this.closed) throw new Error('friend graph rows out of member order');
    if (member > this.closed) this.closeUpTo(member);
    if (this.length === this.friends.length) {
      const grown = new Uint32Array(this.friends.length * 2);
      grown.set(this.friends);
      this.friends = grown;
    }
    this.friends[this.length++] = friend;
  }

  finish(): FriendGraph {
    this.closeUpTo(this.maxNumber + 1);
    const { offsets, maxNumber } = this;
    const friends = this.friends.subarray(0, this.length);
    return {
      maxNumber, offsets, friends,
      friendsOf: (n) => (n >= 0 && n <= maxNumber ? friends.subarray(offsets[n]!, offsets[n + 1]!) : EMPTY),
    };
  }

  /** Ends the list of `closed` (sorting it) and starts the lists up to `member` at the current length. */
  private closeUpTo(member: number): void {
    if (this.closed >= 0) sortAscending(this.friends.subarray(this.offsets[this.closed]!, this.length));
    for (let n = this.closed + 1; n <= member; n++) this.offsets[n] = this.length;
    this.closed = member;
  }
}

const EMPTY = new Uint32Array(0);

function sortAscending(list: Uint32Array): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i]! < list[i - 1]!) {
      list.sort();
      return;
    }
  }
}
