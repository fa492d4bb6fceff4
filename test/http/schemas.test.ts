import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { FriendsPage, MemberObject } from '../../src/http/schemas.js';

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
