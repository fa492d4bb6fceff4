import type { Db } from './database.js';
import { addDeltas, addToSet, ExposureGroups, lockFolding, MemberNumbers, setsOf, type KeyedSet, type MemberGroup } from './member-sets.js';

/**
 * Moves what is left in the per-member journals (`audit_release_days`, `audit_exposure`,
 * `audit_token_months`, migration 0034) into the member sets' bitmaps (member-sets.ts) and deletes
 * it. The appenders no longer write them (they add the sets' deltas themselves, audit-aggregates.ts):
 * rows are left only in a database appended to before, and the reports read those rows with the
 * sets until they are folded, so no answer depends on when. The scheduler and `datapact tick` run
 * it. Each journal is folded in order of `id`, in transactions of at most FOLD_CHUNK rows, each
 * deleting exactly the rows it folds (DELETE … RETURNING).
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
}

export async function foldMemberSets(db: Db, { chunkRows = FOLD_CHUNK }: FoldOptions = {}): Promise<FoldResult> {
  let rows = 0;
  let groups = 0;
  for (const journal of JOURNALS) {
    for (;;) {
      const chunk = await db.transaction().execute((trx) => foldChunk(trx, journal, chunkRows));
      rows += chunk.rows;
      groups += chunk.groups;
      if (!chunk.more) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { rows, groups };
}

type JournalRow = Record<string, string | number>;

interface Journal {
  readonly table: 'audit_release_days' | 'audit_exposure' | 'audit_token_months';
  readonly columns: readonly string[];
  /** The rows as members of the sets they add to. */
  groups(rows: readonly JournalRow[]): MemberGroup[];
}

/** Deletes the journal's first `chunkRows` rows (all of them when fewer) and adds them to their sets as deltas. */
async function foldChunk(trx: Db, journal: Journal, chunkRows: number): Promise<{ rows: number; groups: number; more: boolean }> {
  await lockFolding(trx);
  // Kysely cannot type columns chosen at run time; the three journals share `id` and `member_id`.
  const table = journal.table as 'audit_exposure';
  const last = await trx.selectFrom(table).select('id').orderBy('id').limit(1).offset(chunkRows - 1).executeTakeFirst();
  const rows = await trx.deleteFrom(table).$if(last !== undefined, (q) => q.where('id', '<=', last!.id))
    .returning(journal.columns as never[]).execute() as unknown as JournalRow[];
  const groups = journal.groups(rows);
  const numbers = new MemberNumbers();
  await numbers.learn(trx, rows.map((row) => String(row.member_id)));
  await addDeltas(trx, setsOf(groups, numbers));
  return { rows: rows.length, groups: groups.length, more: last !== undefined };
}

/** Rows of one set per `period` and `key` column. */
function groupsBy(rows: readonly JournalRow[], kind: 'release_day' | 'token', period: string, key: string): MemberGroup[] {
  const groups = new Map<string, { kind: typeof kind; period: string; keys: [string]; ids: string[] }>();
  for (const row of rows) {
    const name = `${row[period]}\0${row[key]}`;
    let group = groups.get(name);
    if (group === undefined) groups.set(name, (group = { kind, period: String(row[period]), keys: [String(row[key])], ids: [] }));
    group.ids.push(String(row.member_id));
  }
  return [...groups.values()];
}

const JOURNALS: readonly Journal[] = [
  { table: 'audit_release_days', columns: ['day', 'agreement_id', 'member_id'], groups: (rows) => groupsBy(rows, 'release_day', 'day', 'agreement_id') },
  {
    table: 'audit_exposure', columns: ['month', 'agreement_id', 'member_id', 'direct_fields', 'friend_fields'],
    groups: (rows) => {
      const exposure = new ExposureGroups();
      for (const row of rows) exposure.add(String(row.month), String(row.agreement_id), String(row.member_id), Number(row.direct_fields), Number(row.friend_fields));
      return exposure.groups();
    },
  },
  { table: 'audit_token_months', columns: ['month', 'partner_id', 'member_id'], groups: (rows) => groupsBy(rows, 'token', 'month', 'partner_id') },
];

/**
 * The member sets built in memory, for a bulk load (a benchmark's world of 100M audited subjects):
 * the batches' sets that AuditAggregates.record hands over instead of writing deltas are ORed
 * into sets held here, and `write` stores each set once (ORed into any set already stored), as
 * the deltas of the same batches would have left it. Every member's number is read once at the
 * start; an id without one gets it as the appender would give it.
 */
export class MemberSetBuilder {
  private readonly sets = new Map<string, KeyedSet>();

  private constructor(private readonly numbers: MemberNumbers) {}

  static async open(db: Db): Promise<MemberSetBuilder> {
    return new MemberSetBuilder(await MemberNumbers.all(db));
  }

  /** The numbers to count with (AuditAggregates.record's `numbers`). */
  get memberNumbers(): MemberNumbers {
    return this.numbers;
  }

  /** Adds a batch's sets (as AuditAggregates.record hands them, numbered with memberNumbers) to the sets held. */
  add(sets: readonly KeyedSet[]): void {
    this.numbers.keep();
    for (const set of sets) {
      const name = `${set.kind}\0${set.period}\0${set.key}`;
      const held = this.sets.get(name);
      if (held === undefined) this.sets.set(name, set);
      else held.members.orInPlace(set.members);
    }
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
