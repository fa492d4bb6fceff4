import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Selectable } from 'kysely';
import type { AuditEntry } from '../audit/audit-entry.js';
import type { AuditBlinding } from '../audit/blinding.js';
import { storedLeafHash } from '../audit/entry-leaf.js';
import { LOWEST_STORED_LEVEL, type MerklePlan, type NodeRef } from '../audit/merkle-tree.js';
import type { TreeHead } from '../audit/tree-head.js';
import { auditAggregates } from './audit-aggregates.js';
import { windowSeqs } from './audit-window.js';
import { HASH_SIZE, foldSubtree } from '../audit/merkle-hash.js';
import { LeanLeafHashes, REQUEST_PART_COLUMNS, type LeafRow, type RequestRow } from './lean-leaf-hashes.js';
import {
  ENTRY_COLUMNS, LEAF_COLUMNS, LEAF_INSERT_COLUMNS, REQUEST_INSERT_COLUMNS, entryFromColumnsJson, entryFromRow, fieldSetsOf, pushLeafColumns, pushRequestColumns,
  replaySubjectsOf, sameRequest,
  type EntryRow, type StoredAuditEntry,
} from './audit-rows.js';
import { BulkInsert } from './bulk-insert.js';
import { chunks } from './batches.js';
import { QueryText } from './query-text.js';
import { dialectOf, sqliteConnectionOf, type Db } from './database.js';
import type { AuditHeadsTable } from './schema.js';

export type { StoredAuditEntry } from './audit-rows.js';
export { LOWEST_STORED_LEVEL } from '../audit/merkle-tree.js';

/** A kept tree head and the key that signed it, with the checkpoint signed with it (none on heads from before 0022). */
export interface StoredTreeHead extends TreeHead {
  readonly keyId: string;
  readonly checkpoint?: HeadCheckpoint | undefined;
}

/** The log's C2SP checkpoint signature over (origin, size, root), made as the head was signed. */
export interface HeadCheckpoint {
  readonly origin: string;
  readonly signature: Buffer;
}

/** An entry with the leaf hash stored beside it, as `audit verify` and `audit export` read them. */
export interface HashedAuditEntry {
  readonly entry: StoredAuditEntry;
  readonly leafHash: Buffer | null;
}

export interface AppendedRange {
  /** Leaf index of the first appended entry. */
  readonly firstIndex: number;
  /** Tree size after the append. */
  readonly size: number;
}

/**
 * The audit log as stored: entries, the complete subtree hashes of the Merkle tree
 * (src/audit/merkle-tree.ts) and the signed tree heads. Entries and nodes are only ever inserted;
 * nothing here updates or deletes them.
 *
 * Blinded entries (issue 11) have no stored leaf hash: a leaf is always recomputed from its entry,
 * which for a blinded one needs the blinding key (`blinding`, given to the repositories that serve
 * proofs, verify and export). The interior nodes are written by the AuditLog from the tree it keeps
 * in memory, never by whoever appends entries in their own transaction.
 */
export class AuditRepository {
  private sqlite: SqliteProofReads | undefined;
  private kysely: NodeReads | undefined;

  constructor(
    private readonly db: Db,
    private readonly blinding?: AuditBlinding,
  ) {}

  /** The same store, able to recompute blinded leaves. */
  withBlinding(blinding: AuditBlinding): AuditRepository {
    return new AuditRepository(this.db, blinding);
  }

  /**
   * Appends entries to the log in one transaction: the caller's (a staff action with its change)
   * or a new one. Their leaves and the nodes above them are added by the AuditLog before the next
   * head is signed.
   */
  async append(entries: readonly AuditEntry[]): Promise<AppendedRange> {
    if (this.db.isTransaction) return this.appendIn(this.db, entries);
    return this.db.transaction().execute((trx) => this.appendIn(trx, entries));
  }

  private async appendIn(db: Db, entries: readonly AuditEntry[]): Promise<AppendedRange> {
    await lockLog(db);
    const size = await treeSizeOf(db);
    await new AuditRepository(db).insertEntries(size, entries);
    await auditAggregates.record(db, entries);
    return { firstIndex: size, size: size + entries.length };
  }

  /**
   * Under the lock, with `firstIndex` the tree size: the entries in the blinded form, no stored
   * hash. Each run of consecutive entries that share their request's fields (one request's, one
   * staff action's) is one audit_requests row; each entry one audit_leaves row.
   */
  async insertEntries(firstIndex: number, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const sets = entries.map(fieldSetsOf);
    const ids = await this.fieldSetIds(sets);
    // Each entry's released then withheld list's id.
    const setIds = sets.flatMap(({ released, withheld }) => [ids.get(released)!, ids.get(withheld)!]);
    const requests: unknown[] = [];
    const leaves: unknown[] = [];
    const pushRequest = (first: number, end: number) =>
      pushRequestColumns(requests, firstIndex + first + 1, end - first, entries[first]!, replaySubjectsOf(entries, first, end, setIds));
    let first = 0;
    for (let i = 0; i < entries.length; i++) {
      if (i > first && !sameRequest(entries[first]!, entries[i]!)) {
        pushRequest(first, i);
        first = i;
      }
      pushLeafColumns(leaves, firstIndex + i + 1, i - first, entries[i]!, setIds[2 * i]!, setIds[2 * i + 1]!);
    }
    pushRequest(first, entries.length);
    await REQUEST_INSERT.run(this.db, requests);
    await LEAF_INSERT.run(this.db, leaves);
  }

  /** The audit_field_sets id of every released and withheld list, interning the new ones (under the lock). */
  private async fieldSetIds(sets: ReadonlyArray<{ readonly released: string; readonly withheld: string }>): Promise<Map<string, number>> {
    const wanted = new Set<string>();
    for (const { released, withheld } of sets) wanted.add(released).add(withheld);
    const ids = new Map<string, number>();
    for (const batch of chunks([...wanted], 500)) {
      const rows = await this.db.selectFrom('audit_field_sets').select(['id', 'json']).where('json', 'in', batch).execute();
      for (const row of rows) ids.set(row.json, Number(row.id));
    }
    const missing = [...wanted].filter((json) => !ids.has(json));
    if (missing.length === 0) return ids;
    const last = await this.db.selectFrom('audit_field_sets').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    let next = last?.id == null ? 1 : Number(last.id) + 1;
    for (const json of missing) ids.set(json, next++);
    for (const batch of chunks(missing, 500)) {
      await this.db.insertInto('audit_field_sets').values(batch.map((json) => ({ id: ids.get(json)!, json }))).execute();
    }
    return ids;
  }

  /**
   * Interior nodes of level ≥ LOWEST_STORED_LEVEL (the ones below are recomputed from at most 16
   * leaves when read); one already stored by another server that added the same leaves is kept.
   */
  async insertNodes(writes: readonly { level: number; index: number; hash: Buffer }[]): Promise<void> {
    const values: unknown[] = [];
    for (const w of writes) if (w.level >= LOWEST_STORED_LEVEL) values.push(w.level, w.index, w.hash);
    await NODE_INSERT.run(this.db, values);
  }

  /** Entries with seq in (afterSeq, afterSeq + limit], oldest first. */
  async entriesAfter(afterSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    return (await this.entriesAsJson(afterSeq, limit)).map((json) => entryFromColumnsJson(json).entry);
  }

  /** Inside a transaction: waits for, then holds until commit, the right to append (see lockLog). */
  lock(): Promise<void> {
    if (!this.db.isTransaction) throw new Error('the audit log lock is taken inside a transaction');
    return lockLog(this.db);
  }

  /** How many entries the log holds (its tree size). */
  treeSize(): Promise<number> {
    return treeSizeOf(this.db);
  }

  /** Runs a Merkle plan (root, inclusion or consistency proof) with its nodes fetched in one query per table. */
  async run<T>(plan: MerklePlan<T>): Promise<T> {
    return plan.assemble(await fetchNodes(plan.reads, this.blinding, this.kysely ??= new KyselyNodeReads(this.db)));
  }

  /**
   * The hashes of these nodes, in order, as proofs read them (LogProofs' node cache): on SQLite
   * through statements prepared once, else as `run` reads them.
   */
  nodes(refs: readonly NodeRef[]): Promise<Buffer[]> {
    return fetchNodes(refs, this.blinding, this.sqliteReads() ?? (this.kysely ??= new KyselyNodeReads(this.db)));
  }

  /** On a SQLite connection of this thread (not a transaction's), its prepared reads for proofs. */
  private sqliteReads(): SqliteProofReads | undefined {
    if (this.sqlite !== undefined) return this.sqlite;
    const connection = sqliteConnectionOf(this.db);
    return connection === undefined ? undefined : (this.sqlite = new SqliteProofReads(connection));
  }

  /** The stored nodes (level, from) to (level, to - 1), their hashes concatenated in idx order; throws when one is missing. */
  async nodeRun(level: number, from: number, to: number): Promise<Buffer> {
    const sqlite = this.sqliteReads();
    const { count, hashes } = sqlite !== undefined ? sqlite.nodeRun(level, from, to) : await this.nodesAtHex(level, from, to).then(({ count, hex }) => ({ count, hashes: Buffer.from(hex, 'hex') }));
    if (count !== to - from) throw new Error(`audit tree: ${to - from - count} of the nodes (${level}, ${from}) to (${level}, ${to - 1}) are missing from the store`);
    return hashes;
  }

  /** A head, with the checkpoint signed with it (none only in tests of heads from before 0022). */
  async insertHead(head: TreeHead, keyId: string, checkpoint?: HeadCheckpoint): Promise<void> {
    await this.db
      .insertInto('audit_heads')
      .values({
        tree_size: head.size, root_hash: head.root, timestamp: head.timestamp, signature: head.signature, key_id: keyId,
        checkpoint_origin: checkpoint?.origin ?? null, checkpoint_signature: checkpoint?.signature ?? null,
      })
      .execute();
  }

  /**
   * The checkpoint of a head signed before checkpoints were (0022), signed later by the signer: the
   * one change a head ever gets, and only to a head that has none.
   */
  async addCheckpoint(size: number, checkpoint: HeadCheckpoint): Promise<void> {
    await this.db
      .updateTable('audit_heads')
      .set({ checkpoint_origin: checkpoint.origin, checkpoint_signature: checkpoint.signature })
      .where('tree_size', '=', size)
      .where('checkpoint_signature', 'is', null)
      .execute();
  }

  async latestHead(): Promise<StoredTreeHead | undefined> {
    // Every proof asks first: outside a transaction, SQLite answers from a prepared statement (inside
    // one, this connection would see the head before it is committed; Kysely's lock waits for the commit).
    const sqlite = this.sqliteReads();
    const row = sqlite !== undefined && !sqlite.inTransaction
      ? sqlite.latestHead()
      : await this.db.selectFrom('audit_heads').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
    return row && headFromRow(row);
  }

  /** The latest head's size (latestHead's, without reading the rest of its row). */
  async latestHeadSize(): Promise<number | undefined> {
    const sqlite = this.sqliteReads();
    if (sqlite !== undefined && !sqlite.inTransaction) return sqlite.latestHeadSize();
    return (await this.latestHead())?.size;
  }

  /** Kept heads with sizes in [fromSize, toSize], smallest first. */
  async heads(fromSize = 0, toSize = Number.MAX_SAFE_INTEGER): Promise<StoredTreeHead[]> {
    const rows = await this.db
      .selectFrom('audit_heads')
      .selectAll()
      .where('tree_size', '>=', fromSize)
      .where('tree_size', '<=', toSize)
      .orderBy('tree_size')
      .execute();
    return rows.map(headFromRow);
  }

  /** The `limit` largest kept heads, largest first. */
  async latestHeads(limit: number): Promise<StoredTreeHead[]> {
    const rows = await this.db.selectFrom('audit_heads').selectAll().orderBy('tree_size', 'desc').limit(limit).execute();
    return rows.map(headFromRow);
  }

  /** Entries with seq in (afterSeq, afterSeq + limit], oldest first, with their stored leaf hashes. */
  async hashedEntries(afterSeq: number, limit: number): Promise<HashedAuditEntry[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map((row) => ({ entry: entryFromRow(row), leafHash: row.leaf_hash === null ? null : Buffer.from(row.leaf_hash) }));
  }

  /**
   * `audit verify`'s read: entries with seq in (afterSeq, afterSeq + limit], oldest first, each as
   * one JSON array of seq, ENTRY_COLUMNS and the leaf hash in lowercase hex (read it with
   * `entryFromColumnsJson`). SQLite builds one string per row about 2.5× faster than better-sqlite3
   * builds a row object of 19 columns, which was the largest cost of verifying a large log.
   */
  async entriesAsJson(afterSeq: number, limit: number): Promise<string[]> {
    // Two reads, each in its table's key order (the frozen rows all come before the new ones), made JSON
    // after: neither SQLite (when the query calls a JSON function) nor PostgreSQL reads the audit_log view
    // in key order under a LIMIT, and each would sort everything after afterSeq.
    const legacy = this.db.selectFrom('audit_entries').select(['seq', ...ENTRY_COLUMNS, 'leaf_hash']).where('seq', '>', afterSeq).orderBy('seq').limit(limit);
    const rows = await this.db.selectFrom(legacy.as('e')).select(entryAsJson(this.db).as('j')).orderBy('seq').execute();
    if (rows.length < limit) {
      const lean = leanEntries(this.db).where('l.seq', '>', afterSeq).orderBy('l.seq').limit(limit - rows.length);
      rows.push(...await this.db.selectFrom(lean.as('e')).select(entryAsJson(this.db).as('j')).orderBy('seq').execute());
    }
    return rows.map((row) => row.j);
  }

  /** Stored interior nodes at `level` with idx in [fromIdx, toIdx), in idx order. */
  async nodesAt(level: number, fromIdx: number, toIdx: number): Promise<{ idx: number; hash: Buffer }[]> {
    const rows = await this.db
      .selectFrom('audit_nodes')
      .select(['idx', 'hash'])
      .where('level', '=', level)
      .where('idx', '>=', fromIdx)
      .where('idx', '<', toIdx)
      .orderBy('idx')
      .execute();
    return rows.map((r) => ({ idx: Number(r.idx), hash: Buffer.from(r.hash) }));
  }

  /**
   * Interior nodes at `level` with idx in [fromIdx, toIdx) as one string, for `audit verify`:
   * how many there are and their hashes' lowercase hex, concatenated in idx order. The verifier
   * reads about as many nodes as entries; one row per range instead of a row and two Buffers per
   * node made that read about 3× cheaper. When `count` is short of the range, ask `nodesAt` which.
   */
  async nodesAtHex(level: number, fromIdx: number, toIdx: number): Promise<{ count: number; hex: string }> {
    const row = await this.db
      .selectFrom('audit_nodes')
      .select((eb) => [
        eb.fn.countAll<number>().as('count'),
        eb.fn.agg<string | null>(dialectOf(this.db) === 'postgres' ? 'string_agg' : 'group_concat', [hexOf(this.db, 'hash'), sql.lit('')])
          .orderBy('idx').as('hex'),
      ])
      .where('level', '=', level)
      .where('idx', '>=', fromIdx)
      .where('idx', '<', toIdx)
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), hex: row.hex ?? '' };
  }

  /** The first seq whose entry is at or after `at` (ISO); size + 1 when none is. */
  async firstSeqAtOrAfter(at: string): Promise<number> {
    // The legacy rows first (all before the new ones), then the requests: their leaves share their time.
    const legacy = await this.db.selectFrom('audit_entries').select((eb) => eb.fn.min('seq').as('seq')).where('at', '>=', at).executeTakeFirst();
    if (legacy?.seq != null) return Number(legacy.seq);
    // Requests below the window's first partition are all earlier (migration 0041's index of instants per
    // partition): the first one at or after `at` is found in seq order from there, not by a scan of the log.
    const window = await windowSeqs(this.db, at, undefined);
    const row = window === undefined ? undefined : await this.db.selectFrom('audit_requests').select('first_seq')
      .where('first_seq', '>=', window.from).where('at', '>=', at).orderBy('first_seq').limit(1).executeTakeFirst();
    return row === undefined ? (await this.treeSize()) + 1 : Number(row.first_seq);
  }

  /** The entries with these sequence numbers, by seq. */
  async bySeq(seqs: readonly number[]): Promise<Map<number, StoredAuditEntry>> {
    const found = new Map<number, StoredAuditEntry>();
    for (const batch of chunks(seqs, 500)) {
      const rows = await this.db.selectFrom('audit_log').select(ENTRY_READ).where('seq', 'in', batch).execute();
      for (const row of rows) found.set(Number(row.seq), entryFromRow(row));
    }
    return found;
  }

  async byRequest(requestId: string): Promise<StoredAuditEntry[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('request_id', '=', requestId).orderBy('seq').execute();
    return rows.map(entryFromRow);
  }

  /** Staff actions (outcome `staff_action`), oldest first; of one actor when given. */
  async staffActions(actor?: string): Promise<StoredAuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll().where('outcome', '=', 'staff_action');
    if (actor !== undefined) query = query.where('actor', '=', actor);
    const rows = await query.orderBy('seq').execute();
    return rows.map(entryFromRow);
  }

  async count(): Promise<number> {
    return this.treeSize();
  }
}

const REQUEST_INSERT = new BulkInsert('audit_requests', REQUEST_INSERT_COLUMNS, 2000);
const LEAF_INSERT = new BulkInsert('audit_leaves', LEAF_INSERT_COLUMNS, 2000);
const NODE_INSERT = new BulkInsert('audit_nodes', ['level', 'idx', 'hash'], 5000, true);


/** The log's size: its last seq, among the new rows or else the legacy ones (both a lookup at the end of a key). */
async function treeSizeOf(db: Db): Promise<number> {
  for (const table of ['audit_leaves', 'audit_entries'] as const) {
    const { rows } = await TREE_SIZE.run(db, table, []);
    if (rows[0]?.size != null) return Number(rows[0].size);
  }
  return 0;
}

/** The largest seq of a table: read in every batch's transaction, so compiled once. */
const TREE_SIZE = new QueryText<{ size: number | string | null }>((db, _values, table) =>
  db.selectFrom(table as 'audit_leaves' | 'audit_entries').select((eb) => eb.fn.max('seq').as('size')));

/**
 * Appends are serialized: the tree size read here must not change before this transaction
 * commits. SQLite has one writer per database file and Kysely one connection, so the transaction
 * itself is the lock; PostgreSQL takes a transaction-scoped advisory lock, shared by every server on
 * the database. (Under PostgreSQL's default READ COMMITTED, the size read after the lock sees the
 * previous holder's commit; a REPEATABLE READ snapshot taken earlier in the transaction would not.)
 */
async function lockLog(db: Db): Promise<void> {
  if (dialectOf(db) === 'postgres') await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(db);
}

/** An arbitrary constant naming the audit log's advisory lock ("dpaudit" in ASCII). */
const AUDIT_LOCK_KEY = 0x64_70_61_75_64_69_74;

/**
 * `[seq, ...ENTRY_COLUMNS, leaf hash hex]` as JSON text: SQLite's json_array is PostgreSQL's
 * json_build_array, cast to text there (pg would hand back a parsed json value).
 */
function entryAsJson(db: Db) {
  const columns = [sql.ref('seq'), ...ENTRY_COLUMNS.map((column) => sql.ref(column)), hexOf(db, 'leaf_hash')];
  return dialectOf(db) === 'postgres'
    ? sql<string>`json_build_array(${sql.join(columns)})::text`
    : sql<string>`json_array(${sql.join(columns)})`;
}

/**
 * The entries appended since migration 0020, in audit_log's columns: each leaf with its request (by
 * key, seq - pos) and its two lists. (The view is this, after the rows of audit_entries.)
 */
export function leanEntries(db: Db) {
  return leavesWithRequests(db)
    .innerJoin('audit_field_sets as fr', 'fr.id', 'l.released')
    .innerJoin('audit_field_sets as fw', 'fw.id', 'l.withheld')
    .select([
      'l.seq', 'r.at', 'r.request_id', 'r.app_id', 'r.partner_id', 'r.agreement_id', 'r.agreement_version', 'r.rules_version',
      'r.token_member_id', 'l.subject_member_id', 'r.purpose', 'l.outcome', 'l.code', 'fr.json as released', 'fw.json as withheld',
      'l.actor', 'l.action', 'l.detail', 'l.passed_over', 'l.passed_over_reason',
    ])
    .select([sql<number>`2`.as('format'), sql<Buffer | null>`cast(null as ${sql.raw(dialectOf(db) === 'postgres' ? 'bytea' : 'blob')})`.as('leaf_hash')]);
}

/** The leaves (`l`) appended since migration 0020, each joined to its request (`r`). */
export function leavesWithRequests(db: Db) {
  return db
    .selectFrom('audit_leaves as l')
    // Both ways to find a leaf's request: by key from the leaf, or (a query that starts from requests) its leaves by seq range.
    .innerJoin('audit_requests as r', (join) => join
      .on('r.first_seq', '=', sql<number>`l.seq - l.pos`)
      .onRef('l.seq', '>=', 'r.first_seq')
      .on('l.seq', '<', sql<number>`r.first_seq + r.leaf_count`));
}

/** An entry's columns, without its stored leaf hash. */
const ENTRY_READ = ['seq', ...ENTRY_COLUMNS] as const;

/** A blob column as lowercase hex (NULL stays NULL on PostgreSQL and is '' on SQLite: both read as no hash). */
function hexOf(db: Db, column: 'leaf_hash' | 'hash') {
  return dialectOf(db) === 'postgres' ? sql<string>`encode(${sql.ref(column)}, 'hex')` : sql<string>`lower(hex(${sql.ref(column)}))`;
}


/**
 * What fetchNodes reads: the leaf hashes of a range of lean entries (made from their columns), else
 * the range's entries to hash one by one (legacy rows among them), and stored interior nodes.
 */
interface NodeReads {
  /** The leaf hashes of seqs (afterSeq, lastSeq], 32 bytes each in order, when each is a lean entry with its rows; else undefined. */
  leafHashes(afterSeq: number, lastSeq: number, blinding: AuditBlinding | undefined): Promise<Buffer | undefined>;
  /** The audit_log view's rows of seqs (afterSeq, lastSeq]. */
  entries(afterSeq: number, lastSeq: number): Promise<readonly EntryRow[]>;
  /** The stored interior nodes among these, by nodeKey. */
  nodes(refs: readonly NodeRef[]): Promise<Map<number, Buffer>>;
}

/** A range's leaf hashes, 32 bytes each; `present[i]` says whether leaf i was found (all were when absent). */
interface RangeLeaves {
  readonly hashes: Buffer;
  readonly present?: Uint8Array;
}

/**
 * The hashes of these nodes in the same order: leaves recomputed from their entries (never a
 * stored hash: what an entry says is what its leaf is), nodes below LOWEST_STORED_LEVEL folded from
 * their leaves likewise, the rest from audit_nodes.
 */
async function fetchNodes(refs: readonly NodeRef[], blinding: AuditBlinding | undefined, reads: NodeReads): Promise<Buffer[]> {
  if (refs.length === 0) return [];
  const found = new Map<number, Buffer>();
  // A low node's leaves are one aligned block; a proof's blocks overlap or nest, so each is read once.
  const blocks = refs.filter((r) => r.level < LOWEST_STORED_LEVEL).map(({ level, index }) => [index * 2 ** level, (index + 1) * 2 ** level] as const);
  blocks.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < blocks.length;) {
    const start = blocks[i]![0];
    let end = blocks[i]![1];
    for (i++; i < blocks.length && blocks[i]![0] <= end; i++) end = Math.max(end, blocks[i]![1]);
    const lean = await reads.leafHashes(start, end, blinding);
    const leaves = lean !== undefined ? { hashes: lean } : await leavesOneByOne(reads, start, end, blinding);
    for (const ref of refs) {
      const first = ref.index * 2 ** ref.level;
      if (ref.level >= LOWEST_STORED_LEVEL || first < start || first >= end) continue;
      const hash = subtreeOf(leaves, first - start, 2 ** ref.level);
      if (hash !== undefined) found.set(nodeKey(ref.level, ref.index), hash);
    }
  }
  const interior = refs.filter((r) => r.level >= LOWEST_STORED_LEVEL);
  if (interior.length > 0) for (const [key, hash] of await reads.nodes(interior)) found.set(key, hash);
  return refs.map((r) => {
    const hash = found.get(nodeKey(r.level, r.index));
    if (hash === undefined) throw new Error(`audit tree: node (${r.level}, ${r.index}) is missing from the store`);
    return hash;
  });
}

/** The leaves of seqs (start, end] hashed from the audit_log view's rows, legacy ones included. */
async function leavesOneByOne(reads: NodeReads, start: number, end: number, blinding: AuditBlinding | undefined): Promise<RangeLeaves> {
  const hashes = Buffer.alloc((end - start) * HASH_SIZE);
  const present = new Uint8Array(end - start);
  for (const row of await reads.entries(start, end)) {
    const i = Number(row.seq) - 1 - start;
    storedLeafHash(entryFromRow(row), blinding).copy(hashes, i * HASH_SIZE);
    present[i] = 1;
  }
  return { hashes, present };
}

/** Node (level, (start + first) / 2^level) folded from its `count` leaves from `first` on; undefined when one is missing. */
function subtreeOf(leaves: RangeLeaves, first: number, count: number): Buffer | undefined {
  if (leaves.present !== undefined) for (let i = first; i < first + count; i++) if (leaves.present[i] !== 1) return undefined;
  return foldSubtree(leaves.hashes, first, count);
}

function nodeKey(level: number, index: number): number {
  return index * 64 + level;
}

/** Through Kysely: one query per range of entries, one for all the interior nodes (a round trip each on PostgreSQL). */
class KyselyNodeReads implements NodeReads {
  private readonly lean = new LeanLeafHashes();

  constructor(private readonly db: Db) {}

  entries(afterSeq: number, lastSeq: number): Promise<readonly EntryRow[]> {
    return this.db.selectFrom('audit_log').select(ENTRY_READ).where('seq', '>', afterSeq).where('seq', '<=', lastSeq).execute();
  }

  async leafHashes(afterSeq: number, lastSeq: number, blinding: AuditBlinding | undefined): Promise<Buffer | undefined> {
    const rows: Record<string, unknown>[] = await leavesWithRequests(this.db)
      .select([...LEAF_COLUMNS.map((column) => `l.${column}` as const), ...REQUEST_PART_COLUMNS.map((column) => `r.${column}` as const)])
      .where('l.seq', '>', afterSeq)
      .where('l.seq', '<=', lastSeq)
      .orderBy('l.seq')
      .execute();
    if (rows.length !== lastSeq - afterSeq) return undefined;
    const leaves = rows.map((row) => LEAF_COLUMNS.map((column) => row[column]));
    const wanted = this.lean.wanted(leaves);
    if (wanted !== undefined) {
      for (const row of rows) {
        const first = Number(row.seq) - Number(row.pos);
        if (wanted.requests.includes(first)) this.lean.learnRequest(first, REQUEST_PART_COLUMNS.map((column) => row[column]));
      }
      if (wanted.lists.length > 0) {
        const lists = await this.db.selectFrom('audit_field_sets').select(['id', 'json']).where('id', 'in', wanted.lists).execute();
        if (lists.length !== wanted.lists.length) return undefined;
        for (const { id, json } of lists) this.lean.learnList(Number(id), json);
      }
    }
    const hashes = Buffer.allocUnsafe((lastSeq - afterSeq) * HASH_SIZE);
    this.lean.hashInto(leaves, afterSeq, hashes, blinding);
    return hashes;
  }

  async nodes(refs: readonly NodeRef[]): Promise<Map<number, Buffer>> {
    const rows = await this.db
      .selectFrom('audit_nodes')
      .select(['level', 'idx', 'hash'])
      .where((eb) => eb.or(refs.map((r) => eb.and([eb('level', '=', r.level), eb('idx', '=', r.index)]))))
      .execute();
    return new Map(rows.map((row) => [nodeKey(Number(row.level), Number(row.idx)), Buffer.from(row.hash)]));
  }
}

/** Stored nodes read by one statement at most (a proof reads 4 below the node cache's levels). */
const NODES_PER_READ = 8;

/**
 * On a SQLite connection of this thread, better-sqlite3 itself, with statements prepared once and rows
 * read as arrays: a proof's few small reads cost less than Kysely's building and compiling of their
 * queries, and a row object of each entry read was much of what a proof allocated. Safe beside another
 * flow's open transaction on the same connection: a proof reads only entries and nodes under a signed
 * head, which no transaction changes.
 */
class SqliteProofReads implements NodeReads {
  /** Prepared when first needed: only a block with legacy rows reads entries whole. */
  private entryRange: BetterSqlite3.Statement | undefined;
  private readonly leanLeaves: BetterSqlite3.Statement;
  private readonly request: BetterSqlite3.Statement;
  private readonly list: BetterSqlite3.Statement;
  /** By count n: the stored nodes of n (level, idx) pairs. */
  private readonly nodeSets: BetterSqlite3.Statement[] = [];
  private readonly head: BetterSqlite3.Statement;
  private readonly headSize: BetterSqlite3.Statement;
  private readonly nodeRange: BetterSqlite3.Statement;
  private readonly lean = new LeanLeafHashes();

  constructor(private readonly sqlite: BetterSqlite3.Database) {
    this.leanLeaves = sqlite.prepare(`select ${LEAF_COLUMNS.join(', ')} from audit_leaves where seq > ? and seq <= ? order by seq`).raw();
    this.request = sqlite.prepare(`select ${REQUEST_PART_COLUMNS.join(', ')} from audit_requests where first_seq = ?`).raw();
    this.list = sqlite.prepare('select json from audit_field_sets where id = ?').pluck();
    this.head = sqlite.prepare('select * from audit_heads order by tree_size desc limit 1');
    this.headSize = sqlite.prepare('select tree_size from audit_heads order by tree_size desc limit 1').pluck();
    this.nodeRange = sqlite.prepare('select hash from audit_nodes where level = ? and idx >= ? and idx < ? order by idx').pluck();
  }

  /** The stored hashes of nodes (level, from) to (level, to - 1) copied into one Buffer. */
  nodeRun(level: number, from: number, to: number): { count: number; hashes: Buffer } {
    const hashes = Buffer.allocUnsafe((to - from) * HASH_SIZE);
    let count = 0;
    for (const hash of this.nodeRange.iterate(level, from, to) as Iterable<Buffer>) {
      if (hash.length !== HASH_SIZE || count === to - from) throw new Error(`audit tree: a node at level ${level} from ${from} is not a ${HASH_SIZE}-byte hash`);
      hash.copy(hashes, HASH_SIZE * count++);
    }
    return { count, hashes };
  }

  get inTransaction(): boolean {
    return this.sqlite.inTransaction;
  }

  latestHead(): Selectable<AuditHeadsTable> | undefined {
    return this.head.get() as Selectable<AuditHeadsTable> | undefined;
  }

  latestHeadSize(): number | undefined {
    const size = this.headSize.get() as number | bigint | undefined;
    return size === undefined ? undefined : Number(size);
  }

  entries(afterSeq: number, lastSeq: number): Promise<readonly EntryRow[]> {
    this.entryRange ??= this.sqlite.prepare(`select ${ENTRY_READ.join(', ')} from audit_log where seq > ? and seq <= ?`);
    return Promise.resolve(this.entryRange.all(afterSeq, lastSeq) as EntryRow[]);
  }

  leafHashes(afterSeq: number, lastSeq: number, blinding: AuditBlinding | undefined): Promise<Buffer | undefined> {
    const rows = this.leanLeaves.all(afterSeq, lastSeq) as LeafRow[];
    if (rows.length !== lastSeq - afterSeq || !this.learnWanted(rows)) return Promise.resolve(undefined);
    const hashes = Buffer.allocUnsafe((lastSeq - afterSeq) * HASH_SIZE);
    this.lean.hashInto(rows, afterSeq, hashes, blinding);
    return Promise.resolve(hashes);
  }

  /** Reads the requests and field lists these leaves need that `lean` lacks; false when one is missing. */
  private learnWanted(rows: readonly LeafRow[]): boolean {
    const wanted = this.lean.wanted(rows);
    if (wanted === undefined) return true;
    for (const first of wanted.requests) {
      const request = this.request.get(first) as RequestRow | undefined;
      if (request === undefined) return false;
      this.lean.learnRequest(first, request);
    }
    for (const id of wanted.lists) {
      const json = this.list.get(id) as string | undefined;
      if (json === undefined) return false;
      this.lean.learnList(id, json);
    }
    return true;
  }

  nodes(refs: readonly NodeRef[]): Promise<Map<number, Buffer>> {
    const found = new Map<number, Buffer>();
    for (let from = 0; from < refs.length; from += NODES_PER_READ) {
      const count = Math.min(NODES_PER_READ, refs.length - from);
      const pairs: number[] = [];
      for (let i = from; i < from + count; i++) pairs.push(refs[i]!.level, refs[i]!.index);
      for (const [level, idx, hash] of this.nodeSet(count).all(pairs) as [number, number, Buffer][]) found.set(nodeKey(level, idx), hash);
    }
    return Promise.resolve(found);
  }

  private nodeSet(count: number): BetterSqlite3.Statement {
    const pairs = Array.from({ length: count }, () => '(level = ? and idx = ?)').join(' or ');
    return (this.nodeSets[count] ??= this.sqlite.prepare(`select level, idx, hash from audit_nodes where ${pairs}`).raw());
  }
}

function headFromRow(row: Selectable<AuditHeadsTable>): StoredTreeHead {
  const { checkpoint_origin: origin, checkpoint_signature: signature } = row;
  return {
    size: Number(row.tree_size),
    root: Buffer.from(row.root_hash),
    timestamp: Number(row.timestamp),
    signature: Buffer.from(row.signature),
    keyId: row.key_id,
    ...(origin !== null && signature !== null ? { checkpoint: { origin, signature: Buffer.from(signature) } } : {}),
  };
}
