import type BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_FRIENDS_AUDIENCE, isAudience, withAudience } from '../domain/audience.js';
import type { FieldMask } from '../domain/field-catalog.js';
import { NO_EXCLUSIONS, type SubjectFacts } from '../domain/subject-decision.js';

/** A member's facts as the field rules read them, whoever asks (friendship and app use are added per request). */
export type MemberFacts = Omit<SubjectFacts, 'isFriend' | 'usesApp'>;

/** A member's facts as a subject who uses no app, as a friend and as not one: shared, not built per subject decided. */
export interface SharedFacts {
  readonly friend: SubjectFacts;
  readonly other: SubjectFacts;
}

export function sharedFacts({ id, platformEnabled, shareViaFriends, exclusions, friendsAudience }: MemberFacts): SharedFacts {
  const other: SubjectFacts = { id, platformEnabled, shareViaFriends, exclusions, friendsAudience, isFriend: false, usesApp: false };
  return { friend: { ...other, isFriend: true }, other };
}

const NO_FRIENDS: readonly string[] = Object.freeze([]);
/** Between two ids in a friend list as SQLite joins it (char(30)). */
const ID_SEPARATOR = '\x1e';
const IN_LIST = 'in (select value from json_each(?))';
type FactsTable = 'members' | 'audiences' | 'exclusions';
/** Friend ids kept at most (about 40 bytes each): past it, the lists read so far are dropped and read again as met. */
const FRIENDS_BUDGET = 20_000_000;

/**
 * Today's members by id on SQLite, read a batch at a time (`load`: a statement per table for all
 * the ids not read yet, instead of Kysely's queries per batch): the members' facts, each read once
 * and shared, and on request members' friend lists, sorted in friend id order as the Graph API
 * pages them. bench:simulate decides its synthetic log from them; a replay of the log reads the
 * same world by member number instead (ReplayNumbers), so that a logged subject costs no string.
 */
export class ReplayMembers {
  /** By id: null for an id that is no member's. */
  private readonly facts = new Map<string, SharedFacts | null>();
  private readonly friends = new Map<string, readonly string[]>();
  private friendsKept = 0;
  private readonly statements: Record<FactsTable | `${FactsTable}All` | 'friends' | 'friendsOne', BetterSqlite3.Statement>;

  constructor(sqlite: BetterSqlite3.Database) {
    const facts = (table: FactsTable, sql: string, key: string) => ({
      [table]: sqlite.prepare(`${sql} where ${key} ${IN_LIST}`).raw(), [`${table}All`]: sqlite.prepare(sql).raw(),
    }) as Record<FactsTable | `${FactsTable}All`, BetterSqlite3.Statement>;
    this.statements = {
      ...facts('members', 'select id, platform_enabled, share_via_friends from members', 'id'),
      ...facts('audiences', 'select member_id, field, audience from field_audiences', 'member_id'),
      ...facts('exclusions', 'select member_id, kind, target_id from member_friend_exclusions', 'member_id'),
      // Each member's list in one string: a row per member, not per friendship (better-sqlite3's cost is per row).
      friends: sqlite.prepare(`select member_id, count(*), group_concat(friend_id, char(30)) from friendships where member_id ${IN_LIST} group by member_id`).raw(),
      friendsOne: sqlite.prepare('select friend_id from friendships where member_id = ?').pluck(),
    };
  }

  /** Reads what is not read yet of these members: the subjects' facts, the tokens' friend lists. Nothing changes a list once read. */
  load(subjects: Iterable<string>, tokens: Iterable<string>): void {
    const newSubjects = new Set<string>();
    for (const id of subjects) if (!this.facts.has(id)) newSubjects.add(id);
    const newTokens = new Set<string>();
    const wanted = [...tokens];
    // Past the budget every list is dropped before this call's tokens are looked for (none needed now is dropped under its caller).
    if (wanted.length > 0 && this.friendsKept > FRIENDS_BUDGET) { this.friends.clear(); this.friendsKept = 0; }
    for (const id of wanted) if (!this.friends.has(id)) newTokens.add(id);
    if (newSubjects.size > 0) this.readFacts(newSubjects);
    if (newTokens.size > 0) this.readFriends(newTokens);
  }

  /** Every member's facts, a scan of each table (for a caller that meets most members, one at a time). */
  loadAllFacts(): void {
    this.readFacts(undefined);
  }

  /** The facts of a member loaded as a subject; undefined for an id that is no member's. */
  factsOf(id: string): SharedFacts | undefined {
    return this.facts.get(id) ?? undefined;
  }

  /** A member's friends (loaded as a token), sorted by JavaScript's string order: SQLite's for ids of ASCII characters. */
  friendsOf(id: string): readonly string[] {
    return this.friends.get(id) ?? NO_FRIENDS;
  }

  /** Whether `id` is in a list of friendsOf. */
  static among(friends: readonly string[], id: string): boolean {
    let low = 0;
    let high = friends.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const at = friends[middle]!;
      if (at === id) return true;
      if (at < id) low = middle + 1; else high = middle;
    }
    return false;
  }

  /** As MemberRepository's settings and friendExclusions read them. */
  private readFacts(newIds: ReadonlySet<string> | undefined): void {
    const ids = newIds === undefined ? [] : [JSON.stringify([...newIds])];
    const read = (table: FactsTable) => this.statements[newIds === undefined ? `${table}All` as const : table].iterate(...ids);
    const audiences = new Map<string, FieldMask>();
    for (const [id, field, audience] of read('audiences') as Iterable<string[]>) {
      if (isAudience(audience!)) audiences.set(id!, withAudience(audiences.get(id!) ?? DEFAULT_FRIENDS_AUDIENCE, field!, audience));
    }
    const exclusions = new Map<string, { apps: string[]; partners: string[] }>();
    for (const [id, kind, target] of read('exclusions') as Iterable<string[]>) {
      const entry = exclusions.get(id!) ?? { apps: [], partners: [] };
      (kind === 'app' ? entry.apps : entry.partners).push(target!);
      exclusions.set(id!, entry);
    }
    for (const id of newIds ?? []) this.facts.set(id, null);
    for (const [id, platformEnabled, shareViaFriends] of read('members') as Iterable<[string, number, number]>) {
      this.facts.set(id, sharedFacts({
        id, platformEnabled: platformEnabled === 1, shareViaFriends: shareViaFriends === 1,
        friendsAudience: audiences.get(id) ?? DEFAULT_FRIENDS_AUDIENCE, exclusions: exclusions.get(id) ?? NO_EXCLUSIONS,
      }));
    }
  }

  private readFriends(newIds: ReadonlySet<string>): void {
    for (const id of newIds) this.friends.set(id, NO_FRIENDS);
    const unsplit: string[] = [];
    for (const [member, count, joined] of this.statements.friends.iterate(JSON.stringify([...newIds])) as Iterable<[string, number, string]>) {
      const friends = joined.split(ID_SEPARATOR);
      // An id holding the separator: that member's list is read row by row once the scan is over.
      if (friends.length === count) this.setFriends(member, friends); else unsplit.push(member);
    }
    for (const member of unsplit) this.setFriends(member, this.statements.friendsOne.all(member) as string[]);
  }

  private setFriends(member: string, friends: string[]): void {
    // SQLite joins them in its key's order, which for ids of ASCII characters is JavaScript's too: sorted only when not.
    for (let index = 1; index < friends.length; index++) {
      if (friends[index - 1]! >= friends[index]!) { friends.sort(); break; }
    }
    this.friends.set(member, friends);
    this.friendsKept += friends.length;
  }
}
