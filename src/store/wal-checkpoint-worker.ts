import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { lowerThreadPriority } from './thread-priority.js';
import { WAL_THREAD_READY, type WalCheckpoint, type WalCheckpointReply, type WalCheckpointWorkerData } from './wal-checkpoint-protocol.js';

/**
 * The thread of WalCheckpointing (wal-checkpointing.ts): its own connection to the database file,
 * checkpointing the WAL every `intervalMs` and when asked. PASSIVE: it copies what no reader still
 * needs and never waits, so the server's commits do not wait for it either.
 */
const { path, intervalMs } = workerData as WalCheckpointWorkerData;
lowerThreadPriority();
const sqlite = new BetterSqlite3(path, { fileMustExist: true });
sqlite.pragma('busy_timeout = 0');
const statement = sqlite.prepare('pragma wal_checkpoint(PASSIVE)');

function checkpoint(): WalCheckpoint {
  const row = statement.get() as { busy: number; log: number; checkpointed: number };
  return { busy: row.busy !== 0, walFrames: row.log, checkpointed: row.checkpointed };
}

function reply(): WalCheckpointReply {
  try {
    return { checkpoint: checkpoint() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

// A failed timed checkpoint is tried again at the next tick; the server's backstop covers a thread that keeps failing.
setInterval(() => reply(), intervalMs);
parentPort!.on('message', () => parentPort!.postMessage(reply()));
parentPort!.postMessage(WAL_THREAD_READY);
