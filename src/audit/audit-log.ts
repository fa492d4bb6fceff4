import { performance } from 'node:perf_hooks';
import type { Instant } from '../domain/time.js';
import { AuditRepository, type StoredTreeHead } from '../store/audit-repository.js';
import type { Db } from '../store/database.js';
import type { AuditEntry } from './audit-entry.js';
import { rootHashPlan } from './merkle-tree.js';
import type { AuditSigningKey } from './signing-key.js';
import { signTreeHead } from './tree-head.js';

export interface AuditLogOptions {
  readonly db: Db;
  readonly clock: () => Instant;
  readonly signingKey: AuditSigningKey;
  /** A batch is committed as soon as it holds this many entries. Default 5,000. */
  readonly maxBatchEntries?: number;
  /** ...or this long after its first entry arrived, whichever comes first. Default 2 ms. */
  readonly maxDelayMs?: number;
  /** Tree heads are signed at most this often, and at least this soon after an append. Default 1,000 ms. */
  readonly headIntervalMs?: number;
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

  constructor(private readonly options: AuditLogOptions) {
    this.maxBatchEntries = options.maxBatchEntries ?? 5000;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.headIntervalMs = options.headIntervalMs ?? 1000;
  }

  get signingKey(): AuditSigningKey {
    return this.options.signingKey;
  }

  /** Resolves once the entries (and `withEntries`' writes) are committed; rejects if that transaction failed. */
  append(entries: readonly AuditEntry[], withEntries?: WithEntries): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    if (entries.length === 0 && withEntries === undefined) return Promise.resolve();
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
    return this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      await audit.lock();
      const size = await audit.treeSize();
      const latest = await audit.latestHead();
      if (latest !== undefined ? latest.size >= size : size === 0 && !evenIfEmpty) return undefined;
      return this.signHead(audit, size);
    });
  }

  /**
   * For a server: signs a head now if the log grew while it was down, then checks every interval
   * (at least a second) for entries appended outside this log's batches (the scheduler, the CLI,
   * another instance), so they too are under a signed head within about a second.
   */
  async start(): Promise<void> {
    if (this.closed || this.watchTimer !== undefined) return;
    await this.refuseAnotherKey();
    await this.signHeadIfBehind(false);
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
    await this.options.db.transaction().execute(async (trx) => {
      const audit = new AuditRepository(trx);
      const { firstIndex, size } = await audit.append(batch.flatMap((waiter) => waiter.entries));
      for (const waiter of batch) await waiter.withEntries?.(trx);
      // A batch of only `withEntries` work (a request that released nothing) leaves the size, and its head, as they were.
      if (size > firstIndex && performance.now() - this.lastHeadAt >= this.headIntervalMs) await this.signHead(audit, size);
    });
    this.scheduleHead();
  }

  private async signHead(audit: AuditRepository, size: number): Promise<StoredTreeHead> {
    const root = await audit.run(rootHashPlan(size));
    const key = this.options.signingKey;
    const head = { ...signTreeHead(key.privateKey, size, root, this.options.clock()), keyId: key.keyId };
    await audit.insertHead(head, key.keyId);
    this.lastHeadAt = performance.now();
    return head;
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
