import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { addDays } from '../../src/domain/time.js';
import { DEVICE_PARTNER, oauthWorld } from '../oauth/oauth-world.js';
import { adminWorld, snapshot } from '../helpers/admin.js';
import { build } from '../helpers/build.js';
import { addPartner } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends bytes as they are (what `inject` and fetch refuse to send) and reads the answer until the server closes. */
function rawRequest(port: number, bytes: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.end(bytes);
  });
}

/** The shape of every error (PRODUCT.md §7), with the request id in the body and the header. */
function assertErrorShape(response: { status: number; headers: Record<string, unknown>; body: string }, status: number, code: string): { message: string } {
  assert.equal(response.status, status, response.body);
  const body = JSON.parse(response.body) as { error: { code: string; message: string; request_id: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'request_id']);
  assert.equal(body.error.code, code);
  assert.match(body.error.request_id, /^[0-9a-f-]{36}$/);
  assert.equal(response.headers['x-request-id'], body.error.request_id);
  return body.error;
}

async function listening(t: TestContext): Promise<{ app: FastifyInstance; port: number }> {
  const { app } = await build(t, NOW);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

describe('errors from below the application have the shape of every other error', () => {
  test('HTTP parser refusals over a raw socket: 431, duplicate Content-Length, control characters', async (t) => {
    const { port } = await listening(t);
    assertErrorShape(await rawRequest(port, `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'headers_too_large');
    const duplicate = assertErrorShape(await rawRequest(port,
      'POST /admin/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'), 400, 'invalid_request');
    assert.match(duplicate.message, /not valid HTTP\/1\.1: Duplicate Content-Length/);
    assertErrorShape(await rawRequest(port, 'GET /v1/me HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'), 400, 'invalid_request');
    assertErrorShape(await rawRequest(port, 'GET /v1/me HTTP/1.1\r\nHost: x\r\nX-A\x00: b\r\n\r\n'), 400, 'invalid_request');
  });

  test('the router: a path that is not UTF-8 is 400, an overlong segment 414, neither repeating the URL', async (t) => {
    const { port } = await listening(t);
    const badUrl = await rawRequest(port, 'GET /v1/members/m_%80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assertErrorShape(badUrl, 400, 'invalid_request');
    assert.doesNotMatch(badUrl.body, /m_%80/);
    const long = `m_${'q'.repeat(5000)}`;
    const tooLong = await rawRequest(port, `GET /v1/members/${long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assertErrorShape(tooLong, 414, 'uri_too_long');
    assert.ok(tooLong.body.length < 300, `${tooLong.body.length} bytes`);
    assert.doesNotMatch(tooLong.body, /qqqq/);
  });

  test('an unknown route repeats at most 100 characters of its path', async (t) => {
    const { app } = await build(t, NOW);
    const response = await app.inject({ url: `/v1/${'z'.repeat(5000)}?x=1` });
    const error = assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 404, 'not_found');
    assert.equal(error.message, `No route GET /v1/${'z'.repeat(96)}….`);
  });
});

describe('the JSON APIs take JSON only, and only well-formed text', () => {
  test('admin API: a form-encoded or plain-text body is 415 and creates nothing (it created a staff API key)', async (t) => {
    const world = await adminWorld(t, NOW);
    const before = await snapshot(world.store.db);
    const contentTypes: Array<Record<string, string>> = [{ 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'text/plain' }, {}];
    for (const headers of contentTypes) {
      const response = await world.call(world.staff.admin.token, 'POST', '/admin/v1/api-keys', 'label=x', headers);
      const error = assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 415, 'invalid_request');
      assert.match(error.message, /Content-Type: application\/json/);
    }
    assert.deepEqual(await snapshot(world.store.db), before);
  });

  test('partner API: a form-encoded body is 415', async (t) => {
    const built = await build(t, NOW);
    const { appId } = await addPartner(built.store, 'acme', {}, NOW);
    const token = `cc_${'x'.repeat(40)}`;
    await built.store.clientTokens.record(token, appId, NOW, addDays(NOW, 365));
    const response = await built.app.inject({
      method: 'POST', url: '/v1/partner/certifications', payload: 'signed_by=Ann&statement=ok',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 415, 'invalid_request');
  });

  test('a lone surrogate is refused where it is, a surrogate pair (an emoji) is text', async (t) => {
    const world = await adminWorld(t, NOW);
    const send = (json: string) => world.call(world.staff.admin.token, 'POST', '/admin/v1/api-keys', json, { 'content-type': 'application/json' });
    const before = await snapshot(world.store.db);
    for (const json of ['{"label":"a\\ud800b"}', '{"label":"\\udfff"}', '{"label":"ok","expires_at":"\\ud83d"}', '{"label\\udc00":"x"}']) {
      const response = await send(json);
      const error = assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 400, 'invalid_request');
      assert.match(error.message, /^body(\/label)?(\/expires_at)? is not well-formed Unicode text: it holds a lone surrogate/, json);
    }
    assert.deepEqual(await snapshot(world.store.db), before);
    const emoji = await send('{"label":"key \\ud83d\\ude00"}');
    assert.equal(emoji.statusCode, 201, emoji.body);
    assert.equal(emoji.json().label, 'key 😀');
  });

  test('control and bidi-override characters are refused in names and statements; line breaks only in statements', async (t) => {
    const world = await adminWorld(t, NOW);
    const { appId } = await addPartner(world.store, 'acme', {}, NOW);
    const token = `cc_${'y'.repeat(40)}`;
    await world.store.clientTokens.record(token, appId, NOW, addDays(NOW, 365));
    const staff = (name: string) => world.call(world.staff.admin.token, 'POST', '/admin/v1/staff', { email: `s${name.length}@staff.example`, name, roles: ['viewer'] });
    const certify = (body: object) => world.app.inject({ method: 'POST', url: '/v1/partner/certifications', payload: body, headers: { authorization: `Bearer ${token}` } });
    const before = await snapshot(world.store.db);
    for (const name of ['Ann\u0000', 'Ann\u202Egnp.exe', 'Ann\u2066x\u2069', 'Ann\nAdmin', 'a\u0085', '\u0007', ' \t ']) {
      const response = await staff(name);
      const error = assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 400, 'invalid_parameter');
      assert.match(error.message, /^body\/name must be one line of visible text, without control characters or bidi controls/, JSON.stringify(name));
    }
    for (const body of [{ signed_by: 'Ann\u202E', statement: 'ok' }, { signed_by: 'Ann', statement: 'We \u202Edeleted\u202C it' }, { signed_by: 'Ann', statement: 'a\u0000' }]) {
      const response = await certify(body);
      assertErrorShape({ status: response.statusCode, headers: response.headers, body: response.body }, 400, 'invalid_parameter');
    }
    assert.deepEqual(await snapshot(world.store.db), before);
    assert.equal((await staff('Zoë Łukasz 李')).statusCode, 201);
    const filed = await certify({ signed_by: 'Ann Lee', statement: 'We certify:\n\t1. no copies.\r\n' });
    assert.equal(filed.statusCode, 201, filed.body);
  });
});

describe('under /oauth', () => {
  test('unknown routes answer 404 in the shape of every error; every answer carries x-request-id; OAuth errors keep their form', async (t) => {
    const world = await oauthWorld(t);
    for (const path of ['/oauth/nothing', '/oauth', '/oauth/token']) {
      const response = await fetch(`${world.baseUrl}${path}`);
      assertErrorShape({ status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() }, 404, 'not_found');
    }
    const discovery = await fetch(`${world.baseUrl}/oauth/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    assert.match(discovery.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const token = await fetch(`${world.baseUrl}/oauth/token`, {
      method: 'POST', body: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(token.status, 400);
    assert.match(token.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await token.json() as { error: string }).error, 'invalid_request');
  });

  test('the resume URL with a client_id is a 400 page, not a bare 500 (a TypeError in oidc-provider)', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    for (const query of [`?client_id=${appId}`, `?client_id=${appId}&redirect_uri=x`, '']) {
      const response = await fetch(`${world.baseUrl}/oauth/authorize/x${query}`, { redirect: 'manual' });
      assert.equal(response.status, 400, query);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    }
  });

  test('generated requests under /oauth: never a 5xx, always x-request-id (bounded by runs)', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const endpoints = ['authorize', 'authorize/x', 'token', 'revoke', 'introspection', 'userinfo', 'jwks', 'logout', 'session/end', '.well-known/openid-configuration', 'nothing', ''];
    const parameters = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'prompt', 'grant_type', 'token', 'purpose', 'response_mode'];
    const value = fc.oneof(fc.constantFrom(appId, 'code', 'openid name', 'S256', 'none', 'client_credentials', 'form_post', 'http://127.0.0.1:9999/callback', '', '%', '\u0000'), fc.string({ maxLength: 30 }));
    const requestArbitrary = fc.record({
      endpoint: fc.constantFrom(...endpoints),
      method: fc.constantFrom('GET', 'POST'),
      query: fc.array(fc.tuple(fc.constantFrom(...parameters), value), { maxLength: 6 }),
    });
    await fc.assert(fc.asyncProperty(requestArbitrary, async ({ endpoint, method, query }) => {
      const search = new URLSearchParams(query).toString();
      const response = await fetch(`${world.baseUrl}/oauth/${endpoint}${method === 'GET' && search ? `?${search}` : ''}`, {
        method, redirect: 'manual',
        ...(method === 'POST' ? { body: search, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      });
      await response.arrayBuffer();
      assert.ok(response.status < 500, `${method} /oauth/${endpoint} ${search}: ${response.status}`);
      assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, `${method} /oauth/${endpoint} ${search}`);
    }), { numRuns: Number(process.env.DATAPACT_FUZZ_RUNS ?? 3) * 20, seed: 20261206 });
  });
});
