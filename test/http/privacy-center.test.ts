/**
 * The members' privacy center in a browser: login, the session cookie, CSRF on every form, login
 * throttling, no open redirect, passwords kept out of the logs, and the settings and apps pages.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { LOGIN_ATTEMPTS_PER_ACCOUNT, LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW_MS } from '../../src/http/login-throttle.js';
import { SESSION_COOKIE } from '../../src/http/plugins/member-session.js';
import { addDays } from '../../src/domain/time.js';
import { openDatabase } from '../../src/store/database.js';
import { createStore } from '../../src/store/store.js';
import { build, type BuildOptions } from '../helpers/build.js';
import { DIALECTS } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser, csrfFieldOf, setCookies } from '../helpers/member-browser.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const PASSWORD = 'correct horse battery staple';
const WRONG = 'The member id or password is wrong.';

/** Members `ann` and `bob` with passwords, and a device partner `dev` that `ann` consented to. */
async function world(t: TestContext, options: BuildOptions = {}) {
  const built = await build(t, NOW, options);
  await addMembers(built.store, [{ id: 'ann' }, { id: 'bob' }], NOW);
  await built.store.credentials.setPassword('ann', PASSWORD, NOW);
  await built.store.credentials.setPassword('bob', 'bobs password', NOW);
  const partner = await addPartner(built.store, 'dev', {}, NOW);
  const { token, grantId } = await grantToken(built.store, {
    memberId: 'ann', appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name', 'email'],
  }, NOW);
  const browser = () => new MemberBrowser(built.app);
  return { ...built, ...partner, token, grantId, browser };
}

async function loggedIn(t: TestContext, options: BuildOptions = {}) {
  const w = await world(t, options);
  const ann = w.browser();
  const response = await ann.login('ann', PASSWORD);
  assert.equal(response.statusCode, 303);
  return { ...w, ann };
}

function assertError(response: { statusCode: number; json(): any; headers: Record<string, unknown> }, status: number, code: string) {
  assert.equal(response.statusCode, status);
  const { error } = response.json();
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'request_id']);
  assert.equal(error.code, code);
  assert.equal(error.request_id, response.headers['x-request-id']);
}

describe('login', () => {
  test('without a session every page sends the member to the login page', async (t) => {
    const { browser } = await world(t);
    for (const url of ['/privacy', '/privacy/apps']) {
      const response = await browser().get(url);
      assert.equal(response.statusCode, 303, url);
      assert.equal(response.headers.location, '/privacy/login');
    }
  });

  test('the login page is an accessible form with a CSRF field', async (t) => {
    const { browser } = await world(t);
    const page = (await browser().get('/privacy/login')).body;
    assert.match(page, /<html lang="en">/);
    assert.match(page, /<h1>/);
    assert.match(page, /<label for="member_id">/);
    assert.match(page, /<input id="member_id" name="member_id"/);
    assert.match(page, /<label for="password">/);
    assert.match(page, /<input id="password" name="password" type="password"/);
    assert.match(page, /<form method="post" action="\/privacy\/login">/);
    assert.ok(csrfFieldOf(page).length > 20);
    assert.doesNotMatch(page, /<script/i, 'no JavaScript');
  });

  test('the right password starts a session and lands on the settings page', async (t) => {
    const { browser } = await world(t);
    const ann = browser();
    const response = await ann.login('ann', PASSWORD);
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/privacy');
    assert.ok(ann.cookies.has(SESSION_COOKIE));
    const page = await ann.get('/privacy');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Logged in as <strong>ann<\/strong>/);
  });

  test('a wrong password and an unknown member get the same answer, and no session', async (t) => {
    const { browser } = await world(t);
    const answers = [];
    for (const [memberId, password] of [['ann', 'wrong password'], ['nobody', PASSWORD], ['', ''], ['ann', '']]) {
      const b = browser();
      const response = await b.login(memberId!, password!);
      assert.equal(response.statusCode, 401, `${memberId}/${password}`);
      assert.ok(response.body.includes(WRONG));
      assert.ok(!b.cookies.has(SESSION_COOKIE));
      assert.equal((await b.get('/privacy')).statusCode, 303);
      answers.push(response.body.replace(/value="[^"]*"/g, ''));
    }
    assert.equal(answers[0], answers[1], 'which of the two was wrong is not told');
  });

  test('a new session id at every login: an id from before is worth nothing after (session fixation)', async (t) => {
    const { browser, app } = await world(t);
    const ann = browser();
    await ann.login('bob', 'bobs password');
    const before = ann.cookies.get(SESSION_COOKIE)!;
    // Logged in, the login page sends the member on; the form is still there to post.
    const response = await ann.postForm('/privacy/login', { member_id: 'ann', password: PASSWORD, _csrf: await ann.csrfFrom('/privacy') });
    assert.equal(response.statusCode, 303);
    const after = ann.cookies.get(SESSION_COOKIE)!;
    assert.notEqual(after, before);
    const stale = await app.inject({ url: '/v1/me/privacy', headers: { cookie: `${SESSION_COOKIE}=${before}` } });
    assertError(stale, 401, 'login_required');
  });

  test('logging out ends the session on the server, not only in the browser', async (t) => {
    const { ann, app } = await loggedIn(t);
    const session = ann.cookies.get(SESSION_COOKIE)!;
    const csrf = await ann.csrfFrom('/privacy');
    const response = await ann.postForm('/privacy/logout', { _csrf: csrf });
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/privacy/login');
    assert.ok(!ann.cookies.has(SESSION_COOKIE), 'the cookie is cleared');
    const replay = await app.inject({ url: '/v1/me/privacy', headers: { cookie: `${SESSION_COOKIE}=${session}` } });
    assertError(replay, 401, 'login_required');
  });

  test('an expired session is absent', async (t) => {
    const { ann, store } = await loggedIn(t);
    assert.equal((await ann.get('/v1/me/privacy')).statusCode, 200);
    await store.db.updateTable('web_sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    assertError(await ann.get('/v1/me/privacy'), 401, 'login_required');
    assert.equal((await ann.get('/privacy')).headers.location, '/privacy/login');
  });
});

describe('session cookie', () => {
  test('HttpOnly, SameSite=Lax, path /, about 12 hours, and not Secure in development', async (t) => {
    const { browser } = await world(t);
    const response = await browser().login('ann', PASSWORD);
    const cookie = setCookies(response).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie);
    assert.equal(cookie.attributes.get('httponly'), true);
    assert.equal(cookie.attributes.get('samesite'), 'Lax');
    assert.equal(cookie.attributes.get('path'), '/');
    assert.equal(cookie.attributes.has('secure'), false);
    const expires = Date.parse(cookie.attributes.get('expires') as string);
    assert.ok(Math.abs(expires - (Date.now() + 12 * 3_600_000)) < 60_000, 'expires 12 hours from now');
    assert.match(cookie.value, /^[\w-]{32}\.[\w+/]+$/, 'only a signed random id');
  });

  test('Secure in production, for the session and the CSRF cookie alike', async (t) => {
    const { browser } = await world(t, { environment: 'production' });
    const ann = browser();
    const page = await ann.get('/privacy/login');
    const csrfCookie = setCookies(page).find((c) => c.name === '_csrf');
    assert.equal(csrfCookie?.attributes.get('secure'), true);
    const response = await ann.postForm('/privacy/login', { member_id: 'ann', password: PASSWORD, _csrf: csrfFieldOf(page.body) });
    assert.equal(response.statusCode, 303);
    const cookie = setCookies(response).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.attributes.get('secure'), true);
    assert.equal(cookie.attributes.get('httponly'), true);
    assert.equal(cookie.attributes.get('samesite'), 'Lax');
  });

  test('a forged or tampered session cookie is no session', async (t) => {
    const { ann, app } = await loggedIn(t);
    const session = ann.cookies.get(SESSION_COOKIE)!;
    const [id] = session.split('.');
    for (const cookie of [id!, `${id}.forged`, `x${session}`, 'garbage']) {
      assertError(await app.inject({ url: '/v1/me/privacy', headers: { cookie: `${SESSION_COOKIE}=${cookie}` } }), 401, 'login_required');
    }
  });
});

describe('CSRF', () => {
  test('login: refused without the token, with a wrong one, without the cookie, or with another browser\'s', async (t) => {
    const { browser } = await world(t);
    const ann = browser();
    const csrf = await ann.csrfFrom('/privacy/login');
    const other = browser();
    const otherCsrf = await other.csrfFrom('/privacy/login');
    const attempts: Array<[string, MemberBrowser, Record<string, string>]> = [
      ['no token', ann, {}],
      ['wrong token', ann, { _csrf: 'AAAAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }],
      ['another browser\'s token', ann, { _csrf: otherCsrf }],
      ['no cookie', browser(), { _csrf: csrf }],
    ];
    for (const [name, b, extra] of attempts) {
      const response = await b.postForm('/privacy/login', { member_id: 'ann', password: PASSWORD, ...extra });
      assertError(response, 403, 'invalid_csrf_token');
      assert.ok(!b.cookies.has(SESSION_COOKIE), name);
    }
  });

  test('a browser is shown an error page, not JSON', async (t) => {
    const { browser } = await world(t);
    const response = await browser().postForm('/privacy/login', { member_id: 'ann', password: PASSWORD }, { accept: 'text/html,*/*' });
    assert.equal(response.statusCode, 403);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /invalid_csrf_token/);
    assert.match(response.body, /reload the page/);
  });

  test('settings: refused without or with a wrong token, and nothing changes', async (t) => {
    const { ann, store } = await loggedIn(t);
    const before = await store.members.privacy('ann');
    for (const extra of [{}, { _csrf: 'wrong' }] as Array<Record<string, string>>) {
      const response = await ann.postForm('/privacy/settings', { ...extra, audience_email: 'public', share_via_friends: 'on' });
      assertError(response, 403, 'invalid_csrf_token');
    }
    assert.deepEqual(await store.members.privacy('ann'), before);
  });

  test('revoke: refused without or with a wrong token, and the grant stands', async (t) => {
    const { ann, store, grantId, appId } = await loggedIn(t);
    for (const extra of [{}, { _csrf: 'wrong' }] as Array<Record<string, string>>) {
      assertError(await ann.postForm(`/privacy/apps/${appId}/revoke`, extra), 403, 'invalid_csrf_token');
    }
    assert.equal((await store.grants.get(grantId))!.revokedAt, null);
  });

  test('logout: refused without the token, and the session stands', async (t) => {
    const { ann } = await loggedIn(t);
    assertError(await ann.postForm('/privacy/logout', {}), 403, 'invalid_csrf_token');
    assert.equal((await ann.get('/privacy')).statusCode, 200);
  });
});

describe('login throttling', () => {
  test(`the ${LOGIN_ATTEMPTS_PER_ACCOUNT + 1}th attempt for one account is refused, from whatever address`, async (t) => {
    const { app } = await world(t);
    for (let attempt = 1; attempt <= LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) {
      const response = await new MemberBrowser(app, `10.0.0.${attempt}`).login('ann', `guess ${attempt}`);
      assert.equal(response.statusCode, 401, `attempt ${attempt}`);
    }
    const blocked = await new MemberBrowser(app, '10.0.0.99').login('ann', PASSWORD);
    assertError(blocked, 429, 'rate_limited');
    assert.ok(Number(blocked.headers['retry-after']) > 0, 'says when to try again');
    const other = await new MemberBrowser(app, '10.0.0.99').login('bob', 'bobs password');
    assert.equal(other.statusCode, 303, 'another account from the same address still logs in');
  });

  test('only failures count: correct logins never lock a member out, and a success clears the account\'s failures', async (t) => {
    const { app } = await world(t);
    for (let login = 1; login <= 3 * LOGIN_ATTEMPTS_PER_ACCOUNT; login++) {
      assert.equal((await new MemberBrowser(app, '10.0.2.1').login('ann', PASSWORD)).statusCode, 303, `correct login ${login}`);
    }
    // Failures up to one short of the limit, then a success: the count starts again from zero.
    for (let round = 0; round < 3; round++) {
      for (let attempt = 1; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) {
        assert.equal((await new MemberBrowser(app, `10.0.3.${attempt}`).login('ann', 'guess')).statusCode, 401);
      }
      assert.equal((await new MemberBrowser(app, '10.0.2.1').login('ann', PASSWORD)).statusCode, 303, `round ${round}`);
    }
    // And failures still lock the account.
    for (let attempt = 1; attempt <= LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) await new MemberBrowser(app, '10.0.4.1').login('ann', 'guess');
    assertError(await new MemberBrowser(app, '10.0.2.1').login('ann', PASSWORD), 429, 'rate_limited');
  });

  test('an address\'s correct logins do not count against it, nor wipe its failures', async (t) => {
    const { app } = await world(t);
    for (let attempt = 1; attempt < LOGIN_ATTEMPTS_PER_ADDRESS; attempt++) {
      assert.equal((await new MemberBrowser(app, '192.0.2.20').login(`member${attempt}`, 'guess')).statusCode, 401);
      // A login to one's own account between guesses is not counted, and buys the address no more guesses.
      assert.equal((await new MemberBrowser(app, '192.0.2.20').login('bob', 'bobs password')).statusCode, 303, `login after guess ${attempt}`);
    }
    assert.equal((await new MemberBrowser(app, '192.0.2.20').login('member20', 'guess')).statusCode, 401);
    assertError(await new MemberBrowser(app, '192.0.2.20').login('member99', 'guess'), 429, 'rate_limited');
  });

  test('the account counter ignores case and spaces in the member id', async (t) => {
    const { app } = await world(t);
    const spellings = ['ann', 'ANN', ' ann', 'Ann ', 'aNn'];
    for (const [index, spelling] of spellings.entries()) {
      await new MemberBrowser(app, `10.0.1.${index}`).login(spelling, 'guess');
    }
    assertError(await new MemberBrowser(app, '10.0.1.99').login('ann', PASSWORD), 429, 'rate_limited');
  });

  test('many accounts from one address are refused after the address limit', async (t) => {
    const { app } = await world(t);
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= LOGIN_ATTEMPTS_PER_ADDRESS; attempt++) {
      const response = await new MemberBrowser(app, '192.0.2.7').login(`member${attempt}`, 'guess');
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses.slice(0, LOGIN_ATTEMPTS_PER_ADDRESS), Array(LOGIN_ATTEMPTS_PER_ADDRESS).fill(401));
    assert.equal(statuses[LOGIN_ATTEMPTS_PER_ADDRESS], 429);
    assertError(await new MemberBrowser(app, '192.0.2.7').login('ann', PASSWORD), 429, 'rate_limited');
    assert.equal((await new MemberBrowser(app, '192.0.2.8').login('ann', PASSWORD)).statusCode, 303, 'another address is not affected');
  });

  test('a refused account logs in again once the window, counted by the server\'s clock, has ended', async (t) => {
    const { app, setNow } = await world(t);
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) await new MemberBrowser(app).login('ann', 'guess');
    assertError(await new MemberBrowser(app).login('ann', PASSWORD), 429, 'rate_limited');
    setNow(NOW + LOGIN_WINDOW_MS - 1);
    assertError(await new MemberBrowser(app).login('ann', PASSWORD), 429, 'rate_limited');
    setNow(NOW + LOGIN_WINDOW_MS);
    assert.equal((await new MemberBrowser(app).login('ann', PASSWORD)).statusCode, 303);
  });

  /** A login post that came through a proxy at `proxy`, for the client `client` (X-Forwarded-For). */
  async function loginVia(app: FastifyInstance, proxy: string, client: string, memberId: string, password: string) {
    const b = new MemberBrowser(app, proxy);
    const csrf = await b.csrfFrom('/privacy/login');
    return b.postForm('/privacy/login', { member_id: memberId, password, _csrf: csrf }, { 'x-forwarded-for': client });
  }

  test('behind trusted proxies the address limit counts each client, from X-Forwarded-For', async (t) => {
    const { app } = await world(t, { trustedProxies: ['10.1.0.0/16'] });
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ADDRESS; attempt++) {
      assert.equal((await loginVia(app, '10.1.0.5', '198.51.100.7', `member${attempt}`, 'guess')).statusCode, 401);
    }
    assertError(await loginVia(app, '10.1.0.6', '198.51.100.7', 'ann', PASSWORD), 429, 'rate_limited');
    assert.equal((await loginVia(app, '10.1.0.5', '198.51.100.8', 'ann', PASSWORD)).statusCode, 303, 'another client through the same proxy');
  });

  test('without trusted proxies X-Forwarded-For is ignored: a forged header does not dodge the address limit', async (t) => {
    const { app } = await world(t);
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ADDRESS; attempt++) {
      await loginVia(app, '192.0.2.9', `198.51.100.${attempt}`, `member${attempt}`, 'guess');
    }
    assertError(await loginVia(app, '192.0.2.9', '198.51.100.200', 'ann', PASSWORD), 429, 'rate_limited');
  });

  for (const dialect of DIALECTS) {
    test(`two instances on one database (${dialect}) draw on the same counters`, async (t) => {
      const first = await world(t, { dialect });
      const database = first.store.db;
      const secondDb = first.databaseUrl === undefined ? database : openDatabase(first.databaseUrl);
      const second = await buildApp({ store: createStore(secondDb), clock: () => NOW });
      try {
        const statuses = [];
        for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) {
          const instance = attempt % 2 === 0 ? first.app : second;
          statuses.push((await new MemberBrowser(instance, `10.0.2.${attempt}`).login('ann', 'guess')).statusCode);
        }
        assert.deepEqual(statuses, Array(LOGIN_ATTEMPTS_PER_ACCOUNT).fill(401));
        assertError(await new MemberBrowser(second, '10.0.2.99').login('ann', PASSWORD), 429, 'rate_limited');
        assertError(await new MemberBrowser(first.app, '10.0.2.99').login('ann', PASSWORD), 429, 'rate_limited');
      } finally {
        // Before the first instance's database is dropped (t.after hooks run in the order they were added).
        await second.close();
        if (secondDb !== database) await secondDb.destroy();
      }
    });
  }

  test('a refused browser is shown a page', async (t) => {
    const { app } = await world(t);
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) await new MemberBrowser(app).login('ann', 'guess');
    const b = new MemberBrowser(app);
    const csrf = await b.csrfFrom('/privacy/login');
    const response = await b.postForm('/privacy/login', { member_id: 'ann', password: PASSWORD, _csrf: csrf }, { accept: 'text/html' });
    assert.equal(response.statusCode, 429);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /rate_limited/);
  });
});

describe('no open redirect', () => {
  const external = ['https://evil.example/phish', '//evil.example', '/\\evil.example', 'javascript:alert(1)'];

  test('a next or return_to parameter, in the query or the form, is ignored', async (t) => {
    const { app } = await world(t);
    for (const target of external) {
      const query = `?next=${encodeURIComponent(target)}&return_to=${encodeURIComponent(target)}`;
      const b = new MemberBrowser(app);
      const page = await b.get(`/privacy/login${query}`);
      assert.ok(!page.body.includes('evil.example'), 'the page does not carry it on');
      const response = await b.postForm(`/privacy/login${query}`, {
        member_id: 'ann', password: PASSWORD, _csrf: csrfFieldOf(page.body), next: target, return_to: target, redirect_uri: target,
      });
      assert.equal(response.statusCode, 303);
      assert.equal(response.headers.location, '/privacy', target);
      const again = await b.get(`/privacy/login${query}`);
      assert.equal(again.headers.location, '/privacy', 'a logged-in member is sent to the same fixed page');
    }
  });
});

describe('passwords are never logged', () => {
  test('not at trace level, not on success, failure, refusal or throttling', async (t) => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _encoding, callback) { lines.push(String(chunk)); callback(); } });
    const { app } = await world(t, { logger: { level: 'trace', stream } });
    const secret = 'Pa55-w0rd-that-must-not-leak';
    await new MemberBrowser(app).login('ann', secret);
    await new MemberBrowser(app).login('nobody', secret);
    await new MemberBrowser(app).postForm('/privacy/login', { member_id: 'ann', password: secret });
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_ACCOUNT; attempt++) await new MemberBrowser(app).login('ann', secret);
    await new MemberBrowser(app).login('ann', PASSWORD);
    await new MemberBrowser(app).login('bob', 'bobs password');
    const log = lines.join('');
    assert.ok(lines.length > 20, 'the log was captured');
    assert.match(log, /\/privacy\/login/);
    for (const password of [secret, PASSWORD, 'bobs password', encodeURIComponent(secret)]) {
      assert.ok(!log.includes(password), `${password} is not in the log`);
    }
  });
});

describe('settings page', () => {
  test('shows both switches and every field\'s audience; basic fields are not editable', async (t) => {
    const { ann } = await loggedIn(t);
    const page = (await ann.get('/privacy')).body;
    assert.match(page, /<input type="checkbox" id="platform_enabled" name="platform_enabled" value="on" checked/);
    assert.match(page, /<input type="checkbox" id="share_via_friends" name="share_via_friends" value="on" aria/);
    assert.match(page, /<label for="platform_enabled">/);
    for (const field of ['email', 'phone', 'birthday', 'religion', 'photos']) {
      assert.match(page, new RegExp(`<label for="audience_${field}">`), field);
      assert.match(page, new RegExp(`<select id="audience_${field}" name="audience_${field}">`), field);
    }
    assert.match(page, /<select id="audience_email"[^]*?<option value="only_me" selected>/);
    assert.match(page, /<select id="audience_birthday"[^]*?<option value="friends" selected>/);
    for (const field of ['id', 'name', 'picture']) assert.doesNotMatch(page, new RegExp(`name="audience_${field}"`), field);
    assert.match(page, /always public/);
  });

  test('saving the form changes the settings and says so', async (t) => {
    const { ann, store } = await loggedIn(t);
    const csrf = await ann.csrfFrom('/privacy');
    const response = await ann.postForm('/privacy/settings', {
      _csrf: csrf, share_via_friends: 'on', audience_email: 'friends', audience_birthday: 'only_me', audience_religion: 'only_me',
    });
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/privacy?saved=1');
    assert.deepEqual(await store.members.privacy('ann'), {
      platformEnabled: false, shareViaFriends: true, audiences: { email: 'friends', birthday: 'only_me' },
    });
    const page = (await ann.get('/privacy?saved=1')).body;
    assert.match(page, /role="status">Your settings were saved/);
    assert.match(page, /<select id="audience_email"[^]*?<option value="friends" selected>/);
    assert.doesNotMatch(page, /id="platform_enabled" name="platform_enabled" value="on" checked/);
  });

  test('a basic or unknown field, or a wrong audience, is refused and nothing changes', async (t) => {
    const { ann, store } = await loggedIn(t);
    const before = await store.members.privacy('ann');
    const cases: Array<[Record<string, string>, string]> = [
      [{ audience_name: 'only_me' }, 'field_not_editable'],
      [{ audience_shoe_size: 'public' }, 'unknown_field'],
      [{ audience_friends: 'public' }, 'unknown_field'],
      [{ audience_email: 'everyone' }, 'invalid_parameter'],
    ];
    for (const [fields, code] of cases) {
      const csrf = await ann.csrfFrom('/privacy');
      assertError(await ann.postForm('/privacy/settings', { _csrf: csrf, platform_enabled: 'on', audience_birthday: 'public', ...fields }), 400, code);
    }
    assert.deepEqual(await store.members.privacy('ann'), before);
  });
});

describe('apps page', () => {
  test('one card per app with what it can read now (the union of its live grants) and since when; ended grants apart, with why', async (t) => {
    const { ann, store, appId, agreementId } = await loggedIn(t);
    await store.partners.insertPartner({
      id: 'p_evil', legalName: '<script>alert("x")</script> & Co', country: 'GB', kind: 'app_developer', riskFlags: [],
      storage: { location: 'on_device' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null,
    }, NOW);
    await store.partners.insertApp({ id: 'app_evil', partnerId: 'p_evil', name: 'Evil <b>app</b>', class: 'third_party', status: 'active' }, [], NOW);
    await grantToken(store, { memberId: 'ann', appId: 'app_evil', agreementId: null, purpose: 'login', memberFields: ['id', 'name'] }, NOW);
    // A second live consent to dev app (ann's first is in the world), with a sensitive friend field that never leaves.
    await grantToken(store, {
      memberId: 'ann', appId, agreementId, memberFields: ['id', 'birthday'], friendFields: ['name', 'religion'], grantedAt: addDays(NOW, -20),
    }, NOW);
    await grantToken(store, {
      memberId: 'ann', appId, agreementId, memberFields: ['id', 'phone'], grantedAt: addDays(NOW, -200),
    }, NOW);
    await grantToken(store, { memberId: 'bob', appId: 'app_evil', agreementId: null, purpose: 'login', memberFields: ['id', 'work'] }, NOW);

    const page = (await ann.get('/privacy/apps')).body;
    assert.ok(!page.includes('<script>alert'), 'no markup from data');
    assert.ok(page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co (GB)'));
    assert.ok(page.includes('Evil &lt;b&gt;app&lt;/b&gt;'));
    const dev = page.split('<section').find((part) => part.includes('>dev app</h2>'))!;
    assert.equal(page.split('>dev app</h2>').length, 2, 'one card for dev app, however many consents');
    assert.match(dev, /dev Ltd \(CN\)/);
    assert.match(dev, /Can read since <time datetime="2026-05-12T00:00:00.000Z">/, 'since the earliest live consent');
    assert.match(dev, /to show your social network inside the device’s own apps/, 'the purpose in the consent page\'s words');
    for (const label of ['Name', 'Email address', 'Birthday']) assert.match(dev, new RegExp(`<li>${label}\\n<form`), label);
    assert.doesNotMatch(dev, /Phone number/, 'an expired consent gives nothing now');
    assert.match(dev, /<h3>About friends who allow it<\/h3>/);
    assert.doesNotMatch(dev, /Religion/, 'a sensitive friend field is never listed as shared');
    assert.match(dev, /href="\/privacy\/apps\/app_dev\/revoke">Revoke all access for dev app…<\/a>/);
    const ended = page.split('<section').find((part) => part.includes('id="ended"'))!;
    assert.match(ended, /<td>dev app<\/td><td>to show your social network inside the device’s own apps<\/td>.*<td>Unused for 90 days<\/td>/);
    assert.ok(!page.includes('Work'), 'another member\'s grant is not shown');
  });

  test('an active grant whose agreement is not in effect at the request\'s clock says the app receives nothing', async (t) => {
    const { ann, store, app, setNow } = await loggedIn(t);
    const ending = await addPartner(store, 'ending', { agreement: { endsAt: addDays(NOW, 10) } }, NOW);
    const paused = await addPartner(store, 'paused', { agreement: { status: 'suspended', statusReason: 'investigation' } }, NOW);
    const { token } = await grantToken(store, {
      memberId: 'ann', appId: ending.appId, agreementId: ending.agreementId, memberFields: ['id', 'name'], tokenTtlMs: 30 * 86_400_000,
    }, NOW);
    await grantToken(store, { memberId: 'ann', appId: paused.appId, agreementId: paused.agreementId, memberFields: ['id'] }, NOW);
    await grantToken(store, { memberId: 'ann', appId: paused.appId, agreementId: paused.agreementId, memberFields: ['id'], revokedAt: NOW }, NOW);
    const card = async (appName: string) => {
      const page = (await ann.get('/privacy/apps')).body;
      const section = page.split('<section').find((part) => part.includes(`>${appName}</h2>`));
      assert.ok(section, appName);
      return section;
    };

    assert.doesNotMatch(await card('ending app'), /receives nothing/, 'in effect until its end date');
    assert.match(await card('paused app'), /But the agreement is suspended: the app receives nothing for now\./);
    setNow(addDays(NOW, 10));
    assert.match(await card('ending app'), /But the agreement has expired: the app receives nothing for now\./);
    assert.doesNotMatch(await card('dev app'), /receives nothing/, 'a grant under an agreement in effect is plainly active');
    const graph = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    assert.equal(graph.statusCode, 403, 'and indeed the Graph API gives the app nothing');
    assert.deepEqual([graph.json().error.code, graph.json().error.cause], ['agreement_not_in_effect', 'expired']);
  });

  test('revoking asks first (a page without scripts), then ends the app\'s access at once', async (t) => {
    const { ann, app, token, grantId, store } = await loggedIn(t);
    const before = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    assert.equal(before.statusCode, 200);
    const confirm = await ann.get('/privacy/apps/app_dev/revoke');
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /<h1>Revoke all access for dev app\?<\/h1>/);
    assert.match(confirm.body, /It loses: Member id, Name, Email address\./);
    assert.match(confirm.body, /<a class="button" href="\/privacy\/apps">Cancel<\/a>/);
    assert.equal((await store.grants.get(grantId))!.revokedAt, null, 'looking at the confirmation changes nothing');
    const response = await ann.postForm('/privacy/apps/app_dev/revoke', { _csrf: csrfFieldOf(confirm.body) });
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/privacy/apps?done=revoked');
    assert.notEqual((await store.grants.get(grantId))!.revokedAt, null);
    const after = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    assertError(after, 401, 'invalid_token');
    const revokedPage = (await ann.get('/privacy/apps?done=revoked')).body;
    assert.match(revokedPage, /role="status">Access revoked/);
    assert.match(revokedPage, /<td>You revoked it<\/td>/);
    assert.doesNotMatch(revokedPage, /href="\/privacy\/apps\/app_dev\/revoke"/, 'nothing left to revoke');
    assert.equal((await ann.get('/privacy/apps/app_dev/revoke')).statusCode, 303, 'no confirmation for nothing');
  });

  test('removing one permission keeps the others: the app\'s token stops reaching that field at once', async (t) => {
    const { ann, app, token } = await loggedIn(t);
    const read = async () => (await app.inject({ url: '/v1/me?fields=name,email', headers: { authorization: `Bearer ${token}` } })).json();
    assert.deepEqual(Object.keys(await read()).sort(), ['email', 'id', 'name', 'withheld']);
    const page = (await ann.get('/privacy/apps')).body;
    assert.match(page, /aria-label="Remove Email address"/);
    const removed = await ann.postForm('/privacy/apps/app_dev/permissions/remove', { _csrf: csrfFieldOf(page), permission: 'email' });
    assert.equal(removed.statusCode, 303);
    assert.equal(removed.headers.location, '/privacy/apps?done=removed');
    const after = await read();
    assert.equal(after.name, 'Name ann');
    assert.equal(after.email, undefined);
    assert.deepEqual(after.withheld, { email: 'not_consented' });
    const again = (await ann.get('/privacy/apps?done=removed')).body;
    assert.match(again, /Permission removed/);
    assert.doesNotMatch(again, /Remove Email address/);

    const csrf = await ann.apiCsrf();
    const api = await ann.json('DELETE', '/v1/me/apps/app_dev/permissions/name', undefined, { 'x-csrf-token': csrf });
    assert.equal(api.statusCode, 204);
    assert.equal((await read()).name, undefined);
    assertError(await ann.json('DELETE', '/v1/me/apps/app_dev/permissions/name', undefined, { 'x-csrf-token': csrf }), 404, 'not_found');
    assertError(await ann.json('DELETE', '/v1/me/apps/app_dev/permissions/id', undefined, { 'x-csrf-token': csrf }), 400, 'permission_not_removable');
    assertError(await ann.json('DELETE', '/v1/me/apps/app_dev/permissions/shoe_size', undefined, { 'x-csrf-token': csrf }), 400, 'unknown_field');
    assertError(await ann.json('DELETE', '/v1/me/apps/app_dev/permissions/email'), 403, 'invalid_csrf_token');
  });

  test('pages are not cached and cannot be framed', async (t) => {
    const { ann } = await loggedIn(t);
    for (const url of ['/privacy', '/privacy/apps', '/v1/me/privacy']) {
      const response = await ann.get(url);
      assert.equal(response.headers['cache-control'], 'no-store', url);
    }
    const page = await ann.get('/privacy/apps');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
  });

  test('the policy allows the page\'s one stylesheet by its hash, and no other inline style', async (t) => {
    const { ann, browser } = await loggedIn(t);
    for (const [url, member] of [['/privacy/login', browser()], ['/privacy', ann], ['/privacy/apps', ann]] as const) {
      const page = await member.get(url);
      assert.equal(page.statusCode, 200, url);
      const policy = String(page.headers['content-security-policy']);
      assert.doesNotMatch(policy, /unsafe-inline/, url);
      const styles = [...page.body.matchAll(/<style>([^]*?)<\/style>/g)].map((match) => match[1]!);
      assert.equal(styles.length, 1, url);
      assert.ok(policy.includes(`style-src 'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`), url);
    }
  });
});
