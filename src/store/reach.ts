import { sql } from 'kysely';
import type { Db } from './database.js';
import { loadFriendGraph, type FriendGraph } from './friend-graph.js';
import { dialectOf } from './dialect.js';
import { emptySet, readSets, ReadNumbers, setFromBytes, union, type MemberSet, type MemberSetKind } from './member-sets.js';

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
 * `findReach` works out, read-only, what new token members add, and `reachPieces` cuts it into pieces
 * of at most PIECE_SPAN member numbers each, which `storeReachPiece` stores one per transaction, each
 * the same statements and rows and at most one Roaring container (8 KB) whatever the sets hold: the
 * server's scheduler finds and cuts in a worker thread off the appender and stores a fixed number of
 * pieces per run (reach-indexing.ts), `datapact tick` does it all at once (`indexReach`). A set is
 * stored as one row per span of numbers (`set_key` `partner start`; a whole set keyed by the
 * partner alone, as stored before, is read too), so a piece rewrites at most one span's row.
 *
 * Within one run each friend list is read once however many partners and months expand it
 * (FriendLists), or the whole graph once (GraphFriends) when the run expands much of it. A report
 * reads the stored sets and adds, in memory, the token members not indexed yet (`reachOf`), so it
 * is exact whether or not the indexing has run.
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

/**
 * The kinds of set a neighbourhood is stored as. Reports read them in this order, token members
 * first, each in a statement of its own: a token member's other sets are stored before its token
 * piece (STORE_ORDER), so a token member read as indexed has the rest stored already, whatever
 * steps run between the reads; one not read as indexed is expanded by the report.
 */
export const REACH_KINDS: ReadonlyArray<[MemberSetKind, keyof Neighbourhood]> = [
  ['reach_tokens', 'tokens'], ['reach_friends', 'friends'], ['reach_expanded', 'expanded'], ['reach_fof', 'friendsOfFriends'],
];

type Stored = Map<string, Map<string, Neighbourhood>>;

/** The stored neighbourhoods per month and partner of the span (each set the union of its spans' rows). */
async function storedReach(db: Db, from: string, to: string): Promise<Stored> {
  const stored: Stored = new Map();
  const at = (month: string, partner: string): Record<keyof Neighbourhood, MemberSet> => {
    const ofMonth = stored.get(month) ?? stored.set(month, new Map()).get(month)!;
    return (ofMonth.get(partner) ?? ofMonth.set(partner, { tokens: emptySet(), friends: emptySet(), expanded: emptySet(), friendsOfFriends: emptySet() }).get(partner)!) as Record<keyof Neighbourhood, MemberSet>;
  };
  for (const [kind, part] of REACH_KINDS) {
    for (const set of await readSets(db, kind, from, to)) at(set.period, partnerOfKey(set.key))[part].orInPlace(set.members);
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

const EMPTY: Neighbourhood = { tokens: emptySet(), friends: emptySet(), expanded: emptySet(), friendsOfFriends: emptySet() };

/** What the neighbourhoods of a partner's token members not indexed yet in a month add to what is stored. */
export interface FoundReach {
  readonly month: string;
  readonly partner: string;
  readonly added: Neighbourhood;
}

/**
 * Read-only: for every month and partner, the token members not indexed yet and what their
 * neighbourhoods add to what is stored (only what is not stored yet). Off the appender: the
 * scheduler runs it in a worker thread on a read-only connection of its own (reach-indexing.ts),
 * as its cost grows with the neighbourhoods, hidden friends included. A token member without a
 * number yet (the fold gives it one) waits for a later run.
 */
export async function findReach(db: Db): Promise<FoundReach[]> {
  const pending: Array<{ month: string; partner: string; known: Neighbourhood; tokens: MemberSet }> = [];
  const numbers = new ReadNumbers(db);
  // Only the numbered: a stand-in number (ReadNumbers) stored as a token member would count a member twice.
  const numbered = async (ids: string[]) => new Map([...await numbers.of(ids)].filter(([, number]) => number <= MAX_STORED_NUMBER));
  for (const month of await monthsWithTokens(db)) {
    const [stored, tokens] = await Promise.all([storedReach(db, month, month), tokenMembers(db, month, month, numbered)]);
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
  for (const { month, partner, known, tokens } of pending) {
    const added = await grow(known, tokens, friends);
    added.friends.andNotInPlace(known.friends);
    added.friendsOfFriends.andNotInPlace(known.friendsOfFriends);
    found.push({ month, partner, added });
  }
  return found;
}

/**
 * Member numbers per piece: one Roaring container's worth, so a piece, and the row of its span it
 * is ORed into, is at most 8 KB however many members it holds.
 */
export const PIECE_SPAN = 65_536;

/** A part of a set found, within one span of member numbers, stored in one transaction (storeReachPiece). */
export interface ReachPiece {
  readonly kind: MemberSetKind;
  readonly month: string;
  readonly partner: string;
  /** The span's first member number. */
  readonly start: number;
  /** Its members, serialized (portable Roaring). */
  readonly members: Uint8Array;
  /** How many. */
  readonly size: number;
}

/**
 * Storing pieces in this order keeps every report exact whenever the storing stops (reachOf
 * expands the token members not in `reach_tokens`): a friend is in `reach_expanded` only once all
 * the friends of friends of its month and partner are stored, and a token member in `reach_tokens`
 * only once every other piece of its month and partner is. A token member is thus either indexed
 * whole or expanded by the report, never counted half.
 */
const STORE_ORDER: ReadonlyArray<keyof Neighbourhood> = ['friendsOfFriends', 'friends', 'expanded', 'tokens'];

/** What findReach found, cut into pieces of at most `span` member numbers, in the order they must be stored. */
export function reachPieces(found: readonly FoundReach[], span = PIECE_SPAN): ReachPiece[] {
  const pieces: ReachPiece[] = [];
  for (const { month, partner, added } of found) {
    for (const part of STORE_ORDER) {
      const kind = REACH_KINDS.find(([, p]) => p === part)![0];
      const members = added[part].toUint32Array();
      for (let from = 0; from < members.length;) {
        const start = Math.floor(members[from]! / span) * span;
        let to = from;
        while (to < members.length && members[to]! < start + span) to++;
        const piece = emptySet();
        piece.addMany(members.subarray(from, to));
        pieces.push({ kind, month, partner, start, members: new Uint8Array(piece.serialize('portable')), size: to - from });
        from = to;
      }
    }
  }
  return pieces;
}

/** A span's row: the partner, then the span's first number. */
const pieceKey = (partner: string, start: number): string => `${partner} ${start}`;
/** The partner of a row's key (a whole set stored before the spans is keyed by the partner alone). */
function partnerOfKey(key: string): string {
  const space = key.lastIndexOf(' ');
  return space > 0 && /^\d+$/.test(key.slice(space + 1)) ? key.slice(0, space) : key;
}

/**
 * ORs one piece into the row of its span, in one transaction of the same statements and rows
 * whatever the piece holds (an empty one too: the scheduler's padding, reach-indexing.ts), reading
 * and writing at most one span's row. The sets only grow, so storing a piece twice changes nothing.
 */
export async function storeReachPiece(db: Db, piece: ReachPiece): Promise<void> {
  const key = pieceKey(piece.partner, piece.start);
  await db.transaction().execute(async (trx) => {
    // Another process indexing at once (datapact tick): one read-and-rewrite at a time. Its own lock, which no append takes.
    if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(${REACH_LOCK})`.execute(trx);
    // One row whether the span's row exists or not.
    const { rows: [row] } = await sql<{ members: Uint8Array | null }>`select (select members from member_sets
      where kind = ${piece.kind} and period = ${piece.month} and set_key = ${key}) as members`.execute(trx);
    const set = setFromBytes(piece.members);
    if (row?.members !== null && row?.members !== undefined) set.orInPlace(setFromBytes(row.members));
    const members = new Uint8Array(set.serialize('portable'));
    await trx.insertInto('member_sets').values({ kind: piece.kind, period: piece.month, set_key: key, members })
      .onConflict((c) => c.columns(['kind', 'period', 'set_key']).doUpdateSet({ members })).execute();
  });
}
const REACH_LOCK = 0x72656163; // 'reac'

/**
 * Finds and stores the neighbourhoods of the token members not indexed yet, on this thread, a piece
 * per transaction: for `datapact tick`, tests and benchmarks. Returns how many token members it
 * indexes. The server's scheduler finds them off its thread (reach-indexing.ts).
 */
export async function indexReach(db: Db): Promise<number> {
  let tokens = 0;
  for (const piece of reachPieces(await findReach(db))) {
    await storeReachPiece(db, piece);
    if (piece.kind === 'reach_tokens') tokens += piece.size;
  }
  return tokens;
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
