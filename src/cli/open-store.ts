import { existsSync } from 'node:fs';
import {
  describeLocation, isPostgresUrl, migrateToLatest, openDatabase, openReadDatabase, requireCurrentSchema, requireIntactDatabase, schemaOf, type Db,
} from '../store/database.js';
import { createStore, type Store } from '../store/store.js';

/**
 * What a command may do with the database it is pointed at (issue 13: a CLI that never guesses):
 * - `create`: make it if there is none, migrate it (`serve`, `seed`, `migrate`, `staff add`, which
 *   makes the first admin of a new deployment);
 * - `existing`: an existing Datapact database only, migrated if it is behind (commands that write:
 *   `tick`, `tokens issue`, `demo-credentials remove`).
 * Either way another program's database, or one from a newer version of Datapact, is refused
 * untouched. Commands that only read use openStoreToRead.
 */
export type StoreAccess = 'create' | 'existing';

export interface OpenOptions {
  /** `serve`: a SQLite file's pages are checked before anything is served from it (requireIntactDatabase). */
  readonly checkIntegrity?: boolean;
}

/**
 * Opens and migrates the database a command works on: a `postgres://` URL or a SQLite file path
 * (`loadConfig().database` unless the command was given one), and says which on stderr. A database
 * that cannot be used (missing, unreachable, not Datapact's, a PostgreSQL collation other than C) is
 * closed again, so the command can exit.
 */
export async function openStore(location: string, access: StoreAccess = 'create', options: OpenOptions = {}): Promise<Store> {
  if (access === 'existing') requireFile(location);
  announce(location, '');
  // An existing SQLite file is looked at read-only first: opening it to write already changes it (WAL mode).
  if (!isPostgresUrl(location) && location !== ':memory:' && existsSync(location)) {
    await opened(location, openDatabase(location, { readOnly: true }), async (db) => {
      if (options.checkIntegrity) await requireIntactDatabase(db, location, (note) => console.error(note));
      await requireUsable(db, access);
    }).then((store) => store.close());
    return opened(location, openDatabase(location), migrateToLatest);
  }
  return opened(location, openDatabase(location), async (db) => {
    await requireUsable(db, access);
    await migrateToLatest(db);
  });
}

/**
 * Opens the database for a command that only reads it (`staff list`, `report inventory`,
 * `demo-credentials check`, `audit verify`, `audit export`): an existing Datapact database at this
 * version's schema, read-only (a SQLite file through a read-only connection, even on read-only media;
 * PostgreSQL with every transaction read-only), nothing migrated, so a copy handed to an auditor stays
 * as it was. One whose schema is behind or ahead of this version is refused, naming the migrations.
 */
export function openStoreToRead(location: string): Promise<Store> {
  requireFile(location);
  announce(location, ' (read-only)');
  return opened(location, openDatabase(location, { readOnly: true }), requireCurrentSchema, { readOnly: true });
}

async function opened(location: string, db: Db, prepare: (db: Db) => Promise<void>, { readOnly = false } = {}): Promise<Store> {
  try {
    await prepare(db);
  } catch (error) {
    await db.destroy();
    throw new Error(`${describeLocation(location)}: ${(error as Error).message}`, { cause: error });
  }
  // A reading command reads on its own connection: the read worker would open the file again, writable or not.
  return createStore(db, readOnly ? db : openReadDatabase(location, db));
}

function requireFile(location: string): void {
  if (isPostgresUrl(location) || location === ':memory:' || existsSync(location)) return;
  throw new Error(`no database at ${location}; this command does not create one (\`datapact serve\`, \`seed\` or \`migrate\` do). `
    + 'Check DATAPACT_DATABASE, DATAPACT_DATA_DIR and DATAPACT_DATABASE_URL, or pass --database');
}

/** Another program's database or a newer one is refused for every access; an empty one only made by `create`. */
async function requireUsable(db: Db, access: StoreAccess): Promise<void> {
  const schema = await schemaOf(db);
  if (schema.kind === 'empty' && access === 'create') return;
  if (schema.kind === 'empty') {
    throw new Error('it is not a Datapact database: it is empty, and this command does not create one (`datapact serve`, `seed` or `migrate` do)');
  }
  if (schema.kind === 'foreign' || schema.unknown.length > 0) await requireCurrentSchema(db); // names which
}

/** Which database a command used, on stderr, so that a mistyped path or an unexpected default shows. */
function announce(location: string, how: string): void {
  console.error(`Database: ${describeLocation(location)}${how}`);
}

/** The help of every command's `--database` option. */
export const DATABASE_OPTION =
  'a SQLite database file or a postgres:// URL (default: DATAPACT_DATABASE_URL, else DATAPACT_DATABASE, else ./data/datapact.db)';
