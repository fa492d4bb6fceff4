import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import { sqliteConnectionOf, type Db } from './database.js';
import { WAL_THREAD_READY, type WalCheckpoint, type WalCheckpointReply, type WalCheckpointWorkerData } from './wal-checkpoint-protocol.js';

export type { WalCheckpoint } from './wal-checkpoint-protocol.js';

/** Pages the server's own connection lets gather before it checkpoints itself: the backstop, should the thread stop. */
export const BACKSTOP_PAGES = 16_384;
/** SQLite's default, restored when the thread stops. */
const SQLITE_DEFAULT_PAGES = 1000;

/**
 * WAL checkpoints off the request thread. In WAL mode SQLite copies the log back into the database
 * file (a checkpoint, and with synchronous=NORMAL the only time it waits for the disk) on the
 * connection whose commit takes the WAL past `wal_autocheckpoint` pages: the server's, inside
 * the commit of some request's audit batch, which every request of the batch waits for. A worker thread with a connection of its own checkpoints instead, PASSIVE (it
 * never waits for the writer or a reader), every `intervalMs`; the server's connection keeps an
 * autocheckpoint of BACKSTOP_PAGES (64 MB of 4 KB pages), far above what the thread lets gather,
 * for if the thread stops. For a SQLite file only: an in-memory database has no WAL, PostgreSQL
 * checkpoints on its own.
 */
export class WalCheckpointing {
  private readonly pending: Array<(reply: WalCheckpointReply) => void> = [];
  private stopped = false;
  private started = false;

  private constructor(
    private readonly worker: Worker,
    private readonly sqlite: NonNullable<ReturnType<typeof sqliteConnectionOf>>,
    private readonly onError: (error: Error) => void,
  ) {
    worker.on('message', (reply: WalCheckpointReply | typeof WAL_THREAD_READY) => {
      if (reply === WAL_THREAD_READY) this.started = true;
      else this.pending.shift()?.(reply);
      this.refWhileNeeded();
    });
    worker.on('error', (error) => this.failAll(error.message));
    worker.on('exit', (code) => {
      this.failAll(`the WAL checkpoint thread stopped (exit code ${code})`);
      if (this.stopped) return;
      // Died on its own (the file could not be opened, say): the server's connection checkpoints as SQLite does.
      this.stopped = true;
      this.restoreAutocheckpoint();
      this.onError(new Error(`the WAL checkpoint thread stopped (exit code ${code}); the server's connection checkpoints for itself`));
    });
  }

  /** Starts the thread for `db`, opened on the SQLite file at `path`; undefined where there is nothing to checkpoint. */
  static start(db: Db, path: string, { intervalMs = 250, onError = () => {} }: { intervalMs?: number; onError?: (error: Error) => void } = {}): WalCheckpointing | undefined {
    const sqlite = sqliteConnectionOf(db);
    if (sqlite === undefined || path === ':memory:' || String(sqlite.pragma('journal_mode', { simple: true })) !== 'wal') return undefined;
    const workerData: WalCheckpointWorkerData = { path, intervalMs };
    const checkpointing = new WalCheckpointing(startWorkerScript(import.meta.url, './wal-checkpoint-worker', { workerData }), sqlite, onError);
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    return checkpointing;
  }

  /** One checkpoint now, on the thread, besides those of its timer (tests; `stop`). */
  checkpoint(): Promise<WalCheckpoint> {
    if (this.stopped) return Promise.reject(new Error('WAL checkpointing has stopped'));
    return new Promise((resolve, reject) => {
      this.pending.push((reply) => ('error' in reply ? reject(new Error(reply.error)) : resolve(reply.checkpoint)));
      this.refWhileNeeded();
      this.worker.postMessage('checkpoint');
    });
  }

  /** Ends the thread; the server's connection checkpoints for itself again, as SQLite does by default. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.restoreAutocheckpoint();
    await this.worker.terminate();
  }

  private restoreAutocheckpoint(): void {
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  }

  /**
   * The thread keeps the process alive only until its connection is open (so a failure to open is
   * reported) and while a checkpoint asked for is under way: a process that ends without stopping
   * it leaves the last checkpoint to SQLite's own, at close.
   */
  private refWhileNeeded(): void {
    if (!this.started || this.pending.length > 0) this.worker.ref();
    else this.worker.unref();
  }

  private failAll(error: string): void {
    for (const answer of this.pending.splice(0)) answer({ error });
  }
}
