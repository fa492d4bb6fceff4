import { FIELDS, fieldBit } from '../domain/field-catalog.js';
import type { Db } from './database.js';
import { addDelta, emptySet, lockFolding, memberNumbers, type MemberSet } from './member-sets.js';

/**
 * Moves the per-member rows the appenders write (audit-aggregates.ts) into the member sets'
 * bitmaps (member-sets.ts) and deletes them: the release days, the exposure and the token members.
 * Those tables are journals (migration 0034): a member may have a row per batch of appends, and
 * ORing rows into a bitmap merges the repeats. Each journal is folded in order of `id`, in
 * transactions of at most FOLD_CHUNK rows, each deleting exactly the rows it folds (DELETE …
 * RETURNING), so appends that go on meanwhile are either folded or left for the next run, never
 * lost. What a chunk adds to a set is written as a delta beside the set's bitmap (addDelta), not
 * merged into it, so a fold costs what it adds, not the size the month's sets have grown to. Run by
 * the audit log as it appends (every foldAfterRows journal rows, audit-log.ts) and by the scheduler;
 * no answer depends on when: a set is its bitmap, its deltas and its rows together.
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

type FoldedRow = { member_id: string; number: number | string | null; direct_fields?: number; friend_fields?: number };
type JournalTable = 'audit_release_days' | 'audit_exposure' | 'audit_token_months';

interface Journal {
  readonly table: JournalTable;
  readonly periodColumn: 'day' | 'month';
  readonly keyColumn: 'agreement_id' | 'partner_id';
  readonly extra: readonly string[];
  /** Adds one group's rows (its period and key) to its sets. */
  fold(trx: Db, period: string, key: string, rows: readonly FoldedRow[], numbers: ReadonlyMap<string, number>): Promise<void>;
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
  const groups = new Map<string, FoldedRow[]>();
  for (const row of rows) {
    const group = `${row[journal.periodColumn]}\0${row[journal.keyColumn]}`;
    (groups.get(group) ?? groups.set(group, []).get(group)!).push(row);
  }
  if (rows.length > 0) {
    const numbers = await numbersOf(trx, rows);
    for (const [group, ofGroup] of groups) {
      const [period, key] = group.split('\0') as [string, string];
      await journal.fold(trx, period, key, ofGroup, numbers);
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

function setOf(rows: ReadonlyArray<{ member_id: string }>, numbers: ReadonlyMap<string, number>): MemberSet {
  const set = emptySet();
  for (const row of rows) set.add(numbers.get(row.member_id)!);
  return set;
}

const releaseDays: Journal = {
  table: 'audit_release_days', periodColumn: 'day', keyColumn: 'agreement_id', extra: [],
  fold: (trx, period, key, rows, numbers) => addDelta(trx, 'release_day', period, key, setOf(rows, numbers)),
};

const tokens: Journal = {
  table: 'audit_token_months', periodColumn: 'month', keyColumn: 'partner_id', extra: [],
  fold: (trx, period, key, rows, numbers) => addDelta(trx, 'token', period, key, setOf(rows, numbers)),
};

/** The `exposure` set's key: an agreement, a catalog field or `*` (any), and how (`d` directly, `f` through friends). */
export const exposureKey = (agreementId: string, field: string, how: 'd' | 'f'): string => `${agreementId} ${field} ${how}`;

const exposure: Journal = {
  table: 'audit_exposure', periodColumn: 'month', keyColumn: 'agreement_id', extra: ['direct_fields', 'friend_fields'],
  fold: (trx, period, agreementId, rows, numbers) => foldExposure(trx, period, agreementId, rows, numbers),
};

async function foldExposure(trx: Db, period: string, agreementId: string, rows: readonly FoldedRow[], numbers: ReadonlyMap<string, number>): Promise<void> {
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
  for (const how of ['d', 'f'] as const) {
    const sets = new Map<string, MemberSet>();
    const add = (field: string, members: readonly number[]) => (sets.get(field) ?? sets.set(field, emptySet()).get(field)!).addMany(members);
    for (const [mask, members] of byMask[how]) {
      add('*', members);
      for (const field of FIELDS) if (mask & fieldBit(field)) add(field, members);
    }
    for (const [field, set] of sets) await addDelta(trx, 'exposure', period, exposureKey(agreementId, field, how), set);
  }
}

const FOLDED: readonly Journal[] = [releaseDays, exposure, tokens];

