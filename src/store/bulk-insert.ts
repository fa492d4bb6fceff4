import { CompiledQuery, type InsertQueryBuilder } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/**
 * Fast multi-row INSERTs for the audit log's hot path. Kysely builds an operation tree node per
 * value, which for thousands of entries a second costs more than SQLite's insert itself; here the
 * statement is compiled by Kysely once per (dialect, table, columns, row count) and reused with a
 * flat parameter list, so the SQL and placeholders stay Kysely's own on SQLite and PostgreSQL.
 *
 * Row counts are powers of two (a batch of 700 rows is statements of 512, 128, 32, 16, 8 and 4):
 * a group commit's batch has a different size nearly every time, and a statement per size would
 * be compiled by Kysely, and prepared by SQLite, for most batches; this way there are a dozen per
 * table, compiled once.
 */
export class BulkInsert<T extends keyof Database & string> {
  private readonly statements = new Map<string, string>();

  constructor(
    private readonly table: T,
    private readonly columns: readonly (keyof Database[T] & string)[],
    /** Rows per statement: keeps SQLite under its bound-parameter limit (32,766). */
    private readonly rowsPerStatement: number,
    /**
     * A row whose key is already there: `true` leaves it as it is (ON CONFLICT DO NOTHING); an
     * ON CONFLICT clause merges it (counters adding up). Rows of one statement must not share a key.
     */
    private readonly onConflict: boolean | OnConflict<T> = false,
  ) {}

  /** Inserts rows given as flat values, `columns.length` per row, in statements of at most rowsPerStatement rows; returns the rows given. */
  async run(db: Db, values: readonly unknown[]): Promise<number> {
    const width = this.columns.length;
    if (values.length % width !== 0) throw new Error(`${this.table}: ${values.length} values are not whole rows of ${width}`);
    for (let start = 0; start < values.length;) {
      const rows = largestPowerOfTwo(Math.min((values.length - start) / width, this.rowsPerStatement));
      const part = values.slice(start, start + rows * width);
      await db.executeQuery(CompiledQuery.raw(this.statement(db, rows), part));
      start += part.length;
    }
    return values.length / width;
  }

  private statement(db: Db, rows: number): string {
    const key = `${db.getExecutor().adapter.constructor.name}:${rows}`;
    let text = this.statements.get(key);
    if (text === undefined) {
      const row = Object.fromEntries(this.columns.map((column) => [column, null]));
      const insert = db.insertInto(this.table).values(Array.from({ length: rows }, () => row) as never);
      const clause = this.onConflict === true ? (conflict: Parameters<OnConflict<T>>[0]) => conflict.doNothing() : this.onConflict;
      text = (clause === false ? insert : insert.onConflict(clause)).compile().sql;
      this.statements.set(key, text);
    }
    return text;
  }
}

/** An ON CONFLICT clause, as Kysely's `onConflict` takes it. */
export type OnConflict<T extends keyof Database & string> = Parameters<InsertQueryBuilder<Database, T, object>['onConflict']>[0];

/** The largest power of two not above n (n >= 1). */
function largestPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}
