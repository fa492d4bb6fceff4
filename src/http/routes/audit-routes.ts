import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Forbidden } from '../../domain/errors.js';
import type { AppContext } from '../app.js';
import { base64, ConsistencyQuery, ConsistencyView, NoQuery, TreeHeadView, treeHeadView } from '../audit/audit-schemas.js';
import { ERROR_RESPONSES } from '../schemas.js';

const tags = ['Audit log (public)'];

/**
 * The audit log's public face (RFC 9162 style, no token needed): the signing key, the latest signed
 * tree head, and consistency proofs between signed sizes. Hashes only: no entry's content leaves
 * here. Inclusion proofs of arbitrary entries are not public (issue 11): a leaf hash and its path
 * are served only to staff (/admin/v1/audit/inclusion) and to the member an entry is about (their
 * access history), each with the blinded entry it proves.
 */
export const auditRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { proofs } = context.checkpoints;
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
      summary: 'Not public: inclusion proofs are for staff (/admin/v1/audit/inclusion) and for the members an entry is about (access history)',
      tags,
      response: { ...ERROR_RESPONSES },
    },
  }, async () => {
    throw new Forbidden(
      'Inclusion proofs are served to staff (GET /admin/v1/audit/inclusion) and to the member an entry is about '
      + '(GET /v1/me/access-history?proof=true); the tree head, the public key and consistency proofs are public.',
    );
  });
};
