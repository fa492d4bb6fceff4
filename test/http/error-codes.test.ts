/**
 * Every error code the server can answer with is documented, with its status, in the OpenAPI
 * document: the codes are read from the source (the error hierarchy's classes, every `new
 * BadRequest('…')`, `new Conflict('…')` and the like, and the error handler's own), so a new code
 * fails this test until it is added to src/http/error-codes.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, LIFECYCLE_CODE_PATTERN } from '../../src/http/error-codes.js';
import { build } from '../helpers/build.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

const SRC = join(PROJECT_ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

/** Each code thrown or answered in src, with the status it is answered with where the source says. */
function emittedCodes(): Map<string, Set<number>> {
  const found = new Map<string, Set<number>>();
  const add = (code: string, status?: number) => {
    const statuses = found.get(code) ?? new Set<number>();
    if (status !== undefined) statuses.add(status);
    found.set(code, statuses);
  };
  const fixed: ReadonlyArray<[RegExp, number | undefined]> = [
    [/new BadRequest\(\s*'([a-z_]+)'/g, 400],
    [/new Conflict\(\s*'([a-z_]+)'/g, 409],
    [/new SecondFactorRefused\(\s*'([a-z_]+)'/g, 401],
    [/new ReauthenticationFailed\(\s*'([a-z_]+)'/g, 403],
    [/body\(request, '([a-z_]+)'/g, undefined],
  ];
  for (const source of sources(SRC)) {
    for (const [pattern, status] of fixed) for (const match of source.matchAll(pattern)) add(match[1]!, status);
  }
  // The error handler's own: `[431, 'headers_too_large', …]` and `reply.status(414).send(body(request, 'uri_too_long'`.
  const handler = readFileSync(join(SRC, 'http/error-handler.ts'), 'utf8');
  for (const match of handler.matchAll(/\[(\d{3}), '([a-z_]+)'/g)) add(match[2]!, Number(match[1]));
  for (const match of handler.matchAll(/status\((\d{3})\)\.send\(body\(request, '([a-z_]+)'/g)) add(match[2]!, Number(match[1]));
  // The hierarchy: a class with `status = N` and `code = '…'`.
  const errors = readFileSync(join(SRC, 'domain/errors.ts'), 'utf8');
  for (const [, body] of errors.matchAll(/class \w+ extends \w+ \{([\s\S]*?)\n\}/g)) {
    const code = /code = '([a-z_]+)'/.exec(body!)?.[1];
    const status = /status = (\d{3})/.exec(body!)?.[1];
    if (code !== undefined) add(code, status === undefined ? 503 : Number(status));
    // A class whose constructor takes one of a few codes: `constructor(code: 'wrong_password' | 'invalid_two_factor_code', …`.
    const union = /constructor\(code: ([^,]+),/.exec(body!)?.[1] ?? '';
    for (const [, literal] of union.matchAll(/'([a-z_]+)'/g)) add(literal!, Number(status));
  }
  return found;
}

test('every code the source emits is in the catalogue, with the status it is answered with', () => {
  const emitted = emittedCodes();
  assert.ok(emitted.size > 60, `the scan finds the codes (${emitted.size})`);
  const documented = new Map(ERROR_CODES.map((entry) => [entry.code, entry.statuses]));
  for (const [code, statuses] of emitted) {
    assert.ok(documented.has(code), `${code} is documented in src/http/error-codes.ts`);
    for (const status of statuses) assert.ok(documented.get(code)!.includes(status), `${code} is documented with ${status}`);
  }
  assert.ok(LIFECYCLE_CODE_PATTERN.test('activate_not_allowed_when_draft'));
  assert.ok(ERROR_CODES.some((entry) => entry.code === '<action>_not_allowed_when_<status>'), 'the lifecycle pattern is documented');
  // Nothing documented that nothing emits (but the pattern).
  for (const { code } of ERROR_CODES) if (!code.startsWith('<')) assert.ok(emitted.has(code), `${code} is emitted somewhere`);
});

test('the OpenAPI document lists every code with its status and meaning', async (t) => {
  const { app } = await build(t);
  const description: string = (await app.inject({ url: '/docs/json' })).json().info.description;
  for (const { code, statuses } of ERROR_CODES) {
    assert.ok(description.includes(`| \`${code}\` | ${statuses.join(', ')} |`), `${code} in the document`);
  }
});
