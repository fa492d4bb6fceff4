import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { recordGrantEndings } from '../../scheduler/grant-endings.js';
import { describeApplied, runDueTransitions } from '../../scheduler/scheduler.js';
import { foldMemberSets } from '../../store/member-set-folding.js';
import { indexReach } from '../../store/reach.js';
import { DATABASE_OPTION, openStore } from '../open-store.js';

function isoInstant(value: string): number {
  const parsed = Date.parse(value);
  if (!Number.isFinite(parsed) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new InvalidArgumentError('an ISO 8601 date or date-time, e.g. 2027-01-01T00:00:00Z');
  return parsed;
}

/**
 * `datapact tick`: applies once what has come due (what the server's scheduler does every
 * DATAPACT_TICK_SECONDS), for cron and tests, and prints one line per change.
 */
export function tickCommand(): Command {
  return new Command('tick')
    .description('Apply once what has come due: end dates, overdue certifications, wind-down phases, missing deletion attestations, grants ended by time; fold the report counts into member sets')
    .option('--now <iso>', 'the instant to apply at (default: the current time)', isoInstant)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: { now?: number; database?: string }) => {
      const store = await openStore(options.database ?? loadConfig().database, 'existing');
      try {
        const now = options.now ?? Date.now();
        const applied = await runDueTransitions(store.db, now);
        for (const change of applied) console.log(describeApplied(change));
        const { ended } = await recordGrantEndings(store.db, now);
        if (ended > 0) console.log(`${ended} grant(s) ended (unused for 90 days, or their agreement's access ended)`);
        const folded = await foldMemberSets(store.db);
        if (folded.rows > 0) console.log(`${folded.rows} count row(s) folded into member sets (${folded.groups} group(s))`);
        const reached = await indexReach(store.db);
        if (reached > 0) console.log(`the 2018 reach of ${reached} new token member(s) indexed`);
        const changes = applied.length + ended;
        console.error(`${changes === 0 ? 'Nothing was due' : `Applied ${changes} change(s)`} at ${new Date(now).toISOString()}.`);
      } finally {
        await store.close();
      }
    });
}
