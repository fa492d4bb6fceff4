import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PROJECT_ROOT } from '../project-root.js';

/**
 * The staff console (PRODUCT.md §9): a single-page application built by `npm run build` (Vite,
 * web/) into dist/console, served here under a strict Content-Security-Policy. It talks to the
 * admin API only, with the session cookie of POST /admin/v1/session.
 */

/** Where `npm run build` puts the console. */
export const DEFAULT_CONSOLE_DIR = join(PROJECT_ROOT, 'dist', 'console');

/** The placeholder of web/index.html that each answer replaces with its own nonce (Mantine's style tags carry it). */
const NONCE_PLACEHOLDER = '__CSP_NONCE__';

/**
 * No inline script at all, scripts and stylesheets from this origin only (hashed file names),
 * style elements only with this answer's nonce, requests to this origin only, no framing.
 */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'none'", "script-src 'self'", `style-src 'self' 'nonce-${nonce}'`, "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "manifest-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
  ].join('; ');
}

function sendShell(reply: FastifyReply, template: string): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  return reply.status(200).headers({
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': consoleCsp(nonce),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }).send(template.replaceAll(NONCE_PLACEHOLDER, nonce));
}

/**
 * `/console` and every path under it but the assets answer the application's page (its router
 * reads the path); `/console/assets/*` are the built files, cached for good (their names change
 * with their content). Without a build, `/console` says how to make one.
 */
export async function consoleRoutes(app: FastifyInstance, options: { dir?: string }): Promise<void> {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR;
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) {
    const missing = async (_request: unknown, reply: FastifyReply) => reply.status(503).header('content-type', 'text/plain; charset=utf-8')
      .send(`The staff console is not built (${indexFile} is missing): run \`npm run build\`, then restart.`);
    app.get('/console', { schema: { hide: true } }, missing);
    app.get('/console/*', { schema: { hide: true } }, missing);
    return;
  }
  const template = readFileSync(indexFile, 'utf8');
  await app.register(fastifyStatic, {
    root: join(dir, 'assets'),
    prefix: '/console/assets/',
    decorateReply: false,
    index: false,
    immutable: true,
    maxAge: '365d',
    setHeaders: (res) => {
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
  const shell = async (_request: unknown, reply: FastifyReply) => sendShell(reply, template);
  app.get('/console', { schema: { hide: true } }, shell);
  app.get('/console/', { schema: { hide: true } }, shell);
  app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
    if (request.url.startsWith('/console/assets/')) return reply.callNotFound();
    return sendShell(reply, template);
  });
}
