import type { Instant } from './time.js';

/**
 * Notices to partners (PRODUCT.md §5): every agreement transition and every upcoming wind-down phase
 * is posted to the partner's webhook. A notice is recorded first (in the outbox, in the same
 * transaction as the change it reports) and delivered afterwards, with retries.
 */

/** The event types the platform sends; `type` is open (a string) so that new events need no migration. */
export const NOTICE_TYPES = [
  'agreement.activated',
  'agreement.started',
  'agreement.suspended',
  'agreement.reinstated',
  'agreement.expired',
  'agreement.wind_down_started',
  'agreement.terminated',
  'agreement.deletion_unconfirmed',
  'agreement.certification_due',
  'wind_down.phase_upcoming',
  'wind_down.phase_started',
] as const;
export type KnownNoticeType = (typeof NOTICE_TYPES)[number];

/**
 * - `pending`: never attempted yet; `failed`: the last attempt failed and another is scheduled;
 * - `delivered`: a 2xx came back; `abandoned`: every attempt failed, no more are made;
 * - `undeliverable`: the partner has no webhook URL, so nothing is sent (the notice is kept for the log).
 */
export const NOTICE_STATUSES = ['pending', 'failed', 'delivered', 'abandoned', 'undeliverable'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

export type NoticeDeliveryStatus = 'delivered' | 'failed';

/** What a producer (the lifecycle, the scheduler) hands to the outbox. */
export interface NoticeToEnqueue {
  readonly partnerId: string;
  readonly agreementId: string | null;
  /** e.g. `agreement.activated`, `wind_down.phase_upcoming` (see NOTICE_TYPES). */
  readonly type: string;
  /** The notice's `data`: any JSON object. */
  readonly payload: object;
  readonly at: Instant;
  /** Same key, same notice: a second enqueue with a key already recorded is ignored. */
  readonly dedupeKey?: string;
}

export interface Notice {
  readonly id: string;
  readonly partnerId: string;
  readonly agreementId: string | null;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly createdAt: Instant;
  readonly dedupeKey: string | null;
  readonly status: NoticeStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly nextAttemptAt: Instant | null;
  readonly deliveredAt: Instant | null;
}

export interface NoticeDelivery {
  readonly id: string;
  readonly noticeId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly attemptedAt: Instant;
  readonly status: NoticeDeliveryStatus;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly nextAttemptAt: Instant | null;
}
