import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as client from 'openid-client';
import { fieldsOf } from '../../src/domain/field-catalog.js';
import {
  DEVICE_PARTNER, NOW, REDIRECT_URI, authorizationRequest, authorize, consent, exchange, graph, logIn, oauthWorld,
} from './oauth-world.js';
import { DIALECTS, dialectTest } from '../helpers/dialects.js';

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`the OAuth flow, driven by openid-client on ${dialect}`, () => {
    test.both('JSON and blob columns', 'discovery, PKCE, login, consent, code exchange, Graph API, refresh, revocation, and the call failing after it', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId, agreementId } = await world.partner('dev', DEVICE_PARTNER);

      // Discovery: the issuer is ${publicUrl}/oauth and announces what a partner needs.
      const config = await world.discover(appId);
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, world.issuer);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.ok(metadata.scopes_supported?.includes('friends.birthday'));
      assert.ok(metadata.grant_types_supported?.includes('client_credentials'));
      assert.equal(metadata.revocation_endpoint, `${world.issuer}/revoke`);
      assert.equal(metadata.introspection_endpoint, `${world.issuer}/introspect`);

      // The authorization request, with PKCE, asks for member and friend fields for a purpose.
      const request = await authorizationRequest(config, {
        scope: 'openid name email birthday friends friends.name friends.birthday',
        purpose: 'device_experience',
      });
      const browser = world.browser();
      const loginPage = await browser.visit(request.url);
      assert.equal(loginPage.status, 200);
      assert.match(loginPage.html, /Log in to continue to dev app/);

      const consentPage = await logIn(browser, loginPage);
      assert.equal(consentPage.status, 200);
      assert.match(consentPage.html, /Share your data with dev app\?/);

      // The member unticks `email`; everything else stays ticked.
      const done = await consent(browser, consentPage, ['name', 'birthday', 'friends', 'friends.name', 'friends.birthday']);
      assert.ok(done.left, 'the consent returns to the client');
      assert.equal(`${done.left.origin}${done.left.pathname}`, REDIRECT_URI);
      assert.equal(done.left.searchParams.get('state'), request.state);

      // Code exchange, by openid-client, with the PKCE verifier.
      const tokens = await client.authorizationCodeGrant(config, done.left, { pkceCodeVerifier: request.verifier, expectedState: request.state });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.refresh_token, 'a refresh token is issued');
      assert.equal(tokens.claims()?.sub, 'me');
      assert.equal(tokens.scope, 'openid name birthday friends friends.name friends.birthday');

      // The consent made a Datapact grant with the same id as the authorization server's grant.
      const introspected = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.sub, 'me');
      // Only the client a token was issued to may introspect it.
      const other = await world.partner('other', DEVICE_PARTNER);
      assert.equal((await client.tokenIntrospection(await world.discover(other.appId), tokens.access_token)).active, false);

      const oidcGrants = await world.store.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Grant').execute();
      assert.equal(oidcGrants.length, 1);
      const datapact = (await world.store.grants.get(oidcGrants[0]!.id))!;
      assert.ok(datapact, 'the Datapact grant has the id of the authorization server\'s grant');
      assert.equal(datapact.appId, appId);
      assert.equal(datapact.agreementId, agreementId);
      assert.equal(datapact.purpose, 'device_experience');
      assert.equal(datapact.grantedAt, NOW);
      assert.deepEqual(fieldsOf(datapact.memberFields), ['id', 'name', 'birthday', 'friends']);
      assert.deepEqual(fieldsOf(datapact.friendFields), ['name', 'birthday']);

      // The Graph API accepts the token: the unticked field is withheld as not consented.
      const me = await graph(world, '/v1/me?fields=id,name,email,birthday', tokens.access_token);
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, { id: 'me', name: 'Name me', birthday: '1990-01-02', withheld: { email: 'not_consented' } });
      const friends = await graph(world, '/v1/me/friends?fields=name,birthday', tokens.access_token);
      assert.equal(friends.status, 200);
      assert.deepEqual(friends.body.data.map((f: { id: string }) => f.id), ['f0', 'f2', 'f4'], 'only friends who opted in');

      // Refresh: a new access token (and a rotated refresh token) that the Graph API accepts too.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh tokens rotate');
      assert.equal((await graph(world, '/v1/me', refreshed.access_token)).status, 200);

      // Revocation: the next call fails, and so does the refresh.
      await client.tokenRevocation(config, refreshed.refresh_token!);
      const after = await graph(world, '/v1/me', refreshed.access_token);
      assert.equal(after.status, 401);
      assert.equal(after.body.error.code, 'invalid_token');
      await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), { error: 'invalid_grant' });
      assert.notEqual((await world.store.grants.get(datapact.id))!.revokedAt, null, 'the Datapact grant is revoked with it');
    });

    test('client credentials: a partner server token, recorded for the partner endpoints and never accepted by the Graph API', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId } = await world.partner('dev', DEVICE_PARTNER);
      const config = await world.discover(appId);
      const tokens = await client.clientCredentialsGrant(config);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      const verified = await world.store.clientTokens.verify(tokens.access_token);
      assert.equal(verified?.app.id, appId);
      assert.equal(verified?.revokedAt, null);
      assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 401);

      await client.tokenRevocation(config, tokens.access_token);
      assert.notEqual((await world.store.clientTokens.verify(tokens.access_token))?.revokedAt, null);
    });

    test('a third-party app gets the member and only friends who use it, as the consent page says', async (t) => {
      const world = await oauthWorld(t, { dialect });
      const { appId } = await world.partner('game', {
        appClass: 'third_party',
        agreement: { purposes: ['login'], memberFields: ['id', 'name', 'picture', 'email', 'friends'] },
      });
      const auth = await authorize(world, appId, { scope: 'name friends', purpose: 'login' });
      const tokens = await exchange(auth);
      const friends = await graph(world, '/v1/me/friends', tokens.access_token);
      assert.equal(friends.status, 200);
      assert.deepEqual(friends.body.data, [], 'no friend uses the app');
    });
  });
}
