import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../app.js';
import { registerStaffAuth } from '../plugins/staff-auth.js';
import { adminAgreementRoutes } from './admin-agreements.js';
import { adminCredentialRoutes } from './admin-credentials.js';
import { adminAttentionRoutes } from './admin-attention.js';
import { adminAuditRoutes } from './admin-audit.js';
import { adminCheckpointRoutes } from './admin-checkpoints.js';
import { adminDeletionRequestRoutes } from './admin-deletion-requests.js';
import { adminNoticeRoutes } from './admin-notices.js';
import { adminAppRoutes } from './admin-apps.js';
import { adminPackRoutes } from './admin-pack.js';
import { adminPartnerRoutes } from './admin-partners.js';
import { adminRecordsRoutes } from './admin-records.js';
import { adminReportRoutes } from './admin-reports.js';
import { adminRoleProposalRoutes } from './admin-role-proposals.js';
import { adminSimulationRoutes } from './admin-simulations.js';
import { adminSchemaErrorFormatter } from './admin-schemas.js';
import { adminStaffRoutes } from './admin-staff.js';
import { acceptJsonBodiesOnly } from '../validation.js';

/**
 * The admin API for staff (PRODUCT.md §2, §7), mounted at /admin/v1. Every route is authenticated
 * by a staff session token or API key (`registerStaffAuth`, except the login) and checks the
 * permission it needs (`requirePermission`); every change is written with its audit entry in one
 * transaction (`inStaffTransaction`).
 */
export const adminRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  app.setSchemaErrorFormatter(adminSchemaErrorFormatter);
  acceptJsonBodiesOnly(app);
  registerStaffAuth(app, context);
  await app.register(adminStaffRoutes, { context });
  await app.register(adminRoleProposalRoutes, { context });
  await app.register(adminCredentialRoutes, { context });
  await app.register(adminPartnerRoutes, { context });
  await app.register(adminAppRoutes, { context });
  await app.register(adminAgreementRoutes, { context });
  await app.register(adminNoticeRoutes, { context });
  await app.register(adminReportRoutes, { context });
  await app.register(adminSimulationRoutes, { context });
  await app.register(adminRecordsRoutes, { context });
  await app.register(adminPackRoutes, { context });
  await app.register(adminAttentionRoutes, { context });
  await app.register(adminAuditRoutes, { context });
  await app.register(adminCheckpointRoutes, { context });
  await app.register(adminDeletionRequestRoutes, { context });
};
