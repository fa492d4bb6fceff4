import type { DatabaseConnection, Dialect, Driver, TransactionSettings } from 'kysely';
import { DatabaseUnavailable } from '../domain/errors.js';

/** Seconds a client waits before trying again: a lock clears soon, a full disk or a restart takes longer. */
const RETRY_SOON = 1;
const RETRY_LATER = 5;

/**
 * SQLite's result codes for faults outside the request that clear without a restart: a full disk
 * (or `max_page_count` reached), a file or folder made read-only (`PRAGMA query_only` too), a lock
 * held by another connection past `busy_timeout`, an I/O error. Extended codes (SQLITE_BUSY_SNAPSHOT,
 * SQLITE_READONLY_DIRECTORY, SQLITE_IOERR_WRITE…) share their primary code's prefix.
 */
const SQLITE_FAULTS: readonly (readonly [prefix: string, retryAfter: number])[] = [
  ['SQLITE_BUSY', RETRY_SOON], ['SQLITE_LOCKED', RETRY_SOON], ['SQLITE_FULL', RETRY_LATER],
  ['SQLITE_READONLY', RETRY_LATER], ['SQLITE_IOERR', RETRY_LATER],
];

/**
 * PostgreSQL's SQLSTATEs of the same kind: class 08 (connection exceptions), class 53 (insufficient
 * resources: 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections), 57P01-57P05 (the
 * server shutting down, restarting, not yet accepting connections, idle sessions ended), 25006
 * (read_only_sql_transaction: a standby, or default_transaction_read_only), 55P03 (lock_not_available),
 * 40001 / 40P01 (serialization failure, deadlock: the transaction was rolled back and may be retried).
 */
function postgresRetryAfter(sqlstate: string): number | undefined {
  if (sqlstate === '55P03' || sqlstate === '40001' || sqlstate === '40P01') return RETRY_SOON;
  if (sqlstate.startsWith('08') || sqlstate.startsWith('53') || /^57P0[1-5]$/.test(sqlstate) || sqlstate === '25006') return RETRY_LATER;
  return undefined;
}

/** Node's socket errors when PostgreSQL is out of reach, and pg's own when a connection ends under it. */
const NETWORK_FAULTS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const PG_CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error|Client was closed)/;

/**
 * A passing fault as a DatabaseUnavailable (503, Retry-After), its ES `cause` the driver's error;
 * undefined for anything else (a constraint violated, a bug), which keeps its own error.
 */
export function databaseFault(error: unknown): DatabaseUnavailable | undefined {
  if (error instanceof DatabaseUnavailable) return error;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const sqlite = SQLITE_FAULTS.find(([prefix]) => code.startsWith(prefix));
    if (sqlite !== undefined) return new DatabaseUnavailable(code, sqlite[1], error);
    if (NETWORK_FAULTS.has(code)) return new DatabaseUnavailable(code, RETRY_LATER, error);
    const retryAfter = /^[0-9A-Z]{5}$/.test(code) ? postgresRetryAfter(code) : undefined;
    if (retryAfter !== undefined) return new DatabaseUnavailable(code, retryAfter, error);
  }
  if (PG_CONNECTION_LOST.test(error.message)) return new DatabaseUnavailable('connection_lost', RETRY_LATER, error);
  // pg-pool's connect() rejects with an AggregateError when every address of the host refused.
  if (error instanceof AggregateError) return error.errors.map(databaseFault).find((fault) => fault !== undefined);
  return undefined;
}

/**
 * Wraps a Kysely dialect so that every query, and every connection taken from a pool, fails with
 * DatabaseUnavailable on a passing fault, the driver's error kept as its `cause`: the HTTP error
 * handler answers 503 with Retry-After, and logs the cause by name.
 *
 * It also keeps a failed rollback from hiding why the transaction failed. SQLite ends the
 * transaction itself on SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY and SQLITE_NOMEM, so the ROLLBACK
 * that Kysely sends after the error fails with "cannot rollback - no transaction is active", which
 * Kysely throws instead of the error (the only thing a full disk used to log). `stillInTransaction`
 * says whether that is so (SQLite; better-sqlite3's `inTransaction`): when it is not, there is
 * nothing to roll back and the failure is dropped. PostgreSQL's driver discards a connection whose
 * ROLLBACK failed (it is broken, or the server is gone): the failure is dropped there too.
 */
export function faultReporting(dialect: Dialect, stillInTransaction?: () => boolean): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new FaultReportingDriver(dialect.createDriver(), stillInTransaction),
  };
}

/** Awaits `work`, a sync throw included (better-sqlite3's connection throws rather than rejects). */
async function reported<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw databaseFault(error) ?? error;
  }
}

class FaultReportingDriver implements Driver {
  private readonly wrappers = new WeakMap<DatabaseConnection, DatabaseConnection>();
  private readonly originals = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(private readonly driver: Driver, private readonly stillInTransaction: (() => boolean) | undefined) {}

  init(): Promise<void> {
    return reported(() => this.driver.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await reported(() => this.driver.acquireConnection());
    let wrapper = this.wrappers.get(connection);
    if (wrapper === undefined) {
      wrapper = {
        executeQuery: (query) => reported(() => connection.executeQuery(query)),
        streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
      };
      this.wrappers.set(connection, wrapper);
      this.originals.set(wrapper, connection);
    }
    return wrapper;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return reported(() => this.driver.beginTransaction(this.original(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return reported(() => this.driver.commitTransaction(this.original(connection)));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.driver.rollbackTransaction(this.original(connection));
    } catch (error) {
      // Still open (SQLite): the connection cannot be used as it is, and saying so matters more.
      if (this.stillInTransaction?.() === true) throw error;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.driver.releaseConnection(this.original(connection));
  }

  destroy(): Promise<void> {
    return this.driver.destroy();
  }

  /** The driver's own connection: PostgreSQL's driver marks and releases it by private symbols. */
  private original(connection: DatabaseConnection): DatabaseConnection {
    return this.originals.get(connection) ?? connection;
  }
}
