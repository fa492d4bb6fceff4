import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type DatabaseIntrospector, type Dialect, type Driver, type Kysely, type QueryResult,
} from 'kysely';
import { startWorkerScript } from '../worker-script.js';
import { GATE_HELD, GATE_OPEN, GATE_STOP, asBuffer, type ReadReply, type ReadWorkerData } from './sqlite-read-protocol.js';

/**
 * SQLite through a worker thread: better-sqlite3 is synchronous, so a query on the main
 * connection holds the event loop (every request of the server) for as long as it runs. This
 * dialect posts each compiled query to a thread with its own read-only connection to the same
 * file (sqlite-read-worker.ts) and awaits the rows: a report that reads for seconds leaves the
 * Graph API answering. WAL lets that connection read the last committed state beside the writer.
 *
 * The thread starts with the first query. One that dies (a crash, or it could not open the file)
 * fails the queries it had with ReadWorkerStopped, and the next query starts a new one.
 */
export interface WorkerSqliteConfig {
  readonly path: string;
  /** Tests only: holds the thread's queries (ReadGate). */
  readonly gate?: ReadGate;
}

export class WorkerSqliteDialect implements Dialect {
  constructor(private readonly config: WorkerSqliteConfig) {}

  createDriver(): Driver {
    return new WorkerSqliteDriver(this.config);
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createAdapter() {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** A query the read thread could not answer because the thread stopped first (or was closed). */
export class ReadWorkerStopped extends Error {
  override readonly name = 'ReadWorkerStopped';
}

class WorkerSqliteDriver implements Driver {
  private readonly connection: DatabaseConnection;
  /** The read thread, started with the first query and replaced when it dies. */
  private thread: ReadThread | undefined;
  private closed = false;
  private nextId = 0;
  /** One connection, as Kysely's own SQLite driver has: a transaction keeps it until it ends. */
  private turns: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;

  constructor(private readonly config: WorkerSqliteConfig) {
    this.connection = {
      executeQuery: <R>(query: CompiledQuery) => this.query(query) as Promise<QueryResult<R>>,
      streamQuery: () => {
        throw new Error('The SQLite read worker does not stream; select a page at a time');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.turns;
    let release!: () => void;
    this.turns = new Promise((resolve) => { release = resolve; });
    await previous;
    this.release = release;
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    this.release?.();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  /** Queries already posted are answered first; then the thread closes its connection and ends. */
  async destroy(): Promise<void> {
    this.closed = true;
    await this.thread?.close();
  }

  private query({ sql, parameters }: CompiledQuery): Promise<QueryResult<unknown>> {
    if (this.closed) return Promise.reject(new ReadWorkerStopped(`The SQLite read worker of ${this.config.path} is closed`));
    if (this.thread === undefined || this.thread.stopped) this.thread = new ReadThread(this.config);
    return this.thread.query(this.nextId++, sql, parameters);
  }
}

interface Pending {
  resolve(result: QueryResult<unknown>): void;
  reject(error: Error): void;
}

class ReadThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private closing = false;
  stopped = false;

  constructor(private readonly config: WorkerSqliteConfig) {
    const workerData: ReadWorkerData = { path: config.path, ...(config.gate ? { gate: config.gate.shared } : {}) };
    this.worker = startWorkerScript(import.meta.url, './sqlite-read-worker', { workerData });
    this.holdProcess();
    this.worker.on('message', (reply: ReadReply) => this.settle(reply));
    this.worker.on('error', (error) => this.stop(error));
    this.worker.on('exit', (code) => this.stop(new Error(`exit code ${code}`)));
  }

  query(id: number, sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdProcess();
      this.worker.postMessage({ id, sql, parameters });
    });
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    this.holdProcess();
    const exited = once(this.worker, 'exit');
    this.worker.postMessage('close');
    await exited;
  }

  private settle(reply: ReadReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    this.holdProcess();
    if ('error' in reply) {
      pending.reject(Object.assign(new Error(reply.error.message), reply.error));
      return;
    }
    for (const row of reply.rows) for (const key in row) row[key] = asBuffer(row[key]);
    pending.resolve({
      rows: reply.rows,
      ...(reply.changes === undefined ? {} : { numAffectedRows: reply.changes, insertId: reply.lastInsertRowid }),
    });
  }

  /** An idle thread does not keep the process alive (a command that forgot to close the store still ends). */
  private holdProcess(): void {
    if (this.pending.size > 0 || this.closing) this.worker.ref();
    else this.worker.unref();
  }

  private stop(cause: Error): void {
    this.stopped = true;
    for (const { reject } of this.pending.values()) {
      reject(new ReadWorkerStopped(`The SQLite read worker of ${this.config.path} stopped before answering (${cause.message})`, { cause }));
    }
    this.pending.clear();
  }
}

/**
 * Tests only: makes the read thread wait before its next query, blocked as it would be in a long
 * SQLite query, until `open()`; or, with `stop()`, end the thread there as if it died mid-query.
 * Deterministic: no timer decides anything, the test says when the query may go on.
 */
export class ReadGate {
  readonly shared = new SharedArrayBuffer(8);
  private readonly state = new Int32Array(this.shared);

  /** The next query waits. */
  hold(): void {
    Atomics.store(this.state, 0, GATE_HELD);
  }

  /** Resolves once `count` queries in all have reached the held gate. */
  async waiting(count = 1): Promise<void> {
    for (let seen = Atomics.load(this.state, 1); seen < count; seen = Atomics.load(this.state, 1)) {
      await waitAsync(this.state, 1, seen).value;
    }
  }

  /** The waiting query runs, and the ones after it. */
  open(): void {
    this.set(GATE_OPEN);
  }

  /** The thread of the waiting query ends without answering it; later queries run on a new thread. */
  stop(): void {
    this.set(GATE_STOP);
  }

  private set(state: number): void {
    Atomics.store(this.state, 0, state);
    Atomics.notify(this.state, 0);
  }
}

/** Node 20 has Atomics.waitAsync; the ES2023 lib the project compiles against does not declare it. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string };
}).waitAsync;
