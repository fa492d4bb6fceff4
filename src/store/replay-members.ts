import type BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_FRIENDS_AUDIENCE, isAudience, withAudience } from '../domain/audience.js';
import type { FieldMask } from '../domain/field-catalog.js';
import { NO_EXCLUSIONS, type SubjectFacts } from '../domain/subject-decision.js';

/** A member's facts as the field rules read them, whoever asks (friendship and app use are added per request). */
export type MemberFacts = Omit<SubjectFacts, 'isFriend' | 'usesApp'>;

const NO_FRIENDS = new Uint32Array(0);
/** Between two ids in a friend list as SQLite joins it (char(30)). */
const ID_SEPARATOR = '\x1e';
const IN_LIST = 'in (select value from json_each(?))';

/**
 * Today's members as a replay reads them on SQLite (issue 15), each read once per replay: numbered
 * here as they are met (numbers of this replay alone, neither stored nor `member_numbers`', so a
 * read-only connection numbers every id; one that is no member's gets a number too, and no facts),
 * their facts by number, and the friend lists of the token members as sorted lists of numbers.
 * Read a batch at a time (`load`, a statement per table for all of a batch's new ids), so a replay
 * of a short period reads no more of the world than it meets; a whole-log replay ends up reading
 * most of it, still a row per member rather than a look-up per subject, and a friendship checked by
 * a binary search costs a fraction of a look-up of the friendships' key.
 */
export class ReplayMembers {
  private readonly numbers = new Map<string, number>();
  /** By number: null for an id that is no member's, undefined when not read yet. */
  private readonly facts: Array<MemberFacts | null | undefined> = [];
  private readonly friends: Uint32Array[] = [];
  private readonly statements: Record<'members' | 'audiences' | 'exclusions' | 'friends' | 'friendsOne', BetterSqlite3.Statement>;

  constructor(sqlite: BetterSqlite3.Database) {
    this.statements = {
      members: sqlite.prepare(`select id, platform_enabled, share_via_friends from members where id ${IN_LIST}`).raw(),
      audiences: sqlite.prepare(`select member_id, field, audience from field_audiences where member_id ${IN_LIST}`).raw(),
      exclusions: sqlite.prepare(`select member_id, kind, target_id from member_friend_exclusions where member_id ${IN_LIST}`).raw(),
      // Each member's list in one string: a row per member, not per friendship (better-sqlite3's cost is per row).
      friends: sqlite.prepare(`select member_id, count(*), group_concat(friend_id, char(30)) from friendships where member_id ${IN_LIST} group by member_id`).raw(),
      friendsOne: sqlite.prepare('select friend_id from friendships where member_id = ?').pluck(),
    };
  }

  /** Reads what is not read yet of these members: the subjects' facts, the tokens' friend lists. */
  load(subjects: Iterable<string>, tokens: Iterable<string>): void {
    const newSubjects: string[] = [];
    for (const id of subjects) {
      const number = this.numberOf(id);
      if (this.facts[number] === undefined) { this.facts[number] = null; newSubjects.push(id); }
    }
    const newTokens: string[] = [];
    for (const id of tokens) {
      const number = this.numberOf(id);
      if (this.friends[number] === undefined) { this.friends[number] = NO_FRIENDS; newTokens.push(id); }
    }
    if (newSubjects.length > 0) this.readFacts(JSON.stringify(newSubjects));
    if (newTokens.length > 0) this.readFriends(JSON.stringify(newTokens));
  }

  /** The id's number (one given now if it has none yet). */
  numberOf(id: string): number {
    let number = this.numbers.get(id);
    if (number === undefined) this.numbers.set(id, number = this.numbers.size);
    return number;
  }

  /** The facts of a member loaded as a subject; undefined for an id that is no member's. */
  factsOf(number: number): MemberFacts | undefined {
    return this.facts[number] ?? undefined;
  }

  /** A token member's friends by number, ascending. */
  friendsOf(number: number): Uint32Array {
    return this.friends[number] ?? NO_FRIENDS;
  }

  /** Whether `number` is in a list of friendsOf. */
  static among(friends: Uint32Array, number: number): boolean {
    let low = 0;
    let high = friends.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const at = friends[middle]!;
      if (at === number) return true;
      if (at < number) low = middle + 1; else high = middle;
    }
    return false;
  }

  /** As MemberRepository's settings and friendExclusions read them. */
  private readFacts(ids: string): void {
    const audiences = new Map<string, FieldMask>();
    for (const [id, field, audience] of this.statements.audiences.iterate(ids) as Iterable<string[]>) {
      if (isAudience(audience!)) audiences.set(id!, withAudience(audiences.get(id!) ?? DEFAULT_FRIENDS_AUDIENCE, field!, audience));
    }
    const exclusions = new Map<string, { apps: string[]; partners: string[] }>();
    for (const [id, kind, target] of this.statements.exclusions.iterate(ids) as Iterable<string[]>) {
      const entry = exclusions.get(id!) ?? { apps: [], partners: [] };
      (kind === 'app' ? entry.apps : entry.partners).push(target!);
      exclusions.set(id!, entry);
    }
    for (const [id, platformEnabled, shareViaFriends] of this.statements.members.iterate(ids) as Iterable<[string, number, number]>) {
      this.facts[this.numberOf(id)] = {
        id, platformEnabled: platformEnabled === 1, shareViaFriends: shareViaFriends === 1,
        friendsAudience: audiences.get(id) ?? DEFAULT_FRIENDS_AUDIENCE, exclusions: exclusions.get(id) ?? NO_EXCLUSIONS,
      };
    }
  }

  private readFriends(ids: string): void {
    const unsplit: string[] = [];
    for (const [member, count, joined] of this.statements.friends.iterate(ids) as Iterable<[string, number, string]>) {
      const friends = joined.split(ID_SEPARATOR);
      // An id holding the separator: that member's list is read row by row once the scan is over.
      if (friends.length === count) this.setFriends(member, friends); else unsplit.push(member);
    }
    for (const member of unsplit) this.setFriends(member, this.statements.friendsOne.all(member) as string[]);
  }

  private setFriends(member: string, ids: readonly string[]): void {
    const list = new Uint32Array(ids.length);
    for (let index = 0; index < ids.length; index++) list[index] = this.numberOf(ids[index]!);
    this.friends[this.numberOf(member)] = list.sort();
  }
}
