import { randomBytes } from 'node:crypto';
import type { Notice, NoticeDelivery, NoticeStatus, NoticeToEnqueue } from '../domain/notice.js';
import type { Instant } from '../domain/time.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import { newWebhookSecret } from './migrations/0006-notices.js';
import type { NoticeDeliveriesTable, NoticesTable } from './schema.js';

export { newWebhookSecret };

/** A notice the dispatcher may send now, with where and how to send it. */
export interface DueNotice {
  readonly notice: Notice;
  /** The partner's webhook URL now; null when it was removed since the notice was recorded. */
  readonly webhookUrl: string | null;
}

/**
 * What one attempt came to, as the dispatcher records it: a delivery row to be, plus the claim
 * it was made under (the outcome is dropped if the dispatcher no longer holds the claim).
 */
export type AttemptOutcome = Omit<NoticeDelivery, 'id'> & { readonly claimedBy: string };

export interface NoticeQuery {
  readonly partnerId?: string;
  readonly agreementId?: string;
  readonly status?: NoticeStatus;
  readonly limit: number;
  /** Keyset cursor: the (created_at, id) of the last notice of the previous page. */
  readonly after?: { readonly createdAt: Instant; readonly id: string };
}

function noticeId(): string {
  return `ntc_${randomBytes(12).toString('hex')}`;
}

function deliveryId(): string {
  return `ndl_${randomBytes(12).toString('hex')}`;
}

function noticeFromRow(row: NoticesTable): Notice {
  return {
    id: row.id,
    partnerId: row.partner_id,
    agreementId: row.agreement_id,
    type: row.type,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    createdAt: fromIso(row.created_at),
    dedupeKey: row.dedupe_key,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: fromIsoOrNull(row.next_attempt_at),
    deliveredAt: fromIsoOrNull(row.delivered_at),
  };
}

function deliveryFromRow(row: NoticeDeliveriesTable): NoticeDelivery {
  return {
    id: row.id,
    noticeId: row.notice_id,
    attempt: Number(row.attempt),
    attemptedAt: fromIso(row.attempted_at),
    status: row.status,
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    error: row.error,
    nextAttemptAt: fromIsoOrNull(row.next_attempt_at),
  };
}

/**
 * The notice outbox (notices, their delivery attempts) and the partners' webhook signing secrets.
 * Constructed over a transaction, `enqueue` joins the caller's change: the notice is recorded if and
 * only if the change it reports is.
 */
export class NoticeRepository {
  constructor(private readonly db: Db) {}

  /**
   * Records a notice. A partner without a webhook URL gets it as `undeliverable` (kept for the log,
   * never sent). Returns the new notice's id, or null when `dedupeKey` was already recorded (or the
   * partner does not exist).
   */
  async enqueue(notice: NoticeToEnqueue): Promise<string | null> {
    const partner = await this.db.selectFrom('partners').select('webhook_url').where('id', '=', notice.partnerId).executeTakeFirst();
    if (!partner) throw new Error(`No partner ${notice.partnerId} to send a notice to.`);
    const deliverable = partner.webhook_url !== null && partner.webhook_url !== '';
    const id = noticeId();
    const result = await this.db
      .insertInto('notices')
      .values({
        id,
        partner_id: notice.partnerId,
        agreement_id: notice.agreementId,
        type: notice.type,
        payload: JSON.stringify(notice.payload),
        created_at: toIso(notice.at),
        dedupe_key: notice.dedupeKey ?? null,
        status: deliverable ? 'pending' : 'undeliverable',
        attempts: 0,
        next_attempt_at: deliverable ? toIso(notice.at) : null,
        claimed_until: null,
        claimed_by: null,
        delivered_at: null,
      })
      .onConflict((conflict) => conflict.column('dedupe_key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1 ? id : null;
  }

  /** Notices to try now: never attempted or failed, due by `now`, and not claimed by a live lease. */
  async due(now: Instant, limit: number): Promise<DueNotice[]> {
    const at = toIso(now);
    const rows = await this.db
      .selectFrom('notices')
      .innerJoin('partners', 'partners.id', 'notices.partner_id')
      .selectAll('notices')
      .select('partners.webhook_url')
      .where('notices.status', 'in', ['pending', 'failed'])
      .where('notices.next_attempt_at', '<=', at)
      .where((eb) => eb.or([eb('notices.claimed_until', 'is', null), eb('notices.claimed_until', '<=', at)]))
      .orderBy('notices.next_attempt_at')
      .orderBy('notices.id')
      .limit(limit)
      .execute();
    return rows.map(({ webhook_url, ...row }) => ({ notice: noticeFromRow(row), webhookUrl: webhook_url || null }));
  }

  /**
   * Takes the lease on a notice for its next attempt: a conditional update that succeeds for exactly
   * one dispatcher, so two dispatchers never send the same attempt.
   */
  async claim(id: string, attemptsSoFar: number, dispatcherId: string, now: Instant, leaseUntil: Instant): Promise<boolean> {
    const at = toIso(now);
    const result = await this.db
      .updateTable('notices')
      .set({ claimed_until: toIso(leaseUntil), claimed_by: dispatcherId })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'failed'])
      .where('attempts', '=', attemptsSoFar)
      .where('next_attempt_at', '<=', at)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', at)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Records an attempt and moves the notice on, in one transaction, if `claimedBy` still holds the
   * claim for this attempt. Returns false (and records nothing) when it does not.
   */
  async recordAttempt(outcome: AttemptOutcome): Promise<boolean> {
    const work = async (db: Db): Promise<boolean> => {
      const delivered = outcome.status === 'delivered';
      const noticeStatus: NoticeStatus = delivered ? 'delivered' : outcome.nextAttemptAt === null ? 'abandoned' : 'failed';
      const updated = await db
        .updateTable('notices')
        .set({
          status: noticeStatus,
          attempts: outcome.attempt,
          next_attempt_at: delivered || outcome.nextAttemptAt === null ? null : toIso(outcome.nextAttemptAt),
          delivered_at: delivered ? toIso(outcome.attemptedAt) : null,
          claimed_until: null,
          claimed_by: null,
        })
        .where('id', '=', outcome.noticeId)
        .where('claimed_by', '=', outcome.claimedBy)
        .where('attempts', '=', outcome.attempt - 1)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return false;
      await db
        .insertInto('notice_deliveries')
        .values({
          id: deliveryId(),
          notice_id: outcome.noticeId,
          attempt: outcome.attempt,
          attempted_at: toIso(outcome.attemptedAt),
          status: outcome.status,
          http_status: outcome.httpStatus,
          error: outcome.error,
          next_attempt_at: delivered || outcome.nextAttemptAt === null ? null : toIso(outcome.nextAttemptAt),
        })
        .execute();
      return true;
    };
    if (this.db.isTransaction) return work(this.db);
    return this.db.transaction().execute(work);
  }

  /** The partner's webhook URL was removed after the notice was recorded: it will not be sent. */
  async markUndeliverable(id: string, claimedBy: string): Promise<void> {
    await this.db
      .updateTable('notices')
      .set({ status: 'undeliverable', next_attempt_at: null, claimed_until: null, claimed_by: null })
      .where('id', '=', id)
      .where('claimed_by', '=', claimedBy)
      .execute();
  }

  async notice(id: string): Promise<Notice | undefined> {
    const row = await this.db.selectFrom('notices').selectAll().where('id', '=', id).executeTakeFirst();
    return row && noticeFromRow(row);
  }

  /** Every attempt at a notice, oldest first. */
  async deliveries(noticeId: string): Promise<NoticeDelivery[]> {
    const rows = await this.db.selectFrom('notice_deliveries').selectAll().where('notice_id', '=', noticeId).orderBy('attempt').execute();
    return rows.map(deliveryFromRow);
  }

  /** Notices, newest first, filtered; one page of at most `limit`. */
  async list(query: NoticeQuery): Promise<Notice[]> {
    let select = this.db.selectFrom('notices').selectAll();
    if (query.partnerId !== undefined) select = select.where('partner_id', '=', query.partnerId);
    if (query.agreementId !== undefined) select = select.where('agreement_id', '=', query.agreementId);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    const after = query.after;
    if (after !== undefined) {
      const createdAt = toIso(after.createdAt);
      select = select.where((eb) => eb.or([
        eb('created_at', '<', createdAt),
        eb.and([eb('created_at', '=', createdAt), eb('id', '<', after.id)]),
      ]));
    }
    const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(noticeFromRow);
  }

  /** The partner's signing secret, generated (once, even if two callers race) when it has none. */
  async webhookSecret(partnerId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('partners').select('webhook_secret').where('id', '=', partnerId).executeTakeFirst();
    if (!row) return undefined;
    if (row.webhook_secret !== null) return row.webhook_secret;
    await this.db
      .updateTable('partners')
      .set({ webhook_secret: newWebhookSecret() })
      .where('id', '=', partnerId)
      .where('webhook_secret', 'is', null)
      .execute();
    const after = await this.db.selectFrom('partners').select('webhook_secret').where('id', '=', partnerId).executeTakeFirstOrThrow();
    return after.webhook_secret ?? undefined;
  }

  /** Replaces the partner's signing secret; returns the new one, or undefined if there is no such partner. */
  async rotateWebhookSecret(partnerId: string): Promise<string | undefined> {
    const secret = newWebhookSecret();
    const result = await this.db.updateTable('partners').set({ webhook_secret: secret }).where('id', '=', partnerId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1 ? secret : undefined;
  }
}
