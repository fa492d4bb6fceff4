import type { FastifyReply } from 'fastify';
import { pageHeaders, type PageScript } from './page-layout.js';

/** Answers with a whole page (see `page`) and the headers every page is sent with (allowing its script, if it has one). */
export function sendPage(reply: FastifyReply, status: number, document: string, script?: PageScript): FastifyReply {
  return reply.status(status).headers(pageHeaders(script)).send(document);
}
