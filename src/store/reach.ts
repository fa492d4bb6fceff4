import { sql } from 'kysely';
import type { Db } from './database.js';
import { addDelta, emptySet, lockFolding, memberNumbers, readSets, ReadNumbers, union, type MemberSet, type MemberSetKind } from './member-sets.js';

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
 * `indexReach` (the scheduler, `datapact tick`) stores what new token members add; within one run
 * each friend list is read once (FriendLists), however many partners and months expand it. A report reads
 * the stored sets and adds, in memory, the token members not indexed yet (`reachOf`), so it is
 * exact whether or not the indexing has run.
 */
export interface Reach {
  readonly tokens: MemberSet;
  readonly friends: MemberSet;
  readonly friendsOfFriends: MemberSet;
}

interface Neighbourhood extends Reach {
  readonly expanded: MemberSet;
}

const FRIEND_CHUNK = 500;

/**
 * Friend lists by member number, read at most once per run: every partner and month re-expands
 * much the same friends, and reading a list (two joins on text ids per friendship) is the cost.
 * Bounded: past `budget` friendships kept, lists are read again rather than kept.
 */
export class FriendLists {
  private readonly lists = new Map<number, Uint32Array>();
  private kept = 0;

  constructor(private readonly budget = 50_000_000) {}

  /** The friends, by number, of the members given by number (today's friend graph). */
  async friendsOf(db: Db, members: MemberSet): Promise<MemberSet> {
    const friends = emptySet();
    const missing: number[] = [];
    for (const member of members) {
      const list = this.lists.get(member);
      if (list === undefined) missing.push(member);
      else friends.addMany(list);
    }
    for (let start = 0; start < missing.length; start += FRIEND_CHUNK) {
      const chunk = missing.slice(start, start + FRIEND_CHUNK);
      const { rows } = await sql<{ member: number; friend: number }>`select mn.number as member, fn.number as friend from member_numbers mn
        join friendships f on f.member_id = mn.member_id
        join member_numbers fn on fn.member_id = f.friend_id
        where mn.number in (${sql.join(chunk)})`.execute(db);
      const read = new Map<number, number[]>(chunk.map((member) => [member, []]));
      for (const row of rows) read.get(Number(row.member))!.push(Number(row.friend));
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

/** What the neighbourhoods of `newTokens` add to `known` (neither is changed). */
async function grow(db: Db, known: Neighbourhood, newTokens: MemberSet, lists: FriendLists): Promise<Neighbourhood> {
  const friends = await lists.friendsOf(db, newTokens);
  const toExpand = friends.clone();
  toExpand.andNotInPlace(known.expanded);
  const friendsOfFriends = await lists.friendsOf(db, toExpand);
  return { tokens: newTokens, friends, expanded: toExpand, friendsOfFriends };
}

const KINDS: ReadonlyArray<[MemberSetKind, keyof Neighbourhood]> = [
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
  for (const [kind, part] of KINDS) {
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
  for (const row of rows) at(row.month, row.partner_id).add(byId.get(row.member_id)!);
  return tokens;
}

const EMPTY: Neighbourhood = { tokens: emptySet(), friends: emptySet(), expanded: emptySet(), friendsOfFriends: emptySet() };

/**
 * Stores the neighbourhoods of the token members not indexed yet, every month and partner; returns
 * how many token members were added. Run by the writer (the scheduler, `datapact tick`).
 */
export async function indexReach(db: Db): Promise<number> {
  const months = await monthsWithTokens(db);
  const lists = new FriendLists();
  let added = 0;
  for (const month of months) {
    const tokens = await tokenMembers(db, month, month, (ids) => memberNumbers(db, ids));
    for (const [partner, members] of tokens.get(month) ?? new Map<string, MemberSet>()) {
      added += await db.transaction().execute((trx) => storeReach(trx, month, partner, members, lists));
    }
  }
  return added;
}

/**
 * Stores the neighbourhoods of token members the audit log has just seen (per `month partner`, their
 * member ids), those not indexed yet: what the log runs shortly after it appends a newcomer's first
 * request, so that a report meets few token members it must expand itself (reachOf). Each id must
 * be a token member of that partner and month in entries already committed. Returns how many were added.
 */
export async function indexTokenMembers(db: Db, seen: ReadonlyMap<string, readonly string[]>): Promise<number> {
  const lists = new FriendLists();
  let added = 0;
  for (const [group, ids] of seen) {
    const [month, partner] = group.split(' ') as [string, string];
    added += await db.transaction().execute(async (trx) => {
      const members = emptySet();
      for (const number of (await memberNumbers(trx, ids)).values()) members.add(number);
      return storeReach(trx, month, partner, members, lists);
    });
  }
  return added;
}

/** In the caller's transaction: adds what the neighbourhoods of `members` not indexed yet add to the partner's month, as deltas. */
async function storeReach(trx: Db, month: string, partner: string, members: MemberSet, lists: FriendLists): Promise<number> {
  await lockFolding(trx);
  const known = (await storedReach(trx, month, month, partner)).get(month)?.get(partner) ?? EMPTY;
  const pending = members.clone();
  pending.andNotInPlace(known.tokens);
  if (pending.size === 0) return 0;
  const grown = await grow(trx, known, pending, lists);
  for (const [kind, part] of KINDS) if (grown[part].size > 0) await addDelta(trx, kind, month, partner, grown[part]);
  return pending.size;
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
  const lists = new FriendLists();
  for (const [month, ofMonth] of tokens) {
    for (const [partner, members] of ofMonth) {
      const known = stored.get(month)?.get(partner) ?? EMPTY;
      const pending = members.clone();
      pending.andNotInPlace(known.tokens);
      const parts = perPartner.get(partner) ?? perPartner.set(partner, []).get(partner)!;
      parts.push(known);
      if (pending.size > 0) parts.push(await grow(db, known, pending, lists));
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
