import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { seedDatabase } from '../../seed/seed-database.js';
import { describeLocation } from '../../store/database.js';
import { DATABASE_OPTION } from '../open-store.js';
import { withProgressBar } from '../progress-bar.js';

function count(name: string, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > max) throw new InvalidArgumentError(`${name}: a whole number from 0 to ${max}`);
    return parsed;
  };
}

function size(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** `datapact seed`: a deterministic world of members, friendships and the demo partners. */
export function seedCommand(): Command {
  return new Command('seed')
    .description('Write a deterministic world (members, friendships, the demo partners) into an empty database')
    .option('--members <n>', 'number of members', count('members', 10_000_000), 2_000)
    .option('--avg-friends <k>', 'average friends per member', count('avg-friends', 5_000), 150)
    .option('--seed <s>', 'random seed: the same seed gives the same world', count('seed', 2 ** 31 - 1), 2018)
    .option('--no-partners', 'members and friendships only')
    .option('--database <path or url>', DATABASE_OPTION)
    .action(async (options) => {
      const where: string = options.database ?? loadConfig().database;
      const started = performance.now();
      const report = await withProgressBar('Seeding', (onProgress) =>
        seedDatabase(where, {
          members: options.members, avgFriends: options.avgFriends, seed: options.seed, now: Date.now(), partners: options.partners, onProgress,
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `Seeded ${report.members.toLocaleString('en')} members and ${report.friendships.toLocaleString('en')} friendships ` +
        `in ${seconds.toFixed(1)} s; ${describeLocation(where)} is ${size(report.bytes)}.`,
      );
    });
}
