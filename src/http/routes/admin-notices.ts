import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { InvalidCursor, NotFound } from '../../domain/errors.js';
import { NOTICE_STATUSES, type Notice, type NoticeDelivery } from '../../domain/notice.js';
import type { AppContext } from '../app.js';
import { inStaffTransaction, requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, iso, isoOrNull, security } from './admin-schemas.js';

const NoticeView = Type.Object({
  id: Type.String(),
  partner_id: Type.String(),
  agreement_id: NullableString(),
  type: Type.String(),
  created_at: DateTime,
  status: StringEnum(NOTICE_STATUSES),
  /** Why a notice is not sent: `no_webhook_url` for `undeliverable`. */
  reason: NullableString(),
  attempts: Type.Integer(),
  next_attempt_at: Type.Union([DateTime, Type.Null()]),
  delivered_at: Type.Union([DateTime, Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
}, { additionalProperties: false });

const DeliveryView = Type.Object({
  attempt: Type.Integer(),
  attempted_at: DateTime,
  status: StringEnum(['delivered', 'failed'] as const),
  http_status: Type.Union([Type.Integer(), Type.Null()]),
  error: NullableString(),
  next_attempt_at: Type.Union([DateTime, Type.Null()]),
}, { additionalProperties: false });

const NoticeWithAttempts = Type.Object({ ...NoticeView.properties, deliveries: Type.Array(DeliveryView) }, { additionalProperties: false });

const NoticeList = Type.Object({
  data: Type.Array(NoticeView),
  /** Pass as `after` for the next page; null on the last page. */
  next: NullableString(),
}, { additionalProperties: false });

const ListQuery = Type.Object({
  partner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  agreement_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  status: Type.Optional(StringEnum(NOTICE_STATUSES)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  after: Type.Optional(Type.String({ maxLength: 500, description: 'The `next` of the previous page.' })),
}, { additionalProperties: false });

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

const RotatedSecret = Type.Object({
  partner_id: Type.String(),
  webhook_secret: Type.String({ description: 'Shown this once: give it to the partner to verify `x-datapact-signature`.' }),
}, { additionalProperties: false });

function noticeView(notice: Notice): Static<typeof NoticeView> {
  return {
    id: notice.id,
    partner_id: notice.partnerId,
    agreement_id: notice.agreementId,
    type: notice.type,
    created_at: iso(notice.createdAt),
    status: notice.status,
    reason: notice.status === 'undeliverable' ? 'no_webhook_url' : null,
    attempts: notice.attempts,
    next_attempt_at: isoOrNull(notice.nextAttemptAt),
    delivered_at: isoOrNull(notice.deliveredAt),
    data: notice.payload,
  };
}

function deliveryView(delivery: NoticeDelivery): Static<typeof DeliveryView> {
  return {
    attempt: delivery.attempt,
    attempted_at: iso(delivery.attemptedAt),
    status: delivery.status,
    http_status: delivery.httpStatus,
    error: delivery.error,
    next_attempt_at: isoOrNull(delivery.nextAttemptAt),
  };
}

/** The list's cursor: the last notice of the page (its creation time and id), opaque to clients. */
function encodeCursor(notice: Notice): string {
  return Buffer.from(JSON.stringify({ c: notice.createdAt, i: notice.id })).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  const { c, i } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof c !== 'number' || !Number.isFinite(c) || typeof i !== 'string') throw new InvalidCursor();
  return { createdAt: c, id: i };
}

/**
 * The delivery log of notices to partners' webhooks (PRODUCT.md §5), and the rotation of a partner's
 * signing secret. Registered inside the /admin/v1 scope (staff authentication).
 */
export const adminNoticeRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store } = context;

  app.get('/notices', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Notices sent (or to be sent) to partners, newest first, with their delivery state',
      tags: ['admin: notices'],
      security,
      querystring: ListQuery,
      response: { 200: NoticeList, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { partner_id, agreement_id, status, after } = request.query;
    const limit = request.query.limit ?? 25;
    const notices = await store.notices.list({
      limit: limit + 1,
      ...(partner_id === undefined ? {} : { partnerId: partner_id }),
      ...(agreement_id === undefined ? {} : { agreementId: agreement_id }),
      ...(status === undefined ? {} : { status }),
      ...(after === undefined ? {} : { after: decodeCursor(after) }),
    });
    const page = notices.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(noticeView), next: notices.length > limit && last ? encodeCursor(last) : null };
  });

  app.get('/notices/:id', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'One notice with every delivery attempt',
      tags: ['admin: notices'],
      security,
      params: IdParams,
      response: { 200: NoticeWithAttempts, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const notice = await store.notices.notice(request.params.id);
    if (!notice) throw new NotFound(`No notice ${request.params.id}.`);
    const deliveries = await store.notices.deliveries(notice.id);
    return { ...noticeView(notice), deliveries: deliveries.map(deliveryView) };
  });

  app.post('/partners/:id/webhook-secret/rotate', {
    onRequest: requirePermission('manage_partners'),
    schema: {
      summary: "Replace the partner's webhook signing secret; the new one is returned this once",
      tags: ['admin: notices'],
      security,
      params: IdParams,
      response: { 200: RotatedSecret, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const partnerId = request.params.id;
    const secret = await inStaffTransaction(context, request, async (tx) => {
      const rotated = await tx.store.notices.rotateWebhookSecret(partnerId);
      if (rotated === undefined) throw new NotFound(`No partner ${partnerId}.`);
      await tx.record({ action: 'partner.rotate_webhook_secret', partnerId });
      return rotated;
    });
    return { partner_id: partnerId, webhook_secret: secret };
  });

  app.post('/partners/:id/webhook-ping', {
    onRequest: requirePermission('manage_partners'),
    schema: {
      summary: "Send the partner's webhook a test notice (`webhook.ping`), delivered like any other: its attempts show in the delivery log",
      description: 'Answers 202 with the notice as recorded (`undeliverable` when the partner has no webhook URL); the dispatcher sends it '
        + 'within seconds, signed with the partner\'s secret, and retries it as any notice. Follow it with GET /admin/v1/notices/:id.',
      tags: ['admin: notices'],
      security,
      params: IdParams,
      response: { 202: NoticeView, ...ADMIN_ERRORS },
    },
  }, async (request, reply) => {
    const partnerId = request.params.id;
    const noticeId = await inStaffTransaction(context, request, async (tx) => {
      if (!(await tx.store.partners.partner(partnerId))) throw new NotFound(`No partner ${partnerId}.`);
      const id = await tx.store.notices.enqueue({ partnerId, agreementId: null, type: 'webhook.ping', payload: { test: true }, at: tx.now });
      await tx.record({ action: 'partner.webhook_ping', partnerId, detail: { notice_id: id } });
      return id!;
    });
    return reply.status(202).send(noticeView((await store.notices.notice(noticeId))!));
  });
};
