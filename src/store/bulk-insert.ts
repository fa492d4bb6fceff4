import { CompiledQuery } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/**
 * Fast multi-row INSERTs for the audit log's hot path. Kysely builds an operation tree node per
 * value, which for thousands of entries a second costs more than SQLite's insert itself; here the
 * statement is compiled by Kysely once per (dialect, table, columns, row count) and reused with a
 * flat parameter list, so the SQL and placeholders stay Kysely's own on SQLite and PostgreSQL.
 */
export class BulkInsert<T extends keyof Database & string> {
  private readonly statements = new Map<string, string>();

  constructor(
    private readonly table: T,
    private readonly columns: readonly (keyof Database[T] & string)[],
    /** Rows per statement: keeps SQLite under its bound-parameter limit (32,766). */
    private readonly rowsPerStatement: number,
  ) {}

  /** Inserts rows given as flat values, `columns.length` per row, in statements of at most rowsPerStatement rows. */
  async run(db: Db, values: readonly unknown[]): Promise<void> {
    const width = this.columns.length;
    if (values.length % width !== 0) throw new Error(`${this.table}: ${values.length} values are not whole rows of ${width}`);
    const step = this.rowsPerStatement * width;
    for (let start = 0; start < values.length; start += step) {
      const part = values.slice(start, start + step);
      await db.executeQuery(CompiledQuery.raw(this.statement(db, part.length / width), part));
    }
  }

  private statement(db: Db, rows: number): string {
    const key = `${db.getExecutor().adapter.constructor.name}:${rows}`;
    let text = this.statements.get(key);
    if (text === undefined) {
      const row = Object.fromEntries(this.columns.map((column) => [column, null]));
      text = db.insertInto(this.table).values(Array.from({ length: rows }, () => row) as never).compile().sql;
      this.statements.set(key, text);
    }
    return text;
  }
}
