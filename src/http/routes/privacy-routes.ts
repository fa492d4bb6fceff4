import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../app.js';

/** Placeholder until this part is written. */
export const privacyRoutes: FastifyPluginAsync<{ context: AppContext }> = async () => {};
