import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serverLogger } from '../../src/cli/commands/serve.js';
import { LOGIN_ATTEMPTS_PER_ACCOUNT, LOGIN_ATTEMPTS_PER_ADDRESS } from '../../src/http/login-throttle.js';
import {
  DEVICE_PARTNER, PASSWORD, REDIRECT_URI, authorizationRequest, authorize, consent, exchange, form, graph, logIn, oauthWorld,
  type Browser, type OAuthWorld, type Visit,
} from './oauth-world.js';

async function loginPage(world: OAuthWorld, appId: string, browser: Browser = world.browser()): Promise<Visit> {
  const request = await authorizationRequest(await world.discover(appId), { scope: 'name friends', purpose: 'device_experience' });
  const page = await browser.visit(request.url);
  assert.equal(page.status, 200);
  return page;
}

async function deviceWorld(t: Parameters<typeof oauthWorld>[0], options: Parameters<typeof oauthWorld>[1] = {}) {
  const world = await oauthWorld(t, options);
  const { appId } = await world.partner('dev', DEVICE_PARTNER);
  return { world, appId };
}

/** Every cookie attribute list the server sent, by cookie name. */
function cookieAttributes(setCookies: readonly string[]): Array<{ name: string; attributes: string[] }> {
  return setCookies.map((header) => {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim());
    return { name: pair!.slice(0, pair!.indexOf('=')), attributes: attributes.map((a) => a.toLowerCase()) };
  });
}

describe('CSRF protection', () => {
  test('the login form refuses a post without the token, or with another browser\'s token', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    const page = await loginPage(world, appId, browser);
    const login = form(page.html, '/login');

    const without = await browser.submit(login.action, { member_id: 'me', password: PASSWORD });
    assert.equal(without.status, 403);
    assert.match(without.html, /This form has expired/);
    assert.equal(without.left, undefined);

    const attacker = form((await loginPage(world, appId)).html, '/login');
    const forged = await browser.submit(login.action, { _csrf: attacker.fields._csrf!, member_id: 'me', password: PASSWORD });
    assert.equal(forged.status, 403);

    // The interaction is untouched: the member's own form still works.
    const consentPage = await logIn(browser, page);
    assert.match(consentPage.html, /Share your data with/);
  });

  test('the consent and cancel forms refuse a post without the token, and no grant is made', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    const consentPage = await logIn(browser, await loginPage(world, appId, browser));
    const page = form(consentPage.html, '/consent');
    const forged = await browser.submit(page.action, { decision: 'allow', scope: ['name', 'friends'] });
    assert.equal(forged.status, 403);
    assert.equal(forged.left, undefined);
    assert.equal((await world.store.db.selectFrom('grants').select('id').execute()).length, 0);
    const cancel = await browser.submit(page.action.replace(/consent$/, 'abort'), {});
    assert.equal(cancel.status, 403);
    const done = await consent(browser, consentPage);
    assert.ok(done.left?.searchParams.get('code'), 'the real form still works');
  });
});

describe('session cookies', () => {
  test('HttpOnly and SameSite=Lax on every cookie; not Secure over plain HTTP in development', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const auth = await authorize(world, appId, { scope: 'name' });
    const cookies = cookieAttributes(auth.browser.setCookies);
    const names = new Set(cookies.map((c) => c.name));
    for (const name of ['_csrf', 'dp_oauth_interaction', 'dp_oauth_resume', 'dp_oauth_session']) assert.ok(names.has(name), name);
    for (const { name, attributes } of cookies) {
      assert.ok(attributes.includes('httponly'), `${name} is HttpOnly`);
      assert.ok(attributes.includes('samesite=lax'), `${name} is SameSite=Lax`);
      assert.ok(!attributes.includes('secure'), `${name} is not Secure in development`);
    }
  });

  test('in production (behind TLS): Secure as well, the flow works, and development tokens are refused', async (t) => {
    const { world, appId } = await deviceWorld(t, { environment: 'production', behindTlsProxy: true });
    assert.match(world.issuer, /^https:\/\//);
    const auth = await authorize(world, appId, { scope: 'name' });
    const cookies = cookieAttributes(auth.browser.setCookies);
    assert.ok(cookies.length >= 4);
    for (const { name, attributes } of cookies) {
      assert.ok(attributes.includes('secure'), `${name} is Secure`);
      assert.ok(attributes.includes('httponly'), `${name} is HttpOnly`);
      assert.ok(attributes.includes('samesite=lax'), `${name} is SameSite=Lax`);
    }
    const tokens = await exchange(auth);
    assert.equal((await graph(world, '/v1/me', tokens.access_token)).status, 200, 'an OAuth token works in production');

    const [grant] = await world.store.db.selectFrom('grants').select('id').execute();
    const development = await world.store.tokens.issue(grant!.id, Date.now(), 3_600_000);
    const refused = await graph(world, '/v1/me', development.token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'invalid_token');
    assert.match(refused.body.error.message, /Development tokens are not accepted in production/);
  });
});

describe('no open redirect', () => {
  test('the interaction pages ignore return_to-style parameters and only ever send the browser to the provider, then the registered URI', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    const page = await loginPage(world, appId, browser);
    const evil = 'https://evil.example/steal';
    const withParams = await browser.visit(`${page.url}?return_to=${encodeURIComponent(evil)}&redirect_uri=${encodeURIComponent(evil)}`);
    assert.equal(withParams.status, 200);
    assert.equal(withParams.headers.get('location'), null);

    const login = form(withParams.html, '/login');
    const response = await browser.request(login.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...login.fields, member_id: 'me', password: PASSWORD, return_to: evil, redirect_uri: evil, next: evil }),
    });
    assert.equal(response.status, 303);
    const uid = login.action.split('/')[2];
    assert.equal(response.headers.get('location'), `${world.issuer}/authorize/${uid}`);

    const consentPage = await browser.visit(response.headers.get('location')!);
    const done = await consent(browser, consentPage);
    assert.equal(`${done.left!.origin}${done.left!.pathname}`, REDIRECT_URI);
  });

  test('an interaction opened in another browser (no interaction cookie) is an error page, not a redirect', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const page = await loginPage(world, appId);
    const stranger = await world.browser().visit(page.url);
    assert.equal(stranger.status, 400);
    assert.equal(stranger.left, undefined);
    assert.match(stranger.html, /This page has expired/);
  });
});

describe('login attempts are rate limited', () => {
  test(`per account: after ${LOGIN_ATTEMPTS_PER_ACCOUNT} attempts even the right password waits`, async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    let page = await loginPage(world, appId, browser);
    for (let attempt = 1; attempt <= LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) {
      page = await logIn(browser, page, 'me', `wrong ${attempt}`);
      assert.equal(page.status, 401);
      assert.match(page.html, /Member id or password is wrong\./);
    }
    const blocked = await logIn(browser, page, 'me', PASSWORD);
    assert.equal(blocked.status, 429);
    assert.match(blocked.html, /Too many attempts/);
    // Another account from the same address is not blocked by it.
    const other = await logIn(browser, page, 'f0', 'wrong');
    assert.equal(other.status, 401);
  });

  test('only failures count: correct logins never lock a member out, and one clears the failures before it', async (t) => {
    const { world, appId } = await deviceWorld(t);
    for (let login = 1; login <= LOGIN_ATTEMPTS_PER_ACCOUNT + 1; login++) {
      const browser = world.browser();
      const consentPage = await logIn(browser, await loginPage(world, appId, browser), 'me', PASSWORD);
      assert.equal(consentPage.status, 200, `correct login ${login}`);
    }
    const browser = world.browser();
    let page = await loginPage(world, appId, browser);
    for (let attempt = 1; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) page = await logIn(browser, page, 'me', `wrong ${attempt}`);
    assert.equal((await logIn(browser, page, 'me', PASSWORD)).status, 200);
    const again = world.browser();
    page = await loginPage(world, appId, again);
    for (let attempt = 1; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) page = await logIn(again, page, 'me', `wrong ${attempt}`);
    assert.equal((await logIn(again, page, 'me', PASSWORD)).status, 200, 'the earlier failures were cleared');
  });

  test(`per address: after ${LOGIN_ATTEMPTS_PER_ADDRESS} attempts, whatever the account`, async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    let page = await loginPage(world, appId, browser);
    for (let attempt = 1; attempt <= LOGIN_ATTEMPTS_PER_ADDRESS; attempt++) {
      page = await logIn(browser, page, `someone${attempt}`, 'guess');
      assert.equal(page.status, 401);
    }
    const blocked = await logIn(browser, page, 'me', PASSWORD);
    assert.equal(blocked.status, 429);
  });

  test('a failed login does not say which of the two was wrong', async (t) => {
    const { world, appId } = await deviceWorld(t);
    const browser = world.browser();
    const page = await loginPage(world, appId, browser);
    const unknown = await logIn(browser, page, 'nobody', PASSWORD);
    const wrong = await logIn(browser, unknown, 'me', 'not the password');
    assert.equal(unknown.status, wrong.status);
    const message = (html: string) => /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];
    assert.equal(message(unknown.html), 'Member id or password is wrong.');
    assert.equal(message(wrong.html), message(unknown.html));
    assert.doesNotMatch(wrong.html, /not the password/, 'the password is never echoed back');
  });
});

describe('passwords are never logged', () => {
  test('the server log of failed and successful logins holds no password', async (t) => {
    const lines: string[] = [];
    const stream = { write: (line: string) => { lines.push(line); } };
    const { world, appId } = await deviceWorld(t, { logger: { ...serverLogger('trace'), stream } });
    const browser = world.browser();
    const wrongPassword = 'hunter2-is-not-my-password';
    const failed = await logIn(browser, await loginPage(world, appId, browser), 'me', wrongPassword);
    const consentPage = await logIn(browser, failed);
    await consent(browser, consentPage);
    const log = lines.join('');
    assert.match(log, /\/interaction\/[^"]+\/login/, 'the login requests were logged');
    assert.ok(!log.includes(wrongPassword), 'no wrong password in the log');
    assert.ok(!log.includes(PASSWORD), 'no password in the log');
    assert.ok(!log.includes('member_id=me'), 'no form body in the log');
  });
});
