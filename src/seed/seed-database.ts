import { databaseBytes } from '../store/database-size.js';
import { migrateToLatest, openDatabase } from '../store/database.js';
import { openWorldLoader } from '../store/open-world-loader.js';
import { createStore, type Store } from '../store/store.js';
import { seedDemoPartners } from './demo-partners.js';
import { seedWorld, type SeedMembersOptions, type SeedSummary } from './world-generator.js';

export interface SeedDatabaseOptions extends SeedMembersOptions {
  /** Also the demo partners, their apps and agreements. */
  readonly partners: boolean;
}

export interface SeedDatabaseReport extends SeedSummary {
  /** The database's size on disk afterwards (see databaseBytes). */
  readonly bytes: number;
}

async function withStore<T>(location: string, work: (store: Store) => Promise<T>): Promise<T> {
  const db = openDatabase(location);
  try {
    return await work(createStore(db));
  } finally {
    await db.destroy();
  }
}

/**
 * `datapact seed` on a SQLite file or a PostgreSQL URL: migrates, refuses a database that already
 * has members, loads the world with the location's bulk loader (which wants the database to
 * itself, so the store's connection is closed meanwhile), then adds the demo partners.
 */
export async function seedDatabase(location: string, options: SeedDatabaseOptions): Promise<SeedDatabaseReport> {
  await withStore(location, async (store) => {
    await migrateToLatest(store.db);
    const existing = await store.members.count();
    if (existing > 0) throw new Error(`the database already holds ${existing} members; seed into a new one, or empty it first.`);
  });
  const loader = await openWorldLoader(location);
  let summary: SeedSummary;
  try {
    summary = await seedWorld(loader, options);
  } finally {
    await loader.close();
  }
  return withStore(location, async (store) => {
    if (options.partners) await seedDemoPartners(store, options.now);
    return { ...summary, bytes: await databaseBytes(store.db, location) };
  });
}
