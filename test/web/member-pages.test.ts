/**
 * The member's pages in Chromium (playwright-core, Debian's browser): the consent page and each
 * privacy-center flow as a member does it, axe-core on every server-rendered page, the consent form
 * by keyboard, the access history's proofs checked by its script (and a tampered one caught), and
 * the history on a 390 px phone. One browser and one app for the whole file; each test its own
 * browser context (its own cookies). Screenshots go where test/helpers/console-browser.ts says (SCREENSHOTS).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { addDays } from '../../src/domain/time.js';
import { BROWSER_STEP_TIMEOUT_MS, CHROMIUM, checkAccessibility, SCREENSHOTS, TAKING_SCREENSHOTS } from '../helpers/console-browser.js';
import { build, type Built } from '../helpers/build.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { freePort } from '../oauth/oauth-world.js';

const NOW = Date.parse('2026-06-01T09:00:00Z');
const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'http://127.0.0.1:9999/callback';

let world: Built & { base: string; palsToken: string };
let browser: Browser;

before(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Every commit signs a head, so each entry the history shows has a proof to check.
  const built = await build(undefined, NOW, { publicUrl: base, audit: { headIntervalMs: 0 } });
  const { store } = built;
  await addMembers(store, [{ id: 'me', shareViaFriends: true }, { id: 'pal' }], NOW);
  await addFriendships(store, [['me', 'pal']], NOW);
  await store.credentials.setPassword('me', PASSWORD, NOW);
  const dev = await addPartner(store, 'dev', {
    agreement: {
      purposes: ['device_experience', 'contacts_sync'], storage: { location: 'partner_servers', country: 'CA' }, endsAt: addDays(NOW, 300),
      memberFields: ['id', 'name', 'picture', 'email', 'birthday', 'friends'], friendFields: ['name', 'birthday', 'religion'],
    },
  }, NOW);
  await store.partners.setClientSecret(dev.appId, 'dev-secret');
  await store.partners.setRedirectUris(dev.appId, [REDIRECT_URI]);
  const game = await addPartner(store, 'game', { appClass: 'third_party', agreement: { memberFields: ['id', 'name', 'email'] } }, NOW);

  // History: `me` read by dev directly and by game directly, and by dev through `pal`'s friend list.
  const mine = await grantToken(store, {
    memberId: 'me', appId: dev.appId, agreementId: dev.agreementId, memberFields: ['id', 'name', 'email', 'birthday', 'friends'],
    friendFields: ['name', 'birthday'],
  }, NOW);
  const games = await grantToken(store, { memberId: 'me', appId: game.appId, agreementId: game.agreementId, memberFields: ['id', 'name'] }, NOW);
  const pals = await grantToken(store, {
    memberId: 'pal', appId: dev.appId, agreementId: dev.agreementId, memberFields: ['id', 'name', 'friends'], friendFields: ['name', 'birthday'],
  }, NOW);
  for (const [token, url] of [[mine.token, '/v1/me?fields=name,email'], [games.token, '/v1/me?fields=name'], [pals.token, '/v1/me/friends?fields=name,birthday']] as const) {
    built.setNow(NOW + 60_000);
    const response = await built.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.statusCode, 200, url);
  }
  await built.app.listen({ host: '127.0.0.1', port });
  world = { ...built, base, palsToken: pals.token };
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await world?.app.close();
  await world?.store.db.destroy();
});

/** A fresh context and page, failing the test on any CSP violation or script error. */
async function newPage(t: TestContext, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: world.base, ...options });
  context.setDefaultTimeout(BROWSER_STEP_TIMEOUT_MS);
  t.after(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to|integrity/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  t.after(() => assert.deepEqual(problems, [], 'no CSP violation and no script error in the page'));
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!TAKING_SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function logIn(page: Page): Promise<void> {
  await page.goto('/privacy/login');
  await page.getByLabel('Member id').fill('me');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Privacy settings' }).waitFor();
}

/** The id of the focused element, after pressing Tab until it is `id`. */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id) === id) return;
  }
  assert.fail(`Tab never reached #${id}`);
}

test('consent: nothing ticked beforehand; the member ticks by keyboard and allows; the app gets only what was ticked', async (t) => {
  const page = await newPage(t);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    client_id: 'app_dev', response_type: 'code', redirect_uri: REDIRECT_URI, state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
    scope: 'openid name email birthday friends friends.birthday friends.religion', purpose: 'contacts_sync',
  });
  await page.goto(`/oauth/authorize?${query}`);
  await page.getByRole('heading', { name: /^Log in to continue to dev app/ }).waitFor();
  await checkAccessibility(page, 'OAuth login');
  await page.getByLabel('Member id').fill('me');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();

  await page.getByRole('heading', { name: 'Share your data with dev app?' }).waitFor();
  await checkAccessibility(page, 'consent');
  const ticked = await page.locator('input[type=checkbox][name=scope]:checked').count();
  assert.equal(ticked, 0, 'nothing is ticked beforehand');
  assert.ok(await page.locator('#scope-id').isChecked(), 'the member id is shown as always shared');
  await screenshot(page, 'consent');

  // Allow with nothing ticked gives nothing: the page comes back and says so.
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('alert').filter({ hasText: 'You allowed without ticking anything' }).waitFor();
  await checkAccessibility(page, 'consent, nothing ticked');

  // Keyboard only: Tab to a box, Space ticks it; Tab to Allow, Enter submits.
  await tabTo(page, 'scope-name');
  await page.keyboard.press('Space');
  await tabTo(page, 'scope-friends-birthday');
  await page.keyboard.press('Space');
  assert.ok(await page.locator('#scope-name').isChecked());
  assert.ok(await page.locator('#scope-friends-birthday').isChecked());
  assert.ok(!(await page.locator('#scope-email').isChecked()));
  for (let presses = 0; presses < 10 && !(await page.getByRole('button', { name: 'Allow' }).evaluate((b) => b === (globalThis as any).document.activeElement)); presses++) {
    await page.keyboard.press('Tab');
  }
  // Nothing listens at the redirect URI: the request the browser makes to it is what the app would get.
  const callbackRequest = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI));
  await page.keyboard.press('Enter');
  const callback = new URL((await callbackRequest).url());
  assert.equal(callback.searchParams.get('state'), 'st');

  const tokens = await fetch(`${world.base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('app_dev:dev-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  assert.equal(tokens.status, 200);
  assert.deepEqual(String(((await tokens.json()) as { scope: string }).scope).split(' ').sort(), ['friends.birthday', 'name', 'openid']);
});

test('privacy center: keep one app out: it no longer sees me through a friend, other apps still may', async (t) => {
  const page = await newPage(t);
  await page.goto('/privacy/login');
  await checkAccessibility(page, 'privacy center login');
  await logIn(page);
  await checkAccessibility(page, 'privacy settings');
  const friendsOfPal = async () => (await world.app.inject({ url: '/v1/me/friends', headers: { authorization: `Bearer ${world.palsToken}` } }))
    .json().data.map((friend: { id: string }) => friend.id);
  assert.deepEqual(await friendsOfPal(), ['me'], 'dev app sees me through my friend pal');
  await page.getByLabel('App or partner to keep out').selectOption({ label: 'dev app (dev Ltd)' });
  await page.getByRole('button', { name: 'Keep it out' }).click();
  await page.getByRole('status').filter({ hasText: 'Kept out' }).waitFor();
  await page.getByRole('button', { name: 'Let dev app (dev Ltd) see me again' }).waitFor();
  assert.deepEqual(await friendsOfPal(), [], 'kept out: dev app no longer sees me through pal');
  assert.deepEqual((await (await page.request.get('/v1/me/friend-exclusions')).json()).apps, [{ id: 'app_dev', name: 'dev app (dev Ltd)' }]);
});

test('apps: remove one permission, ask the partner to delete my data, and revoke after a confirmation', async (t) => {
  const page = await newPage(t);
  await logIn(page);
  await page.getByRole('link', { name: 'Apps and devices' }).click();
  const card = page.getByRole('region', { name: 'dev app' });
  await card.waitFor();
  await checkAccessibility(page, 'apps');
  await screenshot(page, 'apps');

  await card.getByRole('button', { name: 'Remove Email address' }).click();
  await page.getByRole('status').filter({ hasText: 'Permission removed' }).waitFor();
  assert.equal(await card.getByRole('button', { name: 'Remove Email address' }).count(), 0, 'email is gone');
  await card.getByRole('button', { name: 'Remove Name' }).first().waitFor();

  await card.getByRole('button', { name: 'Ask dev Ltd to delete my data' }).click();
  await page.getByRole('status').filter({ hasText: 'Your request was sent to the partner' }).waitFor();
  await card.getByText(/Waiting for its confirmation/).waitFor();
  assert.equal((await world.store.deletionRequests.ofMember('me')).length, 1);

  await card.getByRole('link', { name: /^Revoke all access for dev app/ }).click();
  await page.getByRole('heading', { name: 'Revoke all access for dev app?' }).waitFor();
  await checkAccessibility(page, 'revoke confirmation');
  await page.getByRole('button', { name: 'Revoke access' }).click();
  await page.getByRole('status').filter({ hasText: 'Access revoked' }).waitFor();
  await page.getByRole('region', { name: 'Ended access' }).getByRole('cell', { name: 'You revoked it' }).first().waitFor();
});

/** Waits until the page's script has written a result in every proof cell, and returns them. */
async function proofResults(page: Page): Promise<string[]> {
  const cells = page.locator('[data-proof-status]');
  await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('[data-proof-status]')]
    .every((cell: { textContent: string }) => cell.textContent !== 'not checked'));
  return cells.allTextContents();
}

test('history: every proof verified in the browser; filter by app and period; download what the filter shows', async (t) => {
  const page = await newPage(t);
  await logIn(page);
  await page.getByRole('link', { name: 'Access history' }).click();
  await page.getByRole('heading', { name: 'Access history' }).waitFor();
  const results = await proofResults(page);
  assert.ok(results.length >= 3, 'a proof on every row');
  assert.deepEqual(new Set(results), new Set(['verified']));
  await page.getByText('the tree head is signed by the log’s key').waitFor();
  await page.getByRole('cell', { name: 'Through a friend' }).first().waitFor();
  await checkAccessibility(page, 'history');
  await screenshot(page, 'history');

  await page.getByLabel('App').selectOption({ label: 'game app' });
  await page.getByLabel('From').fill('2026-06-01');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/app_id=app_game/);
  assert.deepEqual(await proofResults(page), ['verified'], 'one row, game app\'s read, verified');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download (JSON)' }).click()]);
  const saved = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  assert.deepEqual(saved.data.map((entry: { app: { id: string } }) => entry.app.id), ['app_game']);
});

test('history: a tampered proof shows as failed, the others still verified', async (t) => {
  const page = await newPage(t);
  await logIn(page);
  // The page as a server that lied about one entry would send it: its audit path's first hash changed.
  await page.route('**/privacy/history', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace(/data-audit-path="([A-Za-z0-9+/])/, (_match, first: string) => `data-audit-path="${first === 'A' ? 'B' : 'A'}`);
    await route.fulfill({ response, body });
  });
  await page.goto('/privacy/history');
  const results = await proofResults(page);
  assert.equal(results[0], 'failed');
  assert.ok(results.slice(1).every((result) => result === 'verified'));
});

test('history on a 390 px phone in dark mode: no horizontal overflow, contrast kept; without scripts it says how to check offline', async (t) => {
  const page = await newPage(t, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
  await logIn(page);
  await page.goto('/privacy/history');
  await proofResults(page);
  const overflow = await page.evaluate(() => {
    const { documentElement } = (globalThis as any).document;
    const table = (globalThis as any).document.querySelector('table');
    return { page: [documentElement.scrollWidth, documentElement.clientWidth], table: [table.scrollWidth, table.clientWidth] };
  });
  assert.ok(overflow.page[0] <= overflow.page[1], `the page does not scroll sideways: ${overflow.page}`);
  assert.ok(overflow.table[0] <= overflow.table[1], `nor does the table: ${overflow.table}`);
  await checkAccessibility(page, 'history at 390 px, dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await screenshot(page, 'history-390');

  const noScript = await newPage(t, { javaScriptEnabled: false });
  await logIn(noScript);
  await noScript.goto('/privacy/history');
  assert.deepEqual(new Set(await noScript.locator('[data-proof-status]').allTextContents()), new Set(['not checked']));
  await noScript.getByRole('link', { name: 'your export (JSON)' }).waitFor();
});

test('error pages (the OAuth server\'s and the privacy center\'s), the logout page and the partners\' guide are accessible', async (t) => {
  const page = await newPage(t);
  await page.goto('/docs/getting-started');
  await page.getByRole('heading', { name: 'Getting started for partner engineers' }).waitFor();
  await checkAccessibility(page, 'getting started for partner engineers');
  const expired = await page.goto('/interaction/no-such-interaction');
  assert.equal(expired?.status(), 400);
  await page.getByRole('heading', { name: 'This page has expired' }).waitFor();
  await checkAccessibility(page, 'OAuth error page');
  await logIn(page);
  const refused = await page.goto('/privacy/history?after=not-a-cursor');
  assert.equal(refused?.status(), 400);
  await page.getByRole('heading', { name: 'This did not work' }).waitFor();
  await checkAccessibility(page, 'privacy center error page');
  await page.goto('/oauth/logout');
  await page.getByRole('heading', { name: 'You are not logged in' }).waitFor();
  await checkAccessibility(page, 'OAuth logout page');
});
