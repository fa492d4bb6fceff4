import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { FriendsPage, MemberObject } from '../../src/http/schemas.js';
import { build } from '../helpers/build.js';

test('the response schemas drop whatever they do not name, at every level', async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  app.addSchema(MemberObject);
  const leaky = {
    id: 'm1', name: 'Ann', internal_score: 42, friends_of_friends: ['m9'],
    withheld: { email: 'not_consented', secret: 'x' },
  };
  app.get('/one', { schema: { response: { 200: Type.Ref('MemberObject') } } }, async () => leaky);
  app.get('/page', { schema: { response: { 200: FriendsPage } } }, async () => ({
    data: [leaky], paging: { after: 'c', total_friends: 556 }, count: 556,
  }));

  assert.deepEqual((await app.inject({ url: '/one' })).json(), { id: 'm1', name: 'Ann', withheld: { email: 'not_consented' } });
  assert.deepEqual((await app.inject({ url: '/page' })).json(), {
    data: [{ id: 'm1', name: 'Ann', withheld: { email: 'not_consented' } }],
    paging: { after: 'c' },
  });
});

test('the OpenAPI document declares OAuth 2.0 (code with PKCE, client credentials, scopes, purpose), tags every route, lists the field catalog', async (t) => {
  const { app } = await build(t, Date.parse('2026-06-01T00:00:00Z'), { publicUrl: 'http://datapact.localhost:8080' });
  const doc = (await app.inject({ url: '/docs/json' })).json();
  const oauth2 = doc.components.securitySchemes.oauth2;
  assert.equal(oauth2.type, 'oauth2');
  assert.equal(oauth2.flows.authorizationCode.authorizationUrl, 'http://datapact.localhost:8080/oauth/authorize');
  assert.equal(oauth2.flows.clientCredentials.tokenUrl, 'http://datapact.localhost:8080/oauth/token');
  assert.ok('friends.birthday' in oauth2.flows.authorizationCode.scopes);
  assert.ok('email' in oauth2.flows.authorizationCode.scopes);
  assert.match(oauth2.description, /PKCE/);
  assert.match(oauth2.description, /`purpose`/);
  const operations = Object.entries<Record<string, { tags?: string[]; security?: object[]; parameters?: { name: string; description?: string }[] }>>(doc.paths)
    .flatMap(([path, ops]) => Object.values(ops).map((op) => ({ path, ...op })));
  assert.deepEqual(operations.filter((op) => op.tags === undefined).map((op) => op.path), [], 'every route is tagged');
  const tagOf = (prefix: string) => new Set(operations.filter((op) => op.path.startsWith(prefix)).flatMap((op) => op.tags!));
  assert.deepEqual(tagOf('/v1/partner/'), new Set(['partner']));
  assert.deepEqual(tagOf('/v1/members/'), new Set(['Graph API']));
  assert.deepEqual(tagOf('/v1/me/apps'), new Set(['privacy center']));
  assert.ok([...tagOf('/admin/v1/')].every((tag) => tag.startsWith('admin: ')));
  const me = operations.find((op) => op.path === '/v1/me')!;
  assert.deepEqual(me.security, [{ oauth2: [] }]);
  const fields = me.parameters!.find((p) => p.name === 'fields')!;
  for (const field of ['email (contact)', 'religion (sensitive)', 'photos (activity)']) assert.ok(fields.description!.includes(field.replace(/^(\w+)/, '`$1`')), field);
});
