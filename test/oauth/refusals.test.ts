import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as client from 'openid-client';
import { addDays, DAY_MS } from '../../src/domain/time.js';
import {
  DEVICE_PARTNER, NOW, REDIRECT_URI, authorizationRequest, authorize, consent, exchange, form, graph, logIn, oauthWorld, type OAuthWorld,
} from './oauth-world.js';

/** Sends the browser to an authorization URL and returns the error the client receives at its redirect URI. */
async function clientError(world: OAuthWorld, url: URL): Promise<{ error: string | null; description: string | null; state: string | null }> {
  const visit = await world.browser().visit(url);
  assert.ok(visit.left, `expected a redirect back to the client, got ${visit.status}:\n${visit.html}`);
  assert.equal(`${visit.left.origin}${visit.left.pathname}`, REDIRECT_URI);
  assert.equal(visit.left.searchParams.get('code'), null, 'no code with an error');
  return {
    error: visit.left.searchParams.get('error'),
    description: visit.left.searchParams.get('error_description'),
    state: visit.left.searchParams.get('state'),
  };
}

/** openid-client reports a 401 with its WWW-Authenticate challenge, which carries the OAuth error. */
function invalidClient(error: client.WWWAuthenticateChallengeError): true {
  assert.equal(error.status, 401);
  assert.equal(error.cause[0]?.parameters.error, 'invalid_client');
  return true;
}

async function deviceWorld(t: Parameters<typeof oauthWorld>[0]) {
  const world = await oauthWorld(t);
  const { appId } = await world.partner('dev', DEVICE_PARTNER);
  const config = await world.discover(appId);
  return { world, appId, config };
}

describe('refusals, each with its documented error', () => {
  test('missing PKCE: invalid_request, sent back to the client', async (t) => {
    const { world, config } = await deviceWorld(t);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'name', purpose: 'device_experience', state: 's1' });
    const refusal = await clientError(world, url);
    assert.equal(refusal.error, 'invalid_request');
    assert.match(refusal.description!, /PKCE/);
    assert.equal(refusal.state, 's1');
  });

  test('a wrong PKCE verifier: invalid_grant at the token endpoint', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const auth = await authorize(world, appId, { scope: 'name' });
    const wrong = { ...auth, request: { ...auth.request, verifier: client.randomPKCECodeVerifier() } };
    await assert.rejects(exchange(wrong), { error: 'invalid_grant' });
  });

  test('a redirect URI that is not registered: an error page, never a redirect', async (t) => {
    const { world, config } = await deviceWorld(t);
    const request = await authorizationRequest(config, { scope: 'name', purpose: 'device_experience', redirect_uri: 'https://evil.example/callback' });
    const visit = await world.browser().visit(request.url);
    assert.equal(visit.status, 400);
    assert.equal(visit.left, undefined);
    assert.equal(visit.headers.get('location'), null);
    assert.match(visit.html, /invalid_redirect_uri/);
    assert.doesNotMatch(visit.html, /evil\.example/);
  });

  test('a wrong client secret: invalid_client, for the code exchange and for client credentials', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const auth = await authorize(world, appId, { scope: 'name' });
    const impostor = await world.discover(appId, 'not-the-secret');
    await assert.rejects(exchange({ ...auth, request: { ...auth.request, config: impostor } }), invalidClient);
    await assert.rejects(client.clientCredentialsGrant(impostor), invalidClient);
    // The code was not spent by the failed attempt: the real client still gets its tokens.
    assert.ok((await exchange(auth)).access_token);
  });

  test('a disabled app is no client: an error page (there is no trusted redirect URI to send the error to)', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('off', { ...DEVICE_PARTNER, appStatus: 'disabled' });
    const url = new URL(`${world.issuer}/authorize`);
    url.search = new URLSearchParams({
      client_id: appId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'name', purpose: 'device_experience',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    }).toString();
    const visit = await world.browser().visit(url);
    assert.equal(visit.status, 400);
    assert.equal(visit.left, undefined);
    assert.match(visit.html, /invalid_client/);
  });

  test('a scope outside the agreement: invalid_scope, before the member is asked anything', async (t) => {
    const { world, config } = await deviceWorld(t);
    const cases: Array<[string, RegExp]> = [
      ['name phone', /phone is outside the agreement's member fields/],
      ['name friends friends.email', /friends\.email is outside the agreement's friend fields/],
    ];
    for (const [scope, description] of cases) {
      const request = await authorizationRequest(config, { scope, purpose: 'device_experience' });
      const refusal = await clientError(world, request.url);
      assert.equal(refusal.error, 'invalid_scope', scope);
      assert.match(refusal.description!, description);
    }
  });

  test('a scope that names no field is ignored, as OAuth allows: the member is not asked and the token does not carry it', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const auth = await authorize(world, appId, { scope: 'name shoe_size' });
    const tokens = await exchange(auth);
    assert.equal(tokens.scope, 'name');
  });

  test('friend fields asked by a third-party app: invalid_scope', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('game', { appClass: 'third_party', agreement: { purposes: ['login'], friendFields: ['name'] } });
    const request = await authorizationRequest(await world.discover(appId), { scope: 'name friends.name', purpose: 'login' });
    const refusal = await clientError(world, request.url);
    assert.equal(refusal.error, 'invalid_scope');
    assert.match(refusal.description!, /third-party app cannot ask for fields about friends/);
  });

  test('a purpose outside the agreement, or none: invalid_request', async (t) => {
    const { world, config } = await deviceWorld(t);
    const outside = await clientError(world, (await authorizationRequest(config, { scope: 'name', purpose: 'messaging' })).url);
    assert.equal(outside.error, 'invalid_request');
    assert.match(outside.description!, /purpose 'messaging' is not one of the agreement's purposes \(device_experience, contacts_sync\)/);
    const missing = await clientError(world, (await authorizationRequest(config, { scope: 'name' })).url);
    assert.equal(missing.error, 'invalid_request');
    assert.match(missing.description!, /missing required parameter 'purpose'/);
  });

  test('an app whose agreement is not in effect: unauthorized_client, with the cause', async (t) => {
    const world = await oauthWorld(t);
    const expired = await world.partner('old', { agreement: { endsAt: addDays(NOW, -1) } });
    const none = await world.partner('none', { withoutAgreement: true });
    for (const [appId, cause] of [[expired.appId, 'expired'], [none.appId, 'no_agreement']] as const) {
      const refusal = await clientError(world, (await authorizationRequest(await world.discover(appId), { scope: 'name', purpose: 'device_experience' })).url);
      assert.equal(refusal.error, 'unauthorized_client');
      assert.match(refusal.description!, new RegExp(`no agreement in effect \\(${cause}\\)`));
    }
  });

  test('consent under no_new_grants: a page that says why, and access_denied for the client', async (t) => {
    const world = await oauthWorld(t);
    const noNewGrants = addDays(NOW, 5);
    const { appId } = await world.partner('wind', {
      agreement: {
        status: 'winding_down',
        windDown: { noNewGrants, noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 40) },
      },
    });
    // The member logs in the day before the phase starts; the phase starts at its exact instant.
    const request = await authorizationRequest(await world.discover(appId), { scope: 'name', purpose: 'device_experience' });
    const browser = world.browser();
    const loginPage = await browser.visit(request.url);
    assert.equal(loginPage.status, 200);
    world.setNow(noNewGrants - 1);
    const consentPage = await logIn(browser, loginPage);
    assert.equal(consentPage.status, 200, 'a millisecond before the phase, consent is still possible');
    world.setNow(noNewGrants);
    const refused = await browser.visit(consentPage.url);
    assert.equal(refused.status, 403);
    assert.match(refused.html, /wind app cannot be connected/);
    assert.match(refused.html, /winding down: it stopped accepting new consents on <time datetime="2026-06-06T00:00:00.000Z">6 June 2026<\/time>/);
    assert.doesNotMatch(refused.html, /name="decision" value="allow"/, 'no way to consent');

    // A consent posted anyway (a stale page) makes no grant either.
    const stale = await consent(browser, consentPage);
    assert.equal(stale.status, 403);
    assert.equal((await world.store.db.selectFrom('grants').select('id').execute()).length, 0);

    const back = form(refused.html, '/abort');
    const done = await browser.submit(back.action, back.fields);
    assert.equal(done.left?.searchParams.get('error'), 'access_denied');
    assert.match(done.left?.searchParams.get('error_description') ?? '', /no longer accepts new consents/);

    // A new request after the phase began is refused before login.
    const later = await world.browser().visit((await authorizationRequest(await world.discover(appId), { scope: 'name', purpose: 'device_experience' })).url);
    assert.equal(later.status, 403);
    assert.doesNotMatch(later.html, /name="password"/, 'no login form for a consent that cannot be given');
  });

  test('a grant unused for 91 days stops working, on use and on refresh, until the member consents again', async (t) => {
    const { world, appId, config } = await deviceWorld(t);
    const tokens = await exchange(await authorize(world, appId, { scope: 'name' }));
    assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 200, 'used at NOW');

    // 30 minutes before the 90 days run out, a refresh still works...
    world.setNow(NOW + 90 * DAY_MS - 30 * 60_000);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    // ...but from the 90th day on, the fresh token is refused for the grant, and so is a refresh.
    world.setNow(NOW + 90 * DAY_MS + 60_000);
    const idle = await graph(world, '/v1/me', refreshed.access_token);
    assert.equal(idle.status, 401);
    assert.equal(idle.body.error.code, 'grant_expired');
    world.setNow(NOW + 91 * DAY_MS);
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), (error: client.ResponseBodyError) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description!, /unused for 90 days; the member must consent again/);
      return true;
    });

    // Consenting again makes a new grant that works.
    const again = await exchange(await authorize(world, appId, { scope: 'name' }));
    assert.equal((await graph(world, '/v1/me', again.access_token)).status, 200);
  });

  test('a token of a revoked grant: grant_expired on the next request, invalid_grant on refresh', async (t) => {
    const { world, appId, config } = await deviceWorld(t);
    const tokens = await exchange(await authorize(world, appId, { scope: 'name' }));
    assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 200);
    const [grant] = await world.store.db.selectFrom('grants').select('id').execute();
    // The member revokes the app (as the privacy center does): the very next request fails.
    await world.store.grants.revoke(grant!.id, NOW + 1);
    world.setNow(NOW + 2);
    const after = await graph(world, '/v1/me', tokens.access_token);
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'grant_expired');
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), { error: 'invalid_grant' });
  });

  test('the member declining: access_denied for the client and no grant', async (t) => {
    const { world, config } = await deviceWorld(t);
    const request = await authorizationRequest(config, { scope: 'name', purpose: 'device_experience' });
    const browser = world.browser();
    const consentPage = await logIn(browser, await browser.visit(request.url));
    const done = await consent(browser, consentPage, undefined, 'deny');
    assert.equal(done.left?.searchParams.get('error'), 'access_denied');
    assert.equal((await world.store.db.selectFrom('grants').select('id').execute()).length, 0);
  });
});
