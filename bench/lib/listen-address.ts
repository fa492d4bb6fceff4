import type { FastifyInstance } from 'fastify';

/** The base URL of a benchmark's server listening on the loopback interface. */
export function address(app: FastifyInstance): string {
  const info = app.server.address();
  if (info === null || typeof info === 'string') throw new Error('the server is not listening on TCP');
  return `http://127.0.0.1:${info.port}`;
}
