import BetterSqlite3 from 'better-sqlite3';
import { writeFriendNumberLists } from './friend-number-lists.js';
import {
  FIELD_AUDIENCE_COLUMNS, FRIENDSHIP_COLUMNS, MEMBER_COLUMNS, PROFILE_VALUE_COLUMNS,
  type CellValue, type MemberRows, type WorldLoader,
} from './world-loader.js';

/** Rows per INSERT: measured best for better-sqlite3 (fewer crossings into C, small statements). */
const ROWS_PER_STATEMENT = 100;
/** Page cache of the loading connection, in KiB: the right edges of the trees being appended to. */
const CACHE_KIB = 512 * 1024;

/**
 * Loads a seeded world into a SQLite file through a connection of its own, with what makes a bulk
 * load fast and that the server's connections must not have:
 *
 * - `synchronous = OFF` and the rollback journal in memory (`journal_mode = MEMORY`) instead of
 *   WAL: no fsync and every page written once, not once to the WAL and again at the checkpoint.
 *   A crash mid-seed leaves a file to delete, which the seed's half-written world is anyway;
 * - `foreign_keys = OFF`: the generator only names members it has written (the seed tests check
 *   `foreign_key_check`), and the two lookups per friendship row would double the load's cost;
 * - prepared statements reused with flat parameters (Kysely prepares each query anew).
 *
 * These are settings of this connection, gone with it, except the journal mode, which `close`
 * puts back to WAL. Changing the journal mode needs the only connection to the file: callers
 * close the store's connection first.
 */
export class SqliteWorldLoader implements WorldLoader {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly params: CellValue[][] = [];
  private readonly journalMode: string;

  private constructor(private readonly sqlite: BetterSqlite3.Database) {
    sqlite.pragma('busy_timeout = 5000');
    this.journalMode = String(sqlite.pragma('journal_mode', { simple: true }));
    sqlite.pragma('journal_mode = MEMORY');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('foreign_keys = OFF');
    sqlite.pragma(`cache_size = -${CACHE_KIB}`);
    sqlite.pragma('temp_store = MEMORY');
  }

  static open(path: string): SqliteWorldLoader {
    return new SqliteWorldLoader(new BetterSqlite3(path));
  }

  async writeMembers(rows: MemberRows): Promise<void> {
    this.sqlite.transaction(() => {
      this.insert('members', MEMBER_COLUMNS, rows.members);
      this.insert('profile_values', PROFILE_VALUE_COLUMNS, rows.profileValues);
      this.insert('field_audiences', FIELD_AUDIENCE_COLUMNS, rows.fieldAudiences);
    })();
  }

  async writeFriendships(rows: CellValue[]): Promise<void> {
    this.sqlite.transaction(() => this.insert('friendships', FRIENDSHIP_COLUMNS, rows))();
  }

  async finish(): Promise<void> {
    writeFriendNumberLists(this.sqlite);
    this.sqlite.pragma(`journal_mode = ${this.journalMode}`);
  }

  async close(): Promise<void> {
    if (!this.sqlite.open) return;
    try {
      this.sqlite.pragma(`journal_mode = ${this.journalMode}`);
    } finally {
      this.sqlite.close();
    }
  }

  private insert(table: string, columns: readonly string[], values: CellValue[]): void {
    const width = columns.length;
    const step = ROWS_PER_STATEMENT * width;
    let start = 0;
    if (values.length >= step) {
      // Full statements bind a reused array: slicing one per statement is garbage the GC pays for.
      const full = this.statement(table, columns, ROWS_PER_STATEMENT);
      const params = (this.params[width] ??= new Array<CellValue>(step));
      for (; start + step <= values.length; start += step) {
        for (let i = 0; i < step; i++) params[i] = values[start + i]!;
        full.run(params);
      }
    }
    if (start < values.length) this.statement(table, columns, (values.length - start) / width).run(values.slice(start));
  }

  private statement(table: string, columns: readonly string[], rows: number): BetterSqlite3.Statement {
    const key = `${table}:${rows}`;
    let statement = this.statements.get(key);
    if (statement === undefined) {
      const row = `(${columns.map(() => '?').join(', ')})`;
      const text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, () => row).join(', ')}`;
      statement = this.sqlite.prepare(text);
      this.statements.set(key, statement);
    }
    return statement;
  }
}
