import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LogProofs } from '../../audit/log-proofs.js';
import type { AppContext } from '../app.js';
import {
  base64, ConsistencyQuery, ConsistencyView, InclusionQuery, InclusionView, NoQuery, TreeHeadView,
  treeHeadView,
} from '../audit/audit-schemas.js';
import { ERROR_RESPONSES } from '../schemas.js';

const tags = ['Audit log (public)'];

/**
 * The audit log's public face (RFC 9162 style, no token needed): the signing key, the latest signed
 * tree head, and inclusion and consistency proofs against signed sizes. Hashes only: no entry's
 * content leaves here.
 */
export const auditRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const proofs = new LogProofs(context.store.audit);
  const key = context.audit.signingKey;

  app.get('/public-key', {
    schema: {
      summary: 'The Ed25519 public key that signs tree heads (PEM, SubjectPublicKeyInfo)', tags,
      querystring: NoQuery,
      response: { 200: Type.String() },
    },
  }, async (_request, reply) => {
    reply.header('x-key-id', key.keyId).type('application/x-pem-file');
    return key.publicKeyPem;
  });

  app.get('/verifier-key', {
    schema: {
      summary: 'The log\'s signed-note verifier key (`<origin>+<key id>+<key>`): what witnesses and checkpoint tools are configured with', tags,
      querystring: NoQuery,
      response: { 200: Type.String() },
    },
  }, async (_request, reply) => {
    reply.type('text/plain; charset=utf-8');
    return `${context.checkpoints.verifierKey}\n`;
  });

  app.get('/checkpoint', {
    schema: {
      summary: 'The latest signed tree head as a C2SP checkpoint (signed note), with the witnesses\' cosignatures', tags,
      querystring: NoQuery,
      response: { 200: Type.String(), ...ERROR_RESPONSES },
    },
  }, async (_request, reply) => {
    const view = await context.checkpoints.latestView();
    // Headers, not note lines: the note stays what every checkpoint tool reads.
    reply.header('x-cosignatures', String(view.cosignatures.length)).header('x-witness-quorum', String(view.quorum));
    if (view.underQuorum) reply.header('x-under-quorum', 'true');
    return reply.type('text/plain; charset=utf-8').send(view.note);
  });

  app.get('/tree-head', {
    schema: { summary: 'The latest signed tree head', tags, querystring: NoQuery, response: { 200: TreeHeadView, ...ERROR_RESPONSES } },
  }, async () => treeHeadView(await proofs.latestHead()));

  app.get('/consistency', {
    schema: {
      summary: 'Proof that the log of `from` entries is a prefix of the log of `to` entries', tags,
      querystring: ConsistencyQuery,
      response: { 200: ConsistencyView, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { from, to } = request.query;
    return { from, to, proof: base64(await proofs.consistency(from, to)) };
  });

  app.get('/inclusion', {
    schema: {
      summary: 'Proof that the entry at `leaf_index` is in the log of `tree_size` entries', tags,
      querystring: InclusionQuery,
      response: { 200: InclusionView, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { leaf_index: index, tree_size: size } = request.query;
    const proof = await proofs.inclusion(index, size);
    return { leaf_index: index, tree_size: proof.size, leaf_hash: proof.leafHash.toString('base64'), audit_path: base64(proof.path) };
  });
};
