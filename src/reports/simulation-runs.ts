import { setImmediate as nextTurn } from 'node:timers/promises';
import { DatapactError, Overloaded } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import { SimulationRepository } from '../store/simulation-repository.js';
import type { Store } from '../store/store.js';
import { runSimulation, type PreparedSimulation, type SimulationResult } from './simulation.js';

/** A simulation still running, or one that failed: what `GET …/simulations/:id` answers until the result is stored. */
export interface SimulationRunView {
  id: string;
  agreement_id: string;
  status: 'running' | 'failed';
  progress: { done: number; total: number };
  /** Why it failed (`failed` only). */
  error: { code: string; message: string } | null;
}

/**
 * Requests a server's run replays between two turns of other work: on SQLite the log is read on the
 * server's own thread, a batch per statement, which holds the thread a few milliseconds at this size.
 */
const SERVER_BATCH = 100;

/** Failed runs kept to be read back (the newest); a stored result needs none. */
const FAILED_KEPT = 100;

/** Simulations one server runs at once by default: each holds the staff's read thread for seconds. */
export const MAX_RUNNING_SIMULATIONS = 2;

/** A place for one run, taken before the run is audited; released when the run ends (or was never started). */
export interface SimulationSlot {
  release(): void;
}

/**
 * Simulations run off the request that asked for them (issue 15): a 90-day replay of a busy
 * agreement takes seconds, longer than a request should. A run's progress is kept here while it
 * runs; its result is stored under its id when done (what every later read answers), and a
 * failure kept here to be read back. Runs live in this process: one cut short by a restart is
 * not resumed (its id then answers 404; run it again).
 */
export class SimulationRuns {
  private readonly runs = new Map<string, { view: SimulationRunView; done: Promise<void> }>();
  private active = 0;

  /**
   * `between`: awaited before a run's first batch and after each: the event loop's next turn, so
   * that other requests are answered meanwhile (a test may hold a run there).
   */
  constructor(
    private readonly store: Store,
    private readonly onFailure: (error: unknown, id: string) => void = () => {},
    private readonly between: () => Promise<unknown> = () => nextTurn(),
    private readonly maxRunning = MAX_RUNNING_SIMULATIONS,
  ) {}

  /**
   * A place for one more run, or 503 `overloaded` (Retry-After 10) when `maxRunning` are running:
   * asked before the run is audited, so a refused simulation leaves no entry and no thread is
   * shared by more replays than this.
   */
  reserve(): SimulationSlot {
    if (this.active >= this.maxRunning) {
      throw new Overloaded(`${this.active} simulations are running, the most this server runs at once; try again after Retry-After seconds.`, 10);
    }
    this.active++;
    let released = false;
    return { release: () => { if (!released) { released = true; this.active--; } } };
  }

  /** Starts a prepared simulation (its run already audited) in `slot` (one reserved now if none) and answers its view at once. */
  start(prepared: PreparedSimulation, createdBy: string, at: Instant, slot: SimulationSlot = this.reserve()): SimulationRunView {
    const view: SimulationRunView = {
      id: prepared.id, agreement_id: prepared.agreementId, status: 'running', progress: { done: 0, total: prepared.total }, error: null,
    };
    const done = this.run(prepared, view, createdBy, at).finally(() => slot.release());
    this.runs.set(prepared.id, { view, done });
    return { ...view, progress: { ...view.progress } };
  }

  private async run(prepared: PreparedSimulation, view: SimulationRunView, createdBy: string, at: Instant): Promise<void> {
    try {
      await this.between();
      const result = await runSimulation(prepared, async (done, total) => {
        view.progress = { done, total };
        await this.between();
      }, SERVER_BATCH);
      await new SimulationRepository(this.store.db).insert(result.id, result.agreement_id, createdBy, at, result);
      this.runs.delete(prepared.id);
    } catch (error) {
      view.status = 'failed';
      view.error = error instanceof DatapactError && error.status < 500
        ? { code: error.code, message: error.message }
        : { code: 'simulation_failed', message: 'The simulation failed; the server log says why. Run it again.' };
      this.onFailure(error, prepared.id);
      this.forgetOldFailures();
    }
  }

  private forgetOldFailures(): void {
    const failed = [...this.runs].filter(([, run]) => run.view.status === 'failed');
    for (const [id] of failed.slice(0, Math.max(0, failed.length - FAILED_KEPT))) this.runs.delete(id);
  }

  /** A simulation of the agreement: its result when stored, else its run (running or failed), else undefined. */
  async get(agreementId: string, id: string): Promise<{ result: SimulationResult } | { run: SimulationRunView } | undefined> {
    const run = this.runs.get(id);
    if (run !== undefined && run.view.agreement_id === agreementId) return { run: { ...run.view, progress: { ...run.view.progress } } };
    const stored = await new SimulationRepository(this.store.db).get(agreementId, id);
    return stored === undefined ? undefined : { result: stored as SimulationResult };
  }

  /** The stored results of the agreement, newest first (optionally those of one draft). */
  async stored(agreementId: string, draftId: string | undefined, limit: number): Promise<SimulationResult[]> {
    const stored = await new SimulationRepository(this.store.db).newestFirst(agreementId) as SimulationResult[];
    return stored.filter((s) => draftId === undefined || s.draft_agreement_id === draftId).slice(0, limit);
  }

  /** Resolves when every run started so far has finished (stored or failed): for shutting down, and for tests. */
  async settled(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.done));
  }
}
