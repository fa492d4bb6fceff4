import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DELETION_CONFIRMATION_DAYS } from '../../domain/deletion-request.js';
import { addDays } from '../../domain/time.js';
import type { AppContext } from '../app.js';
import { deletionRequestView } from '../privacy/deletion-requests.js';
import { DeletionRequestList } from '../privacy/privacy-schemas.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, security } from './admin-schemas.js';

const Query = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false });

/** Members' deletion requests that partners left unconfirmed past their 30 days: the staff console's home lists them. */
export const adminDeletionRequestRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  app.get('/deletion-requests/unconfirmed', {
    onRequest: requirePermission('read'),
    schema: {
      summary: `Members' requests that a partner delete their data, still unconfirmed ${DELETION_CONFIRMATION_DAYS} days on; oldest first`,
      tags: ['admin: privacy'],
      security,
      querystring: Query,
      response: { 200: DeletionRequestList, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const now = context.clock();
    const overdue = await context.store.deletionRequests.unconfirmedSince(addDays(now, -DELETION_CONFIRMATION_DAYS), request.query.limit ?? 100);
    return { data: overdue.map((r) => deletionRequestView(r, now)) };
  });
};
