import { FIELDS, fieldBit } from '../domain/field-catalog.js';
import type { Db } from './database.js';
import { JOURNAL_COLUMNS, type JournalRows, type JournalTable } from './audit-aggregates.js';
import { addDelta, addToSet, emptySet, lockFolding, memberNumbers, type MemberSet, type MemberSetKind } from './member-sets.js';

/**
 * Moves the per-member rows the appenders write (audit-aggregates.ts) into the member sets'
 * bitmaps (member-sets.ts) and deletes them: the release days, the exposure and the token members.
 * Those tables are journals (migration 0034): a member may have a row per batch of appends, and
 * ORing rows into a bitmap merges the repeats. Each journal is folded in order of `id`, in
 * transactions of at most FOLD_CHUNK rows, each deleting exactly the rows it folds (DELETE …
 * RETURNING), so appends that go on meanwhile are either folded or left for the next run, never
 * lost. Run by the audit log as it appends (every foldAfterRows journal rows, audit-log.ts) and by
 * the scheduler; no answer depends on when: a set is its bitmap and its rows together.
 */
export interface FoldResult {
  /** Rows moved into bitmaps. */
  readonly rows: number;
  /** Groups (day or month and key) folded into, counted once per chunk. */
  readonly groups: number;
}

/**
 * Rows per transaction: a chunk's write holds the appenders, and on SQLite (synchronous) the
 * server's thread, for its length (50 to 80 ms here under load); the event loop gets a turn between chunks.
 */
export const FOLD_CHUNK = 5_000;

export interface FoldOptions {
  /** Rows per transaction. Default FOLD_CHUNK. */
  readonly chunkRows?: number;
  /** Stops a journal once about this many of its rows are folded (whole chunks); the rest is left for the next run. Default: all. */
  readonly maxRowsPerJournal?: number;
}

export async function foldMemberSets(db: Db, { chunkRows = FOLD_CHUNK, maxRowsPerJournal = Infinity }: FoldOptions = {}): Promise<FoldResult> {
  let rows = 0;
  let groups = 0;
  for (const journal of FOLDED) {
    for (let folded = 0; folded < maxRowsPerJournal;) {
      const chunk = await db.transaction().execute((trx) => foldChunk(trx, journal, chunkRows));
      folded += chunk.rows;
      rows += chunk.rows;
      groups += chunk.groups;
      if (!chunk.more) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { rows, groups };
}

/** A journal row as folded; `number` is the member's number when the fold's statement read it (null: not numbered yet). */
type FoldedRow = { member_id: string; number?: number | string | null; direct_fields?: number; friend_fields?: number };

interface Journal {
  readonly table: JournalTable;
  readonly periodColumn: 'day' | 'month';
  readonly keyColumn: 'agreement_id' | 'partner_id';
  readonly extra: readonly string[];
  /** The sets one group's rows (its period and key) add to. */
  sets(key: string, rows: readonly FoldedRow[], numbers: ReadonlyMap<string, number>): Array<{ kind: MemberSetKind; key: string; members: MemberSet }>;
}

/** Deletes the journal's first `chunkRows` rows (all of them when fewer) and folds them, group by group. */
async function foldChunk(trx: Db, journal: Journal, chunkRows: number): Promise<{ rows: number; groups: number; more: boolean }> {
  await lockFolding(trx);
  // Kysely cannot type columns chosen at run time; the three journals share these column names.
  const table = journal.table as 'audit_exposure';
  const last = await trx.selectFrom(table).select('id').orderBy('id').limit(1).offset(chunkRows - 1).executeTakeFirst();
  const deleted = trx.deleteFrom(table).$if(last !== undefined, (q) => q.where('id', '<=', last!.id));
  // Each row's number looked up in the statement: in one pass, rather than a query per 500 ids.
  const rows = await deleted.returning([journal.periodColumn, journal.keyColumn, 'member_id', ...journal.extra] as never[])
    .returning((eb) => eb.selectFrom('member_numbers').select('number').whereRef('member_numbers.member_id', '=', `${table}.member_id`).as('number'))
    .execute() as unknown as Array<FoldedRow & Record<string, string>>;
  const groups = groupsOf(journal, rows);
  if (rows.length > 0) {
    const numbers = await numbersOf(trx, rows);
    for (const [group, ofGroup] of groups) {
      const [period, key] = group.split('\0') as [string, string];
      // A delta beside each set, merged into it now and then (member-sets.ts), rather than the set rewritten whole.
      for (const set of journal.sets(key, ofGroup, numbers)) await addDelta(trx, set.kind, period, set.key, set.members);
    }
  }
  return { rows: rows.length, groups: groups.size, more: last !== undefined };
}

/** Every row's member number: the one the statement read, or one given now (a member id `members` does not hold). */
async function numbersOf(trx: Db, rows: readonly FoldedRow[]): Promise<Map<string, number>> {
  const numbers = new Map<string, number>();
  const missing: string[] = [];
  for (const row of rows) {
    if (row.number === null) missing.push(row.member_id);
    else numbers.set(row.member_id, Number(row.number));
  }
  if (missing.length > 0) for (const [id, number] of await memberNumbers(trx, missing)) numbers.set(id, number);
  return numbers;
}

/** A journal's rows per period and key (joined by NUL). */
function groupsOf(journal: Journal, rows: ReadonlyArray<FoldedRow & Record<string, unknown>>): Map<string, FoldedRow[]> {
  const groups = new Map<string, FoldedRow[]>();
  for (const row of rows) {
    const group = `${row[journal.periodColumn]}\0${row[journal.keyColumn]}`;
    (groups.get(group) ?? groups.set(group, []).get(group)!).push(row);
  }
  return groups;
}

/** A set of members from their numbers, added at once (one native call rather than one per member). */
function setOfNumbers(numbers: readonly number[]): MemberSet {
  const set = emptySet();
  set.addMany(numbers);
  return set;
}

const setOf = (rows: ReadonlyArray<{ member_id: string }>, numbers: ReadonlyMap<string, number>): MemberSet =>
  setOfNumbers(rows.map((row) => numbers.get(row.member_id)!));

const releaseDays: Journal = {
  table: 'audit_release_days', periodColumn: 'day', keyColumn: 'agreement_id', extra: [],
  sets: (key, rows, numbers) => [{ kind: 'release_day', key, members: setOf(rows, numbers) }],
};

const tokens: Journal = {
  table: 'audit_token_months', periodColumn: 'month', keyColumn: 'partner_id', extra: [],
  sets: (key, rows, numbers) => [{ kind: 'token', key, members: setOf(rows, numbers) }],
};

/** The `exposure` set's key: an agreement, a catalog field or `*` (any), and how (`d` directly, `f` through friends). */
export const exposureKey = (agreementId: string, field: string, how: 'd' | 'f'): string => `${agreementId} ${field} ${how}`;

const exposure: Journal = {
  table: 'audit_exposure', periodColumn: 'month', keyColumn: 'agreement_id', extra: ['direct_fields', 'friend_fields'],
  sets: (agreementId, rows, numbers) => exposureSets(agreementId, rows, numbers),
};

function exposureSets(agreementId: string, rows: readonly FoldedRow[], numbers: ReadonlyMap<string, number>): Array<{ kind: 'exposure'; key: string; members: MemberSet }> {
  // Members by the mask they were released with: a few masks recur, so each field's set is filled with addMany per mask, not per member and bit.
  const byMask = { d: new Map<number, number[]>(), f: new Map<number, number[]>() };
  for (const row of rows) {
    const member = numbers.get(row.member_id)!;
    for (const [how, mask] of [['d', Number(row.direct_fields)], ['f', Number(row.friend_fields)]] as const) {
      if (mask === 0) continue;
      const members = byMask[how].get(mask);
      if (members === undefined) byMask[how].set(mask, [member]);
      else members.push(member);
    }
  }
  const sets = new Map<string, MemberSet>();
  for (const how of ['d', 'f'] as const) {
    const add = (field: string, members: readonly number[]) => {
      const key = exposureKey(agreementId, field, how);
      (sets.get(key) ?? sets.set(key, emptySet()).get(key)!).addMany(members);
    };
    for (const [mask, members] of byMask[how]) {
      add('*', members);
      for (const field of FIELDS) if (mask & fieldBit(field)) add(field, members);
    }
  }
  return [...sets].map(([key, members]) => ({ kind: 'exposure', key, members }));
}

const FOLDED: readonly Journal[] = [releaseDays, exposure, tokens];

/**
 * The folding done in memory, for a bulk load (a benchmark's world of 100M audited subjects): the
 * journal rows AuditAggregates.record hands over instead of appending are grouped and turned into
 * sets as `foldMemberSets` does, ORed into sets held here, and `write` stores each set once (ORed
 * into any set already stored), as the folding of the same rows would have left it. Every member's
 * number is read once at the start; an id without one gets it as the folding would give it.
 */
export class MemberSetBuilder {
  private readonly sets = new Map<string, { kind: MemberSetKind; period: string; key: string; members: MemberSet }>();

  private constructor(private readonly numbers: Map<string, number>) {}

  static async open(db: Db): Promise<MemberSetBuilder> {
    const rows = await db.selectFrom('member_numbers').select(['member_id', 'number']).execute();
    return new MemberSetBuilder(new Map(rows.map((row) => [row.member_id, Number(row.number)])));
  }

  /** Folds a batch's journal rows (as AuditAggregates.record hands them) into the sets held. */
  async add(db: Db, rows: JournalRows): Promise<void> {
    for (const journal of FOLDED) {
      const ofJournal = objectsOf(JOURNAL_COLUMNS[journal.table], rows[journal.table]);
      const missing = ofJournal.filter((row) => !this.numbers.has(row.member_id)).map((row) => row.member_id);
      if (missing.length > 0) for (const [id, number] of await memberNumbers(db, missing)) this.numbers.set(id, number);
      for (const [group, ofGroup] of groupsOf(journal, ofJournal)) {
        const [period, key] = group.split('\0') as [string, string];
        for (const set of journal.sets(key, ofGroup, this.numbers)) this.hold(set.kind, period, set.key, set.members);
      }
    }
  }

  private hold(kind: MemberSetKind, period: string, key: string, members: MemberSet): void {
    const name = `${kind}\0${period}\0${key}`;
    const held = this.sets.get(name);
    if (held === undefined) this.sets.set(name, { kind, period, key, members });
    else held.members.orInPlace(members);
  }

  /** Stores every set held, in transactions of `setsPerTransaction`; returns how many. */
  async write(db: Db, setsPerTransaction = 200): Promise<number> {
    const all = [...this.sets.values()];
    for (let start = 0; start < all.length; start += setsPerTransaction) {
      await db.transaction().execute(async (trx) => {
        await lockFolding(trx);
        for (const set of all.slice(start, start + setsPerTransaction)) await addToSet(trx, set.kind, set.period, set.key, set.members);
      });
    }
    this.sets.clear();
    return all.length;
  }
}

/** Flat values (`columns.length` per row) as rows keyed by column. */
function objectsOf(columns: readonly string[], values: readonly unknown[]): Array<FoldedRow & Record<string, unknown>> {
  const rows: Array<FoldedRow & Record<string, unknown>> = [];
  for (let start = 0; start < values.length; start += columns.length) {
    const row: Record<string, unknown> = {};
    for (let column = 0; column < columns.length; column++) row[columns[column]!] = values[start + column];
    rows.push(row as FoldedRow & Record<string, unknown>);
  }
  return rows;
}
