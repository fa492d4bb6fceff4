/**
 * What WorkerSqliteDialect and its thread (sqlite-read-worker.ts) post to each other. Its own
 * module, so that the thread loads nothing of Kysely's.
 */

export interface ReadWorkerData {
  /** The SQLite file, opened read-only. */
  readonly path: string;
  /** Tests only: ReadGate's shared state (worker-sqlite-dialect.ts). */
  readonly gate?: SharedArrayBuffer;
}

export interface ReadRequest {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type ReadReply =
  | { readonly id: number; readonly rows: Record<string, unknown>[]; readonly changes?: bigint; readonly lastInsertRowid?: bigint }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly code?: string } };

/** ReadGate's state, slot 0: queries run; the next query waits; the waiting query's thread stops. Slot 1 counts queries that waited. */
export const GATE_OPEN = 0;
export const GATE_HELD = 1;
export const GATE_STOP = 2;

/**
 * A Buffer crosses postMessage as a plain Uint8Array: turned back into a Buffer (sharing its memory),
 * as better-sqlite3 binds and returns them. Everything else structured clone keeps as it was
 * (strings, numbers, bigints, null; a Date stays a Date, which SQLite refuses on either side alike).
 */
export function asBuffers(values: readonly unknown[]): unknown[] {
  return values.map(asBuffer);
}

export function asBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}
