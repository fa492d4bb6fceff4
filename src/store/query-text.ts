import { CompiledQuery, type Compilable, type QueryResult } from 'kysely';
import { dialectOf } from './dialect.js';
import type { Db } from './database.js';

/**
 * A hot-path query whose SQL depends only on the dialect and a shape (such as how many ids its
 * list holds), never on its values: Kysely builds and compiles a query anew on every call, which
 * for these short statements cost more than the database took to run them. The text is compiled
 * once per (dialect, shape) from stand-in values, checked to take its parameters in exactly the
 * order `run` is given them, and run with the real ones.
 */
export class QueryText<Row> {
  private readonly texts = new Map<string, string>();

  constructor(
    /** Builds the query from one value per parameter, in the order they must be bound. */
    private readonly build: (db: Db, values: readonly unknown[], shape: string) => Compilable<Row>,
  ) {}

  /** Runs the query of `shape` with `values`, given in the order `build` placed them. */
  async run(db: Db, shape: string, values: readonly unknown[]): Promise<QueryResult<Row>> {
    return db.executeQuery(CompiledQuery.raw(this.text(db, shape, values.length), [...values]) as CompiledQuery<Row>);
  }

  private text(db: Db, shape: string, count: number): string {
    const key = `${dialectOf(db)}:${shape}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      const standIns = Array.from({ length: count }, (_, i) => `query-text-value-${i}`);
      const compiled = this.build(db, standIns, shape).compile();
      if (compiled.parameters.length !== count || compiled.parameters.some((value, i) => value !== standIns[i])) {
        throw new Error(`a QueryText must bind its ${count} values in the order given: ${compiled.sql}`);
      }
      text = compiled.sql;
      this.texts.set(key, text);
    }
    return text;
  }
}
