/** What WalCheckpointing (wal-checkpointing.ts) and its thread (wal-checkpoint-worker.ts) pass each other. */
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
/** The thread's first message: its connection is open. */
export const WAL_THREAD_READY = 'ready';
