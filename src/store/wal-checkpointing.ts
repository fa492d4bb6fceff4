import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import { sqliteConnectionOf, type Db } from './database.js';

export interface WalCheckpointWorkerData {
  readonly path: string;
  readonly intervalMs: number;
}

/** What one checkpoint did (SQLite's `wal_checkpoint` row): frames in the WAL, and how many of them are now in the database file. */
export interface WalCheckpoint {
  readonly busy: boolean;
  readonly walFrames: number;
  readonly checkpointed: number;
}

export type WalCheckpointReply = { readonly checkpoint: WalCheckpoint } | { readonly error: string };

/** Pages the server's own connection lets gather before it checkpoints itself: the backstop, should the thread stop. */
export const BACKSTOP_PAGES = 16_384;
/** SQLite's default, restored when the thread stops. */
const SQLITE_DEFAULT_PAGES = 1000;

/**
 * WAL checkpoints off the request thread. In WAL mode SQLite copies the log back into the database
 * file (a checkpoint, and with synchronous=NORMAL the only time it waits for the disk) on the
 * connection whose commit takes the WAL past `wal_autocheckpoint` pages: the server's, inside
 * the commit of some request's audit entries, which then takes 10 to 30 ms instead of about one
 * (bench:http). A worker thread with a connection of its own checkpoints instead, PASSIVE (it
 * never waits for the writer or a reader), every `intervalMs`; the server's connection keeps an
 * autocheckpoint of BACKSTOP_PAGES (64 MB of 4 KB pages), far above what the thread lets gather,
 * for if the thread stops. For a SQLite file only: an in-memory database has no WAL, PostgreSQL
 * checkpoints on its own.
 */
export class WalCheckpointing {
  private readonly pending: Array<(reply: WalCheckpointReply) => void> = [];
  private stopped = false;

  private constructor(private readonly worker: Worker, private readonly sqlite: NonNullable<ReturnType<typeof sqliteConnectionOf>>) {
    worker.on('message', (reply: WalCheckpointReply) => this.answer(reply));
    worker.on('error', (error) => this.failAll(error.message));
    worker.on('exit', (code) => this.failAll(`the WAL checkpoint thread stopped (exit code ${code})`));
    // It never keeps a process alive: one that ends without stopping it leaves SQLite's own checkpoint at close.
    worker.unref();
  }

  /** Starts the thread for `db`, opened on the SQLite file at `path`; undefined where there is nothing to checkpoint. */
  static start(db: Db, path: string, { intervalMs = 250 }: { intervalMs?: number } = {}): WalCheckpointing | undefined {
    const sqlite = sqliteConnectionOf(db);
    if (sqlite === undefined || path === ':memory:' || String(sqlite.pragma('journal_mode', { simple: true })) !== 'wal') return undefined;
    const workerData: WalCheckpointWorkerData = { path, intervalMs };
    const checkpointing = new WalCheckpointing(startWorkerScript(import.meta.url, './wal-checkpoint-worker', { workerData }), sqlite);
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    return checkpointing;
  }

  /** One checkpoint now, on the thread, besides those of its timer (tests; `stop`). */
  checkpoint(): Promise<WalCheckpoint> {
    if (this.stopped) return Promise.reject(new Error('WAL checkpointing has stopped'));
    return new Promise((resolve, reject) => {
      this.pending.push((reply) => ('error' in reply ? reject(new Error(reply.error)) : resolve(reply.checkpoint)));
      this.worker.ref(); // until the answer comes
      this.worker.postMessage('checkpoint');
    });
  }

  /** Ends the thread; the server's connection checkpoints for itself again, as SQLite does by default. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    await this.worker.terminate();
  }

  private answer(reply: WalCheckpointReply): void {
    this.pending.shift()?.(reply);
    if (this.pending.length === 0) this.worker.unref();
  }

  private failAll(error: string): void {
    for (const answer of this.pending.splice(0)) answer({ error });
  }
}
