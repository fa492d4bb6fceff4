import { createRequire } from 'node:module';
import { sql } from 'kysely';
import type { RoaringBitmap32 as Bitmap } from 'roaring';
import { FIELDS, fieldBit } from '../domain/field-catalog.js';
import { BulkInsert } from './bulk-insert.js';
import type { Db } from './database.js';
import { dialectOf } from './dialect.js';

/**
 * `roaring` finds its native binary through node-pre-gyp, which parses the process's own command
 * line and takes a `--dir` there for an option of its own: `datapact witness init --dir w` sent it
 * looking for the binary under w/. It is loaded with the command line hidden from it.
 */
function loadRoaring(): typeof import('roaring') {
  const argv = process.argv;
  process.argv = argv.slice(0, 2);
  try {
    return createRequire(import.meta.url)('roaring') as typeof import('roaring');
  } finally {
    process.argv = argv;
  }
}

const { RoaringBitmap32 } = loadRoaring();
export type MemberSet = Bitmap;

/**
 * Sets of members kept as compressed bitmaps over their dense numbers (`member_numbers`, migration
 * 0028), so that a report counts the distinct members of many days, months, agreements or partners
 * by ORing a few bitmaps instead of grouping millions of rows. A set is named by its kind, its
 * period (a UTC day or month) and a key (an agreement, a partner, ...).
 *
 * The appenders add each batch's members to the sets as deltas (audit-aggregates.ts, migration
 * 0036), merged into the bitmaps now and then. A set is always its bitmap, its deltas and, in a
 * database appended to before the appenders wrote the sets, the per-member journal rows not yet
 * folded (member-set-folding.ts), so a report is exact whether or not the folding has run.
 */
export type MemberSetKind =
  /** Per UTC day and agreement: members any of whose data was released. */
  | 'release_day'
  /** Per UTC month and `agreement field d|f`: members a field of whom was released directly (d) or through friends (f); field `*`: any field. */
  | 'exposure'
  /** Per UTC month and partner: members whose tokens its apps used. */
  | 'token'
  /** Per UTC month and partner, the counterfactual's reach (src/store/reach.ts). */
  | 'reach_tokens' | 'reach_friends' | 'reach_fof' | 'reach_expanded'
  /** One empty row, rewritten by the reach indexing's padding steps before it has stored a piece; read by nothing. */
  | 'reach_padding';

export const emptySet = (): MemberSet => new RoaringBitmap32();

export function setFromBytes(bytes: Uint8Array): MemberSet {
  return RoaringBitmap32.deserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'portable');
}

export function union(sets: Iterable<MemberSet>): MemberSet {
  return RoaringBitmap32.orMany([...sets]);
}

export interface StoredSet {
  readonly period: string;
  readonly key: string;
  readonly members: MemberSet;
}

/**
 * The sets of one kind for periods from `from` to `to` (both included; of one key if given): each bitmap ORed with its
 * deltas (migration 0036), read in one statement so that a merge committing meanwhile (which moves
 * deltas into the bitmap) is seen whole or not at all.
 */
export async function readSets(db: Db, kind: MemberSetKind, from: string, to: string, key?: string): Promise<StoredSet[]> {
  const ofKey = key === undefined ? sql`` : sql` and set_key = ${key}`;
  const { rows } = await sql<{ period: string; set_key: string; members: Uint8Array }>`
    select period, set_key, members from member_sets where kind = ${kind} and period >= ${from} and period <= ${to}${ofKey}
    union all
    select period, set_key, members from member_set_deltas where kind = ${kind} and period >= ${from} and period <= ${to}${ofKey}`.execute(db);
  const sets = new Map<string, { period: string; key: string; parts: MemberSet[] }>();
  for (const row of rows) {
    const name = `${row.period}\0${row.set_key}`;
    const set = sets.get(name) ?? sets.set(name, { period: row.period, key: row.set_key, parts: [] }).get(name)!;
    set.parts.push(setFromBytes(row.members));
  }
  return [...sets.values()].map(({ period, key, parts }) => ({ period, key, members: parts.length === 1 ? parts[0]! : union(parts) }));
}

/** ORs `members` into the stored set (creating it), its deltas merged in: call inside the transaction that deletes the rows folded. */
export async function addToSet(trx: Db, kind: MemberSetKind, period: string, key: string, members: MemberSet): Promise<void> {
  const stored = await trx.selectFrom('member_sets').select('members')
    .where('kind', '=', kind).where('period', '=', period).where('set_key', '=', key)
    .$if(dialectOf(trx) === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst();
  const deltas = await trx.deleteFrom('member_set_deltas')
    .where('kind', '=', kind).where('period', '=', period).where('set_key', '=', key)
    .returning('members').execute();
  const parts = [members, ...deltas.map((delta) => setFromBytes(delta.members))];
  if (stored !== undefined) parts.push(setFromBytes(stored.members));
  const bytes = new Uint8Array(union(parts).serialize('portable'));
  await trx.insertInto('member_sets').values({ kind, period, set_key: key, members: bytes })
    .onConflict((c) => c.columns(['kind', 'period', 'set_key']).doUpdateSet({ members: bytes }))
    .execute();
}

/**
 * A set's deltas are merged into its bitmap once they weigh this fraction of it: rewriting the
 * bitmap then costs a few times the deltas' bytes, however large the bitmap has grown. At 1/4 the
 * merges were a third of what counting costs the appends (bench:audit); at 1/2 a report reads at
 * most half a set's bytes again in deltas.
 */
const MERGE_AT_FRACTION = 1 / 2;
/** ...or once it has this many, which bounds what a report ORs per set. */
const MERGE_AT_DELTAS = 16;

/**
 * Adds each set's members to the stored set as a delta beside its bitmap, without reading or
 * rewriting the bitmap, and merges the deltas into it when they are due (MERGE_AT_FRACTION,
 * MERGE_AT_DELTAS). Call inside the transaction that holds what it adds (the batch's entries, the
 * rows folded). Each set named once; three statements however many: one reads what every set holds
 * already, one inserts the deltas not due for a merge; the sets due are merged one by one.
 */
export async function addDeltas(trx: Db, sets: readonly KeyedSet[]): Promise<void> {
  if (sets.length === 0) return;
  const held: Held[] = [];
  for (let start = 0; start < sets.length; start += SETS_PER_READ) held.push(...await heldBySets(trx, sets.slice(start, start + SETS_PER_READ)));
  const deltas: unknown[] = [];
  const due: KeyedSet[] = [];
  for (const [i, set] of sets.entries()) {
    const bytes = set.members.serialize('portable');
    const { count, size, base } = held[i]!;
    if (count + 1 >= MERGE_AT_DELTAS || size + bytes.length >= base * MERGE_AT_FRACTION) due.push(set);
    else deltas.push(set.kind, set.period, set.key, bytes);
  }
  await DELTA_INSERT.run(trx, deltas);
  if (due.length === 0) return;
  // Two merges of one set at once could each write the bitmap without the other's part: one at a time.
  await lockFolding(trx);
  for (const set of due) await addToSet(trx, set.kind, set.period, set.key, set.members);
}

/** What a set holds: its deltas (how many, their bytes) and its bitmap's bytes (0 when it has none). */
interface Held { readonly count: number; readonly size: number; readonly base: number }
/** Sets read per statement: nine parameters each, well under SQLite's limit. */
const SETS_PER_READ = 500;

/** What each set holds, in order. */
async function heldBySets(trx: Db, sets: readonly KeyedSet[]): Promise<Held[]> {
  const { rows } = await sql<{ i: number | string; deltas: number | string; bytes: number | string | null; base: number | string | null }>`${sql.join(sets.map(
    ({ kind, period, key }, i) => sql`select ${sql.lit(i)} as i,
      (select count(*) from member_set_deltas where kind = ${kind} and period = ${period} and set_key = ${key}) as deltas,
      (select sum(length(members)) from member_set_deltas where kind = ${kind} and period = ${period} and set_key = ${key}) as bytes,
      (select length(members) from member_sets where kind = ${kind} and period = ${period} and set_key = ${key}) as base`,
  ), sql` union all `)}`.execute(trx);
  const held = new Array<Held>(sets.length);
  for (const row of rows) held[Number(row.i)] = { count: Number(row.deltas), size: Number(row.bytes ?? 0), base: Number(row.base ?? 0) };
  return held;
}

const DELTA_INSERT = new BulkInsert('member_set_deltas', ['kind', 'period', 'set_key', 'members'], 500);

/**
 * Numbers for member ids: every member has one from the trigger of migration 0028; an id the log
 * names but `members` does not hold (a member since deleted, a test's made-up id) gets one here.
 */
export async function memberNumbers(db: Db, ids: Iterable<string>): Promise<Map<string, number>> {
  const numbers = new Map<string, number>();
  const all = [...new Set(ids)];
  for (let start = 0; start < all.length; start += 500) {
    const chunk = all.slice(start, start + 500);
    const rows = await db.selectFrom('member_numbers').select(['member_id', 'number']).where('member_id', 'in', chunk).execute();
    for (const row of rows) numbers.set(row.member_id, Number(row.number));
    const missing = chunk.filter((id) => !numbers.has(id));
    if (missing.length === 0) continue;
    await db.insertInto('member_numbers').values(missing.map((member_id) => ({ member_id }))).onConflict((c) => c.column('member_id').doNothing()).execute();
    const added = await db.selectFrom('member_numbers').select(['member_id', 'number']).where('member_id', 'in', missing).execute();
    for (const row of added) numbers.set(row.member_id, Number(row.number));
  }
  return numbers;
}

/**
 * Numbers for member ids on a read-only connection: the numbered ones from `member_numbers`, the
 * others (not folded yet, so in no bitmap) numbers of their own above every stored one, stable
 * within one `ReadNumbers`.
 */
export class ReadNumbers {
  private readonly known = new Map<string, number>();
  private next = 2 ** 31;

  constructor(private readonly db: Db) {}

  async of(ids: Iterable<string>): Promise<Map<string, number>> {
    const wanted = [...new Set(ids)].filter((id) => !this.known.has(id));
    for (let start = 0; start < wanted.length; start += 500) {
      const chunk = wanted.slice(start, start + 500);
      const rows = await this.db.selectFrom('member_numbers').select(['member_id', 'number']).where('member_id', 'in', chunk).execute();
      for (const row of rows) this.known.set(row.member_id, Number(row.number));
      for (const id of chunk) if (!this.known.has(id)) this.known.set(id, this.next++);
    }
    return this.known;
  }
}

/** Serializes concurrent folds of one database (PostgreSQL; SQLite has one writer anyway). */
export async function lockFolding(trx: Db): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(${FOLD_LOCK})`.execute(trx);
}
const FOLD_LOCK = 0x6d656d73; // 'mems'

/** The `exposure` set's key: an agreement, a catalog field or `*` (any), and how (`d` directly, `f` through friends). */
export const exposureKey = (agreementId: string, field: string, how: 'd' | 'f'): string => `${agreementId} ${field} ${how}`;

/**
 * Members released per month and agreement, by the fields released (directly, through friends), as
 * the `exposure` sets take them: the members of one mask go to the set of every field of the mask
 * and to `*`. Few masks recur, so a set is filled per mask, not per member and field.
 */
export class ExposureGroups<M = string> {
  private readonly byMonth = new Map<string, { month: string; agreementId: string; members: MaskedMembers<M> }>();
  /** The month and agreement added to last: a batch adds its members one day and agreement after another. */
  private last: { month: string; agreementId: string; members: MaskedMembers<M> } | undefined;

  add(month: string, agreementId: string, member: M, direct: number, friends: number): void {
    let of = this.last;
    if (of === undefined || of.month !== month || of.agreementId !== agreementId) {
      this.of(month, agreementId);
      of = this.last!;
    }
    of.members.add(member, direct, friends);
  }

  /** The members of one month and agreement, for a caller that adds many to them. */
  of(month: string, agreementId: string): MaskedMembers<M> {
    const key = `${month}\0${agreementId}`;
    let of = this.byMonth.get(key);
    if (of === undefined) this.byMonth.set(key, (of = { month, agreementId, members: new MaskedMembers() }));
    this.last = of;
    return of.members;
  }

  groups(): Array<MemberGroup<M>> {
    const groups: Array<MemberGroup<M>> = [];
    for (const { month, agreementId, members } of this.byMonth.values()) {
      for (const [how, byMask] of [['d', members.d], ['f', members.f]] as const) {
        for (const [mask, ids] of byMask) {
          const keys = [exposureKey(agreementId, '*', how), ...FIELDS.filter((field) => mask & fieldBit(field)).map((field) => exposureKey(agreementId, field, how))];
          groups.push({ kind: 'exposure', period: month, keys, ids });
        }
      }
    }
    return groups;
  }
}

/** Members by the mask of the fields released of them, directly (d) and through friends (f); a member may be under several masks. */
export class MaskedMembers<M> {
  readonly d = new Map<number, M[]>();
  readonly f = new Map<number, M[]>();

  add(member: M, direct: number, friends: number): void {
    if (direct !== 0) addMasked(this.d, direct, member);
    if (friends !== 0) addMasked(this.f, friends, member);
  }
}

function addMasked<M>(byMask: Map<number, M[]>, mask: number, member: M): void {
  const members = byMask.get(mask);
  if (members === undefined) byMask.set(mask, [member]);
  else members.push(member);
}

/** Members (by id, or by number) that belong to each of the sets named by `kind`, `period` and each of `keys`. */
export interface MemberGroup<M = string> {
  readonly kind: MemberSetKind;
  readonly period: string;
  readonly keys: readonly string[];
  readonly ids: readonly M[];
}

export interface KeyedSet {
  readonly kind: MemberSetKind;
  readonly period: string;
  readonly key: string;
  readonly members: MemberSet;
}

/** The sets the groups make, each once, members numbered by `numbers` (which must know every id). */
export function setsOf(groups: readonly MemberGroup[], numbers: MemberNumbers): KeyedSet[] {
  return setsOfNumbered(groups.map((group) => ({ ...group, ids: group.ids.map((id) => numbers.number(id)) })));
}

/** The sets the groups of member numbers make, each once. */
export function setsOfNumbered(groups: ReadonlyArray<MemberGroup<number>>): KeyedSet[] {
  const sets = new Map<string, KeyedSet>();
  for (const { kind, period, keys, ids } of groups) {
    const members = emptySet();
    members.addMany(ids);
    for (const key of keys) {
      const name = `${kind}\0${period}\0${key}`;
      const held = sets.get(name);
      if (held === undefined) sets.set(name, { kind, period, key, members: keys.length === 1 ? members : members.clone() });
      else held.members.orInPlace(members);
    }
  }
  return [...sets.values()];
}

/**
 * The appender's cache of member numbers, so that a batch looks up only the members it has not met
 * (one statement for them all, then `memberNumbers` for the few not numbered yet; some 3 to 7 µs a
 * member here). What a batch learns counts as known only once its transaction commits (`keep`); if
 * it fails (`drop`) it is forgotten: a number given in a transaction rolled back was never given.
 * It holds at most `limit` members (about 100 MB at a million), those learnt longest ago forgotten
 * first (a member met again keeps its place). Loading them all at start saved nothing measurable
 * in bench:audit (the look-ups it spared were paid again in garbage collection over the larger
 * heap) and was dropped.
 */
export class MemberNumbers {
  private known = new Map<string, number>();
  /** Ids learnt since the last `keep` or `drop`. */
  private learnt: string[] = [];

  constructor(private readonly limit = 1_000_000) {}

  /** A cache holding every number stored (a bulk build's: every member's read once). */
  static async all(db: Db): Promise<MemberNumbers> {
    const numbers = new MemberNumbers(Infinity);
    for (const row of await db.selectFrom('member_numbers').select(['member_id', 'number']).execute()) numbers.known.set(row.member_id, Number(row.number));
    return numbers;
  }

  /** Looks up (and gives, in `db`'s transaction) the numbers of the ids not known yet. */
  async learn(db: Db, ids: readonly string[]): Promise<void> {
    const unknown: string[] = [];
    for (const id of ids) if (!this.known.has(id)) unknown.push(id);
    if (unknown.length === 0) return;
    this.forget(this.known.size + unknown.length - this.limit, new Set(ids));
    // In key order: each look-up finds the index's pages where the one before left them.
    const sorted = [...new Set(unknown)].sort();
    const { rows } = dialectOf(db) === 'postgres'
      ? await sql<{ member_id: string; number: number | string }>`select member_id, number from member_numbers where member_id = any(${sorted}::text[])`.execute(db)
      : await sql<{ member_id: string; number: number | string }>`select member_id, number from member_numbers where member_id in (select value from json_each(${JSON.stringify(sorted)}))`.execute(db);
    for (const row of rows) this.known.set(row.member_id, Number(row.number));
    const missing = sorted.filter((id) => !this.known.has(id));
    if (missing.length > 0) for (const [id, number] of await memberNumbers(db, missing)) this.known.set(id, number);
    this.learnt.push(...sorted);
  }

  /** The `count` members learnt longest ago but those `wanted` now (a Map keeps the order it was filled in). */
  private forget(count: number, wanted: ReadonlySet<string>): void {
    if (count <= 0) return;
    for (const id of this.known.keys()) {
      if (wanted.has(id)) continue;
      this.known.delete(id);
      if (--count === 0) return;
    }
  }

  /** The number of an id learnt. */
  number(id: string): number {
    const number = this.known.get(id);
    if (number === undefined) throw new Error(`member ${id} has no number here: learn it first`);
    return number;
  }

  /** The transaction of what was learnt committed: kept. */
  keep(): void {
    this.learnt = [];
  }

  /** The transaction of what was learnt failed: forgotten. */
  drop(): void {
    for (const id of this.learnt) this.known.delete(id);
    this.learnt = [];
  }
}
