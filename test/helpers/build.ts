import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import type { KyselyPlugin } from 'kysely';
import { createStore, type Store } from '../../src/store/store.js';
import type { Instant } from '../../src/domain/time.js';
import type { ReadGate } from '../../src/store/worker-sqlite-dialect.js';
import { freshDatabase, sqliteFileDatabase, type Dialect } from './dialects.js';

export interface Built {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Moves the app's clock; tests never sleep. */
  setNow(instant: Instant): void;
  /** PostgreSQL only: the database's URL, for a second instance's own pool on it. */
  readonly databaseUrl: string | undefined;
}

/**
 * What a test may set on the app besides its store and clock (e.g. `environment`, `logger`), and
 * the database it runs on (`dialect`, default SQLite; see helpers/dialects.ts). `readGate`: SQLite
 * in a temporary file instead of memory, the staff's reads on their worker thread, held by the gate.
 */
export type BuildOptions = Omit<AppOptions, 'store' | 'clock'> & {
  readonly dialect?: Dialect;
  readonly readGate?: ReadGate;
  /** Sees every statement the app runs on its connection (counting them, say); not the staff's read connection. */
  readonly plugin?: KyselyPlugin;
};

/** A fresh database and app per test, closed (and the database dropped) when the test ends. */
export async function build(
  t: TestContext | undefined,
  now: Instant = Date.parse('2026-06-01T00:00:00Z'),
  options: BuildOptions = {},
): Promise<Built> {
  const { dialect = 'sqlite', readGate, plugin, ...appOptions } = options;
  if (t === undefined && dialect !== 'sqlite') throw new Error('build: a PostgreSQL database is dropped when its test ends; pass the test');
  if (readGate !== undefined && dialect !== 'sqlite') throw new Error('build: readGate holds the SQLite read worker; PostgreSQL has none');
  const database = readGate === undefined ? await freshDatabase(dialect) : await sqliteFileDatabase(readGate);
  const store = createStore(plugin === undefined ? database.db : database.db.withPlugin(plugin), database.readDb);
  let current = now;
  const app = await buildApp({ ...appOptions, store, clock: () => current });
  t?.after(async () => {
    await app.close();
    await database.drop();
  });
  return { app, store, setNow: (instant) => { current = instant; }, databaseUrl: database.url };
}
