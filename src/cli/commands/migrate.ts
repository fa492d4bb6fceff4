import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { MIGRATION_NAMES } from '../../store/migrations/index.js';
import { DATABASE_OPTION, openStore } from '../open-store.js';

/**
 * `datapact migrate`: brings a database to this version's schema (making it, if there is none),
 * and nothing else: what `serve` does at start, for a database that read-only commands refuse as
 * older than this version, or before the servers of a new version start.
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Create the database if there is none, and apply the migrations it lacks (what serve does at start); nothing else')
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: { database?: string }) => {
      // openStore migrates it, or says why it will not (another program's database, a newer schema).
      const store = await openStore(options.database ?? loadConfig().database, 'create');
      await store.close();
      console.error(`The database has this version's schema (${MIGRATION_NAMES.length} migrations, the last ${MIGRATION_NAMES.at(-1)}).`);
    });
}
