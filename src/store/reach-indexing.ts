import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import { AuditRepository } from './audit-repository.js';
import type { Db } from './database.js';
import { emptySet, setFromBytes } from './member-sets.js';
import { REACH_KINDS, storeFoundReach, type FoundReach, type Neighbourhood } from './reach.js';

/** One FoundReach as the worker posts it: its sets serialized in REACH_KINDS' order. */
export interface FoundReachMessage {
  readonly month: string;
  readonly partner: string;
  readonly parts: readonly Uint8Array[];
}

export type ReachWorkerReply = { readonly found: readonly FoundReachMessage[] } | { readonly error: string };

/**
 * The counterfactual's reach indexed for the server's scheduler, off the appender (issue 11 point
 * 0): the work of finding what new token members add grows with their two-hop neighbourhood,
 * hidden friends included, so if it ran where partners' entries are appended, a partner timing
 * its next requests would learn something about friends it is not shown. Each `run` (one per
 * scheduler run, at the scheduler's fixed cadence) stores what the previous run's worker found,
 * in one short transaction, and starts the next worker: a thread with its own read-only
 * connection (reach-worker.ts). Reports stay exact meanwhile: they expand the token members not
 * indexed yet themselves (reachOf).
 *
 * A worker is started only when there may be something to find: from the second run on (a
 * server's first run, at start, would cost every short-lived process a thread for nothing), and
 * then only when the log has grown since the last worker started (token members come only with
 * appended entries).
 */
export class ReachIndexing {
  private worker: Worker | undefined;
  private finding: Promise<void> | undefined;
  private found: FoundReach[] | undefined;
  private failure: Error | undefined;
  private stopped = false;
  /** The log's size when the last worker started; undefined before the first run, which starts none. */
  private sizeAtLastFind: number | undefined;

  /** `location`: the database's file or URL, which the worker opens read-only. */
  constructor(private readonly db: Db, private readonly location: string) {}

  /**
   * Stores what the last worker found (returns how many token members that adds; a failure of
   * that worker is thrown here, once), then starts the next worker if the log grew since the last
   * one started (and this is not the first run) and none is still at work.
   */
  async run(): Promise<number> {
    const found = this.found;
    const failure = this.failure;
    this.found = undefined;
    this.failure = undefined;
    try {
      if (failure !== undefined) throw failure;
      return found === undefined ? 0 : await storeFoundReach(this.db, found);
    } finally {
      // After the store: the next worker does not find again what this run just stored.
      if (this.finding === undefined && !this.stopped) await this.findIfGrown();
    }
  }

  private async findIfGrown(): Promise<void> {
    const size = await new AuditRepository(this.db).treeSize();
    const first = this.sizeAtLastFind === undefined;
    if (!first && size === this.sizeAtLastFind) return;
    this.sizeAtLastFind = first ? -1 : size;
    if (!first) this.finding = this.find().finally(() => { this.finding = undefined; });
  }

  /** Waits for the worker at work, if any (benchmarks, tests: what the next `run` will store is then ready). */
  async settled(): Promise<void> {
    await this.finding;
  }

  /** Ends the worker at work, if any; nothing more is started. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.worker?.terminate();
    await this.finding;
  }

  private async find(): Promise<void> {
    const worker = startWorkerScript(import.meta.url, './reach-worker', { workerData: { location: this.location } });
    this.worker = worker;
    try {
      const reply = await new Promise<ReachWorkerReply>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the reach indexing thread stopped (exit code ${code})`)));
      });
      if ('error' in reply) throw new Error(`reach indexing failed: ${reply.error}`);
      this.found = reply.found.map(({ month, partner, parts }) => ({ month, partner, added: neighbourhoodOf(parts) }));
    } catch (error) {
      if (!this.stopped) this.failure = error as Error;
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }
}

function neighbourhoodOf(parts: readonly Uint8Array[]): Neighbourhood {
  const sets: Record<string, ReturnType<typeof emptySet>> = {};
  REACH_KINDS.forEach(([, part], i) => { sets[part] = setFromBytes(parts[i]!); });
  return sets as unknown as Neighbourhood;
}
