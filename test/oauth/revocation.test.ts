/**
 * Issue 12, point 3: every way a grant ends reaches the authorization server. After a member's
 * revocation in the privacy center, 90 days unused, or the agreement's `access_ended`, the OAuth
 * library's own endpoints agree with the Graph API: introspection answers `active: false` for the
 * access and the refresh token, `/oauth/userinfo` answers 401 and refresh fails. Dates act by
 * themselves: nothing here runs the scheduler unless the test says so.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as client from 'openid-client';
import { addDays } from '../../src/domain/time.js';
import { recordGrantEndings } from '../../src/scheduler/grant-endings.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';
import {
  DEVICE_PARTNER, NOW, PASSWORD, authorize, consent, exchange, form, graph, logIn, authorizationRequest, oauthWorld, type OAuthWorld,
} from './oauth-world.js';

const ACCESS_ENDED = addDays(NOW, 30);
const WINDING_DOWN = {
  agreement: {
    ...DEVICE_PARTNER.agreement,
    status: 'winding_down' as const,
    windDown: { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: ACCESS_ENDED },
  },
};

/** A member's tokens from the whole browser flow, with openid so that userinfo answers. */
async function memberTokens(world: OAuthWorld, appId: string, scope = 'openid name email birthday') {
  const auth = await authorize(world, appId, { scope });
  const tokens = await exchange(auth);
  assert.ok(tokens.refresh_token);
  return { config: auth.request.config, tokens: tokens as typeof tokens & { refresh_token: string } };
}

async function userinfoStatus(world: OAuthWorld, accessToken: string): Promise<number> {
  const response = await fetch(`${world.baseUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.arrayBuffer();
  return response.status;
}

/** What the authorization server says of a member's tokens: introspection of both, userinfo, and a refresh. */
async function oauthView(world: OAuthWorld, config: client.Configuration, tokens: { access_token: string; refresh_token: string }) {
  const access = await client.tokenIntrospection(config, tokens.access_token);
  const refresh = await client.tokenIntrospection(config, tokens.refresh_token);
  const userinfo = await userinfoStatus(world, tokens.access_token);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token).then(
    () => 'refreshed',
    (error: { error?: string; error_description?: string }) => `${error.error}: ${error.error_description}`,
  );
  return { access: access.active, refresh: refresh.active, userinfo, refreshed };
}

/** What `oauthView` says of an ended grant; the refresh's description says why. */
function ended(why: string) {
  return { access: false, refresh: false, userinfo: 401, refreshed: `invalid_grant: ${why}` };
}
const MEMBER_REVOKED = ended('the member revoked this grant; the member must consent again');
const UNUSED = ended('the grant was unused for 90 days; the member must consent again');
const ACCESS_ENDED_VIEW = ended("the grant ended when the agreement's wind-down reached access_ended");

/** The authorization server's own grants (oidc-provider's `Grant` records). */
async function libraryGrants(world: OAuthWorld) {
  return world.store.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Grant').execute();
}

/** Logs `me` in to the privacy center in `browser`'s jar and returns the apps page. */
async function privacyApps(world: OAuthWorld) {
  const browser = world.browser();
  const login = form((await browser.visit('/privacy/login')).html, '/privacy/login');
  await browser.submit(login.action, { ...login.fields, member_id: 'me', password: PASSWORD });
  const apps = await browser.visit('/privacy/apps');
  assert.equal(apps.status, 200);
  return { browser, apps };
}

/** The status cells of the privacy center's apps page. */
/** Why each ended consent ended: the last column of the apps page's *Ended access* table. */
function statusCells(html: string): string[] {
  return [...html.matchAll(/<tr><td>[^<]*<\/td>(?:<td>[^]*?<\/td>){3}<td>([^<]*)<\/td><\/tr>/g)].map((match) => match[1]!);
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`revocation reaches the authorization server, on ${dialect}`, () => {
    test('a member revoking the app in the privacy center: introspection inactive, userinfo 401, refresh fails', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId } = await world.partner('dev', DEVICE_PARTNER);
      const { config, tokens } = await memberTokens(world, appId);
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true, 'active before');

      const { browser } = await privacyApps(world);
      const confirm = await browser.visit(`/privacy/apps/${appId}/revoke`);
      const revoke = form(confirm.html, '/revoke');
      const after = await browser.submit(revoke.action, revoke.fields);
      assert.equal(after.status, 200);
      assert.deepEqual(statusCells(after.html), ['You revoked it']);

      assert.deepEqual(await oauthView(world, config, tokens), MEMBER_REVOKED);
      assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 401);
      const [grant] = await world.store.db.selectFrom('grants').select(['end_reason', 'revoked_at']).execute();
      assert.equal(grant!.end_reason, 'member_revoked');
      assert.deepEqual(await libraryGrants(world), [], 'the library\'s grant is gone too');
    });

    test.both('date math', 'a grant unused for 90 days: inactive at the exact instant, without the scheduler; the scheduler then records it', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId } = await world.partner('dev', DEVICE_PARTNER);
      const { config, tokens } = await memberTokens(world, appId);
      const lapse = addDays(NOW, 90);

      // A millisecond before, everything works; a refresh then gives an access token that has not expired at `lapse`.
      world.setNow(lapse - 1);
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(config, tokens.refresh_token)).active, true);
      assert.equal(await userinfoStatus(world, tokens.access_token), 200);
      const fresh = await client.refreshTokenGrant(config, tokens.refresh_token) as typeof tokens;

      world.setNow(lapse);
      assert.deepEqual(await oauthView(world, config, fresh), UNUSED);
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false, 'the first access token too');
      const graphAnswer = await graph(world, '/v1/me', fresh.access_token);
      assert.deepEqual([graphAnswer.status, graphAnswer.body.error.code], [401, 'grant_expired']);

      assert.deepEqual(await recordGrantEndings(world.store.db, lapse), { ended: 1 });
      assert.deepEqual(await recordGrantEndings(world.store.db, lapse), { ended: 0 }, 'once');
      const [grant] = await world.store.db.selectFrom('grants').select(['end_reason', 'revoked_at']).execute();
      assert.equal(grant!.end_reason, 'unused_90_days');
      assert.equal(Date.parse(grant!.revoked_at!), lapse, 'ended at the instant it lapsed');
      assert.deepEqual(statusCells((await privacyApps(world)).apps.html), ['Unused for 90 days']);
      assert.deepEqual(await oauthView(world, config, fresh), UNUSED);
    });

    test('access_ended: every grant ends at that instant; the Graph API keeps answering 403 access_ended; the privacy center says why', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId } = await world.partner('dev', WINDING_DOWN);
      const first = await memberTokens(world, appId);
      const { config } = first;

      // A millisecond before, everything works; a refresh then gives an access token that has not expired at ACCESS_ENDED.
      world.setNow(ACCESS_ENDED - 1);
      assert.equal((await client.tokenIntrospection(config, first.tokens.access_token)).active, true);
      const tokens = await client.refreshTokenGrant(config, first.tokens.refresh_token) as typeof first.tokens;
      assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 200);

      world.setNow(ACCESS_ENDED);
      const accessEnded = async () => {
        const answer = await graph(world, '/v1/me', tokens.access_token);
        assert.deepEqual([answer.status, answer.body.error.code, answer.body.error.cause], [403, 'agreement_not_in_effect', 'access_ended']);
      };
      assert.deepEqual(await oauthView(world, config, tokens), ACCESS_ENDED_VIEW, 'without the scheduler');
      await accessEnded();
      const ended = 'The agreement with its partner ended';
      assert.deepEqual(statusCells((await privacyApps(world)).apps.html), [ended], 'not "Active", even before the scheduler ran');

      assert.deepEqual(await recordGrantEndings(world.store.db, ACCESS_ENDED), { ended: 1 });
      const [grant] = await world.store.db.selectFrom('grants').select(['end_reason', 'revoked_at']).execute();
      assert.equal(grant!.end_reason, 'access_ended');
      assert.equal(Date.parse(grant!.revoked_at!), ACCESS_ENDED);
      await accessEnded();
      assert.deepEqual(await oauthView(world, config, tokens), ACCESS_ENDED_VIEW);
      const { browser } = await privacyApps(world);
      assert.deepEqual(statusCells((await browser.visit('/privacy/apps')).html), [ended]);
      const api = await browser.request('/v1/me/apps');
      const [app] = (await api.json() as { data: Array<Record<string, unknown>> }).data;
      assert.deepEqual([app!.status, app!.end_reason, app!.ended_at], ['ended', 'access_ended', new Date(ACCESS_ENDED).toISOString()]);
      assert.deepEqual(await libraryGrants(world), [], 'the scheduler ended the library\'s grant too');
    });
  });
}

describe('consent gaps', () => {
  test('a token down-scoped at refresh (scope=name) reads no more than name', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const { config, tokens } = await memberTokens(world, appId, 'name email birthday friends friends.name');
    const narrow = await client.refreshTokenGrant(config, tokens.refresh_token, { scope: 'name' });
    assert.equal(narrow.scope, 'name');

    const me = await graph(world, '/v1/me?fields=id,name,email,birthday', narrow.access_token);
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { id: 'me', name: 'Name me', withheld: { email: 'not_consented', birthday: 'not_consented' } });
    const friends = await graph(world, '/v1/me/friends', narrow.access_token);
    assert.deepEqual([friends.status, friends.body.error?.code], [403, 'not_consented'], 'no friend list without `friends`');
    // The token the consent itself gave still reads everything consented.
    const full = await graph(world, '/v1/me?fields=email', tokens.access_token);
    assert.deepEqual(full.body, { id: 'me', email: 'me@mail.example', withheld: {} });
  });

  test('Allow with every box unticked gives the app nothing: the page asks again, no grant; Deny then refuses', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const request = await authorizationRequest(await world.discover(appId), { scope: 'name email friends', purpose: 'device_experience' });
    const browser = world.browser();
    const consentPage = await logIn(browser, await browser.visit(request.url));
    const again = await consent(browser, consentPage, []);
    assert.equal(again.status, 400);
    assert.equal(again.left, undefined);
    assert.match(again.html, /You allowed without ticking anything/);
    assert.deepEqual(await world.store.db.selectFrom('grants').select('id').execute(), []);
    assert.deepEqual(await libraryGrants(world), []);
    const done = await consent(browser, again, [], 'deny');
    assert.equal(done.left?.searchParams.get('error'), 'access_denied');
    assert.equal(done.left?.searchParams.get('code'), null);
    assert.deepEqual(await world.store.db.selectFrom('grants').select('id').execute(), []);
  });
});

describe('client credentials only under an agreement in force, and within it', () => {
  test('an app with no agreement gets no client-credentials token: unauthorized_client', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('zte', { withoutAgreement: true });
    await assert.rejects(client.clientCredentialsGrant(await world.discover(appId)), { error: 'unauthorized_client' });
    assert.deepEqual(await world.store.db.selectFrom('client_tokens').select('app_id').execute(), []);
  });

  test('nor with only a draft agreement; past access_ended it still gets one, to file its deletion attestation', async (t) => {
    const world = await oauthWorld(t);
    const draft = await world.partner('new', { agreement: { status: 'draft' } });
    await assert.rejects(client.clientCredentialsGrant(await world.discover(draft.appId)), { error: 'unauthorized_client' });

    const { appId } = await world.partner('dev', WINDING_DOWN);
    world.setNow(ACCESS_ENDED);
    const { access_token: token } = await client.clientCredentialsGrant(await world.discover(appId));
    const filed = await fetch(`${world.baseUrl}/v1/partner/deletion-attestations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ signed_by: 'Jane Roe, DPO', statement: 'All member data received was deleted.' }),
    });
    assert.equal(filed.status, 201, await filed.text());
  });

  test('field scopes outside the agreement are refused (invalid_scope); within it they are issued', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const config = await world.discover(appId);
    for (const scope of ['phone', 'name religion', 'friends.email']) {
      await assert.rejects(client.clientCredentialsGrant(config, { scope }), { error: 'invalid_scope' }, scope);
    }
    assert.equal((await client.clientCredentialsGrant(config, { scope: 'name friends.birthday' })).scope, 'name friends.birthday');
    const game = await world.partner('game', { appClass: 'third_party', agreement: { purposes: ['login'], friendFields: ['name'] } });
    await assert.rejects(client.clientCredentialsGrant(await world.discover(game.appId), { scope: 'friends.name' }), { error: 'invalid_scope' });
  });
});

describe('the logout pages', () => {
  test('are the project\'s pages: its headers and CSP, no script, no third-party font', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const { browser } = await authorize(world, appId, { scope: 'name' });
    const confirm = await browser.visit('/oauth/logout');
    assert.equal(confirm.status, 200);
    const pages = [confirm];
    const logout = form(confirm.html, '/logout/confirm');
    const done = await browser.submit(logout.action, { ...logout.fields, logout: 'yes' });
    assert.equal(done.status, 200);
    pages.push(done);
    for (const page of pages) {
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.doesNotMatch(page.html, /<script|fonts\.googleapis|@import/);
      assert.match(page.html, /<html lang="en">/);
    }
    assert.match(confirm.html, /Log out/);
    assert.match(done.html, /You are logged out/);
    const [grant] = await world.store.db.selectFrom('grants').select('revoked_at').execute();
    assert.equal(grant!.revoked_at, null, 'logging out keeps the app\'s access, as the page says');
    assert.equal((await libraryGrants(world)).length, 1);
  });

  test('a browser that is not logged in gets a page with a button, not a form that submits itself by script', async (t) => {
    const world = await oauthWorld(t);
    const browser = world.browser();
    const page = await browser.visit('/oauth/logout');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.doesNotMatch(page.html, /<script/);
    assert.match(page.html, /You are not logged in/);
    const next = form(page.html, '/logout/confirm');
    const done = await browser.submit(next.action, next.fields);
    assert.match(done.html, /You are logged out/);
    assert.doesNotMatch(done.html, /<script/);
  });
});
