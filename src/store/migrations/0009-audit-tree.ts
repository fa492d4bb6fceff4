import type { Kysely, Migration } from 'kysely';
import { encodeEntry } from '../../audit/canonical-entry.js';
import { leafHash } from '../../audit/merkle-hash.js';
import { appendLeavesPlan, runPlanSync, MemorySubtreeStore } from '../../audit/merkle-tree.js';
import { entryFromRow } from '../audit-rows.js';
import { columnTypes } from './column-types.js';

/**
 * The audit log becomes a Merkle tree (issue 5, README "Audit log"):
 * - `audit_entries.leaf_hash`: SHA-256(0x00 || canonical entry), the tree's level 0, written with
 *   the entry; `seq - 1` is the entry's leaf index;
 * - `audit_nodes`: every complete subtree above the leaves, (level, idx) → hash, only ever inserted;
 * - `audit_heads`: the signed tree heads, one per tree size.
 * Entries written before this migration are hashed into the tree here, in `seq` order.
 * (Hashes are `bytea` on PostgreSQL; sizes, indexes and the epoch-millisecond timestamp `bigint`.)
 */
export const auditTree: Migration = {
  async up(db: Kysely<any>) {
    const { bytes, bigInteger } = columnTypes(db);
    await db.schema.alterTable('audit_entries').addColumn('leaf_hash', bytes).execute();
    await db.schema
      .createTable('audit_nodes')
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('idx', bigInteger, (c) => c.notNull())
      .addColumn('hash', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_nodes_pk', ['level', 'idx'])
      .execute();
    await db.schema
      .createTable('audit_heads')
      .addColumn('tree_size', bigInteger, (c) => c.primaryKey())
      .addColumn('root_hash', bytes, (c) => c.notNull())
      .addColumn('timestamp', bigInteger, (c) => c.notNull())
      .addColumn('signature', bytes, (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .execute();
    await hashExistingEntries(db);
  },

  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_heads').execute();
    await db.schema.dropTable('audit_nodes').execute();
    await db.schema.alterTable('audit_entries').dropColumn('leaf_hash').execute();
  },
};

async function hashExistingEntries(db: Kysely<any>): Promise<void> {
  const tree = new MemorySubtreeStore();
  let size = 0;
  for (;;) {
    const rows = await db.selectFrom('audit_entries').selectAll().where('seq', '>', size).orderBy('seq').limit(5000).execute();
    if (rows.length === 0) return;
    const hashes: Buffer[] = [];
    for (const row of rows) {
      if (Number(row.seq) !== size + hashes.length + 1) throw new Error(`audit_entries: seq ${row.seq} leaves a gap`);
      const hash = leafHash(encodeEntry(entryFromRow(row as Parameters<typeof entryFromRow>[0])));
      hashes.push(hash);
      await db.updateTable('audit_entries').set({ leaf_hash: hash }).where('seq', '=', row.seq).execute();
    }
    const { writes } = runPlanSync(tree, appendLeavesPlan(size, hashes));
    tree.put(writes);
    const interior = writes.filter((w) => w.level > 0).map((w) => ({ level: w.level, idx: w.index, hash: w.hash }));
    for (let i = 0; i < interior.length; i += 1000) await db.insertInto('audit_nodes').values(interior.slice(i, i + 1000)).execute();
    size += hashes.length;
  }
}
