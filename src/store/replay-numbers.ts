import type BetterSqlite3 from 'better-sqlite3';
import { AUDIENCES, DEFAULT_FRIENDS_AUDIENCE, isAudience, withAudience } from '../domain/audience.js';
import { ALL_FIELDS_MASK, FIELDS, type FieldMask } from '../domain/field-catalog.js';
import { NO_EXCLUSIONS, type FriendExclusions, type SubjectFacts } from '../domain/subject-decision.js';
import { decodeFriendNumbers, IdTable, type FriendGraph } from './friend-graph.js';

/**
 * The id the facts of a member other than the token's carry (ReplayNumbers.facts): the rules read a
 * subject's id only to compare it with the token's member, and a caller asks for such facts only for
 * another member, so they are shared by every member with the same settings.
 */
export const ANOTHER_MEMBER = '';

/** Per member number: what is known of the member (a bit each). */
const LOADED = 1;
const MEMBER = 2;
const PLATFORM = 4;
const SHARES = 8;
const EXCLUDES = 16;
/**
 * Members' facts as a run reads them (ReplayNumbers.within): shared by members with the same settings,
 * audiences within `fields` and friendship (no exclusions), and each member's kind there.
 */
export interface FactsView {
  readonly fields: FieldMask;
  /**
   * The kind by 2 * number + (as a friend: 1), UNKNOWN_KIND until found: two bytes each (4 MB at a
   * million members, read in random order: small enough to stay in the processor's cache).
   */
  readonly kinds: Uint16Array;
  readonly shared: SubjectFacts[];
  readonly interned: Map<number, number>;
}

/** Members whose facts, friend list or grants changed since a world was read (world_changes, migration 0045). */
export interface WorldChange {
  /** Their numbers, each once, members numbered since among them. */
  readonly numbers: readonly number[];
  /** The highest member number now. */
  readonly maxNumber: number;
}

/** Past one member in this many changed, a world (and what is kept with it) is read again whole rather than refreshed. */
export const REFRESH_SHARE = 16;

/** What a replay keeps with a world (ReplayNumbers.derived) that can follow it to the world a few members' changes make of it. */
export interface KeptWithWorld {
  /** The same for the changed world; undefined when it cannot: dropped, worked out again when next needed. */
  refreshed(change: WorldChange): KeptWithWorld | undefined;
}

/** Views kept for later runs (4 MB each at a million members). */
const KEPT_VIEWS = 4;
/** In `kinds`: not found yet; no shared facts (factsKind -1); a kind too large to keep there (found each time). */
const UNKNOWN_KIND = 0xffff;
const NO_KIND = 0xfffe;
const KEPT_KINDS = 0xfffe;
/** Friend numbers kept at most (4 bytes each): past it, the lists read so far are dropped and read again as met. */
const FRIENDS_BUDGET = 50_000_000;
const BY_NUMBER = 'where n.number in (select value from json_each(?))';
/** Members whose facts readAllFacts reads per statement, in one string. */
const FACTS_CHUNK = 20_000;
/** A setting in one number: the field's index in FIELDS (-1: none of them) times 4 plus the audience's in AUDIENCES (3: none of them). */
const SETTING = `(case t.field ${FIELDS.map((field, index) => `when '${field}' then ${index}`).join(' ')} else -1 end) * 4
  + (case t.audience ${AUDIENCES.map((audience, index) => `when '${audience}' then ${index}`).join(' ')} else 3 end)`;
/** Ids holding a separator of the chunks' strings: such a chunk is read a row at a time. */
const ODD_IDS = (column: string) => `sum(instr(${column}, char(30)) > 0 or instr(${column}, char(31)) > 0)`;

/**
 * Today's members as a replay of the log reads them on SQLite (issue 15), by member number
 * (`member_numbers`, migration 0028) so that a logged subject costs no string and no object: its
 * number as logged (migration 0039), or for an entry logged without one its id's, read once per run
 * into a hash table over the ids' bytes (IdTable, looked up where an id lies in the string SQLite
 * returns); the members' settings and audiences in typed arrays by number, and each token member's
 * friends as a sorted list of numbers in one pool, read a row per member (friend_number_lists,
 * migration 0040; a friendship is a binary search). Facts and lists are read a batch at a time, for the numbers a batch meets and
 * not read before (a statement per table with the numbers as one JSON parameter), so a replay of a
 * short period reads no more of the world than it meets; nothing read is read again, except the
 * friend lists once they outgrow their budget. A run that meets most members reads them whole
 * instead (readAllFacts, everyone). The world is the one these statements see: a member numbered
 * after it was first read counts as no member.
 */
export class ReplayNumbers {
  private readonly ids: IdTable;
  /** Members numbered after `ids` was read (a world refreshed since), by id. */
  private readonly added: Map<string, number>;
  /** The highest member number read. */
  readonly maxNumber: number;
  private readonly flags: Uint8Array;
  private readonly audiences: Int32Array;
  private readonly exclusions = new Map<number, FriendExclusions>();
  /** Members' shared facts and kinds, by the fields of their audiences read (`within`). */
  private readonly views = new Map<FieldMask, FactsView>();
  /** A token member's friends: pool[friendsStart[n] .. + friendsLength[n]), sorted; friendsStart -1 when not read. */
  private readonly friendsStart: Int32Array;
  private readonly friendsLength: Int32Array;
  private pool = new Uint32Array(1 << 16);
  private pooled = 0;
  private readonly statements: Record<'members' | 'audiences' | 'exclusions' | 'friends', BetterSqlite3.Statement>;
  /** Friendships ended since migration 0042, by member then friend (friendshipEnded). */
  private ended: Map<number, Set<number>> | undefined;
  /** What replays worked out from this world and keep for the next while it is unchanged (a consent table), by their own key. */
  readonly derived = new Map<string, unknown>();
  /** The whole friend graph, for a replay that meets most members (`everyone`): then no list is read per batch. */
  private graph: FriendGraph | undefined;
  /** Lists read since the graph was (a world refreshed since), by member: they replace the graph's. */
  private graphChanges = new Map<number, Uint32Array>();

  /**
   * `friendsBudget`: friend numbers kept at most before the lists are dropped; `factsChunk`: members
   * readAllFacts reads a statement (tests set both small); `base`: a world read before and what
   * changed since (refreshed), else the world is read.
   */
  constructor(private readonly sqlite: BetterSqlite3.Database, private readonly friendsBudget = FRIENDS_BUDGET, private readonly factsChunk = FACTS_CHUNK,
    base?: { readonly world: ReplayNumbers; readonly change: WorldChange }) {
    this.ids = base?.world.ids ?? new IdTable(memberIds(sqlite, factsChunk));
    this.added = new Map(base?.world.added);
    this.maxNumber = base?.change.maxNumber ?? this.ids.maxNumber;
    const size = this.maxNumber + 1;
    this.flags = new Uint8Array(size);
    this.audiences = new Int32Array(size);
    this.friendsStart = new Int32Array(size).fill(-1);
    this.friendsLength = new Int32Array(size);
    const byNumber = (columns: string, table: string) =>
      sqlite.prepare(`select n.number, ${columns} from member_numbers n join ${table} on t.member_id = n.member_id ${BY_NUMBER}`).raw();
    this.statements = {
      members: sqlite.prepare(`select n.number, t.platform_enabled, t.share_via_friends from member_numbers n join members t on t.id = n.member_id ${BY_NUMBER}`).raw(),
      audiences: byNumber('t.field, t.audience', 'field_audiences t'),
      exclusions: byNumber('t.kind, t.target_id', 'member_friend_exclusions t'),
      // Each member's friends by number in one row (migration 0040): no id to look up, no probe per friendship.
      friends: sqlite.prepare('select member_number, friends from friend_number_lists where member_number in (select value from json_each(?))').raw(),
    };
    if (base !== undefined) this.carry(base.world, base.change);
  }

  /** How many members a refresh read again (refreshed); undefined for a world read whole. */
  membersReread: number | undefined;

  /**
   * This world as `change` made it of one read before (copy on write: a run reading that one goes on
   * reading it unchanged): what was read of every other member kept, the changed members' facts and
   * lists and the members numbered since read now; each view's kinds of theirs forgotten; what
   * replays kept with it (`derived`) carried where it can be.
   */
  refreshed(change: WorldChange): ReplayNumbers {
    return new ReplayNumbers(this.sqlite, this.friendsBudget, this.factsChunk, { world: this, change });
  }

  private carry(base: ReplayNumbers, change: WorldChange): void {
    const numbers = change.numbers.filter((n) => n >= 0 && n <= this.maxNumber);
    for (let n = base.maxNumber + 1; n <= this.maxNumber; n++) numbers.push(n);
    if (base.maxNumber < this.maxNumber) {
      for (const [id, n] of this.sqlite.prepare('select member_id, number from member_numbers where number > ?').raw().iterate(base.maxNumber) as Iterable<[string, number]>) {
        this.added.set(id, n);
      }
    }
    this.membersReread = numbers.length;
    this.carryFacts(base, numbers);
    if (base.graph !== undefined) this.carryGraph(base, numbers);
    for (const [key, kept] of base.derived) {
      const carried = isKeptWithWorld(kept) ? kept.refreshed({ numbers, maxNumber: this.maxNumber }) : undefined;
      if (carried !== undefined) this.derived.set(key, carried);
    }
  }

  /** The facts and kinds read of every member but these, whose facts are read again now. */
  private carryFacts(base: ReplayNumbers, numbers: readonly number[]): void {
    this.flags.set(base.flags);
    this.audiences.set(base.audiences);
    for (const [n, exclusions] of base.exclusions) this.exclusions.set(n, exclusions);
    this.knowsAllFacts = base.knowsAllFacts;
    for (const n of numbers) { this.flags[n] = LOADED; this.exclusions.delete(n); }
    if (numbers.length > 0) this.readFacts(numbers);
    for (const [fields, view] of base.views) {
      const kinds = new Uint16Array(this.flags.length * 2).fill(UNKNOWN_KIND);
      kinds.set(view.kinds);
      for (const n of numbers) kinds.fill(UNKNOWN_KIND, 2 * n, 2 * n + 2);
      this.views.set(fields, { fields, kinds, shared: [...view.shared], interned: new Map(view.interned) });
    }
  }

  /** The friend graph read, with these members' lists read again in place of its (none for a member without one now). */
  private carryGraph(base: ReplayNumbers, numbers: readonly number[]): void {
    this.graph = base.graph;
    this.graphChanges = new Map(base.graphChanges);
    for (const n of numbers) this.graphChanges.set(n, new Uint32Array(0));
    for (const [n, bytes] of this.statements.friends.iterate(JSON.stringify(numbers)) as Iterable<[number, Buffer]>) {
      const list = new Uint32Array(bytes.length >>> 2);
      this.graphChanges.set(n, list.subarray(0, decodeFriendNumbers(bytes, list, 0)));
    }
  }

  knowsEveryone(): boolean {
    return this.graph !== undefined;
  }

  /** The number of the member id held in `text[start..end)`; -1 when it is no member's. */
  numberIn(text: string, start: number, end: number): number {
    return this.ids.numberOfText(text, start, end) ?? (this.added.size === 0 ? -1 : this.added.get(text.slice(start, end)) ?? -1);
  }

  numberOf(id: string): number {
    return this.numberIn(id, 0, id.length);
  }

  /**
   * For a replay that meets most members: every member's facts read now, a scan of each table, and
   * the friend graph given (loadFriendGraph, one scan of the friendships) instead of lists read per
   * batch, which cost more per friendship (a seek per member, and two statements' overhead).
   */
  everyone(graph: FriendGraph): void {
    this.graph = graph;
    this.graphChanges = new Map();
    if (!this.knowsAllFacts) this.readAllFacts();
  }

  /** Whether every member's facts are read (readAllFacts). */
  knowsAllFacts = false;

  /**
   * Every member's facts, a scan of each table: for a run that names most members, cheaper than
   * reading them a batch at a time (three seeks per member, from all over a large file).
   */
  readAllFacts(): void {
    this.knowsAllFacts = true;
    this.exclusions.clear();
    for (const view of this.views.values()) view.kinds.fill(UNKNOWN_KIND);
    for (let n = 0; n < this.flags.length; n++) {
      this.flags[n] = LOADED;
      this.audiences[n] = DEFAULT_FRIENDS_AUDIENCE;
    }
    this.readChunks('members', 'id', `(t.platform_enabled = 1) * 2 + (t.share_via_friends = 1)`, (n, digits) => {
      const flags = digits.charCodeAt(0) - 48;
      this.flags[n] = LOADED | MEMBER | (flags & 2 ? PLATFORM : 0) | (flags & 1 ? SHARES : 0);
    }, (row) => {
      const n = this.numberOfBytes(row[0] as Buffer);
      if (n >= 0) this.flags[n] = LOADED | MEMBER | (row[1] === 1 ? PLATFORM : 0) | (row[2] === 1 ? SHARES : 0);
    }, 'cast(t.id as blob), t.platform_enabled, t.share_via_friends');
    this.readChunks('field_audiences', 'member_id', `group_concat(${SETTING}, ',')`, (n, settings) => {
      let value = 0;
      let sign = 1;
      for (let at = 0; at <= settings.length; at++) {
        const char = at < settings.length ? settings.charCodeAt(at) : 44;
        if (char === 45) { sign = -1; continue; }
        if (char !== 44) { value = value * 10 + char - 48; continue; }
        // A field and an audience both known (a negative value or audience 3: a name that is no setting, as withAudience reads it).
        if (sign > 0 && (value & 3) < AUDIENCES.length) this.audiences[n] = withAudience(this.audiences[n]!, FIELDS[value >> 2]!, AUDIENCES[value & 3]!);
        value = 0;
        sign = 1;
      }
    }, ([id, field, audience]) => {
      const n = this.numberOfBytes(id as Buffer);
      if (n >= 0 && isAudience(audience as string)) this.audiences[n] = withAudience(this.audiences[n]!, field as string, audience as string & (typeof AUDIENCES)[number]);
    }, 'cast(t.member_id as blob), t.field, t.audience');
    for (const [id, kind, target] of this.sqlite.prepare('select cast(member_id as blob), kind, target_id from member_friend_exclusions').raw(true).iterate() as Iterable<[Buffer, string, string]>) {
      const n = this.numberOfBytes(id);
      if (n >= 0) this.exclude(n, kind, target);
    }
  }

  /**
   * A table read whole, FACTS_CHUNK members a statement, in key order: each member's id and what
   * `value` (SQL, per member: grouped by the id) makes of its rows, in one string (a row per member,
   * with a Buffer and strings each, cost more than the rest of the read at a million members);
   * `each` is given the member's number and its value's text. A chunk with an id holding a
   * separator is read a row at a time (`columns`, to `row`).
   */
  private readChunks(table: string, key: string, value: string, each: (n: number, value: string) => void, row: (row: unknown[]) => void, columns: string): void {
    // The first chunk from '' on, itself included (an empty id is an id), the others after the last one read.
    const chunks = ['>=', '>'].map((op) => this.sqlite.prepare(`select group_concat(k || char(31) || v, char(30)), max(k), count(*), ${ODD_IDS('k')} from (
      select t.${key} as k, ${value} as v from ${table} t where t.${key} ${op} ? group by t.${key} order by t.${key} limit ${this.factsChunk})`).raw(true));
    const rows = ['>=', '>'].map((op) => this.sqlite.prepare(`select ${columns} from ${table} t where t.${key} ${op} ? and t.${key} <= ?`).raw(true));
    for (let after = '', next = 0;; next = 1) {
      const [text, last, count, odd] = chunks[next]!.get(after) as [string | null, string | null, number, number | null];
      if (count === 0 || text === null || last === null) return;
      if (odd !== 0) {
        for (const read of rows[next]!.iterate(after, last) as Iterable<unknown[]>) row(read);
      } else {
        for (let start = 0; start < text.length;) {
          const end = nextOr(text, 0x1e, start);
          const split = nextOr(text, 0x1f, start);
          const n = this.numberIn(text, start, split);
          if (n >= 0) each(n, text.slice(split + 1, end));
          start = end + 1;
        }
      }
      after = last;
    }
  }

  private numberOfBytes(id: Buffer): number {
    return this.ids.numberOf(id, 0, id.length) ?? (this.added.size === 0 ? -1 : this.added.get(id.toString('utf8')) ?? -1);
  }

  /** Reads the facts of these members (numbers, -1 ignored) and the friend lists of these tokens, where not read yet. */
  load(subjects: ArrayLike<number>, tokens: ArrayLike<number>): void {
    const newSubjects: number[] = [];
    // Every member's facts read already (readAllFacts): none to look for.
    for (let i = 0; !this.knowsAllFacts && i < subjects.length; i++) {
      const n = subjects[i]!;
      if (n >= 0 && (this.flags[n]! & LOADED) === 0) { this.flags[n] = LOADED; newSubjects.push(n); }
    }
    if (newSubjects.length > 0) this.readFacts(newSubjects);
    if (this.graph !== undefined) return;
    // Past the budget every list is dropped before this call's tokens are looked for, so that a list
    // read earlier and needed now is read again rather than dropped under its caller (a call without
    // tokens drops none: the lists its batch's tokens read are still in use).
    if (tokens.length > 0 && this.pooled > this.friendsBudget) {
      this.friendsStart.fill(-1);
      this.pooled = 0;
    }
    const newTokens: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const n = tokens[i]!;
      if (n >= 0 && this.friendsStart[n] === -1) { this.friendsStart[n] = -2; newTokens.push(n); }
    }
    if (newTokens.length > 0) this.readFriends(newTokens);
  }

  /** Whether the member (loaded) exists and has the platform on. */
  platformEnabled(n: number): boolean {
    return n >= 0 && (this.flags[n]! & (MEMBER | PLATFORM)) === (MEMBER | PLATFORM);
  }

  /**
   * Whether the friendship of `token` and `friend` ended since migration 0042 and was not made again
   * (ended_friendships, read whole when first asked: it holds only the ends since).
   */
  friendshipEnded(token: number, friend: number): boolean {
    this.ended ??= this.readEnded();
    if (this.ended.size === 0) return false;
    return this.ended.get(token)?.has(friend) ?? false;
  }

  /** Whether any friendship ended since migration 0042 (else none is looked up). */
  anyFriendshipEnded(): boolean {
    this.ended ??= this.readEnded();
    return this.ended.size > 0;
  }

  private readEnded(): Map<number, Set<number>> {
    const ended = new Map<number, Set<number>>();
    for (const [member, friend] of this.sqlite.prepare('select member_number, friend_number from ended_friendships').raw().iterate() as Iterable<[number, number]>) {
      let friends = ended.get(member);
      if (friends === undefined) ended.set(member, friends = new Set());
      friends.add(friend);
    }
    return ended;
  }

  /** Whether `friend` is among the friends of `token` (loaded as a token) today. */
  isFriend(token: number, friend: number): boolean {
    if (token < 0 || friend < 0) return false;
    let pool: Uint32Array;
    let low: number;
    let high: number;
    if (this.graph === undefined) {
      pool = this.pool;
      low = this.friendsStart[token]!;
      if (low < 0) return false;
      high = low + this.friendsLength[token]!;
    } else if (this.graphChanges.size > 0 && this.graphChanges.has(token)) {
      pool = this.graphChanges.get(token)!;
      low = 0;
      high = pool.length;
    } else {
      if (token > this.graph.maxNumber) return false;
      pool = this.graph.friends;
      low = this.graph.offsets[token]!;
      high = this.graph.offsets[token + 1]!;
    }
    while (low < high) {
      const middle = (low + high) >>> 1;
      const at = pool[middle]!;
      if (at === friend) return true;
      if (at < friend) low = middle + 1; else high = middle;
    }
    return false;
  }

  /**
   * The facts of a member other than the token's (loaded), as a friend of the token's member or
   * not, shared (id ANOTHER_MEMBER); undefined when the number is no member's.
   */
  facts(n: number, isFriend: boolean, view = this.within(ALL_FIELDS_MASK)): SubjectFacts | undefined {
    if (n < 0) return undefined;
    const flags = this.flags[n]!;
    if ((flags & MEMBER) === 0) return undefined;
    if ((flags & EXCLUDES) !== 0) {
      return {
        id: ANOTHER_MEMBER, isFriend, platformEnabled: (flags & PLATFORM) !== 0, shareViaFriends: (flags & SHARES) !== 0,
        friendsAudience: this.audiences[n]! & view.fields, exclusions: this.exclusions.get(n)!, usesApp: false,
      };
    }
    return view.shared[this.factsKind(n, isFriend, view)]!;
  }

  /**
   * Members' facts with their audiences read only within `fields` (audienceFieldsRead), so that
   * members whose settings differ only elsewhere share their facts and their kind: one view per
   * distinct `fields`, kept for later runs (a few at most). A view is never changed under a run that
   * holds it: two runs at once (a server runs two simulations) each read their own.
   */
  within(fields: FieldMask): FactsView {
    let view = this.views.get(fields);
    if (view === undefined) {
      if (this.views.size >= KEPT_VIEWS) this.views.delete(this.views.keys().next().value!);
      view = { fields, kinds: new Uint16Array(this.flags.length * 2).fill(UNKNOWN_KIND), shared: [], interned: new Map() };
      this.views.set(fields, view);
    }
    return view;
  }

  /**
   * The index in `view` of the shared facts `facts(n, isFriend, view)` returns (from 0, in the order
   * first met), or -1 when they are not shared: no such member, or one with exclusions (facts of
   * their own).
   */
  factsKind(n: number, isFriend: boolean, view = this.within(ALL_FIELDS_MASK)): number {
    if (n < 0) return -1;
    // Each member's kind as a friend and as not one, found once (a member's facts do not change during a replay).
    const slot = 2 * n + (isFriend ? 1 : 0);
    const known = view.kinds[slot]!;
    if (known < KEPT_KINDS) return known;
    if (known === NO_KIND) return -1;
    const kind = this.findFactsKind(n, isFriend, view);
    if (kind < KEPT_KINDS) view.kinds[slot] = kind < 0 ? NO_KIND : kind;
    return kind;
  }

  private findFactsKind(n: number, isFriend: boolean, view: FactsView): number {
    const flags = this.flags[n]!;
    if ((flags & MEMBER) === 0 || (flags & EXCLUDES) !== 0) return -1;
    const friendsAudience = this.audiences[n]! & view.fields;
    const key = ((friendsAudience * 2 + (isFriend ? 1 : 0)) * 2 + ((flags & PLATFORM) !== 0 ? 1 : 0)) * 2 + ((flags & SHARES) !== 0 ? 1 : 0);
    let kind = view.interned.get(key);
    if (kind === undefined) {
      kind = view.shared.length;
      view.shared.push(Object.freeze({
        id: ANOTHER_MEMBER, isFriend, platformEnabled: (flags & PLATFORM) !== 0, shareViaFriends: (flags & SHARES) !== 0, friendsAudience,
        exclusions: NO_EXCLUSIONS, usesApp: false,
      }));
      view.interned.set(key, kind);
    }
    return kind;
  }

  /** As MemberRepository's settings and friendExclusions read them. */
  private readFacts(numbers: readonly number[]): void {
    const json = JSON.stringify(numbers);
    for (const n of numbers) this.audiences[n] = DEFAULT_FRIENDS_AUDIENCE;
    for (const [n, platformEnabled, shareViaFriends] of this.statements.members.iterate(json) as Iterable<[number, number, number]>) {
      this.flags[n] = LOADED | MEMBER | (platformEnabled === 1 ? PLATFORM : 0) | (shareViaFriends === 1 ? SHARES : 0);
    }
    for (const [n, field, audience] of this.statements.audiences.iterate(json) as Iterable<[number, string, string]>) {
      if (isAudience(audience)) this.audiences[n] = withAudience(this.audiences[n]!, field, audience);
    }
    for (const [n, kind, target] of this.statements.exclusions.iterate(json) as Iterable<[number, string, string]>) this.exclude(n, kind, target);
  }

  private exclude(n: number, kind: string, target: string): void {
    let entry = this.exclusions.get(n) as { apps: string[]; partners: string[] } | undefined;
    if (entry === undefined) this.exclusions.set(n, entry = { apps: [], partners: [] });
    (kind === 'app' ? entry.apps : entry.partners).push(target);
    this.flags[n]! |= EXCLUDES;
  }

  /** The tokens' lists as friend_number_lists holds them (sorted numbers), copied into the pool; none for a member without a row. */
  private readFriends(tokens: readonly number[]): void {
    for (const [n, bytes] of this.statements.friends.iterate(JSON.stringify(tokens)) as Iterable<[number, Buffer]>) {
      const count = bytes.length >>> 2;
      while (this.pooled + count > this.pool.length) {
        const bigger = new Uint32Array(this.pool.length * 2);
        bigger.set(this.pool);
        this.pool = bigger;
      }
      this.friendsStart[n] = this.pooled;
      this.friendsLength[n] = decodeFriendNumbers(bytes, this.pool, this.pooled);
      this.pooled += count;
    }
    for (const n of tokens) if (this.friendsStart[n] === -2) { this.friendsStart[n] = 0; this.friendsLength[n] = 0; }
  }
}

function isKeptWithWorld(value: unknown): value is KeptWithWorld {
  return typeof value === 'object' && value !== null && typeof (value as Partial<KeptWithWorld>).refreshed === 'function';
}

/** Where the next `char` lies in `text` from `start` on; the text's end when nowhere. */
function nextOr(text: string, char: number, start: number): number {
  const at = text.indexOf(String.fromCharCode(char), start);
  return at < 0 ? text.length : at;
}

/**
 * Every member's id (its bytes) and number, FACTS_CHUNK members a statement in one string each
 * (a row per member, with a Buffer made for each, took seconds at a million members); a chunk with
 * an id holding a separator is read a row at a time.
 */
function* memberIds(sqlite: BetterSqlite3.Database, chunkSize: number): Iterable<[Buffer, number]> {
  const chunk = sqlite.prepare(`select cast(group_concat(member_id, char(30)) as blob), group_concat(number, ','), max(number), count(*), ${ODD_IDS('member_id')}
    from (select member_id, number from member_numbers where number > ? order by number limit ${chunkSize})`).raw(true);
  const rows = sqlite.prepare('select cast(member_id as blob), number from member_numbers where number > ? and number <= ?').raw(true);
  for (let after = -Infinity;;) {
    const [ids, numbers, last, count, odd] = chunk.get(after) as [Buffer | null, string | null, number | null, number, number | null];
    if (count === 0 || ids === null || numbers === null || last === null) return;
    if (odd !== 0) {
      yield* rows.iterate(after, last) as Iterable<[Buffer, number]>;
    } else {
      // Both lists are made from the same rows in the same order: the k-th id has the k-th number.
      let start = 0;
      let from = 0;
      for (let end = 0; end <= ids.length; end++) {
        if (end < ids.length && ids[end] !== 0x1e) continue;
        const comma = nextOr(numbers, 44, from);
        yield [ids.subarray(start, end), Number(numbers.slice(from, comma))];
        start = end + 1;
        from = comma + 1;
      }
    }
    after = last;
  }
}
