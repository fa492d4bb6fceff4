import { randomUUID } from 'node:crypto';
import { DatapactError } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import { AgreementService, type AppliedChange } from '../lifecycle/agreement-service.js';
import { AgreementLifecycleRepository } from '../store/agreement-lifecycle-repository.js';
import type { Db } from '../store/database.js';
import { foldMemberSets } from '../store/member-set-folding.js';
import { indexReach } from '../store/reach.js';
import { ReachIndexing } from '../store/reach-indexing.js';
import { RateLimitCounterRepository } from '../store/rate-limit-counter-repository.js';
import { ReplaySealer, type SealOptions } from '../store/replay-sealer.js';
import { pruneWorldChanges } from '../store/world-changes.js';
import { recordGrantEndings } from './grant-endings.js';

/**
 * Time does its work (issue 4, part 4): applies what has come due at `now` for every agreement
 * that is not terminated (end dates, certifications 60 days overdue, wind-down phases reached and
 * announced 30 and 7 days ahead, 30 days after access ended without an attestation), as the actor
 * `system`, each agreement in its own transaction. The rules already act on these dates at their
 * exact instant; this records the transitions and sends the notices.
 *
 * Idempotent and safe to run from several instances at once: each agreement is re-loaded inside
 * its transaction and a version is saved only over the version it was loaded at, so a transition
 * is never applied twice (the loser of a race gets `concurrent_change` and skips the agreement).
 */
export async function runDueTransitions(db: Db, now: Instant, options: { tickId?: string } = {}): Promise<AppliedChange[]> {
  const tickId = options.tickId ?? `tick_${randomUUID()}`;
  const service = new AgreementService(db);
  const applied: AppliedChange[] = [];
  for (const id of await new AgreementLifecycleRepository(db).liveIds()) {
    try {
      applied.push(...(await service.applyDue(id, { requestId: tickId, now })));
    } catch (error) {
      // Another instance got there first: what it applied is recorded once; this one moves on.
      if (error instanceof DatapactError && error.code === 'concurrent_change') continue;
      throw error;
    }
  }
  return applied;
}

/** One line per change, for `datapact tick` and the server's log. */
export function describeApplied(change: AppliedChange): string {
  const version = change.version === null ? '' : ` v${change.version}`;
  const status = change.from === change.to ? change.to : `${change.from} → ${change.to}`;
  return `${change.agreementId}${version} ${change.action} (${status}): ${change.reason}`;
}

export interface SchedulerOptions {
  readonly db: Db;
  readonly clock: () => Instant;
  /** Seconds between runs; 0 turns the scheduler off. */
  readonly intervalSeconds: number;
  /**
   * The database's file or URL (`db`'s): the counterfactual's reach is then found by a worker thread
   * on a read-only connection of its own and stored at each run (ReachIndexing). Without it (a
   * `:memory:` database, which no other connection can open) it is found on this thread.
   */
  readonly database?: string;
  readonly log?: { info(object: object, message: string): void; error(object: object, message: string): void };
  /** How the log is sealed into replay segments at each run (ReplaySealer's defaults unless given). */
  readonly sealing?: SealOptions;
  /** Versions of the world whose changes each run keeps (pruneWorldChanges; WORLD_CHANGES_KEPT unless given). */
  readonly worldChangesKept?: number;
}

export interface RunningScheduler {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `runDueTransitions`, `recordGrantEndings`, `foldMemberSets`, the reach indexing and the replay sealing at once and then every
 * `intervalSeconds`, one run at a time.
 */
export function startScheduler(options: SchedulerOptions): RunningScheduler {
  if (options.intervalSeconds <= 0) return { stop: async () => {} };
  let running: Promise<void> | null = null;
  let stopped = false;
  const reach = options.database === undefined || options.database === ':memory:' ? undefined : new ReachIndexing(options.db, options.database);
  const run = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        const now = options.clock();
        const applied = await runDueTransitions(options.db, now);
        for (const change of applied) options.log?.info({ change }, describeApplied(change));
        const { ended } = await recordGrantEndings(options.db, now);
        if (ended > 0) options.log?.info({ ended }, `${ended} grant(s) ended (unused for 90 days, or their agreement's access ended)`);
        // Login counters name addresses and accounts: kept no longer than their window.
        await new RateLimitCounterRepository(options.db).purgeEnded(now);
        // A database appended to before the appenders wrote the sets themselves may hold journal rows: folded once.
        const folded = await foldMemberSets(options.db);
        if (folded.rows > 0) options.log?.info({ folded }, `${folded.rows} count row(s) folded into member sets`);
        const reached = reach === undefined ? await indexReach(options.db) : await reach.run();
        if (reached > 0) options.log?.info({ reached }, `the 2018 reach of ${reached} new token member(s) indexed`);
        const sealed = await new ReplaySealer(options.db).seal(options.sealing);
        if (sealed.requests > 0) options.log?.info({ sealed }, `${sealed.requests} logged request(s) sealed into ${sealed.segments} replay segment(s)`);
        await pruneWorldChanges(options.db, options.worldChangesKept);
      } catch (error) {
        options.log?.error({ err: error }, 'scheduler run failed');
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(run, options.intervalSeconds * 1000);
  timer.unref();
  run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
      await reach?.stop();
    },
  };
}
