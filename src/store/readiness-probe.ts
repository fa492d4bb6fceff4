import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './database.js';
import { dialectOf } from './dialect.js';

/**
 * SQLite's padding: 16 pages of 4 KiB that the probe must find room for (free pages, or a file that
 * can grow), as the next requests' writes will. PostgreSQL needs none: any write there goes through
 * its write-ahead log, which fails when its disk is full.
 */
const SQLITE_PADDING = Buffer.alloc(64 * 1024);

/** How long the probe waits for another connection's write lock (SQLite) before calling it a fault. */
const SQLITE_PROBE_BUSY_MS = 100;

/**
 * Proves the database takes writes now: a row inserted and deleted in one committed transaction
 * (table `readiness_probes`, migration 0023), nothing audited. Throws what a request's write would
 * (DatabaseUnavailable for a full disk, a read-only database or standby, a lock held elsewhere, a
 * server out of reach). On SQLite it waits at most SQLITE_PROBE_BUSY_MS for a lock, not the
 * connection's busy_timeout, since that wait holds the server's only thread.
 */
export async function probeWrite(db: Db): Promise<void> {
  const sqlite = dialectOf(db) === 'sqlite';
  await db.transaction().execute(async (trx) => {
    const restore = sqlite ? await shortBusyTimeout(trx) : undefined;
    try {
      const id = `probe-${randomUUID()}`;
      await trx.insertInto('readiness_probes').values({ id, padding: sqlite ? SQLITE_PADDING : Buffer.alloc(0) }).execute();
      await trx.deleteFrom('readiness_probes').where('id', '=', id).execute();
    } finally {
      await restore?.();
    }
  });
}

async function shortBusyTimeout(trx: Db): Promise<() => Promise<void>> {
  const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(trx);
  const previous = Number(rows[0]?.timeout ?? 0);
  await sql.raw(`pragma busy_timeout = ${SQLITE_PROBE_BUSY_MS}`).execute(trx);
  return async () => { await sql.raw(`pragma busy_timeout = ${previous}`).execute(trx); };
}
