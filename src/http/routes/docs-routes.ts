import type { FastifyPluginAsync } from 'fastify';
import { sendPage } from '../../web/send-page.js';
import { gettingStartedPage } from '../docs/getting-started-page.js';

/** Where the partner engineers' guide is served, beside the OpenAPI document and its UI at /docs. */
export const GETTING_STARTED_PATH = '/docs/getting-started';

/** The guide, rendered once: it depends only on the public URL and on constants of the code. */
export const docsRoutes: FastifyPluginAsync<{ publicUrl: string }> = async (app, { publicUrl }) => {
  const document = gettingStartedPage(publicUrl);
  app.get(GETTING_STARTED_PATH, { schema: { hide: true } }, async (_request, reply) => sendPage(reply, 200, document));
};
