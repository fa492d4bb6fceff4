import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Db } from './database.js';
import { sqliteReaderOf } from './database.js';

/**
 * Today's friend graph by member number (`member_numbers`, migration 0028), read whole, in
 * compressed sparse row form: member n's friends are `friends[offsets[n] .. offsets[n + 1])`, sorted
 * ascending. For work that expands most of the graph (the counterfactual's reach indexing, a
 * replay): reading it once costs far less than reading lists a chunk at a time, and 100 friends a
 * member fit in 4 bytes each (400 MB at a million).
 *
 * Read from `friend_number_lists` (migration 0040: a row per member, their friends' numbers sorted),
 * which the code that writes friendships keeps whole. A number above `maxNumber` (a member
 * numbered after the graph was read) has no friends here: `friendsOf` gives an empty list.
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

/** The friend graph as it stands, in one pass over `friend_number_lists`. */
export async function loadFriendGraph(db: Db): Promise<FriendGraph> {
  const reader = sqliteReaderOf(db);
  if (reader !== undefined) return reader.transaction(() => sqliteListsGraph(reader)).deferred(); // numbers and lists of one state
  const { rows: [top] } = await sql<{ max: number | null }>`select max(number) as max from member_numbers`.execute(db);
  const builder = new ListsBuilder(Number(top?.max ?? 0), 0);
  for (let from = 0; from <= builder.maxNumber; from += POSTGRES_PAGE_MEMBERS) {
    const { rows } = await sql<{ member_number: number; friends: Buffer }>`select member_number, friends from friend_number_lists
      where member_number >= ${from} and member_number < ${from + POSTGRES_PAGE_MEMBERS} order by member_number`.execute(db);
    for (const row of rows) builder.add(Number(row.member_number), row.friends);
  }
  return builder.finish();
}

function sqliteListsGraph(reader: BetterSqlite3.Database): FriendGraph {
  const maxNumber = Number(reader.prepare('select coalesce(max(number), 0) from member_numbers').pluck().get());
  const bytes = Number(reader.prepare('select coalesce(sum(length(friends)), 0) from friend_number_lists').pluck().get());
  const builder = new ListsBuilder(maxNumber, bytes >>> 2);
  for (const [member, friends] of reader.prepare('select member_number, friends from friend_number_lists order by member_number')
    .raw(true).iterate() as Iterable<[number, Buffer]>) builder.add(member, friends);
  return builder.finish();
}

/** A friend_number_lists row's numbers (4 bytes each, big-endian) written into `into` from `at` on (it must have room: bytes.length / 4); how many. */
export function decodeFriendNumbers(bytes: Uint8Array, into: Uint32Array, at: number): number {
  const count = bytes.length >>> 2;
  for (let i = 0, b = 0; i < count; i++, b += 4) into[at + i] = ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) >>> 0;
  return count;
}

/** The CSR from lists given in ascending member order, each sorted, as friend_number_lists holds them. */
class ListsBuilder {
  private readonly offsets: Uint32Array;
  private friends: Uint32Array;
  private length = 0;
  private next = 0;

  constructor(readonly maxNumber: number, friends: number) {
    this.offsets = new Uint32Array(maxNumber + 2);
    this.friends = new Uint32Array(Math.max(friends, 1 << 16));
  }

  add(member: number, bytes: Uint8Array): void {
    if (member > this.maxNumber) return; // numbered after the graph's highest number
    for (; this.next <= member; this.next++) this.offsets[this.next] = this.length;
    while (this.length + (bytes.length >>> 2) > this.friends.length) this.friends = grown(this.friends);
    const count = decodeFriendNumbers(bytes, this.friends, this.length);
    // Sorted: friends numbered after the graph's highest number are at the end.
    let kept = count;
    while (kept > 0 && this.friends[this.length + kept - 1]! > this.maxNumber) kept--;
    this.length += kept;
  }

  finish(): FriendGraph {
    const { maxNumber, offsets, length } = this;
    for (; this.next <= maxNumber + 1; this.next++) offsets[this.next] = length;
    const friends = this.friends.length === length ? this.friends : this.friends.slice(0, length);
    this.friends = new Uint32Array(0);
    return {
      maxNumber, offsets, friends,
      friendsOf: (n) => (n >= 0 && n <= maxNumber ? friends.subarray(offsets[n]!, offsets[n + 1]!) : EMPTY),
    };
  }
}

/**
 * The friend graph read from `friendships` itself, by ids (to build friend_number_lists in bulk).
 * On SQLite, joining each friendship to its friend's number costs a random probe of an index on
 * text ids (some 3 µs a friendship, five minutes at a million members), and so does making a
 * JavaScript string of each friend id to look it up in a Map. Instead the ids and numbers are read
 * into a hash table over the ids' bytes (IdTable), and the friendships in their clustered order,
 * each member's friend ids in one row as bytes, looked up where they lie: a row's overhead is paid
 * per member and no string is made per friendship.
 */
export function friendGraphFromFriendships(reader: BetterSqlite3.Database): FriendGraph {
  const ids = new IdTable(reader.prepare('select cast(member_id as blob), number from member_numbers').raw(true).iterate() as Iterable<[Buffer, number]>);
  const builder = new GraphBuilder(ids.maxNumber);
  const lists = reader.prepare(`select cast(member_id as blob), cast(group_concat(friend_id, char(${SEPARATOR})) as blob)
    from friendships group by member_id`).raw(true).iterate() as Iterable<[Buffer, Buffer]>;
  for (const [id, friendIds] of lists) {
    const member = ids.numberOf(id, 0, id.length);
    if (member === undefined) continue;
    let start = 0;
    for (let end = 0; end <= friendIds.length; end++) {
      if (end < friendIds.length && friendIds[end] !== SEPARATOR) continue;
      const friend = ids.numberOf(friendIds, start, end);
      if (friend !== undefined) builder.add(member, friend);
      start = end + 1;
    }
  }
  return builder.finish();
}

/** Between friend ids in a row: a control character (unit separator) no member id holds. */
const SEPARATOR = 0x1f;

/**
 * Member numbers by the bytes of member ids: open addressing over one typed array, a slot's hash,
 * number, and where its id's bytes lie side by side (a lookup touches that slot's cache line and
 * the id's bytes, the lookups being random across a million ids); FNV-1a finished with murmur3's
 * mix, as ids differ in few bytes.
 */
export class IdTable {
  private bytes = new Uint8Array(1 << 20);
  private used = 0;
  /** Per slot: hash, number + 1 (0: empty), start and length of the id in `bytes`. */
  private readonly slots: Uint32Array;
  /** The slots' bytes: an id of up to INLINE bytes is kept in its slot, compared there without a second cache miss. */
  private readonly slotBytes: Uint8Array;
  private readonly mask: number;
  maxNumber = 0;

  constructor(rows: Iterable<[Buffer, number]>) {
    const pending: Array<[number, number, number]> = [];
    for (const [id, number] of rows) {
      while (this.used + id.length > this.bytes.length) this.bytes = grown(this.bytes);
      this.bytes.set(id, this.used);
      pending.push([this.used, id.length, number]);
      this.used += id.length;
      if (number > this.maxNumber) this.maxNumber = number;
    }
    let size = 2;
    while (size < pending.length * 2) size *= 2;
    this.slots = new Uint32Array(size * SLOT);
    this.slotBytes = new Uint8Array(this.slots.buffer);
    this.mask = size - 1;
    for (const [start, length, number] of pending) {
      const hash = hashOf(this.bytes, start, start + length);
      let slot = hash & this.mask;
      while (this.slots[slot * SLOT + 1] !== 0) slot = (slot + 1) & this.mask;
      this.slots.set([hash, number + 1, start, length], slot * SLOT);
      if (length <= INLINE) this.slotBytes.set(this.bytes.subarray(start, start + length), (slot * SLOT + 4) * 4);
    }
  }

  /** The number of the id held in `source[start..end)`, if it has one. */
  numberOf(source: Uint8Array, start: number, end: number): number | undefined {
    return this.probe(hashOf(source, start, end), source, start, end - start);
  }

  /**
   * The number of the id held in `text[start..end)` (a slice of a longer string, made into no string
   * of its own): its characters are its bytes when all are ASCII, else it is encoded first.
   */
  numberOfText(text: string, start: number, end: number): number | undefined {
    let hash = FNV_OFFSET;
    for (let i = start; i < end; i++) {
      const char = text.charCodeAt(i);
      if (char > 0x7f) {
        const bytes = Buffer.from(text.slice(start, end), 'utf8');
        return this.numberOf(bytes, 0, bytes.length);
      }
      hash = Math.imul(hash ^ char, FNV_PRIME);
    }
    return this.probe(mixed(hash), text, start, end - start);
  }

  /**
   * Open addressing: the slots from the hash's on, until an empty one; a candidate's bytes compared
   * with the id's, bytes or ASCII characters (a branch, not a closure: a look-up allocates nothing).
   */
  private probe(hash: number, source: Uint8Array | string, start: number, length: number): number | undefined {
    const { slots } = this;
    const bytes = length <= INLINE ? this.slotBytes : this.bytes;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slot * SLOT;
      const numbered = slots[at + 1]!;
      if (numbered === 0) return undefined;
      if (slots[at] !== hash || slots[at + 3] !== length) continue;
      const from = length <= INLINE ? (at + 4) * 4 : slots[at + 2]!;
      let k = 0;
      if (typeof source === 'string') while (k < length && bytes[from + k] === source.charCodeAt(start + k)) k++;
      else while (k < length && bytes[from + k] === source[start + k]) k++;
      if (k === length) return numbered - 1;
    }
  }
}

/** Uint32s a slot of IdTable takes: hash, number + 1, where the id's bytes lie and how many, then up to INLINE of them. */
const SLOT = 8;
const INLINE = 16;

function grown<T extends Uint8Array | Uint32Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashOf(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return mixed(hash);
}

function mixed(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

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
    if (this.length === this.buffer.length) this.buffer = grown(this.buffer);
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
