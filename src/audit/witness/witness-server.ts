import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Witness } from './witness.js';

/** Larger than any honest request: 63 proof lines and a checkpoint with a few signatures are ~4 KiB. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * tlog-witness over HTTP: `POST /add-checkpoint` (the submission prefix is the server's root) and
 * `GET /<sha256(origin) hex>/checkpoint` (the monitoring prefix, the same root). Text in, text out.
 */
export async function buildWitnessServer(witness: Witness, logger: FastifyServerOptions['logger'] = false): Promise<FastifyInstance> {
  const app = Fastify({ logger, bodyLimit: MAX_REQUEST_BYTES });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/add-checkpoint', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const result = await witness.addCheckpoint(body);
    if (result.status === 200) return reply.code(200).type('text/plain; charset=utf-8').send(result.cosignature);
    if (result.status === 409) return reply.code(409).type('text/x.tlog.size').send(`${result.size}\n`);
    request.log.info({ status: result.status, reason: result.reason }, 'checkpoint not cosigned');
    return reply.code(result.status).type('text/plain; charset=utf-8').send(`${result.reason}\n`);
  });

  app.get<{ Params: { hash: string } }>('/:hash/checkpoint', async (request, reply) => {
    const note = witness.latestByOriginHash(request.params.hash);
    if (note === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('no checkpoint of that log has been cosigned\n');
    return reply.type('text/plain; charset=utf-8').send(note);
  });
  return app;
}
