import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, iso, security } from './admin-schemas.js';

const CheckpointsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
}, { additionalProperties: false });

const CheckpointsPage = Type.Object({
  origin: Type.String({ description: 'The checkpoints\' origin line' }),
  verifier_key: Type.String({ description: 'The log\'s signed-note verifier key' }),
  witnesses: Type.Array(Type.String(), { description: 'The configured witnesses\' verifier keys' }),
  quorum: Type.Integer({ minimum: 0, description: 'Cosignatures a head needs' }),
  data: Type.Array(Type.Object({
    tree_size: Type.Integer({ minimum: 0 }),
    root_hash: Type.String(),
    timestamp: DateTime,
    cosignatures: Type.Array(Type.Object({
      witness: Type.String({ description: 'The witness\'s verifier key' }),
      cosigned_at: DateTime,
    }, { additionalProperties: false })),
    under_quorum: Type.Boolean({ description: 'Fewer cosignatures than the quorum: not (yet) witnessed enough' }),
  }, { additionalProperties: false }), { description: 'The latest heads, largest first' }),
}, { additionalProperties: false });

/** Staff see which checkpoints the witnesses cosigned, and which heads are flagged for lacking cosignatures. */
export const adminCheckpointRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  app.get('/audit/checkpoints', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'The latest checkpoints with their witnesses\' cosignatures, heads under the quorum flagged', tags: ['admin: audit'], security,
      querystring: CheckpointsQuery,
      response: { 200: CheckpointsPage, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { checkpoints } = context;
    const views = await checkpoints.views(await context.store.audit.latestHeads(request.query.limit ?? 20));
    return {
      origin: checkpoints.origin,
      verifier_key: checkpoints.verifierKey,
      witnesses: [...checkpoints.witnessKeys],
      quorum: checkpoints.quorum,
      data: views.map((view) => ({
        tree_size: view.head.size,
        root_hash: view.head.root.toString('base64'),
        timestamp: iso(view.head.timestamp),
        cosignatures: view.cosignatures.map((c) => ({ witness: c.witness, cosigned_at: iso(c.cosignedAt * 1000) })),
        under_quorum: view.underQuorum,
      })),
    };
  });
};
