import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { createStore, type Store } from '../../src/store/store.js';
import type { Instant } from '../../src/domain/time.js';

export interface Built {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Moves the app's clock; tests never sleep. */
  setNow(instant: Instant): void;
}

/** What a test may set on the app besides its store and clock (e.g. `environment`, `logger`). */
export type BuildOptions = Omit<AppOptions, 'store' | 'clock'>;

/** A fresh in-memory database and app per test, closed when the test ends. */
export async function build(
  t: TestContext | undefined,
  now: Instant = Date.parse('2026-06-01T00:00:00Z'),
  options: BuildOptions = {},
): Promise<Built> {
  const db = openSqlite(':memory:');
  await migrateToLatest(db);
  const store = createStore(db);
  let current = now;
  const app = await buildApp({ ...options, store, clock: () => current });
  t?.after(async () => {
    await app.close();
    await db.destroy();
  });
  return { app, store, setNow: (instant) => { current = instant; } };
}
