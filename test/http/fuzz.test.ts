/**
 * Generated requests against every operation of the OpenAPI document (fast-check): wrong types,
 * missing and extra parameters, long and unicode-edge strings, malformed JSON, duplicate
 * parameters, bodies that are not JSON, overlong path parameters. Whatever comes in: no 5xx, every
 * error in the shape of PRODUCT.md §7 with its request id in `x-request-id`, and every status
 * listed among the operation's documented responses.
 *
 * Bounded by the number of runs, never by time: DATAPACT_FUZZ_RUNS per operation (default 3).
 * `DATAPACT_FUZZ_RUNS=200 node --import tsx --test test/http/fuzz.test.ts` for a long run; the
 * counts are printed as a diagnostic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { addDays } from '../../src/domain/time.js';
import { adminWorld, ADMIN_NOW } from '../helpers/admin.js';
import { build } from '../helpers/build.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser } from '../helpers/member-browser.js';

const RUNS_PER_OPERATION = Number(process.env.DATAPACT_FUZZ_RUNS ?? 3);

type Schema = {
  type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; anyOf?: Schema[];
  enum?: unknown[]; const?: unknown; format?: string; minimum?: number; maxLength?: number; $ref?: string;
};
interface Parameter { readonly name: string; readonly in: 'query' | 'path'; readonly required?: boolean; readonly schema: Schema }
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: Schema | undefined;
  readonly statuses: ReadonlySet<string>;
}

const KINDS = [
  'plausible', 'wrong_type', 'missing', 'extra', 'long_string', 'unicode_edge', 'malformed_json', 'duplicate_parameter',
  'not_json', 'long_path_parameter',
] as const;
type Kind = (typeof KINDS)[number];

const UNICODE_EDGES = [
  '\u0000', 'a\u202Eb', '\u2066x\u2069', '\uFEFF', '\uFFFF', 'e\u0301', '😀', '\u{10FFFF}', '\u2028', 'Zoë 李', '\t\n', '%00', '../..', '\\',
] as const;
/** JSON texts of strings no JavaScript string literal here can hold: lone surrogates. */
const LONE_SURROGATE_JSON = ['"\\ud800"', '"a\\udfffb"', '"\\ud83d"'] as const;

function operationsOf(document: { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const body = operation.requestBody?.content?.['application/json']?.schema as Schema | undefined;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []) as Parameter[],
        body,
        statuses: new Set(Object.keys(operation.responses ?? {})),
      });
    }
  }
  return operations;
}

/** A value the schema takes, as far as a generic reading of it goes (the handlers' own rules aside). */
function plausible(schema: Schema | undefined, ids: readonly string[], depth = 0): unknown {
  if (schema === undefined || depth > 4) return 'x';
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return plausible(schema.anyOf[0], ids, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, plausible(property, ids, depth + 1)]));
    case 'array':
      return [plausible(schema.items, ids, depth + 1)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      if (schema.format === 'date-time') return '2027-01-01T00:00:00.000Z';
      if (schema.format === 'email') return 'someone@fuzz.example';
      if (schema.format === 'uri') return 'https://fuzz.example/hook';
      return ids[0] ?? 'x';
  }
}

/** A value of another JSON type than the schema's. */
function wrongType(schema: Schema | undefined): unknown {
  const type = Array.isArray(schema?.type) ? schema?.type[0] : schema?.type;
  return type === 'string' ? 12345 : type === 'object' ? ['not', 'an', 'object'] : type === 'array' ? { not: 'a list' } : 'not-a-number';
}

interface Built {
  readonly method: string;
  readonly url: string;
  readonly payload?: string;
  readonly contentType?: string;
}

interface Choice {
  readonly kind: Kind;
  readonly pick: number;
  readonly text: string;
  readonly long: number;
  readonly edge: number;
}

const choiceArbitrary: fc.Arbitrary<Choice> = fc.record({
  kind: fc.constantFrom(...KINDS),
  pick: fc.nat({ max: 1000 }),
  text: fc.string({ maxLength: 20, unit: 'binary' }),
  long: fc.integer({ min: 1001, max: 70_000 }),
  edge: fc.nat({ max: UNICODE_EDGES.length + LONE_SURROGATE_JSON.length - 1 }),
});

/** The request one choice makes of one operation. */
function request(operation: Operation, choice: Choice, ids: readonly string[]): Built {
  const pathParameters = operation.parameters.filter((p) => p.in === 'path');
  const queryParameters = operation.parameters.filter((p) => p.in === 'query');
  const id = ids[choice.pick % ids.length] ?? 'x';
  const pathValue = (index: number) => (choice.kind === 'long_path_parameter' && index === 0 ? 'p'.repeat(Math.min(choice.long, 5000)) : id);
  let path = operation.path;
  pathParameters.forEach((parameter, index) => { path = path.replace(`{${parameter.name}}`, encodeURIComponent(pathValue(index))); });
  const query = new URLSearchParams();
  const target = queryParameters[choice.pick % Math.max(1, queryParameters.length)];
  const edgeText = UNICODE_EDGES[choice.edge % UNICODE_EDGES.length]!;
  switch (choice.kind) {
    case 'wrong_type': if (target) query.set(target.name, String(wrongType(target.schema))); break;
    case 'extra': query.set(`unexpected_${choice.pick}`, choice.text); break;
    case 'long_string': if (target) query.set(target.name, 'q'.repeat(Math.min(choice.long, 8000))); break;
    case 'unicode_edge': if (target) query.set(target.name, edgeText); else if (pathParameters.length > 0) path = path.replace(encodeURIComponent(id), encodeURIComponent(edgeText)); break;
    case 'duplicate_parameter': if (target) { query.append(target.name, String(plausible(target.schema, ids))); query.append(target.name, choice.text); } break;
    default: if (target && choice.pick % 2 === 0) query.set(target.name, String(plausible(target.schema, ids)));
  }
  const url = `${path}${query.size > 0 ? `?${query}` : ''}`;
  if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(operation.method)) return { method: operation.method, url };
  return { method: operation.method, url, ...body(operation, choice, ids) };
}

function body(operation: Operation, choice: Choice, ids: readonly string[]): Pick<Built, 'payload' | 'contentType'> {
  const sample = plausible(operation.body, ids);
  const object = typeof sample === 'object' && sample !== null && !Array.isArray(sample) ? { ...(sample as Record<string, unknown>) } : {};
  const names = Object.keys(object);
  const name = names[choice.pick % Math.max(1, names.length)];
  const property = name === undefined ? undefined : operation.body?.properties?.[name];
  const json = (value: unknown) => ({ payload: JSON.stringify(value), contentType: 'application/json' });
  switch (choice.kind) {
    case 'wrong_type': return name === undefined ? json(['x']) : json({ ...object, [name]: wrongType(property) });
    case 'missing': if (name !== undefined) delete object[name]; return json(object);
    case 'extra': return json({ ...object, [`unexpected_${choice.pick}`]: choice.text });
    case 'long_string': return json({ ...object, [name ?? 'x']: 'b'.repeat(choice.long) });
    case 'unicode_edge': {
      const edges = [...UNICODE_EDGES.map((edge) => JSON.stringify(edge)), ...LONE_SURROGATE_JSON];
      const text = JSON.stringify({ ...object, [name ?? 'x']: '\u0000MARK' }).replace('"\\u0000MARK"', edges[choice.edge % edges.length]!);
      return { payload: text, contentType: 'application/json' };
    }
    case 'malformed_json': {
      const text = JSON.stringify(object);
      return { payload: text.slice(0, Math.max(1, choice.pick % Math.max(1, text.length))), contentType: 'application/json' };
    }
    case 'duplicate_parameter': {
      const text = JSON.stringify(object);
      return { payload: name === undefined ? text : `{${JSON.stringify(name)}:${JSON.stringify(choice.text)},${text.slice(1)}`, contentType: 'application/json' };
    }
    case 'not_json': return { payload: `${name ?? 'x'}=${encodeURIComponent(choice.text)}`, contentType: choice.pick % 2 === 0 ? 'application/x-www-form-urlencoded' : 'text/plain' };
    default: return operation.body === undefined ? {} : json(object);
  }
}

function assertAnswer(operation: Operation, sent: Built, response: LightMyRequestResponse): void {
  const label = `${sent.method} ${sent.url.slice(0, 200)} ${sent.contentType ?? ''} ${sent.payload?.slice(0, 200) ?? ''}: ${response.statusCode} ${response.body.slice(0, 300)}`;
  assert.ok(response.statusCode < 500, label);
  assert.ok(operation.statuses.has(String(response.statusCode)), `undocumented status (documented: ${[...operation.statuses].join(', ')}): ${label}`);
  if (response.statusCode < 400) return;
  const answer = response.json() as { error?: Record<string, unknown> };
  assert.deepEqual(Object.keys(answer), ['error'], label);
  assert.ok(answer.error);
  assert.equal(typeof answer.error.code, 'string', label);
  assert.equal(typeof answer.error.message, 'string', label);
  assert.equal(answer.error.request_id, response.headers['x-request-id'], label);
  assert.deepEqual(Object.keys(answer.error).filter((key) => !['code', 'message', 'request_id', 'cause'].includes(key)), [], label);
}

test('every operation of the OpenAPI document, fed generated bad input: no 5xx, the error shape, documented statuses', async (t) => {
  const world = await adminWorld(t, ADMIN_NOW);
  const { app, store } = world;
  await addMembers(store, [{ id: 'me' }, { id: 'friend', shareViaFriends: true }], ADMIN_NOW);
  await addFriendships(store, [['me', 'friend']], ADMIN_NOW);
  await store.credentials.setPassword('friend', 'friend password', ADMIN_NOW);
  const partner = await addPartner(store, 'fuzz', { agreement: { friendFields: ['name'] } }, ADMIN_NOW);
  const member = await grantToken(store, {
    memberId: 'me', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name', 'friends'], friendFields: ['name'],
    tokenTtlMs: 30 * 86_400_000,
  }, ADMIN_NOW);
  const clientToken = `cc_${'f'.repeat(40)}`;
  await store.clientTokens.record(clientToken, partner.appId, ADMIN_NOW, addDays(ADMIN_NOW, 365));
  // An API key, not a session: a generated POST /admin/v1/logout must not end the fuzzer's own access.
  const key = await world.call(world.staff.admin.token, 'POST', '/admin/v1/api-keys', { label: 'fuzz' });
  const adminKey = key.json().key as string;
  const browser = new MemberBrowser(app);
  assert.equal((await browser.login('friend', 'friend password')).statusCode, 303);
  const csrf = await browser.apiCsrf();

  const headersFor = (path: string): Record<string, string> => {
    if (path.startsWith('/admin/v1')) return { authorization: `Bearer ${adminKey}` };
    if (path.startsWith('/v1/partner')) return { authorization: `Bearer ${clientToken}` };
    if (/^\/v1\/me\/(privacy|apps|access-history)/.test(path)) return { cookie: browser.cookieHeader(), 'x-csrf-token': csrf };
    return { authorization: `Bearer ${member.token}` };
  };
  const ids = ['me', 'friend', partner.partnerId, partner.appId, partner.agreementId, world.staff.viewer.id, 'nobody', 'm_%80'];

  await app.ready();
  const operations = operationsOf(app.swagger() as never);
  assert.ok(operations.length >= 60, `${operations.length} operations`);
  const hit = new Map<string, number>();
  const kinds = new Map<Kind, number>();
  const statuses = new Map<number, number>();
  const seed = Number(process.env.DATAPACT_FUZZ_SEED ?? 20261206);
  for (const [index, operation] of operations.entries()) {
    await fc.assert(fc.asyncProperty(choiceArbitrary, async (choice) => {
      const sent = request(operation, choice, ids);
      const response = await app.inject({
        method: sent.method as never,
        url: sent.url,
        headers: { ...headersFor(operation.path), ...(sent.contentType ? { 'content-type': sent.contentType } : {}) },
        ...(sent.payload === undefined ? {} : { payload: sent.payload }),
      });
      assertAnswer(operation, sent, response);
      hit.set(`${operation.method} ${operation.path}`, (hit.get(`${operation.method} ${operation.path}`) ?? 0) + 1);
      kinds.set(choice.kind, (kinds.get(choice.kind) ?? 0) + 1);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    }), { numRuns: RUNS_PER_OPERATION, seed: seed + index });
  }

  // Its own coverage: every operation was reached, and every kind of bad input was produced.
  assert.deepEqual(operations.filter((operation) => !hit.has(`${operation.method} ${operation.path}`)), []);
  assert.deepEqual(KINDS.filter((kind) => !kinds.has(kind)), []);
  const total = [...hit.values()].reduce((sum, n) => sum + n, 0);
  t.diagnostic(`${total} requests over ${operations.length} operations; kinds ${JSON.stringify(Object.fromEntries(kinds))}; `
    + `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
});

test('the document lists 415 and 413 on every operation that takes a body, and 400 on GET /v1/audit/public-key, which answers it', async (t) => {
  const { app } = await build(t, ADMIN_NOW);
  await app.ready();
  const operations = operationsOf(app.swagger() as never);
  const withBodies = operations.filter((operation) => operation.body !== undefined);
  assert.ok(withBodies.length >= 25, `${withBodies.length}`);
  for (const operation of withBodies) assert.ok(operation.statuses.has('413') && operation.statuses.has('415'), `${operation.method} ${operation.path}`);
  const publicKey = operations.find((operation) => operation.path === '/v1/audit/public-key');
  assert.ok(publicKey?.statuses.has('400'));
  assert.equal((await app.inject({ url: '/v1/audit/public-key?x=1' })).statusCode, 400);
});
