import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** What the receiver does with one request: answer with a status, or never answer (a timeout). */
export type Behaviour = number | 'hang';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
}

/**
 * A partner's webhook on 127.0.0.1 (a free port): answers each request with the next behaviour
 * (then 200 once they run out) and keeps every request as it came, raw body included.
 */
export async function startReceiver(t: TestContext, behaviours: Behaviour[] = []): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
      const behaviour = behaviours.shift() ?? 200;
      if (behaviour === 'hang') return;
      response.writeHead(behaviour, { 'content-type': 'text/plain' }).end(behaviour < 300 ? 'ok' : 'receiver trouble');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/datapact`, received };
}

/** A URL on 127.0.0.1 where nothing listens: every attempt is refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hooks/datapact`;
}

/**
 * A partner's check, written as the README tells partners to write it (independently of the
 * dispatcher's own code): HMAC-SHA256 of `<t>.<raw body>` with the secret, compared in constant
 * time, and `t` within 5 minutes of the receiver's clock.
 */
export function partnerVerifies(secret: string, received: Received, receiverNow: number): boolean {
  const header = String(received.headers['x-datapact-signature'] ?? '');
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  const expected = createHmac('sha256', secret).update(`${parts.t}.${received.rawBody}`).digest('hex');
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return Math.abs(receiverNow / 1000 - t) <= 300
    && given.length === 32
    && timingSafeEqual(given, Buffer.from(expected, 'hex'));
}
