import { FIELDS, fieldBit } from '../domain/field-catalog.js';
import type { Db } from './database.js';
import { addToSet, emptySet, lockFolding, memberNumbers, type MemberSet } from './member-sets.js';

/**
 * Moves the per-member rows the appenders write (audit-aggregates.ts) into the member sets'
 * bitmaps (member-sets.ts) and deletes them: the release days, the exposure and the token members.
 * Each group of rows (a day or month and its agreement or partner) in transactions of at most
 * FOLD_CHUNK rows, each deleting exactly the rows it folds (DELETE … RETURNING), so appends that
 * go on meanwhile are either folded or left for the next run, never lost. Run by the scheduler;
 * nothing depends on when: a set is its bitmap and its rows together.
 */
export interface FoldResult {
  /** Rows moved into bitmaps. */
  readonly rows: number;
  /** Groups (day or month and key) folded. */
  readonly groups: number;
}

const FOLD_CHUNK = 50_000;

export async function foldMemberSets(db: Db): Promise<FoldResult> {
  let rows = 0;
  let groups = 0;
  for (const table of FOLDED) {
    for (const group of await table.groups(db)) {
      groups++;
      rows += await foldGroup(db, table, group);
    }
  }
  return { rows, groups };
}

interface Group { readonly period: string; readonly key: string }

interface FoldedTable {
  /** The groups that have rows waiting. */
  groups(db: Db): Promise<Group[]>;
  /** Deletes the group's rows with member ids in (after, upTo] (`upTo` null: all after), returning them. */
  take(trx: Db, group: Group, after: string, upTo: string | null): Promise<FoldedRow[]>;
  /** The member ids of the group after `after`, in order, the FOLD_CHUNK-th of them (or null when fewer remain). */
  chunkEnd(db: Db, group: Group, after: string): Promise<string | null>;
  /** Adds the rows to the group's sets. */
  fold(trx: Db, group: Group, rows: readonly FoldedRow[], numbers: ReadonlyMap<string, number>): Promise<void>;
}

async function foldGroup(db: Db, table: FoldedTable, group: Group): Promise<number> {
  let after = '';
  let moved = 0;
  for (;;) {
    const upTo = await table.chunkEnd(db, group, after);
    const taken = await db.transaction().execute(async (trx) => {
      await lockFolding(trx);
      const rows = await table.take(trx, group, after, upTo);
      if (rows.length > 0) await table.fold(trx, group, rows, await memberNumbers(trx, rows.map((row) => row.member_id)));
      return rows.length;
    });
    moved += taken;
    if (upTo === null) return moved;
    after = upTo;
  }
}

function setOf(rows: ReadonlyArray<{ member_id: string }>, numbers: ReadonlyMap<string, number>): MemberSet {
  const set = emptySet();
  for (const row of rows) set.add(numbers.get(row.member_id)!);
  return set;
}

type FoldedRow = { member_id: string; direct_fields?: number; friend_fields?: number };
type RowTable = 'audit_release_days' | 'audit_exposure' | 'audit_token_months';

/** A table of per-member rows keyed by (period column, key column, member_id). */
function rowTable(
  table: RowTable, periodColumn: 'day' | 'month', keyColumn: 'agreement_id' | 'partner_id', extra: readonly string[],
  fold: FoldedTable['fold'],
): FoldedTable {
  // Kysely cannot type columns chosen at run time; the three tables share these column names.
  const from = (db: Db) => (db as Db).selectFrom(table as 'audit_exposure') as any;
  const inGroup = (q: any, group: Group, after: string) =>
    q.where(periodColumn, '=', group.period).where(keyColumn, '=', group.key).where('member_id', '>', after);
  return {
    groups: async (db) => ((await from(db).select([periodColumn, keyColumn]).distinct().execute()) as Record<string, string>[])
      .map((row) => ({ period: row[periodColumn]!, key: row[keyColumn]! })),
    take: (trx, group, after, upTo) => {
      const q = inGroup(trx.deleteFrom(table as 'audit_exposure'), group, after);
      return (upTo === null ? q : q.where('member_id', '<=', upTo)).returning(['member_id', ...extra]).execute();
    },
    chunkEnd: async (db, group, after) => (await inGroup(from(db).select('member_id'), group, after)
      .orderBy('member_id').limit(1).offset(FOLD_CHUNK - 1).executeTakeFirst())?.member_id ?? null,
    fold,
  };
}

const releaseDays = rowTable('audit_release_days', 'day', 'agreement_id', [],
  (trx, group, rows, numbers) => addToSet(trx, 'release_day', group.period, group.key, setOf(rows, numbers)));

const tokens = rowTable('audit_token_months', 'month', 'partner_id', [],
  (trx, group, rows, numbers) => addToSet(trx, 'token', group.period, group.key, setOf(rows, numbers)));

/** The `exposure` set's key: an agreement, a catalog field or `*` (any), and how (`d` directly, `f` through friends). */
export const exposureKey = (agreementId: string, field: string, how: 'd' | 'f'): string => `${agreementId} ${field} ${how}`;

const exposure = rowTable('audit_exposure', 'month', 'agreement_id', ['direct_fields', 'friend_fields'], async (trx, group, rows, numbers) => {
  const sets = new Map<string, MemberSet>();
  const add = (field: string, how: 'd' | 'f', member: number) => {
    const key = exposureKey(group.key, field, how);
    (sets.get(key) ?? sets.set(key, emptySet()).get(key)!).add(member);
  };
  for (const row of rows) {
    const member = numbers.get(row.member_id)!;
    for (const [how, mask] of [['d', Number(row.direct_fields)], ['f', Number(row.friend_fields)]] as const) {
      if (mask === 0) continue;
      add('*', how, member);
      for (const field of FIELDS) if (mask & fieldBit(field)) add(field, how, member);
    }
  }
  for (const [key, set] of sets) await addToSet(trx, 'exposure', group.period, key, set);
});

const FOLDED: readonly FoldedTable[] = [releaseDays, exposure, tokens];

