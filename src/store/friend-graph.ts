import type BetterSqlite3 from 'better-sqlite3';
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

/** The friend graph as it stands, in one pass over `friendships`. */
export async function loadFriendGraph(db: Db): Promise<FriendGraph> {
  const reader = sqliteReaderOf(db);
  if (reader !== undefined) return reader.transaction(() => sqliteGraph(reader)).deferred(); // numbers and friendships of one state
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

/**
 * On SQLite, joining each friendship to its friend's number costs a random probe of an index on
 * text ids (some 3 µs a friendship, five minutes at a million members): the numbers are read into
 * a map instead, and the friendships in their clustered order, each member's friend ids in one
 * row, so that a row's overhead is paid per member rather than per friendship.
 */
function sqliteGraph(reader: BetterSqlite3.Database): FriendGraph {
  const numbers = new Map<string, number>();
  let max = 0;
  for (const [id, number] of reader.prepare('select member_id, number from member_numbers').raw(true).iterate() as Iterable<[string, number]>) {
    numbers.set(id, number);
    if (number > max) max = number;
  }
  const builder = new GraphBuilder(max);
  const lists = reader.prepare(`select member_id, group_concat(friend_id, char(${SEPARATOR.charCodeAt(0)})) from friendships group by member_id`)
    .raw(true).iterate() as Iterable<[string, string]>;
  for (const [id, friendIds] of lists) {
    const member = numbers.get(id);
    if (member === undefined) continue;
    for (const friendId of friendIds.split(SEPARATOR)) {
      const friend = numbers.get(friendId);
      if (friend !== undefined) builder.add(member, friend);
    }
  }
  return builder.finish();
}

/** Between friend ids in a row: a control character no member id holds. */
const SEPARATOR = '\u001f';

/**
 * Fills the CSR from friendships in any order of members as long as each member's come together,
 * in a growing buffer, then lays the lists out in member number order, each sorted.
 */
class GraphBuilder {
  private readonly starts: Uint32Array;
  private readonly lengths: Uint32Array;
  private buffer = new Uint32Array(1 << 16);
  private length = 0;
  private current = -1;

  constructor(readonly maxNumber: number) {
    this.starts = new Uint32Array(maxNumber + 1);
    this.lengths = new Uint32Array(maxNumber + 1);
  }

  add(member: number, friend: number): void {
    if (member > this.maxNumber || friend > this.maxNumber) return; // numbered after the graph's highest number
    if (member !== this.current) {
      if (this.lengths[member] !== 0) throw new Error(`friend graph: member ${member}'s friendships came apart`);
      this.current = member;
      this.starts[member] = this.length;
    }
    if (this.length === this.buffer.length) {
      const grown = new Uint32Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = friend;
    this.lengths[member]!++;
  }

  finish(): FriendGraph {
    const { maxNumber, starts, lengths, buffer } = this;
    const offsets = new Uint32Array(maxNumber + 2);
    for (let n = 0; n <= maxNumber; n++) offsets[n + 1] = offsets[n]! + lengths[n]!;
    const friends = new Uint32Array(this.length);
    for (let n = 0; n <= maxNumber; n++) {
      if (lengths[n] === 0) continue;
      const list = friends.subarray(offsets[n]!, offsets[n + 1]!);
      list.set(buffer.subarray(starts[n]!, starts[n]! + lengths[n]!));
      sortAscending(list);
    }
    this.buffer = new Uint32Array(0);
    return {
      maxNumber, offsets, friends,
      friendsOf: (n) => (n >= 0 && n <= maxNumber ? friends.subarray(offsets[n]!, offsets[n + 1]!) : EMPTY),
    };
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
