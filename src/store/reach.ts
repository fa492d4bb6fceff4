import { sql } from 'kysely';
import type { Db } from './database.js';
import { loadFriendGraph, type FriendGraph } from './friend-graph.js';
import { addDelta, emptySet, lockFolding, readSets, ReadNumbers, union, type MemberSet, type MemberSetKind } from './member-sets.js';

/**
 * What the 2018 rules would have reached through a partner (issue 14 point 2), kept per partner
 * and UTC month as member sets over today's friend graph, and grown incrementally: a token member
 * not met before in that month adds their friends, and each friend not expanded before adds their
 * own friends, so every friend list is read at most once per partner and month however many
 * requests there are.
 *
 * - `reach_tokens`: the token members whose neighbourhood is in;
 * - `reach_friends`: their friends;
 * - `reach_expanded`: the friends whose own friends are in (equal to `reach_friends` once indexed);
 * - `reach_fof`: the friends' friends.
 *
 * `findReach` works out, read-only, what new token members add, and `storeFoundReach` stores it in
 * one short transaction: the server's scheduler runs the first in a worker thread off the appender
 * (reach-indexing.ts), `datapact tick` both at once (`indexReach`). Within one run each friend list
 * is read once however many partners and months expand it (FriendLists), or the whole graph once
 * (GraphFriends) when the run expands much of it. A report reads the stored sets and adds, in
 * memory, the token members not indexed yet (`reachOf`), so it is exact whether or not the
 * indexing has run.
 */
export interface Reach {
  readonly tokens: MemberSet;
  readonly friends: MemberSet;
  readonly friendsOfFriends: MemberSet;
}

export interface Neighbourhood extends Reach {
  readonly expanded: MemberSet;
}

const FRIEND_CHUNK = 500;
/** `member_numbers.number` is a 32-bit integer column: ReadNumbers' stand-ins lie above it. */
const MAX_STORED_NUMBER = 2 ** 31 - 1;

/** Where the reach's friend lists come from: today's friend graph, whichever way it is read. */
interface Friends {
  /** The friends, by number, of the members given by number. */
  friendsOf(members: MemberSet): Promise<MemberSet>;
}

/**
 * Friend lists by member number read a chunk at a time, each at most once per run: every partner
 * and month re-expands much the same friends. For a report's few token members not indexed yet.
 * Bounded: past `budget` friendships kept, lists are read again rather than kept.
 */
export class FriendLists implements Friends {
  private readonly lists = new Map<number, Uint32Array>();
  private kept = 0;
  /** Lists read from the database so far. */
  read = 0;

  constructor(private readonly db: Db, private readonly budget = 50_000_000) {}

  async friendsOf(members: MemberSet): Promise<MemberSet> {
    const friends = emptySet();
    const missing: number[] = [];
    for (const member of members) {
      if (member > MAX_STORED_NUMBER) continue; // a stand-in (ReadNumbers) for a member not numbered, so with no friendships
      const list = this.lists.get(member);
      if (list === undefined) missing.push(member);
      else friends.addMany(list);
    }
    for (let start = 0; start < missing.length; start += FRIEND_CHUNK) {
      const chunk = missing.slice(start, start + FRIEND_CHUNK);
      const { rows } = await sql<{ member: number; friend: number }>`select mn.number as member, fn.number as friend from member_numbers mn
        join friendships f on f.member_id = mn.member_id
        join member_numbers fn on fn.member_id = f.friend_id
        where mn.number in (${sql.join(chunk)})`.execute(this.db);
      const read = new Map<number, number[]>(chunk.map((member) => [member, []]));
      for (const row of rows) read.get(Number(row.member))!.push(Number(row.friend));
      this.read += chunk.length;
      for (const [member, list] of read) {
        friends.addMany(list);
        if (this.kept + list.length > this.budget) continue;
        this.lists.set(member, Uint32Array.from(list));
        this.kept += list.length;
      }
    }
    return friends;
  }
}

/**
 * Friends from the whole graph in memory (friend-graph.ts), which a run that expands much of the
 * world reads once instead of list by list. A sparse set is expanded forwards (each member's
 * list); a dense one the other way round: v has a friend in the set iff some entry of v's own list
 * is in it, found at about the first entry when most members are, so ~1 list entry a member
 * instead of all 100. Whichever costs fewer list entries by estimate; the answer is the same.
 */
export class GraphFriends implements Friends {
  private readonly inSet: Uint8Array;
  private readonly found: Uint32Array;
  private readonly degree: number;

  constructor(private readonly graph: FriendGraph) {
    this.inSet = new Uint8Array(graph.maxNumber + 1);
    this.found = new Uint32Array(graph.maxNumber + 1);
    this.degree = graph.friends.length / Math.max(1, graph.maxNumber);
  }

  async friendsOf(members: MemberSet): Promise<MemberSet> {
    const size = members.size;
    if (size === 0) return emptySet();
    // Numbers past the graph's (ReadNumbers' stand-ins, members numbered since) have no friends in it.
    const numbers = members.toUint32Array().filter((n) => n <= this.graph.maxNumber);
    const forwards = size * this.degree;
    const backwards = this.graph.maxNumber * Math.min(this.degree, this.graph.maxNumber / size);
    return forwards <= backwards ? this.forwards(numbers) : this.backwards(numbers);
  }

  private forwards(members: Uint32Array): MemberSet {
    const { inSet, graph: { offsets, friends } } = this;
    inSet.fill(0);
    for (const member of members) for (let i = offsets[member]!; i < offsets[member + 1]!; i++) inSet[friends[i]!] = 1;
    return this.collect((n) => inSet[n] === 1);
  }

  private backwards(members: Uint32Array): MemberSet {
    const { inSet, graph: { offsets, friends } } = this;
    inSet.fill(0);
    for (const member of members) inSet[member] = 1;
    return this.collect((n) => {
      for (let i = offsets[n]!, end = offsets[n + 1]!; i < end; i++) if (inSet[friends[i]!] === 1) return true;
      return false;
    });
  }

  private collect(isIn: (n: number) => boolean): MemberSet {
    let count = 0;
    for (let n = 0; n <= this.graph.maxNumber; n++) if (isIn(n)) this.found[count++] = n;
    const set = emptySet();
    set.addMany(this.found.subarray(0, count));
    return set;
  }
}

/**
 * Friend lists a chunk at a time until the run has read as many as an eighth of the members, then
 * the whole graph at once: a scheduler run with a few newcomers reads their lists; one that
 * indexes a world (or a month where nearly everyone is a friend of a friend) reads the graph, at
 * once when its token members alone are more than one member in 64 (their friends' lists, some
 * 100 times as many, would be most of the graph: read list by list first, they cost more than
 * the whole graph).
 */
class AdaptiveFriends implements Friends {
  private graph: GraphFriends | undefined;
  private readonly lists: FriendLists;
  private readonly wholeAtOnce: boolean;

  constructor(private readonly db: Db, private readonly members: number, tokens: number) {
    this.lists = new FriendLists(db);
    this.wholeAtOnce = tokens > members / 64;
  }

  async friendsOf(members: MemberSet): Promise<MemberSet> {
    if (this.graph === undefined && (this.wholeAtOnce || this.lists.read + members.size > this.members / 8)) {
      this.graph = new GraphFriends(await loadFriendGraph(this.db));
    }
    return (this.graph ?? this.lists).friendsOf(members);
  }
}

/** What the neighbourhoods of `newTokens` add to `known` (neither is changed). */
async function grow(known: Neighbourhood, newTokens: MemberSet, lists: Friends): Promise<Neighbourhood> {
  const friends = await lists.friendsOf(newTokens);
  const toExpand = friends.clone();
  toExpand.andNotInPlace(known.expanded);
  const friendsOfFriends = await lists.friendsOf(toExpand);
  return { tokens: newTokens, friends, expanded: toExpand, friendsOfFriends };
}

/** The kinds of set a neighbourhood is stored as, in the order FoundReach's parts are posted (reach-indexing.ts). */
export const REACH_KINDS: ReadonlyArray<[MemberSetKind, keyof Neighbourhood]> = [
  ['reach_tokens', 'tokens'], ['reach_friends', 'friends'], ['reach_expanded', 'expanded'], ['reach_fof', 'friendsOfFriends'],
];

type Stored = Map<string, Map<string, Neighbourhood>>;

/** The stored neighbourhoods per month and partner of the span. */
async function storedReach(db: Db, from: string, to: string, partner?: string): Promise<Stored> {
  const stored: Stored = new Map();
  const at = (month: string, partner: string): Record<keyof Neighbourhood, MemberSet> => {
    const ofMonth = stored.get(month) ?? stored.set(month, new Map()).get(month)!;
    return (ofMonth.get(partner) ?? ofMonth.set(partner, { tokens: emptySet(), friends: emptySet(), expanded: emptySet(), friendsOfFriends: emptySet() }).get(partner)!) as Record<keyof Neighbourhood, MemberSet>;
  };
  for (const [kind, part] of REACH_KINDS) {
    for (const set of await readSets(db, kind, from, to, partner)) at(set.period, set.key)[part] = set.members;
  }
  return stored;
}

/** Token members per month and partner of the span: the folded sets with the rows not folded yet. */
async function tokenMembers(db: Db, from: string, to: string, numbers: (ids: string[]) => Promise<ReadonlyMap<string, number>>) {
  const tokens = new Map<string, Map<string, MemberSet>>();
  const at = (month: string, partner: string) => {
    const ofMonth = tokens.get(month) ?? tokens.set(month, new Map()).get(month)!;
    return ofMonth.get(partner) ?? ofMonth.set(partner, emptySet()).get(partner)!;
  };
  for (const set of await readSets(db, 'token', from, to)) at(set.period, set.key).orInPlace(set.members);
  const rows = await db.selectFrom('audit_token_months').select(['month', 'partner_id', 'member_id'])
    .where('month', '>=', from).where('month', '<=', to).execute();
  const byId = await numbers(rows.map((row) => row.member_id));
  for (const row of rows) {
    const number = byId.get(row.member_id);
    if (number !== undefined) at(row.month, row.partner_id).add(number);
  }
  return tokens;
}

/** The numbers `member_numbers` holds for these ids (read-only): an id without one is left out. */
async function storedNumbers(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  const numbers = new Map<string, number>();
  const all = [...new Set(ids)];
  for (let start = 0; start < all.length; start += FRIEND_CHUNK) {
    const rows = await db.selectFrom('member_numbers').select(['member_id', 'number']).where('member_id', 'in', all.slice(start, start + FRIEND_CHUNK)).execute();
    for (const row of rows) numbers.set(row.member_id, Number(row.number));
  }
  return numbers;
}

const EMPTY: Neighbourhood = { tokens: emptySet(), friends: emptySet(), expanded: emptySet(), friendsOfFriends: emptySet() };

/** What the neighbourhoods of a partner's token members not indexed yet in a month add to what is stored. */
export interface FoundReach {
  readonly month: string;
  readonly partner: string;
  readonly added: Neighbourhood;
}

/**
 * Read-only: for every month and partner, the token members not indexed yet and what their
 * neighbourhoods add. Off the appender: the scheduler runs it in a worker thread on a read-only
 * connection of its own (reach-indexing.ts), as its cost grows with the neighbourhoods, hidden
 * friends included. A token member without a number yet (the fold gives it one) waits for a later run.
 */
export async function findReach(db: Db): Promise<FoundReach[]> {
  const pending: Array<{ month: string; partner: string; known: Neighbourhood; tokens: MemberSet }> = [];
  for (const month of await monthsWithTokens(db)) {
    const [stored, tokens] = await Promise.all([storedReach(db, month, month), tokenMembers(db, month, month, (ids) => storedNumbers(db, ids))]);
    for (const [partner, members] of tokens.get(month) ?? new Map<string, MemberSet>()) {
      const known = stored.get(month)?.get(partner) ?? EMPTY;
      const unknown = members.clone();
      unknown.andNotInPlace(known.tokens);
      if (unknown.size > 0) pending.push({ month, partner, known, tokens: unknown });
    }
  }
  if (pending.length === 0) return [];
  const { rows: [top] } = await sql<{ max: number | null }>`select max(number) as max from member_numbers`.execute(db);
  const friends = new AdaptiveFriends(db, Number(top?.max ?? 0), pending.reduce((sum, one) => sum + one.tokens.size, 0));
  const found: FoundReach[] = [];
  for (const { month, partner, known, tokens } of pending) found.push({ month, partner, added: await grow(known, tokens, friends) });
  return found;
}

/**
 * Stores what findReach found, as deltas, in one short transaction (the scheduler's, at its own
 * cadence); returns how many token members it adds. The sets only grow, so a run's findings stay
 * true whatever was stored since it read: storing a neighbourhood twice changes nothing.
 */
export async function storeFoundReach(db: Db, found: readonly FoundReach[]): Promise<number> {
  if (found.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    await lockFolding(trx);
    let added = 0;
    for (const { month, partner, added: parts } of found) {
      for (const [kind, part] of REACH_KINDS) if (parts[part].size > 0) await addDelta(trx, kind, month, partner, parts[part]);
      added += parts.tokens.size;
    }
    return added;
  });
}

/**
 * Finds and stores the neighbourhoods of the token members not indexed yet, on this thread: for
 * `datapact tick`, tests and benchmarks. The server's scheduler finds them off its thread (reach-indexing.ts).
 */
export async function indexReach(db: Db): Promise<number> {
  return storeFoundReach(db, await findReach(db));
}

async function monthsWithTokens(db: Db): Promise<string[]> {
  const [folded, rows] = await Promise.all([
    db.selectFrom('member_sets').select('period').distinct().where('kind', '=', 'token').execute(),
    db.selectFrom('audit_token_months').select('month').distinct().execute(),
  ]);
  return [...new Set([...folded.map((row) => row.period), ...rows.map((row) => row.month)])].sort();
}

/**
 * Per partner, the reach over the months from `from` to `to`: the stored neighbourhoods and, for
 * token members not indexed yet, theirs read now. Read-only.
 */
export async function reachOf(db: Db, from: string, to: string): Promise<Map<string, Reach>> {
  const numbers = new ReadNumbers(db);
  const [stored, tokens] = await Promise.all([storedReach(db, from, to), tokenMembers(db, from, to, (ids) => numbers.of(ids))]);
  const perPartner = new Map<string, Neighbourhood[]>();
  const lists = new FriendLists(db);
  for (const [month, ofMonth] of tokens) {
    for (const [partner, members] of ofMonth) {
      const known = stored.get(month)?.get(partner) ?? EMPTY;
      const pending = members.clone();
      pending.andNotInPlace(known.tokens);
      const parts = perPartner.get(partner) ?? perPartner.set(partner, []).get(partner)!;
      parts.push(known);
      if (pending.size > 0) parts.push(await grow(known, pending, lists));
    }
  }
  const reach = new Map<string, Reach>();
  for (const [partner, parts] of perPartner) {
    reach.set(partner, {
      tokens: union(parts.map((part) => part.tokens)),
      friends: union(parts.map((part) => part.friends)),
      friendsOfFriends: union(parts.map((part) => part.friendsOfFriends)),
    });
  }
  return reach;
}
