import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../app.js';

/** Placeholder until this part is written. */
export const partnerRoutes: FastifyPluginAsync<{ context: AppContext }> = async () => {};
