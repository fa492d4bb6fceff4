import type { Agreement, AgreementStatus } from './agreement.js';
import { agreementTerms, type AgreementTerms } from './agreement-terms.js';
import type { Instant } from './time.js';

/**
 * Notices to partners (PRODUCT.md §5): every agreement transition and every upcoming wind-down phase
 * is posted to the partner's webhook. A notice is recorded first (in the outbox, in the same
 * transaction as the change it reports) and delivered afterwards, with retries.
 */

/**
 * The event types the platform sends to partners (the README lists each with its `data`); `type` is
 * open (a string) so that new events need no migration. Anything else the lifecycle records (a draft,
 * an edit, a submission, an approval, a return to draft) is internal drafting and is never sent.
 */
export const NOTICE_TYPES = [
  'agreement.activated',
  'agreement.started',
  'agreement.suspended',
  'agreement.reinstated',
  'agreement.certified',
  'agreement.expired',
  'agreement.wind_down_started',
  'agreement.terminated',
  'agreement.deletion_unconfirmed',
  'wind_down.phase_upcoming',
  'wind_down.phase_started',
  'member.deletion_requested',
  'webhook.ping',
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

/** Who brought a change about, as a partner is told it: never which staff member. */
export type NoticeInitiator = 'staff' | 'system' | 'partner';

/** What the lifecycle knows of a change; only part of it goes to the partner. */
export interface AgreementChange {
  readonly type: string;
  readonly agreement: Agreement;
  readonly by: NoticeInitiator;
  readonly at: Instant;
  /** The status before a transition (null for a new draft; absent for a wind-down phase notice). */
  readonly from?: AgreementStatus | null;
  readonly reason?: string | null;
  readonly phase?: string;
  readonly phaseAt?: Instant;
  readonly daysBefore?: number;
}

/** A notice's `data` (the README documents it per type). */
export interface AgreementNoticeData {
  readonly by: NoticeInitiator;
  /** The status before the change (transitions only). */
  readonly from?: AgreementStatus | null;
  readonly reason: string | null;
  /** The agreement as it stands after the change, as the partner's agreement endpoint shows it. */
  readonly agreement: AgreementTerms;
  /** Wind-down notices: the phase, when it starts, and (upcoming) how many days before it this is sent. */
  readonly phase?: string;
  readonly phase_at?: string;
  readonly days_before?: number;
}

const DRAFTING: ReadonlySet<AgreementStatus> = new Set(['draft', 'under_review']);

/**
 * The `data` of the notice a change sends to the partner (PRODUCT.md §5: status, dates, fields; never
 * staff identities nor internal drafting steps), or null when the partner is not told: a type that is
 * not in NOTICE_TYPES, or the end of an agreement that was never activated (a draft abandoned).
 */
export function agreementNoticeData(change: AgreementChange): AgreementNoticeData | null {
  if (!(NOTICE_TYPES as readonly string[]).includes(change.type)) return null;
  if (change.from != null && DRAFTING.has(change.from) && change.agreement.status === 'terminated') return null;
  return {
    by: change.by,
    ...(change.from === undefined ? {} : { from: change.from }),
    reason: change.reason ?? null,
    agreement: agreementTerms(change.agreement, change.at),
    ...(change.phase === undefined ? {} : { phase: change.phase }),
    ...(change.phaseAt === undefined ? {} : { phase_at: new Date(change.phaseAt).toISOString() }),
    ...(change.daysBefore === undefined ? {} : { days_before: change.daysBefore }),
  };
}
