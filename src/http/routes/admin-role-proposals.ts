import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { confirmRoleProposal, declineRoleProposal } from '../../lifecycle/staff-roles.js';
import { hashPassword } from '../../store/member-credential-repository.js';
import type { RoleProposal } from '../../store/role-proposal-repository.js';
import type { RoleProposalStatus } from '../../store/schema.js';
import { generatePassword } from '../../store/staff-repository.js';
import type { AppContext } from '../app.js';
import { inStaffTransaction, requirePermission, staffOf } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, iso, isoOrNull, security } from './admin-schemas.js';
import { MultiLineText } from '../schemas.js';

const tags = ['admin: staff'];

const ProposalView = Type.Object({
  id: Type.String(),
  staff_id: Type.String(),
  roles: Type.Array(Type.String(), { description: 'The guarded roles (privacy_officer, admin) to add.' }),
  proposed_by: Type.String(),
  proposed_at: DateTime,
  status: Type.String({ description: 'pending | confirmed | rejected | cancelled' }),
  decided_by: NullableString(),
  decided_at: NullableString({ format: 'date-time' }),
}, { additionalProperties: false });

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

function proposalView(p: RoleProposal): Static<typeof ProposalView> {
  return {
    id: p.id, staff_id: p.staffId, roles: [...p.roles], proposed_by: p.proposedBy, proposed_at: iso(p.proposedAt),
    status: p.status, decided_by: p.decidedBy, decided_at: isoOrNull(p.decidedAt),
  };
}

/**
 * Grants of `privacy_officer` and `admin` waiting for a second admin (PRODUCT.md §5): list them,
 * confirm one (an admin other than its proposer and its subject), reject or cancel one.
 */
export const adminRoleProposalRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const manageStaff = requirePermission('manage_staff');

  app.get('/role-proposals', {
    onRequest: manageStaff,
    schema: {
      summary: 'Role grants proposed through the API, newest first (admin); default: the pending ones',
      tags, security,
      querystring: Type.Object({
        status: Type.Optional(StringEnum(['pending', 'confirmed', 'rejected', 'cancelled', 'all'] as const)),
        staff_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(ProposalView) }, { additionalProperties: false }), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const status: string = request.query.status ?? 'pending';
    const list = await context.store.roleProposals.list({
      status: status === 'all' ? undefined : status as RoleProposalStatus, staffId: request.query.staff_id,
    });
    return { data: list.map(proposalView) };
  });

  app.post('/role-proposals/:id/confirm', {
    onRequest: manageStaff,
    schema: {
      summary: 'Confirm a role grant (an admin other than the proposer and the account): the account gets the roles, its sessions and keys end, and a new password is shown once',
      tags, security, params: Params,
      response: {
        200: Type.Object({
          ...ProposalView.properties,
          staff_roles: Type.Array(Type.String()),
          new_password: Type.String({ description: 'The account\'s new password, shown this once: hand it to its owner. Whoever knew the old one no longer logs in.' }),
        }, { additionalProperties: false }),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request) => {
    const staff = staffOf(request);
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const { proposal, staff: account } = await inStaffTransaction(context, request,
      (tx) => confirmRoleProposal(tx, request.params.id, staff, passwordHash));
    return { ...proposalView(proposal), staff_roles: [...account.roles], new_password: password };
  });

  app.post('/role-proposals/:id/reject', {
    onRequest: manageStaff,
    schema: {
      summary: 'Turn a role grant down (admin): rejected, or cancelled when its proposer does it; the account keeps its roles',
      tags, security, params: Params,
      body: Type.Optional(Type.Object({ reason: Type.Optional(MultiLineText({ maxLength: 1000 })) }, { additionalProperties: false })),
      response: { 200: ProposalView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const proposal = await inStaffTransaction(context, request,
      (tx) => declineRoleProposal(tx, request.params.id, staffOf(request), request.body?.reason ?? null));
    return proposalView(proposal);
  });
};
