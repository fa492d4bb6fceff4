import type { FastifyReply } from 'fastify';
import { PAGE_HEADERS } from './page-layout.js';

/** Answers with a whole page (see `page`) and the headers every page is sent with. */
export function sendPage(reply: FastifyReply, status: number, document: string): FastifyReply {
  return reply.status(status).headers(PAGE_HEADERS).send(document);
}
