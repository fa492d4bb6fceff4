import { performance } from 'node:perf_hooks';
import { Overloaded } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import { auditAggregates } from '../store/audit-aggregates.js';
import { MemberNumbers } from '../store/member-sets.js';
import { AuditRepository, LOWEST_STORED_LEVEL, type StoredTreeHead } from '../store/audit-repository.js';
import type { Db } from '../store/database.js';
import type { AuditEntry } from './audit-entry.js';
import type { AuditBlinding } from './blinding.js';
import { canonicalTextAt, storedLeafHash } from './entry-leaf.js';
import { CompactRange, MerkleHasher, type NodeSink } from './log-verifier.js';
import { completeSubtrees, type NodeWrite } from './merkle-tree.js';
import { readSavedHead, saveHead } from './saved-head.js';
import type { AuditSigningKey } from './signing-key.js';
import { signTreeHead, verifyTreeHead } from './tree-head.js';
import { defaultLogOrigin, signCheckpoint } from './checkpoint.js';

export interface AuditLogOptions {
  readonly db: Db;
  readonly clock: () => Instant;
  readonly signingKey: AuditSigningKey;
  /**
   * The origin line of the C2SP checkpoints signed with each head (DATAPACT_LOG_ORIGIN), fixed once
   * the log has signed one. Default `localhost:8080/audit`, the default public URL's.
   */
  readonly origin?: string;
  /** Blinds every entry (issue 11): the same key on every server of the log. */
  readonly blinding: AuditBlinding;
  /**
   * Where the latest signed head is kept outside the database (saved-head.ts); none in tests that
   * do not ask for it. With it, a database whose signed history was rewritten, heads deleted
   * included, is refused at start.
   */
  readonly savedHeadFile?: string;
  /** Heard after each head is signed and committed (witnessing, publication). */
  readonly onHeadSigned?: (head: StoredTreeHead) => void;
  /**
   * Entries that may wait for a commit; an append beyond it is refused at once with Overloaded
   * (503, Retry-After) instead of queueing without bound. Default 100,000.
   */
  readonly maxQueuedEntries?: number;
  /** A batch is committed as soon as it holds this many entries. Default 5,000. */
  readonly maxBatchEntries?: number;
  /** ...or this long after its first entry arrived, whichever comes first. Default 2 ms. */
  readonly maxDelayMs?: number;
  /** Tree heads are signed at most this often, and at least this soon after an append. Default 1,000 ms. */
  readonly headIntervalMs?: number;
  /**
   * False leaves the counts the reports read (audit-aggregates.ts) out of the append transaction: for
   * `bench:audit` only, which measures what keeping them costs. Reports are wrong without them.
   */
  readonly keepCounts?: boolean;
  /** Where failures of background head signing go. Default: ignored (tests, closed databases). */
  readonly onError?: (error: unknown) => void;
}

/** Work done in the batch's transaction with the entries, such as recording a grant's use. */
export type WithEntries = (db: Db) => Promise<void>;

interface Waiter {
  readonly entries: readonly AuditEntry[];
  readonly withEntries: WithEntries | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The one way requests' entries enter the audit log, with group commit: entries of concurrent
 * requests are gathered and appended in one transaction every `maxDelayMs` or `maxBatchEntries`,
 * whichever comes first, and each `append` resolves only after the transaction holding its
 * entries has committed. So no response leaves before its entries are durable, and the cost of a
 * commit is shared by every request in the batch.
 *
 * Tree heads are signed in the batch's transaction when the last one is at least
 * `headIntervalMs` old, and otherwise by a timer that fires `headIntervalMs` after the last head:
 * under load one head a second, when quiet one head per batch.
 */
export class AuditLog {
  private readonly maxBatchEntries: number;
  private readonly maxDelayMs: number;
  private readonly headIntervalMs: number;
  private queue: Waiter[] = [];
  private queuedEntries = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private lastHeadAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /**
   * The tree as this log knows it: the compact range (the complete subtrees of its leaves),
   * checked at load against the last signed head and since then extended only with leaves hashed
   * from entries' contents. Every root it signs comes from here, never from stored nodes.
   */
  private range: CompactRange | undefined;
  private readonly hasher = new MerkleHasher();
  private readonly maxQueuedEntries: number;
  /** The numbers of the members this log has counted (the counts' member sets are bitmaps over them). */
  private readonly memberNumbers = new MemberNumbers();

  private readonly origin: string;

  constructor(private readonly options: AuditLogOptions) {
    this.origin = options.origin ?? defaultLogOrigin('http://localhost:8080');
    this.maxQueuedEntries = options.maxQueuedEntries ?? 100_000;
    this.maxBatchEntries = options.maxBatchEntries ?? 5000;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.headIntervalMs = options.headIntervalMs ?? 1000;
  }

  get signingKey(): AuditSigningKey {
    return this.options.signingKey;
  }

  get blinding(): AuditBlinding {
    return this.options.blinding;
  }

  /** Resolves once the entries (and `withEntries`' writes) are committed; rejects if that transaction failed. */
  append(entries: readonly AuditEntry[], withEntries?: WithEntries): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    if (entries.length === 0 && withEntries === undefined) return Promise.resolve();
    if (this.queuedEntries > 0 && this.queuedEntries + entries.length > this.maxQueuedEntries) {
      return Promise.reject(new Overloaded('The audit log is behind; nothing was released. Try again shortly.'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entries, withEntries, resolve, reject });
      this.queuedEntries += entries.length;
      if (this.queuedEntries >= this.maxBatchEntries) this.startCommitting();
      else this.batchTimer ??= setTimeout(() => this.startCommitting(), this.maxDelayMs);
    });
  }

  /** Commits what is queued now and waits for it. */
  async flush(): Promise<void> {
    while (this.committing !== undefined || this.queue.length > 0) {
      this.startCommitting();
      await this.committing;
    }
  }

  /** Called by the code that appended entries in its own transaction (staff actions): a head follows soon. */
  appendedElsewhere(): void {
    this.scheduleHead();
  }

  /**
   * Signs a head for the current tree size unless the latest kept head already covers it (an
   * empty log gets its head, of size 0, only when asked for with `evenIfEmpty`).
   */
  async signHeadIfBehind(evenIfEmpty = false): Promise<StoredTreeHead | undefined> {
    let range: CompactRange | undefined;
    const head = await this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      await audit.lock();
      range = await this.rangeNow(audit);
      const latest = await audit.latestHead();
      if (latest !== undefined ? latest.size >= range.size : range.size === 0 && !evenIfEmpty) return undefined;
      return this.signHead(audit, range);
    });
    this.range = range;
    if (head !== undefined) this.headCommitted(head);
    return head;
  }

  /**
   * Hashes the entries appended elsewhere since this log last looked into its tree, and stores the
   * nodes they complete, without signing a head (the CLI, after appending outside a server).
   * Returns the tree size.
   */
  async addPendingLeaves(): Promise<number> {
    let range: CompactRange | undefined;
    await this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      await audit.lock();
      range = await this.rangeNow(audit);
    });
    this.range = range;
    return range!.size;
  }

  /**
   * For a server: signs a head now if the log grew while it was down, then checks every interval
   * (at least a second) for entries appended outside this log's batches (the scheduler, the CLI,
   * another instance), so they too are under a signed head within about a second.
   */
  async start(): Promise<void> {
    if (this.closed || this.watchTimer !== undefined) return;
    await this.refuseAnotherKey();
    await this.refuseAnotherOrigin();
    await this.signHeadIfBehind(false);
    await this.checkpointUpgradedHead();
    this.watchTimer = setInterval(() => this.scheduleHead(), Math.max(this.headIntervalMs, 1000));
    this.watchTimer.unref();
  }

  /**
   * One log, one key: heads signed with two keys could not be checked with the one published key,
   * and would look like tampering. A second instance started without the first one's key (its own
   * data directory, a fresh key made there) is stopped here, before it signs anything.
   */
  private async refuseAnotherKey(): Promise<void> {
    const latest = await new AuditRepository(this.options.db).latestHead();
    const ours = this.options.signingKey.keyId;
    if (latest === undefined || latest.keyId === ours) return;
    throw new Error(
      `The audit log's tree heads are signed with key ${latest.keyId.slice(0, 16)}…, but this server's audit key is ` +
      `${ours.slice(0, 16)}…. Every server on one database must use the same key: copy secrets/audit-ed25519.pem ` +
      `from the data directory of the server that signed the log (README, "Scaling out").`,
    );
  }

  /**
   * One log, one origin: witnesses and checkpoint tools know a log by its origin line, so checkpoints
   * of one log under two origins would read as two logs (or as a fork). Refused before signing.
   */
  private async refuseAnotherOrigin(): Promise<void> {
    const stored = (await new AuditRepository(this.options.db).latestHead())?.checkpoint?.origin;
    if (stored === undefined || stored === this.origin) return;
    throw new Error(
      `The audit log's checkpoints are signed under the origin '${stored}', but this server would sign them under ` +
      `'${this.origin}'. A log's origin is what witnesses and checkpoint tools know it by, and it is fixed once the log ` +
      `has signed a checkpoint: set DATAPACT_LOG_ORIGIN=${stored} (README, "Checkpoints and witnesses").`,
    );
  }

  /**
   * A log whose latest head was signed before checkpoints were (migration 0022) has no checkpoint
   * to publish until it grows. Its latest head gets one here, once, from the signer: its signature
   * checked with this log's key and its root just reproduced from the stored tree (loadRange), so
   * nothing the log did not sign as a head gets a checkpoint signature. Older such heads get none.
   */
  private async checkpointUpgradedHead(): Promise<void> {
    const key = this.options.signingKey;
    await this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      await audit.lock();
      const latest = await audit.latestHead();
      if (latest === undefined || latest.checkpoint !== undefined || latest.keyId !== key.keyId || !verifyTreeHead(latest, key.publicKey)) return;
      const range = this.range;
      if (range?.size !== latest.size || range.root() !== latest.root.toString('hex')) return;
      await audit.addCheckpoint(latest.size, { origin: this.origin, signature: signCheckpoint(key.privateKey, this.origin, latest.size, latest.root) });
    });
  }

  /** Commits what is queued, signs a last head, and stops the timers. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearInterval(this.watchTimer);
    clearTimeout(this.headTimer);
    this.headTimer = undefined;
    await this.signHeadIfBehind();
  }

  private startCommitting(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.committing !== undefined) return; // its loop takes what is queued
    this.committing = this.commitWhileQueued().finally(() => {
      this.committing = undefined;
      // Appended between the loop's last look at the queue and now: a full batch set no timer.
      if (this.queue.length > 0) this.startCommitting();
    });
  }

  private async commitWhileQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.queuedEntries = 0;
      try {
        await this.commit(batch);
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
  }

  private async commit(batch: readonly Waiter[]): Promise<void> {
    let range: CompactRange | undefined;
    const head = await this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      await audit.lock();
      range = await this.rangeNow(audit);
      const entries = batch.flatMap((waiter) => waiter.entries);
      const firstIndex = range.size;
      const writes = new NodeWrites();
      for (let i = 0; i < entries.length; i++) {
        range.append(this.hasher.leafOfText(canonicalTextAt(entries[i]!, firstIndex + i, this.blinding)), writes);
      }
      await audit.insertEntries(firstIndex, entries);
      if (this.options.keepCounts !== false) await auditAggregates.record(trx, entries, undefined, this.memberNumbers);
      await audit.insertNodes(writes.list);
      for (const waiter of batch) await waiter.withEntries?.(trx);
      // A batch of only `withEntries` work (a request that released nothing) leaves the size, and its head, as they were.
      if (entries.length > 0 && performance.now() - this.lastHeadAt >= this.headIntervalMs) return this.signHead(audit, range);
      return undefined;
    }).catch((error: unknown) => {
      this.memberNumbers.drop();
      throw error;
    });
    this.memberNumbers.keep();
    this.range = range;
    if (head !== undefined) this.headCommitted(head);
    this.scheduleHead();
  }

  /**
   * The head of the range's tree, signed in both forms (the tree head, and the C2SP checkpoint that
   * is published as it is stored here) and stored in the caller's transaction.
   */
  private async signHead(audit: AuditRepository, range: CompactRange): Promise<StoredTreeHead> {
    const root = Buffer.from(range.root(), 'hex');
    const key = this.options.signingKey;
    const checkpoint = { origin: this.origin, signature: signCheckpoint(key.privateKey, this.origin, range.size, root) };
    const head = { ...signTreeHead(key.privateKey, range.size, root, this.options.clock()), keyId: key.keyId, checkpoint };
    await audit.insertHead(head, key.keyId, checkpoint);
    this.lastHeadAt = performance.now();
    return head;
  }

  /** After the head's transaction committed: kept outside the database, then announced. */
  private headCommitted(head: StoredTreeHead): void {
    if (this.options.savedHeadFile !== undefined) {
      const saved = readSavedHead(this.options.savedHeadFile);
      if (saved === undefined || saved.size <= head.size) saveHead(this.options.savedHeadFile, head);
    }
    this.options.onHeadSigned?.(head);
  }

  /**
   * Under the log's lock: a copy of the range, loaded and checked on first use, extended with the
   * entries appended since by others (staff actions in their own transactions, the CLI, another
   * server), hashed from their contents, with the nodes they complete stored for proofs. The copy
   * replaces the range only once its transaction has committed.
   */
  private async rangeNow(audit: AuditRepository): Promise<CompactRange> {
    const range = this.range === undefined ? await this.loadRange(audit) : copyOf(this.range, this.hasher);
    const size = await audit.treeSize();
    if (size < range.size) throw new Error(truncatedMessage(size, range.size));
    const writes = new NodeWrites();
    while (range.size < size) {
      for (const entry of await audit.entriesAfter(range.size, Math.min(10_000, size - range.size))) {
        if (entry.seq !== range.size + 1) throw new Error(`the audit log has no entry seq ${range.size + 1}: run \`datapact audit verify\``);
        range.append(storedLeafHash(entry, this.blinding).toString('hex'), writes);
      }
      await audit.insertNodes(writes.list.splice(0));
    }
    return range;
  }

  /**
   * The range at the latest signed head (the newest of the database's and the saved one): its
   * stored complete subtrees, and the odd leaf below them recomputed from its entry, must give the
   * signed root. Otherwise the signed history was rewritten (or truncated) under the server, and it
   * refuses to go on rather than sign a tree that does not extend what it signed.
   */
  private async loadRange(audit: AuditRepository): Promise<CompactRange> {
    const head = await this.lastSignedHead(audit);
    if (head === undefined) return new CompactRange(this.hasher);
    const size = await audit.treeSize();
    if (size < head.size) throw new Error(truncatedMessage(size, head.size));
    const subtrees = await audit.withBlinding(this.blinding).run({ reads: completeSubtrees(0, head.size), assemble: (nodes) => [...nodes] });
    const range = new CompactRange(this.hasher, head.size, subtrees);
    const root = range.root();
    if (root !== head.root.toString('hex')) {
      throw new Error(
        `The audit log no longer reproduces its last signed tree head (tree_size ${head.size}): that head's root is ` +
        `${head.root.toString('hex')}, the stored tree gives ${root}. Entries or nodes under that head were changed ` +
        'after it was signed; the server will not sign a rewritten history. Run `datapact audit verify` and restore the database from a backup.',
      );
    }
    return range;
  }

  /** The newest head whose signature verifies, from the database or the saved copy. */
  private async lastSignedHead(audit: AuditRepository): Promise<StoredTreeHead | undefined> {
    const key = this.options.signingKey;
    const stored = await audit.latestHead();
    const saved = this.options.savedHeadFile === undefined ? undefined : readSavedHead(this.options.savedHeadFile);
    for (const [head, where] of [[stored, 'the database'], [saved, this.options.savedHeadFile]] as const) {
      if (head !== undefined && (head.keyId !== key.keyId || !verifyTreeHead(head, key.publicKey))) {
        throw new Error(`The audit log's latest tree head in ${where} (tree_size ${head.size}) is not signed by this server's audit key: it was not signed by this log.`);
      }
    }
    if (stored === undefined) return saved;
    return saved !== undefined && saved.size > stored.size ? saved : stored;
  }

  /** A head within `headIntervalMs` of the last one, for entries a batch left unsigned. */
  private scheduleHead(): void {
    if (this.closed || this.headTimer !== undefined) return;
    const wait = Math.max(0, this.lastHeadAt + this.headIntervalMs - performance.now());
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      this.signHeadIfBehind().catch((error: unknown) => this.options.onError?.(error));
    }, wait);
    this.headTimer.unref();
  }
}

function truncatedMessage(size: number, signed: number): string {
  return `The audit log holds ${size} entries but a signed tree head covers ${signed}: entries from seq ${size + 1} were removed ` +
    'after they were signed. The server will not sign a truncated history. Run `datapact audit verify` and restore the database from a backup.';
}

function copyOf(range: CompactRange, hasher: MerkleHasher): CompactRange {
  return new CompactRange(hasher, range.size, range.subtrees());
}

/** The interior nodes a range's appends complete that are stored for proofs (the lower ones are recomputed from leaves). */
class NodeWrites implements NodeSink {
  readonly list: NodeWrite[] = [];

  node(level: number, index: number, hash: string): void {
    if (level >= LOWEST_STORED_LEVEL) this.list.push({ level, index, hash: Buffer.from(hash, 'hex') });
  }
}
