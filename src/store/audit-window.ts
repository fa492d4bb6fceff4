import { sql } from 'kysely';
import type { Db } from './database.js';
import { LEAVES_PER_PARTITION } from './member-leaves.js';

/**
 * Where a time window's entries lie in the log, by seq: every entry of a request whose instant is in
 * the window is a leaf with `from <= seq < end` of a request with `from <= first_seq < firstBelow`.
 */
export interface WindowSeqs {
  readonly from: number;
  readonly firstBelow: number;
  readonly end: number;
}

/** Partitions whose earliest (or latest) instant one statement reads: one index look-up each. */
const PARTITIONS_PER_READ = 64;

/**
 * The seqs of the requests with an instant in [from, to) (ISO text; either end may be open), or
 * undefined when there are none, through the requests' instants indexed per partition of the log
 * (migration 0041). Instants mostly rise with seq, but not always (a request's instant is taken before
 * it waits for the log, and servers' clocks differ), so nothing is assumed of their order: the window
 * ends below the newest partition whose earliest instant is before `to`, and starts at the oldest whose
 * latest instant is at or after `from`. Each is found by reading partitions from that end of the log,
 * PARTITIONS_PER_READ at a time: at most the log's partitions (1,526 at 100M entries).
 */
export async function windowSeqs(db: Db, from: string | undefined, to: string | undefined): Promise<WindowSeqs | undefined> {
  const ends = await db.selectNoFrom((eb) => [
    eb.selectFrom('audit_requests').select((e) => e.fn.min('first_seq').as('s')).as('first'),
    eb.selectFrom('audit_requests').select((e) => e.fn.max('first_seq').as('s')).as('last'),
  ]).executeTakeFirst();
  if (ends?.first == null || ends.last == null) return undefined;
  const [oldest, newest] = [partitionOf(Number(ends.first)), partitionOf(Number(ends.last))];
  const top = to === undefined ? newest : await firstPartition(db, newest, oldest, 'min', (at) => at < to);
  const bottom = from === undefined ? oldest : await firstPartition(db, oldest, newest, 'max', (at) => at >= from);
  if (top === undefined || bottom === undefined || bottom > top) return undefined;
  const firstBelow = (top + 1) * LEAVES_PER_PARTITION;
  // The last request that starts below the bound ends the window's leaves (a request may run past its partition).
  const last = await db.selectFrom('audit_requests').select(sql<number>`first_seq + leaf_count`.as('end'))
    .where('first_seq', '<', firstBelow).orderBy('first_seq', 'desc').limit(1).executeTakeFirstOrThrow();
  return { from: bottom * LEAVES_PER_PARTITION, firstBelow, end: Number(last.end) };
}

/** The first partition from `start` towards `stop` (inclusive) whose earliest or latest instant passes `test`. */
async function firstPartition(db: Db, start: number, stop: number, end: 'min' | 'max', test: (at: string) => boolean): Promise<number | undefined> {
  const step = stop >= start ? 1 : -1;
  for (let p = start; step * (stop - p) >= 0; p += step * PARTITIONS_PER_READ) {
    const partitions = Array.from({ length: Math.min(PARTITIONS_PER_READ, step * (stop - p) + 1) }, (_, i) => p + step * i);
    const instants = await instantsOf(db, partitions, end);
    const found = instants.findIndex((at) => at !== null && test(at));
    if (found >= 0) return partitions[found];
  }
  return undefined;
}

/**
 * The earliest (or latest) instant of each partition's requests (null for a partition without any):
 * one scalar subquery each, which SQLite and PostgreSQL both answer from an end of the index's slice.
 */
async function instantsOf(db: Db, partitions: readonly number[], end: 'min' | 'max'): Promise<(string | null)[]> {
  const fn = sql.raw(end);
  const columns = partitions.map((p, i) => sql`(select ${fn}(at) from audit_requests where (first_seq / ${sql.lit(LEAVES_PER_PARTITION)}) = ${p})`
    .as(`p${i}`));
  const row = await db.selectNoFrom(columns as never).executeTakeFirstOrThrow() as Record<string, string | null>;
  return partitions.map((_, i) => row[`p${i}`] ?? null);
}

function partitionOf(seq: number): number {
  return Math.floor(seq / LEAVES_PER_PARTITION);
}
