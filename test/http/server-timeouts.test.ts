import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { build } from '../helpers/build.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
/** Short timeouts, so that the server cuts clients off within the bound below. */
const TIMEOUTS = { requestMs: 800, headersMs: 300, keepAliveMs: 300, idleMs: 500 };
/** Far above any timeout configured here, far below the server's defaults: a generous bound, not a duration asserted. */
const BOUND_MS = 15_000;

async function listening(t: TestContext): Promise<number> {
  const { app } = await build(t, NOW, { timeouts: TIMEOUTS });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

/**
 * Opens a connection, writes `start`, then one more byte every 20 ms from `trickle` (none when it is
 * empty), and resolves with what the server sent once the server has closed the connection. The
 * client itself never closes it: a connection still open after BOUND_MS fails the test.
 */
function untilServerCloses(port: number, start: string, trickle = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    // Queued before any trickled byte, so that the request always begins with it.
    socket.write(start);
    let received = '';
    let next = 0;
    const drip = trickle === '' ? undefined : setInterval(() => {
      if (!socket.writable) return;
      socket.write(trickle[next % trickle.length]!);
      next += 1;
    }, 20);
    const bound = setTimeout(() => {
      finish();
      socket.destroy();
      reject(new Error(`the server kept the connection open past ${BOUND_MS} ms (${next} bytes trickled)`));
    }, BOUND_MS);
    function finish() {
      clearInterval(drip);
      clearTimeout(bound);
    }
    socket.on('data', (chunk) => { received += chunk.toString(); });
    socket.on('error', () => { /* a write racing the server's close: the close below still comes */ });
    socket.on('close', () => {
      finish();
      resolve(received);
    });
  });
}

describe('server timeouts: a slow client cannot hold a connection forever', () => {
  test('headers sent byte by byte, never finished (slowloris), are cut off', async (t) => {
    const port = await listening(t);
    const answer = await untilServerCloses(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 'a');
    assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
  });

  test('a request whose headers never finish and then go silent is cut off', async (t) => {
    const port = await listening(t);
    const answer = await untilServerCloses(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Half');
    assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
  });

  test('a body sent byte by byte, never finished, is cut off', async (t) => {
    const port = await listening(t);
    const head = 'POST /admin/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"';
    const answer = await untilServerCloses(port, head, 'a');
    assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
  });

  test('an idle keep-alive connection is closed after its answer', async (t) => {
    const port = await listening(t);
    const answer = await untilServerCloses(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\{"ok":true\}$/);
  });
});
