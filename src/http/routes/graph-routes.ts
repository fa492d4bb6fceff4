import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { bearerOf } from '../bearer.js';
import type { GraphReader } from '../graph/graph-reader.js';
import { requestedFields } from '../graph/requested-fields.js';
import { ERROR_RESPONSES, FieldsQuery, FriendsPage, ListQuery, MemberIdParams } from '../schemas.js';
import { Type, type Static } from 'typebox';

export interface GraphRoutesOptions {
  readonly reader: GraphReader;
  /** Counts each request against its token's limit and says where it stands (graph/request-limit.ts). */
  readonly rateLimit: onRequestAsyncHookHandler;
}

const security = [{ oauth2: [] }];
const tags = ['Graph API'];
/** Past its token's rate limit a request is 429 `rate_limited` (graph/request-limit.ts). */
const RESPONSES = { ...ERROR_RESPONSES, 429: Type.Ref('ErrorResponse') };

/** Both friend-list routes: `owner` undefined means the token's own member. */
async function friendList(reader: GraphReader, request: FastifyRequest, query: Static<typeof ListQuery>, owner?: string) {
  const caller = await reader.authorize(bearerOf(request), request.id);
  const { fields, limit = 25, after } = query;
  const page = await reader.friends(caller, owner ?? caller.plan.memberId, requestedFields(fields), limit, after);
  return { data: page.data, paging: page.after === undefined ? {} : { after: page.after } };
}

/** The governed Graph API (PRODUCT.md §4, §7). */
export const graphRoutes: FastifyPluginAsyncTypebox<GraphRoutesOptions> = async (app, { reader, rateLimit }) => {
  app.addHook('onRequest', rateLimit);
  app.get('/me', {
    schema: {
      summary: "The token's own member",
      security,
      tags,
      querystring: FieldsQuery,
      response: { 200: Type.Ref('MemberObject'), ...RESPONSES },
    },
  }, async (request) => {
    const caller = await reader.authorize(bearerOf(request), request.id);
    return reader.me(caller, requestedFields(request.query.fields));
  });

  app.get('/members/:id', {
    schema: {
      summary: 'A member: the token\'s member or one of their visible friends; anyone else is 404',
      security,
      tags,
      params: MemberIdParams,
      querystring: FieldsQuery,
      response: { 200: Type.Ref('MemberObject'), ...RESPONSES },
    },
  }, async (request) => {
    const caller = await reader.authorize(bearerOf(request), request.id);
    return reader.member(caller, request.params.id, requestedFields(request.query.fields));
  });

  app.get('/me/friends', {
    schema: {
      summary: "The token's member's friends who let this app see them, a page at a time",
      security,
      tags,
      querystring: ListQuery,
      response: { 200: FriendsPage, ...RESPONSES },
    },
  }, async (request) => friendList(reader, request, request.query));

  app.get('/members/:id/friends', {
    schema: {
      summary: "A member's friends: allowed only for the token's own member (friends of friends never leave)",
      security,
      tags,
      params: MemberIdParams,
      querystring: ListQuery,
      response: { 200: FriendsPage, ...RESPONSES },
    },
  }, async (request) => friendList(reader, request, request.query, request.params.id));
};
