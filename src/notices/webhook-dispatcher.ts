import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Notice } from '../domain/notice.js';
import type { Instant } from '../domain/time.js';
import type { DueNotice } from '../store/notice-repository.js';
import type { Store } from '../store/store.js';
import { AddressRefused, postPinned, systemResolver, type Resolver } from './pinned-post.js';

/** The header that carries the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-datapact-signature';
/** The notice's id, the same on every attempt: receivers use it to ignore a notice they already have. */
export const NOTICE_ID_HEADER = 'x-datapact-notice-id';

const MINUTE_MS = 60_000;
/** Waits after the 1st, 2nd, ... failed attempt: 1 min, 5 min, 30 min, 2 h, 12 h; then it is abandoned. */
export const DEFAULT_BACKOFF_MS: readonly number[] = [1, 5, 30, 120, 720].map((minutes) => minutes * MINUTE_MS);
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_INTERVAL_SECONDS = 15;

/** What a webhook receives as its JSON body. */
export interface WebhookBody {
  readonly id: string;
  readonly type: string;
  readonly created_at: string;
  readonly partner_id: string;
  readonly agreement_id: string | null;
  readonly data: Record<string, unknown>;
}

export function webhookBody(notice: Notice): WebhookBody {
  return {
    id: notice.id,
    type: notice.type,
    created_at: new Date(notice.createdAt).toISOString(),
    partner_id: notice.partnerId,
    agreement_id: notice.agreementId,
    data: notice.payload,
  };
}

function hmac(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

/** The `x-datapact-signature` value for a body sent at `now`. */
export function signatureHeader(secret: string, rawBody: string, now: Instant): string {
  const timestamp = Math.floor(now / 1000);
  return `t=${timestamp},v1=${hmac(secret, timestamp, rawBody)}`;
}

/**
 * What a receiver does (the README shows the same in a few lines): true if `header` signs `rawBody`
 * with `secret` and its timestamp is within `toleranceSeconds` of `now`.
 */
export function verifySignature(secret: string, rawBody: string, header: string | undefined, now: Instant, toleranceSeconds = 300): boolean {
  if (header === undefined) return false;
  const parts = new Map(header.split(',').map((part) => {
    const at = part.indexOf('=');
    return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
  }));
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(timestamp) || given === undefined || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  return timingSafeEqual(Buffer.from(hmac(secret, timestamp, rawBody), 'hex'), Buffer.from(given, 'hex'));
}

export interface DispatcherOptions {
  readonly store: Store;
  /** Per request; default 5 s. */
  readonly timeoutMs?: number;
  /** Waits between attempts; the notice is abandoned after `backoffMs.length + 1` attempts. */
  readonly backoffMs?: readonly number[];
  /** Notices taken per `dispatchDue` call; default 50. */
  readonly batchSize?: number;
  /** Requests in flight at once; default 8. */
  readonly concurrency?: number;
  /** Resolves webhook host names; default: the system resolver. */
  readonly resolve?: Resolver;
  /**
   * Development only: webhooks on this machine (loopback) may be called. Private, link-local and other
   * non-public addresses never are, whatever the URL's host name resolves to. Default false.
   */
  readonly allowLoopback?: boolean;
  /** Names this dispatcher's claims; default random. */
  readonly id?: string;
}

/** What one `dispatchDue` call did. */
export interface DispatchReport {
  readonly delivered: number;
  readonly failed: number;
  readonly abandoned: number;
  readonly undeliverable: number;
  /** Due notices another dispatcher had already claimed. */
  readonly skipped: number;
}

/** Why an attempt failed, in a line for the delivery log (never the receiver's response body). */
function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof AddressRefused) return error.message.slice(0, 300);
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timeout: no response within ${timeoutMs} ms`;
  }
  const code = [error, error instanceof Error ? error.cause : undefined]
    .map((e) => (e as { code?: unknown } | undefined)?.code)
    .find((c): c is string => typeof c === 'string');
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code !== undefined) return `network error (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  return `network error: ${message}`.slice(0, 300);
}

/**
 * Posts due notices to the partners' webhooks. Time is an input: `dispatchDue(now)` sends what is due
 * at `now` and schedules retries from it, so tests (and a replay) drive it with their own clock. Each
 * notice is claimed with a conditional update before it is sent, so several dispatchers (threads,
 * processes, servers) over one database never send the same attempt twice.
 */
export class WebhookDispatcher {
  readonly id: string;
  private readonly store: Store;
  private readonly timeoutMs: number;
  private readonly backoffMs: readonly number[];
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly resolve: Resolver;
  private readonly allowLoopback: boolean;

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.batchSize = options.batchSize ?? 50;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.resolve = options.resolve ?? systemResolver;
    this.allowLoopback = options.allowLoopback ?? false;
    this.id = options.id ?? `dispatcher_${randomUUID()}`;
  }

  /** The most attempts a notice gets. */
  get maxAttempts(): number {
    return this.backoffMs.length + 1;
  }

  async dispatchDue(now: Instant): Promise<DispatchReport> {
    const due = await this.store.notices.due(now, this.batchSize);
    const counts = { delivered: 0, failed: 0, abandoned: 0, undeliverable: 0, skipped: 0 };
    const errors: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        try {
          counts[await this.attempt(due[next++]!, now)] += 1;
        } catch (error) {
          // E.g. the database was busy: that notice's claim lapses and a later run tries it again.
          errors.push(error);
        }
      }
    };
    // Every worker finishes before this returns, so a stopped loop leaves nothing in flight.
    await Promise.all(Array.from({ length: Math.min(this.concurrency, due.length) }, worker));
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} notice attempt(s) could not be recorded.`);
    return counts;
  }

  private async attempt({ notice, webhookUrl }: DueNotice, now: Instant): Promise<keyof DispatchReport> {
    // The lease outlasts the request, so no one else takes the notice while this attempt is in flight.
    const leaseUntil = now + this.timeoutMs + 60_000;
    if (!(await this.store.notices.claim(notice.id, notice.attempts, this.id, now, leaseUntil))) return 'skipped';
    if (webhookUrl === null) {
      await this.store.notices.markUndeliverable(notice.id, this.id);
      return 'undeliverable';
    }
    const secret = await this.store.notices.webhookSecret(notice.partnerId);
    if (secret === undefined) throw new Error(`The partner ${notice.partnerId} of notice ${notice.id} is gone.`);
    const rawBody = JSON.stringify(webhookBody(notice));
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      // A redirect is a failure (it is not followed): the notice goes to the URL staff registered, nowhere else.
      httpStatus = await postPinned({
        url: webhookUrl,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Datapact-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(secret, rawBody, now),
          [NOTICE_ID_HEADER]: notice.id,
        },
        body: rawBody,
        timeoutMs: this.timeoutMs,
        resolve: this.resolve,
        allowLoopback: this.allowLoopback,
      });
      if (httpStatus < 200 || httpStatus > 299) error = `HTTP ${httpStatus}`;
    } catch (caught) {
      error = describeFailure(caught, this.timeoutMs);
    }
    const attempt = notice.attempts + 1;
    const delivered = error === null;
    const wait = this.backoffMs[attempt - 1];
    const nextAttemptAt = delivered || wait === undefined ? null : now + wait;
    await this.store.notices.recordAttempt({
      noticeId: notice.id, claimedBy: this.id, attempt, attemptedAt: now,
      status: delivered ? 'delivered' : 'failed', httpStatus, error, nextAttemptAt,
    });
    return delivered ? 'delivered' : nextAttemptAt === null ? 'abandoned' : 'failed';
  }
}

export interface NoticeDispatcherLoopOptions extends DispatcherOptions {
  readonly clock?: () => Instant;
  /** Seconds between runs; default 15 (`DATAPACT_NOTICE_SECONDS`). */
  readonly intervalSeconds?: number;
  /** A run that threw (e.g. the database is busy); the loop goes on. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs `dispatchDue(clock())` every `intervalSeconds` (runs never overlap). Returns a function that
 * stops the loop and waits for a run in progress.
 */
export function startNoticeDispatcher(options: NoticeDispatcherLoopOptions): () => Promise<void> {
  const dispatcher = new WebhookDispatcher(options);
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? ((error: unknown) => console.error('Notice dispatch failed:', error));
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running !== null || stopped) return;
    running = dispatcher
      .dispatchDue(clock())
      .then(() => undefined, onError)
      .finally(() => { running = null; });
  };
  const timer = setInterval(tick, (options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000);
  timer.unref();
  tick();
  return async () => {
    stopped = true;
    clearInterval(timer);
    if (running !== null) await running;
  };
}
