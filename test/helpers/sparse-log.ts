import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { ENTRY_COLUMNS, pushEntryColumns } from '../../src/store/audit-rows.js';
import type { Db } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';

/**
 * A log with gaps, as tests of its partitions need: `legacy` entries in audit_entries (before
 * migration 0020) at seqs 1, 2, …, then each request's lean entries from the first seq `places`
 * gives it. Returns every entry by seq.
 */
export async function sparseLog(
  db: Db, store: Store, legacy: readonly AuditEntry[], places: ReadonlyArray<readonly [number, readonly AuditEntry[]]>,
): Promise<Map<number, AuditEntry>> {
  const all = new Map<number, AuditEntry>();
  for (const [i, entry] of legacy.entries()) {
    const values: unknown[] = [];
    pushEntryColumns(values, entry);
    const row = Object.fromEntries(ENTRY_COLUMNS.map((column, k) => [column, values[k]]));
    await db.insertInto('audit_entries').values({ ...row, seq: i + 1, leaf_hash: null } as never).execute();
    all.set(i + 1, entry);
  }
  for (const [firstSeq, entries] of places) {
    await store.audit.insertEntries(firstSeq - 1, [...entries]);
    entries.forEach((entry, i) => all.set(firstSeq + i, entry));
  }
  return all;
}
