import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from './database.js';

/**
 * A member's leaves, newest first, through the index of leaves by subject within partitions of
 * consecutive seqs (migration 0035: `(seq / 65536, subject_member_id, seq)`, so that appends write
 * only the newest partition's slice of it). A read visits the partitions newest first and stops as
 * soon as it has what it needs: the newest partition alone, then twice as many at once each time
 * up to MAX_PARTITIONS_PER_READ, so a member with entries in the newest partitions costs a query or
 * two, and one with none a query per doubling (8 at 10M entries, 153 partitions; 13 at 100M, 1,526).
 */
export const LEAVES_PER_PARTITION = 65_536;

/** The partitions one query probes at most (one index look-up each). */
const MAX_PARTITIONS_PER_READ = 256;

/**
 * Reads the leaves of `memberId` (alias `l`) among those `inPartitions` selects, at most `limit`,
 * newest first.
 */
export type PartitionRead<R> = (inPartitions: Expression<SqlBool>, limit: number) => Promise<R[]>;

/** Up to `limit` rows of `read`, newest first, of leaves with seq below `beforeSeq` (all when null). */
export async function newestLeavesBySubject<R>(db: Db, beforeSeq: number | null, limit: number, read: PartitionRead<R>): Promise<R[]> {
  const bounds = await leafSeqs(db);
  if (bounds === undefined) return [];
  const newest = beforeSeq === null ? bounds.last : Math.min(bounds.last, beforeSeq - 1);
  const oldest = partitionOf(bounds.first);
  const rows: R[] = [];
  for (let top = partitionOf(newest), width = 1; top >= oldest && rows.length < limit; top -= width, width = Math.min(2 * width, MAX_PARTITIONS_PER_READ)) {
    const partitions = Array.from({ length: Math.min(width, top - oldest + 1) }, (_, i) => top - i);
    rows.push(...await read(inPartitions(partitions), limit - rows.length));
  }
  return rows;
}

function partitionOf(seq: number): number {
  return Math.floor(seq / LEAVES_PER_PARTITION);
}

/** The index's own expression, which the planners match to it; one partition is an equality, read in seq order. */
function inPartitions(partitions: readonly number[]): Expression<SqlBool> {
  const partition = sql`(${sql.ref('l.seq')} / ${sql.lit(LEAVES_PER_PARTITION)})`;
  return partitions.length === 1
    ? sql<SqlBool>`${partition} = ${partitions[0]}`
    : sql<SqlBool>`${partition} in (${sql.join(partitions)})`;
}

/** The first and last seq of audit_leaves (each a look-up at an end of its key), undefined when it is empty. */
async function leafSeqs(db: Db): Promise<{ first: number; last: number } | undefined> {
  const row = await db.selectNoFrom((eb) => [
    eb.selectFrom('audit_leaves').select((e) => e.fn.min('seq').as('s')).as('first'),
    eb.selectFrom('audit_leaves').select((e) => e.fn.max('seq').as('s')).as('last'),
  ]).executeTakeFirst();
  if (row?.first == null || row.last == null) return undefined;
  return { first: Number(row.first), last: Number(row.last) };
}
