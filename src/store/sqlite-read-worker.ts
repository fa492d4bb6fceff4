import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { GATE_HELD, GATE_STOP, type ReadRequest, type ReadReply, type ReadWorkerData, asBuffers } from './sqlite-read-protocol.js';
import { withStatementCache } from './statement-cache.js';
import { lowerThreadPriority } from './thread-priority.js';

/**
 * The thread of WorkerSqliteDialect (worker-sqlite-dialect.ts): its own read-only connection to the
 * database file, answering the queries it is posted one after the other. WAL lets it read the last
 * committed state while the main connection writes.
 */
const { path, gate } = workerData as ReadWorkerData;
lowerThreadPriority();
const sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
sqlite.pragma('busy_timeout = 5000');
const database = withStatementCache(sqlite);
const gateState = gate === undefined ? undefined : new Int32Array(gate);

parentPort!.on('message', (request: ReadRequest | 'close') => {
  if (request === 'close') {
    sqlite.close();
    parentPort!.close();
    return;
  }
  waitAtGate();
  parentPort!.postMessage(answer(request));
});

function answer({ id, sql, parameters }: ReadRequest): ReadReply {
  try {
    // Structured clone hands a Buffer over as a plain Uint8Array, which better-sqlite3 does not bind.
    const statement = database.prepare(sql);
    const bound = asBuffers(parameters);
    if (statement.reader) return { id, rows: statement.all(bound) as Record<string, unknown>[] };
    const { changes, lastInsertRowid } = statement.run(bound);
    return { id, rows: [], changes: BigInt(changes), lastInsertRowid: BigInt(lastInsertRowid) };
  } catch (error) {
    const { name, message, code } = error as { name?: string; message?: string; code?: unknown };
    return { id, error: { name: name ?? 'Error', message: message ?? String(error), ...(typeof code === 'string' ? { code } : {}) } };
  }
}

/**
 * Tests only (ReadGate): a held gate blocks this thread as a long query would, until the test opens
 * it, or stops the thread as if it had died in the middle of the query.
 */
function waitAtGate(): void {
  if (gateState === undefined || Atomics.load(gateState, 0) !== GATE_HELD) return;
  Atomics.add(gateState, 1, 1);
  Atomics.notify(gateState, 1);
  while (Atomics.load(gateState, 0) === GATE_HELD) Atomics.wait(gateState, 0, GATE_HELD);
  if (Atomics.load(gateState, 0) === GATE_STOP) process.exit(1);
}
