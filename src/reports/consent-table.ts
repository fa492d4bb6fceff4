import type { LoggedHead, RequestWorld } from '../domain/replay.js';
import type { Instant } from '../domain/time.js';
import type { LoggedConsent } from '../store/replay-log-repository.js';

/** What a request's grant tells the rules: the fields the member consented to. */
type Consented = RequestWorld['consented'];

/** Consents as columns: per consent, its member's number (-1: none), its kind's index and when it was given. */
export interface ConsentColumns {
  readonly members: ArrayLike<number>;
  readonly kindOf: ArrayLike<number>;
  readonly grantedAt: ArrayLike<number>;
  readonly length: number;
}

/** The app, agreement and purpose a grant was given for, and what it consents to: few distinct ones in a log. */
interface ConsentKind {
  readonly appId: string;
  readonly agreementId: string | null;
  readonly purpose: string;
  readonly consented: Consented;
}

/**
 * Every member's consents by member number (issue 15: a replay that meets most members), in typed
 * arrays: a member's grants are a range of them, each an index into a few distinct kinds and its
 * instant, so finding a request's grant reads two or three cache lines, where a map by id of a
 * million lists of objects read a dozen from all over the heap (16% of a replay of 100M subjects).
 */
export class ConsentTable {
  private constructor(
    private readonly offsets: Int32Array,
    private readonly kindOf: Int32Array,
    private readonly grantedAt: Float64Array,
    private readonly kinds: readonly ConsentKind[],
    private readonly kindIndex: ReadonlyMap<string, number>,
    /** Members whose consents changed since the arrays were made (withMembers): theirs, in place of the arrays'. */
    private readonly changed: ReadonlyMap<number, ReadonlyArray<readonly [kind: ConsentKind, grantedAt: Instant]>> = new Map(),
  ) {}

  /** From every consent, with its member's number (-1: none; such a consent is left out: its member is looked up by id). */
  static of(maxNumber: number, consents: Iterable<readonly [number, LoggedConsent]>): ConsentTable {
    const kinds: ConsentKind[] = [];
    const kindIndex = new Map<string, number>();
    const members: number[] = [];
    const kindOf: number[] = [];
    const grantedAt: number[] = [];
    for (const [member, consent] of consents) {
      members.push(member);
      kindOf.push(kindOfConsent(kinds, kindIndex, consent));
      grantedAt.push(consent.grantedAt);
    }
    return ConsentTable.sorted(maxNumber, kinds, kindIndex, { members, kindOf, grantedAt, length: members.length });
  }

  /**
   * From every consent as columns (ReplayLogRepository.consentColumns: each an index into `kinds`,
   * read so without an object or a field list per grant); the same table `of` makes of them.
   */
  static fromColumns(maxNumber: number, kinds: ReadonlyArray<Omit<LoggedConsent, 'grantedAt' | 'revokedAt'>>, columns: ConsentColumns): ConsentTable {
    const kindIndex = new Map<string, number>();
    const known: ConsentKind[] = [];
    // As kindOfConsent keys them: two kinds of the same key (which the columns do not make) would be one.
    const indexes = kinds.map((kind) => kindOfConsent(known, kindIndex, { ...kind, grantedAt: 0, revokedAt: null }));
    const kindOf = Int32Array.from({ length: columns.length }, (_, i) => indexes[columns.kindOf[i]!]!);
    return ConsentTable.sorted(maxNumber, known, kindIndex, { ...columns, kindOf });
  }

  /** A counting sort by member, stable: a member's consents stay in the order given; those of no member (-1, or past maxNumber) left out. */
  private static sorted(maxNumber: number, kinds: readonly ConsentKind[], kindIndex: ReadonlyMap<string, number>, { members, kindOf, grantedAt, length }: ConsentColumns): ConsentTable {
    const offsets = new Int32Array(maxNumber + 2);
    for (let i = 0; i < length; i++) if (members[i]! >= 0 && members[i]! <= maxNumber) offsets[members[i]! + 1]!++;
    for (let n = 0; n <= maxNumber; n++) offsets[n + 1]! += offsets[n]!;
    const next = offsets.slice(0, maxNumber + 1);
    const sortedKinds = new Int32Array(offsets[maxNumber + 1]!);
    const sortedAt = new Float64Array(offsets[maxNumber + 1]!);
    for (let i = 0; i < length; i++) {
      const member = members[i]!;
      if (member < 0 || member > maxNumber) continue;
      const at = next[member]!++;
      sortedKinds[at] = kindOf[i]!;
      sortedAt[at] = grantedAt[i]!;
    }
    return new ConsentTable(offsets, sortedKinds, sortedAt, kinds, kindIndex);
  }

  /**
   * The table with these members' consents (by number, in the order `of` takes them) in place of
   * what it held of them: a world refreshed after a few members changed (KeptWithWorld) keeps its
   * table rather than reading a million members' grants again.
   */
  withMembers(numbers: readonly number[], consents: Iterable<readonly [number, LoggedConsent]>): ConsentTable {
    const kinds = [...this.kinds];
    const kindIndex = new Map(this.kindIndex);
    const changed = new Map(this.changed);
    const lists = new Map<number, Array<readonly [ConsentKind, Instant]>>(numbers.map((n) => [n, []]));
    for (const [member, consent] of consents) lists.get(member)?.push([kinds[kindOfConsent(kinds, kindIndex, consent)]!, consent.grantedAt]);
    for (const [member, list] of lists) changed.set(member, list);
    return new ConsentTable(this.offsets, this.kindOf, this.grantedAt, kinds, kindIndex, changed);
  }

  /** How many members' consents withMembers replaced: past a share of them, the table is better made again. */
  get changedMembers(): number {
    return this.changed.size;
  }

  /**
   * The grant the request was made under, as LogReplayer's consentAt finds it among the member's
   * consents: the newest given by then for the request's app, agreement and purpose (the first of
   * equals); undefined when none.
   */
  consentAt(member: number, request: LoggedHead): Consented | undefined {
    if (this.changed.size > 0 && this.changed.has(member)) return this.changedConsentAt(member, request);
    if (member < 0 || member + 1 >= this.offsets.length) return undefined;
    let found: ConsentKind | undefined;
    let foundAt: Instant = 0;
    for (let i = this.offsets[member]!; i < this.offsets[member + 1]!; i++) {
      const kind = this.kinds[this.kindOf[i]!]!;
      const at = this.grantedAt[i]!;
      if (kind.appId !== request.appId || kind.agreementId !== request.agreementId || kind.purpose !== request.purpose || at > request.at) continue;
      if (found === undefined || at > foundAt) { found = kind; foundAt = at; }
    }
    return found?.consented;
  }

  private changedConsentAt(member: number, request: LoggedHead): Consented | undefined {
    let found: ConsentKind | undefined;
    let foundAt: Instant = 0;
    for (const [kind, at] of this.changed.get(member)!) {
      if (kind.appId !== request.appId || kind.agreementId !== request.agreementId || kind.purpose !== request.purpose || at > request.at) continue;
      if (found === undefined || at > foundAt) { found = kind; foundAt = at; }
    }
    return found?.consented;
  }
}

/** The consent's kind among `kinds` (added when new). */
function kindOfConsent(kinds: ConsentKind[], kindIndex: Map<string, number>, consent: LoggedConsent): number {
  const key = `${consent.appId}\x1f${consent.agreementId ?? '\x1e'}\x1f${consent.purpose}\x1f${consent.memberFields}\x1f${consent.friendFields}`;
  let kind = kindIndex.get(key);
  if (kind === undefined) {
    kindIndex.set(key, kind = kinds.length);
    kinds.push({ appId: consent.appId, agreementId: consent.agreementId, purpose: consent.purpose, consented: { memberFields: consent.memberFields, friendFields: consent.friendFields } });
  }
  return kind;
}
