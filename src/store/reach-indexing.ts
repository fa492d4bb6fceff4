import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import { AuditRepository } from './audit-repository.js';
import type { Db } from './database.js';
import { emptySet } from './member-sets.js';
import { storeReachPiece, type ReachPiece } from './reach.js';

export interface ReachWorkerData {
  /** The database's file or URL, opened read-only. */
  readonly location: string;
}

export type ReachWorkerReply = { readonly pieces: readonly ReachPiece[] } | { readonly error: string };

export interface ReachIndexingOptions {
  /** Store steps per run, each one piece (PIECES_PER_RUN). */
  readonly piecesPerRun?: number;
  /**
   * Finds the pieces instead of the worker thread (tests of the storing, which a thread's start,
   * seconds under tsx, would only slow down). The server always uses the thread.
   */
  readonly find?: () => Promise<readonly ReachPiece[]>;
}

/**
 * Store steps per scheduler run: at a million members (16 spans) a partner and month's four sets
 * make at most 64 pieces, so a run stores two partner-months' newcomers even when their sets reach
 * every member; at 100,000 (two spans) bench:reports' 299 newcomers in five partners made 30 pieces.
 * A step takes some 0.2 ms: a run, padded or not, holds the writer some 25 ms in all, in 128 turns.
 */
export const PIECES_PER_RUN = 128;

/**
 * The counterfactual's reach indexed for the server's scheduler, off the appender (issue 11 point
 * 0): the work of finding what new token members add grows with their two-hop neighbourhood,
 * hidden friends included, so if it ran where partners' entries are appended, a partner timing
 * its appends would learn something about friends it is not shown. A worker thread with its own
 * read-only connection (reach-worker.ts) finds it and cuts it into pieces of at most one span of
 * member numbers (reachPieces); each `run` (one per scheduler run, at the scheduler's fixed
 * cadence) then stores exactly `piecesPerRun` of them, each in a transaction of its own with the
 * same statements and rows and at most 8 KB read and written (storeReachPiece), the event loop
 * getting a turn between two. When fewer are queued the run pads with empty pieces (rewriting the
 * row stored last as it is, or a padding row of its own before the first), so from a server's first
 * run on, every run writes the same, however many pieces the neighbourhoods made, and whether any;
 * the rest waits for the next runs. An append waits for at
 * most one such step (SQLite has one writer; on PostgreSQL the steps take a lock of their own and
 * rows no append writes, so an append does not wait for them at all).
 *
 * Reports stay exact meanwhile: they expand the token members not indexed yet themselves (reachOf),
 * and the pieces go in an order that never leaves a token member half indexed (reach.ts). Pieces
 * still queued when the process ends are lost with it, and found again: their token members are
 * not in `reach_tokens` yet, so the next worker finds what is missing.
 *
 * A worker is started only when there may be something to find: from the second run on (a
 * server's first run, at start, would cost every short-lived process a thread for nothing), when
 * the queue is empty (it would find the queued pieces again) and the log has grown since the last
 * worker started (token members come only with appended entries).
 */
export class ReachIndexing {
  private worker: Worker | undefined;
  private finding: Promise<void> | undefined;
  private queue: ReachPiece[] = [];
  private failure: Error | undefined;
  private stopped = false;
  /** The log's size when the last worker started; undefined before the first run, which starts none. */
  private sizeAtLastFind: number | undefined;
  /** The piece stored last, rewritten as it is by the padding steps. */
  private lastStored: ReachPiece | undefined;
  private readonly piecesPerRun: number;
  private readonly findHere: (() => Promise<readonly ReachPiece[]>) | undefined;
  /** What the last run stored: pieces found, padding steps, and each step's time (benchmarks). */
  lastRun: { pieces: number; padding: number; stepMs: number[] } = { pieces: 0, padding: 0, stepMs: [] };

  /** `location`: the database's file or URL, which the worker opens read-only. */
  constructor(private readonly db: Db, private readonly location: string, options: ReachIndexingOptions = {}) {
    this.piecesPerRun = options.piecesPerRun ?? PIECES_PER_RUN;
    this.findHere = options.find;
  }

  /** Pieces found and not stored yet. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Stores `piecesPerRun` pieces (returns how many token members that indexes; a failure of the
   * last worker is thrown after them, once), then starts the next worker if the queue is empty, the
   * log grew since the last one started (and this is not the first run) and none is at work.
   */
  async run(): Promise<number> {
    try {
      const tokens = await this.storeSteps();
      const failure = this.failure;
      this.failure = undefined;
      if (failure !== undefined) throw failure;
      return tokens;
    } finally {
      // Every run reads the log's size, whether a worker starts or not: the run's statements stay the same.
      if (!this.stopped) await this.findIfGrown();
    }
  }

  private async storeSteps(): Promise<number> {
    let tokens = 0;
    const run: ReachIndexing['lastRun'] = (this.lastRun = { pieces: 0, padding: 0, stepMs: [] });
    for (let step = 0; step < this.piecesPerRun; step++) {
      const piece = this.queue.shift();
      const stored = piece ?? (this.lastStored === undefined ? PADDING : { ...this.lastStored, members: EMPTY_PIECE, size: 0 });
      if (step > 0) await new Promise((resolve) => setImmediate(resolve)); // appends queued meanwhile go first
      const started = performance.now();
      try {
        await storeReachPiece(this.db, stored);
      } catch (error) {
        if (piece !== undefined) this.queue.unshift(piece);
        throw error;
      }
      run.stepMs.push(performance.now() - started);
      if (piece === undefined) {
        run.padding++;
        continue;
      }
      run.pieces++;
      this.lastStored = piece;
      if (piece.kind === 'reach_tokens') tokens += piece.size;
    }
    return tokens;
  }

  private async findIfGrown(): Promise<void> {
    const size = await new AuditRepository(this.db).treeSize();
    if (this.finding !== undefined || this.queue.length > 0) return;
    const first = this.sizeAtLastFind === undefined;
    if (!first && size === this.sizeAtLastFind) return;
    this.sizeAtLastFind = first ? -1 : size;
    if (!first) this.finding = this.find().finally(() => { this.finding = undefined; });
  }

  /** Waits for the worker at work, if any (benchmarks, tests: what the next runs will store is then queued). */
  async settled(): Promise<void> {
    await this.finding;
  }

  /** Ends the worker at work, if any; nothing more is started. Pieces still queued are dropped (found again later). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.worker?.terminate();
    await this.finding;
  }

  private async find(): Promise<void> {
    try {
      const pieces = await (this.findHere ?? (() => this.findInWorker()))();
      if (!this.stopped) this.queue.push(...pieces);
    } catch (error) {
      if (this.stopped) return;
      this.failure = error as Error;
      // Found nothing: the next run tries again, whether or not the log grows meanwhile.
      this.sizeAtLastFind = -1;
    }
  }

  private async findInWorker(): Promise<readonly ReachPiece[]> {
    const workerData: ReachWorkerData = { location: this.location };
    const worker = startWorkerScript(import.meta.url, './reach-worker', { workerData });
    this.worker = worker;
    try {
      const reply = await new Promise<ReachWorkerReply>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the reach indexing thread stopped (exit code ${code})`)));
      });
      if ('error' in reply) throw new Error(`reach indexing failed: ${reply.error}`);
      return reply.pieces;
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }
}

/** An empty set, serialized: a padding step's piece. */
const EMPTY_PIECE = new Uint8Array(emptySet().serialize('portable'));
/**
 * What a padding step rewrites before this process has stored a piece: a row of its own kind, which
 * no report reads, so that runs write the same from a server's first run on, not only from the
 * first newcomer it indexed.
 */
const PADDING: ReachPiece = { kind: 'reach_padding', month: '0000-00', partner: 'padding', start: 0, members: EMPTY_PIECE, size: 0 };
