import type { Kysely, Transaction } from 'kysely';
import type { NoticeToEnqueue } from '../domain/notice.js';
import type { Instant } from '../domain/time.js';
import { NoticeRepository } from '../store/notice-repository.js';
import type { Database } from '../store/schema.js';

export type {
  KnownNoticeType,
  Notice,
  NoticeDelivery,
  NoticeDeliveryStatus,
  NoticeStatus,
  NoticeToEnqueue,
} from '../domain/notice.js';
export { NOTICE_STATUSES, NOTICE_TYPES } from '../domain/notice.js';

/**
 * Records a notice to a partner in the outbox; the webhook dispatcher delivers it later, with retries.
 * Call it with the transaction that makes the change the notice reports: then the notice exists if
 * and only if the change does. A partner without a webhook URL still gets the notice recorded, as
 * `undeliverable`, so that the delivery log shows it was never sent. With a `dedupeKey` already
 * recorded (e.g. two scheduler instances announcing the same upcoming phase) nothing is added.
 * Throws if the partner does not exist.
 */
export async function enqueueNotice(
  db: Kysely<Database> | Transaction<Database>,
  notice: { partnerId: string; agreementId: string | null; type: string; payload: object; at: Instant; dedupeKey?: string },
): Promise<void> {
  await new NoticeRepository(db).enqueue(notice satisfies NoticeToEnqueue);
}
