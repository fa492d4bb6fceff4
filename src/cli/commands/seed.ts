import { statSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { seedDemoPartners } from '../../seed/demo-partners.js';
import { seedMembers } from '../../seed/world-generator.js';
import { openStore } from '../open-store.js';
import { withProgressBar } from '../progress-bar.js';

function count(name: string, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > max) throw new InvalidArgumentError(`${name}: a whole number from 0 to ${max}`);
    return parsed;
  };
}

function megabytes(path: string): string {
  let bytes = 0;
  for (const suffix of ['', '-wal']) {
    try {
      bytes += statSync(path + suffix).size;
    } catch {
      // No WAL file: nothing to add.
    }
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `datapact seed`: a deterministic world of members, friendships and the demo partners. */
export function seedCommand(): Command {
  return new Command('seed')
    .description('Write a deterministic world (members, friendships, the demo partners) into an empty database')
    .option('--members <n>', 'number of members', count('members', 10_000_000), 2_000)
    .option('--avg-friends <k>', 'average friends per member', count('avg-friends', 5_000), 150)
    .option('--seed <s>', 'random seed: the same seed gives the same world', count('seed', 2 ** 31 - 1), 2018)
    .option('--no-partners', 'members and friendships only')
    .option('--database <path>', 'SQLite database file (default: DATAPACT_DATABASE or ./data/datapact.db)')
    .action(async (options) => {
      const path: string = options.database ?? loadConfig().databasePath;
      const store = await openStore(path);
      try {
        const existing = await store.members.count();
        if (existing > 0) {
          throw new Error(`${path} already holds ${existing} members; seed into a new file with --database, or delete it first.`);
        }
        const now = Date.now();
        const summary = await withProgressBar('Seeding', (onProgress) =>
          seedMembers(store, { members: options.members, avgFriends: options.avgFriends, seed: options.seed, now, onProgress }),
        );
        if (options.partners) await seedDemoPartners(store, now);
        console.log(
          `Seeded ${summary.members.toLocaleString('en')} members and ${summary.friendships.toLocaleString('en')} friendships ` +
          `in ${(summary.ms / 1000).toFixed(1)} s; ${path} is ${megabytes(path)}.`,
        );
      } finally {
        await store.db.destroy();
      }
    });
}
