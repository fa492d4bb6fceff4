import assert from 'node:assert/strict';
import { addFriendships, addMembers, grantToken } from '../helpers/fixtures.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { TOTP_PERIOD_S, totpCodeAt } from '../../src/domain/staff-login.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { DEMO_PASSWORD } from '../../src/seed/demo-world.js';
import {
  CONSOLE_NOW, checkAccessibility, closeBrowser, consoleWorld, screenshot, signIn, type ConsoleWorld,
} from '../helpers/console-browser.js';

/**
 * The staff console driven in Chromium, each workflow as the role that does it, with the
 * refusals: what a role may not do is not offered, and a request crafted anyway is refused by the
 * API. Every page is checked with axe-core and photographed (docs/screenshots/console-*.png).
 */

// One app for the whole file (the audit log's keys in a directory of its own, which the audit test's second log reads).
const dataDir = mkdtempSync(join(tmpdir(), 'datapact-console-'));
let shared: Promise<ConsoleWorld> | undefined;

/** The file's one app and browser, with pages that end with test `t`. Tests run in order and share what they made. */
async function world(t: TestContext) {
  const w = await (shared ??= consoleWorld(CONSOLE_NOW, { dataDir }));
  return { ...w, page: () => w.page(t) };
}

after(async () => {
  if (shared) await (await shared).close();
  await closeBrowser();
  rmSync(dataDir, { recursive: true, force: true });
});

/** What a page's own script would send: a request with the session cookie, with or without the CSRF token. */
async function crafted(page: Page, path: string, withCsrf: boolean): Promise<{ status: number; code: string }> {
  return page.evaluate(async ({ path, withCsrf }) => {
    const me = await (await fetch('/admin/v1/me')).json() as { csrf_token: string };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (withCsrf) headers['x-csrf-token'] = me.csrf_token;
    const answer = await fetch(path, { method: 'POST', headers, body: '{}' });
    return { status: answer.status, code: ((await answer.json()) as { error: { code: string } }).error.code };
  }, { path, withCsrf });
}

/** Presses Tab until the focused element's text or label matches, as a keyboard user moves through a page. */
async function tabTo(page: Page, wanted: RegExp): Promise<void> {
  for (let presses = 0; presses < 80; presses++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = (globalThis as unknown as { document: { activeElement: { textContent: string | null; getAttribute(n: string): string | null; id: string } | null; querySelector(s: string): { textContent: string | null } | null } }).document;
      const active = el.activeElement;
      if (!active) return '';
      const label = active.id ? el.querySelector(`label[for="${active.id}"]`)?.textContent ?? '' : '';
      return `${active.getAttribute('aria-label') ?? ''} ${label} ${active.textContent ?? ''}`.trim();
    });
    if (wanted.test(focused)) return;
  }
  assert.fail(`Tab never reached ${wanted}`);
}

async function pickPartner(page: Page, name: string): Promise<void> {
  await page.getByRole('combobox', { name: /^Partner/ }).click();
  await page.getByRole('option', { name: new RegExp(`^${name}`) }).click();
}

async function staffId(w: ConsoleWorld, email: string): Promise<string> {
  return (await w.store.staff.list()).find((s) => s.email === email)!.id;
}

test('sign-in: a wrong password is refused, the two-factor code is asked for and checked, and sign-out ends the session', async (t) => {
  const w = await world(t);
  // Tess turns two-factor on through the API (a script's bearer session).
  await w.account('tess@datapact.example', 'Tess Twofactor', ['viewer']);
  const login = await w.app.inject({ method: 'POST', url: '/admin/v1/login', payload: { email: 'tess@datapact.example', password: DEMO_PASSWORD } });
  const auth = { authorization: `Bearer ${login.json().token}` };
  const { secret } = (await w.app.inject({ method: 'POST', url: '/admin/v1/me/two-factor', headers: auth, payload: { password: DEMO_PASSWORD } })).json();
  const confirmed = await w.app.inject({ method: 'POST', url: '/admin/v1/me/two-factor/confirm', headers: auth, payload: { code: totpCodeAt(secret, w.now()) } });
  assert.equal(confirmed.statusCode, 200);
  const later = w.advance(2 * TOTP_PERIOD_S * 1000);

  const page = await w.page();
  await page.goto('/console');
  await page.getByRole('heading', { name: 'Datapact staff console' }).waitFor();
  await checkAccessibility(page, 'sign-in');
  await screenshot(page, '01-sign-in');

  await page.getByLabel(/^Email/).fill('tess@datapact.example');
  await page.getByLabel(/^Password/).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The email or password is wrong.' }).waitFor();

  await page.getByLabel(/^Password/).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'This account uses two-factor' }).waitFor();
  await page.getByLabel(/^Two-factor code/).fill(totpCodeAt(secret, later) === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The two-factor code is wrong' }).waitFor();
  await checkAccessibility(page, 'sign-in, two-factor step');
  await screenshot(page, '02-sign-in-two-factor');
  await page.getByLabel(/^Two-factor code/).fill(totpCodeAt(secret, later));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'What needs someone today' }).waitFor();

  // The session is an HttpOnly cookie for the admin API only: the page's script cannot read it.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'datapact_staff');
  assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/admin/v1');
  assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie.includes('datapact_staff')), false);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/admin/v1/me')).status);
  assert.equal(after, 401, 'signed out: the session is gone on the server too');
});

test('session expiry: the sign-in comes back over the editor, nothing typed is lost, and the save goes through after it', async (t) => {
  const w = await world(t);
  const page = await w.page();
  await signIn(page, 'partnerships@datapact.example');
  await page.goto('/console/agreements/new');
  await pickPartner(page, 'ZTE Corporation');
  await page.getByRole('checkbox', { name: /ZTE Social Link/ }).check();
  await page.getByRole('checkbox', { name: 'messaging' }).check();
  await page.getByRole('group', { name: /^Member fields/ }).getByRole('checkbox', { name: 'email' }).check();

  // The session ends under the page (revoked here; the 12 hours running out looks the same to the browser).
  const before = (await w.store.agreements.ofApps(['app_zte'])).length;
  await w.store.staff.revokeKind(await staffId(w, 'partnerships@datapact.example'), 'session', w.now());
  await page.getByRole('button', { name: 'Save draft' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your session has ended' });
  await dialog.waitFor();
  await checkAccessibility(page, 'session ended');
  await screenshot(page, '11-session-ended');
  await dialog.getByLabel(/^Password/).fill(DEMO_PASSWORD);
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'hidden' });
  // The modal's overlay fades out after the dialog hides; on a loaded machine a click can land on it.
  await page.locator('.mantine-Modal-overlay').waitFor({ state: 'detached' });

  assert.equal(await page.getByRole('group', { name: /^Member fields/ }).getByRole('checkbox', { name: 'email' }).isChecked(), true, 'the picks are kept');
  assert.equal(await page.getByRole('checkbox', { name: 'messaging' }).isChecked(), true);
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('button', { name: 'Submit for review' }).waitFor();
  const saved = await w.store.agreements.ofApps(['app_zte']);
  assert.equal(saved.length, before + 1, 'the draft was saved once, after the new sign-in');
});

test('your account: a password change, then the new password signs in and the old one does not', async (t) => {
  const w = await world(t);
  await w.account('fiona@datapact.example', 'Fiona Fresh', ['viewer']);
  const page = await w.page();
  await signIn(page, 'fiona@datapact.example');
  await page.getByRole('link', { name: 'Your account' }).click();
  await page.getByLabel(/^Current password/).fill(DEMO_PASSWORD);
  await page.getByLabel(/^New password$|^New password \*/).fill("Fiona's own password, not the demo one");
  await page.getByLabel(/^New password again/).fill("Fiona's own password, not the demo one");
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText(/Password changed\./).waitFor();
  await checkAccessibility(page, 'account');
  await screenshot(page, '12-account');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel(/^Email/).fill('fiona@datapact.example');
  await page.getByLabel(/^Password/).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The email or password is wrong.' }).waitFor();
  await signIn(page, 'fiona@datapact.example', { password: "Fiona's own password, not the demo one" });

  // Two-factor: enrolled with the authenticator's first code, then asked for at the next sign-in.
  await page.getByRole('link', { name: 'Your account' }).click();
  const enrol = page.getByRole('form', { name: 'Turn on two-factor' });
  await enrol.getByLabel(/^Your password/).fill("Fiona's own password, not the demo one");
  await enrol.getByRole('button', { name: 'Set up an authenticator' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())!;
  await page.getByLabel(/^Code from the authenticator/).fill(totpCodeAt(secret, w.now()));
  await page.getByRole('button', { name: 'Turn on two-factor' }).click();
  await page.getByTestId('recovery-codes').waitFor();
  assert.ok(await page.getByTestId('recovery-codes').locator('li').count() >= 8);
  await page.getByText('On: every sign-in asks', { exact: false }).waitFor();
  await checkAccessibility(page, 'account with two-factor');
  await screenshot(page, '12-account-two-factor');
  const later = w.advance(2 * TOTP_PERIOD_S * 1000);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'fiona@datapact.example', { password: "Fiona's own password, not the demo one", code: () => totpCodeAt(secret, later) });
});

test('partners and apps: a manager registers a partner and an app, whose secret is shown once and rotated; a viewer is offered neither', async (t) => {
  const w = await world(t);
  const manager = await w.page();
  await signIn(manager, 'partnerships@datapact.example');
  await manager.getByRole('link', { name: 'Partners and apps' }).click();
  await manager.getByRole('table', { name: 'Partners' }).getByText('ZTE Corporation').waitFor();
  const form = manager.getByRole('form', { name: 'Register a partner' });
  await form.getByLabel(/^Legal name/).fill('Nordlicht Devices GmbH');
  await form.getByLabel(/^Country/).fill('DE');
  await form.getByRole('checkbox', { name: 'prior violation' }).check();
  await checkAccessibility(manager, 'partners');
  await screenshot(manager, '13-partners');
  await form.getByRole('button', { name: 'Register partner' }).click();
  await manager.getByRole('heading', { name: 'Nordlicht Devices GmbH' }).waitFor();

  const app = manager.getByRole('form', { name: 'Register an app' });
  await app.getByLabel(/^Name/).fill('Nordlicht Companion');
  await app.getByLabel(/^Redirect URIs/).fill('https://nordlicht.example/callback');
  await app.getByRole('button', { name: 'Register app' }).click();
  const secret = manager.getByTestId('secret');
  await secret.waitFor();
  const first = await secret.textContent();
  assert.match(first ?? '', /^dpcs_/);
  await manager.getByRole('button', { name: 'Rotate secret of Nordlicht Companion' }).click();
  await manager.getByText(/the old one no longer works/).waitFor();
  assert.notEqual(await secret.textContent(), first);

  // Edit: a risk flag more and a webhook; a test ping shows in the delivery log; the signing secret is rotated.
  const edit = manager.getByRole('form', { name: 'Edit the partner' });
  await edit.getByRole('checkbox', { name: 'sanctions' }).check();
  await edit.getByLabel(/^Webhook URL/).fill('https://localhost:9/datapact-notices');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await manager.getByText(/risk flags: .*sanctions/).waitFor();
  await manager.getByRole('button', { name: 'Send a test ping' }).click();
  await manager.getByRole('table', { name: 'Delivery log' }).getByText('webhook.ping').waitFor();
  await manager.getByRole('button', { name: 'Rotate the signing secret' }).click();
  await manager.getByText(/the old one no longer verifies/).waitFor();
  assert.match(await secret.textContent() ?? '', /^whsec_/);
  // The app: its redirect URIs changed, then disabled.
  await manager.getByRole('button', { name: 'Edit redirect URIs of Nordlicht Companion' }).click();
  await manager.getByRole('form', { name: 'Redirect URIs of Nordlicht Companion' }).getByLabel(/^Redirect URIs/)
    .fill('https://nordlicht.example/callback\nhttps://nordlicht.example/v2/callback');
  await manager.getByRole('button', { name: 'Save URIs' }).click();
  await manager.getByRole('table', { name: 'Apps' }).getByText('https://nordlicht.example/v2/callback', { exact: false }).waitFor();
  await manager.getByRole('button', { name: 'Disable Nordlicht Companion' }).click();
  await manager.getByRole('button', { name: 'Enable Nordlicht Companion' }).waitFor();
  await checkAccessibility(manager, 'partner with its webhook and apps');
  await screenshot(manager, '14-partner-apps');
  await manager.reload();
  await manager.getByRole('table', { name: 'Apps' }).waitFor();
  assert.equal(await manager.getByTestId('secret').count(), 0, 'the secret is not shown again');

  const viewer = await w.page();
  await signIn(viewer, 'viewer@datapact.example');
  await viewer.goto(manager.url());
  await viewer.getByRole('table', { name: 'Apps' }).getByText('Nordlicht Companion').waitFor();
  assert.equal(await viewer.getByRole('button', { name: /Rotate/ }).count(), 0);
  assert.equal(await viewer.getByRole('form', { name: 'Register an app' }).count(), 0);
  const partnerId = new URL(manager.url()).pathname.split('/').pop()!;
  const appId = (await w.store.partners.apps()).find((a) => a.partnerId === partnerId)!.id;
  assert.deepEqual(await crafted(viewer, `/admin/v1/partners/${partnerId}/apps/${appId}/rotate-secret`, true), { status: 403, code: 'forbidden' });
  assert.equal(await viewer.getByRole('button', { name: 'Send a test ping' }).count(), 0);
  assert.equal(await viewer.getByRole('form', { name: 'Edit the partner' }).count(), 0);
  await viewer.getByRole('table', { name: 'Delivery log' }).getByText('webhook.ping').waitFor();
  assert.deepEqual(await crafted(viewer, `/admin/v1/partners/${partnerId}/webhook-ping`, true), { status: 403, code: 'forbidden' });
});

test("audit: a viewer searches the log and checks an entry's inclusion proof in the browser, against the signed tree head", async (t) => {
  const w = await world(t);
  const page = await w.page();
  await signIn(page, 'viewer@datapact.example');
  await page.getByRole('link', { name: 'Audit log' }).click();
  const form = page.getByRole('form', { name: 'Search the audit log' });
  await page.getByRole('combobox', { name: /^Outcome/ }).click();
  await page.getByRole('option', { name: 'staff_action' }).click();
  await form.getByRole('button', { name: 'Search' }).click();
  const entries = page.getByRole('table', { name: 'Audit entries' });
  await entries.getByText('staff.login').first().waitFor();

  // The head that covers the sign-in, signed now rather than by the app's timer.
  // The app and this second log share the data directory's keys, as two servers do (test/http/admin-bad-input.test.ts).
  const log = new AuditLog({ db: w.store.db, clock: w.now, signingKey: loadOrCreateAuditSigningKey(dataDir), blinding: loadOrCreateAuditBlinding(dataDir) });
  await log.signHeadIfBehind();
  const check = entries.getByRole('button', { name: /^Check proof of entry / }).first();
  const seq = (await check.getAttribute('aria-label'))!.split(' ').pop();
  await check.click();
  await page.getByText(`Entry ${seq} is in the log: checked in this browser`).waitFor();
  await page.getByRole('table', { name: `Entry ${seq}` }).getByText(/^staff\.login by st_/).waitFor();
  for (const line of ["The entry's bytes hash to its leaf: yes", 'leads to the root of the signed head', "The head's Ed25519 signature checks with the log's public key: yes"]) {
    await page.getByRole('status').getByText(line, { exact: false }).waitFor();
  }
  await checkAccessibility(page, 'audit');
  await screenshot(page, '15-audit-proof');

  // By member: the entries about her (or made with her token); by request id: the entries of one request.
  await w.store.audit.append([released('m_ada', 'm_ada', 'req_console_ada', w.now(), 'lenovo'), released('m_ada', 'm_bob', 'req_console_bob', w.now(), 'lenovo')]);
  await page.goto('/console/audit');
  await form.getByLabel(/^Member id/).fill('m_bob');
  await form.getByRole('button', { name: 'Search' }).click();
  await entries.getByText('req_console_bob').waitFor();
  assert.equal(new URL(page.url()).searchParams.get('member_id'), 'm_bob', 'the search is in the address');
  assert.deepEqual(await entries.locator('tbody tr').count(), 1, "only the entry about Bob (through Ada's token)");
  const login = (await w.store.auditQueries.page({ outcome: 'staff_action' }, 1, null)).records[0]!;
  await page.goto(`/console/audit?request_id=${login.requestId}`);
  assert.equal(await form.getByLabel(/^Request id/).inputValue(), login.requestId);
  await entries.getByText('staff.login').waitFor();
  assert.deepEqual(await entries.locator('tbody tr').count(), 1);
  await checkAccessibility(page, 'audit search by request');
});

/** An entry of the Graph API releasing a member's name to a demo partner's app, made with `token`'s token. */
function released(token: string, subject: string, requestId: string, at: number, partner = 'huawei'): AuditEntry {
  return {
    at, requestId, appId: `app_${partner}`, partnerId: `p_${partner}`, agreementId: `agr_${partner}`, agreementVersion: 1, rulesVersion: RULES_VERSION,
    tokenMemberId: token, subjectMemberId: subject, purpose: 'device_experience', outcome: 'released', code: null,
    released: ['id', 'name'], withheld: {},
  };
}

test('staff and API keys: one admin proposes an officer, another confirms; a key is shown once and revoked; a manager is offered none of it', async (t) => {
  const w = await world(t);
  await w.account('quentin@datapact.example', 'Quentin Quiet', ['viewer']);
  const admin = await w.page();
  await signIn(admin, 'admin@datapact.example');
  await admin.getByRole('link', { name: 'Staff and API keys' }).click();
  const add = admin.getByRole('form', { name: 'Add a staff account' });
  await add.getByLabel(/^Email/).fill('olivia@datapact.example');
  await add.getByLabel(/^Name/).fill('Olivia Officer');
  await add.getByRole('checkbox', { name: 'viewer' }).uncheck();
  await add.getByRole('checkbox', { name: 'privacy officer' }).check();
  await add.getByRole('button', { name: 'Add account' }).click();
  await admin.getByText('Initial password of olivia@datapact.example').waitFor();
  const proposals = admin.getByRole('table', { name: 'Role proposals' });
  await proposals.getByText('Waiting for another admin.').waitFor();
  assert.equal(await proposals.getByRole('button', { name: 'Confirm' }).count(), 0, 'the proposer is not offered the confirmation');

  const keys = admin.getByRole('form', { name: 'Issue an API key' });
  await keys.getByLabel(/^Key label/).fill('nightly export');
  await keys.getByRole('button', { name: 'Issue key' }).click();
  await admin.getByText('API key "nightly export"').waitFor();
  assert.match(await admin.getByTestId('shown-once').textContent() ?? '', /^dpk_/);
  await checkAccessibility(admin, 'staff and API keys');
  await screenshot(admin, '16-staff');
  await admin.getByRole('button', { name: 'Revoke key nightly export' }).click();
  await admin.getByRole('button', { name: 'Revoke key nightly export' }).waitFor({ state: 'detached' });

  const second = await w.page();
  await signIn(second, 'admin2@datapact.example');
  await second.goto('/console/staff');
  await second.getByRole('table', { name: 'Role proposals' }).getByRole('button', { name: 'Confirm' }).click();
  await second.getByText('New password of the account whose roles were confirmed').waitFor();
  const olivia = (await w.store.staff.list()).find((s) => s.email === 'olivia@datapact.example');
  assert.deepEqual(olivia?.roles, ['privacy_officer']);

  // The first admin resets Quentin's password (shown once), gives him a role, and disables his account.
  await admin.reload();
  await admin.getByRole('button', { name: 'Reset password of quentin@datapact.example' }).click();
  await admin.getByText('One-time password of quentin@datapact.example', { exact: false }).waitFor();
  await admin.getByRole('button', { name: 'Change roles of quentin@datapact.example' }).click();
  await admin.getByRole('form', { name: 'Roles of quentin@datapact.example' }).getByRole('checkbox', { name: 'partnerships manager' }).check();
  await admin.getByRole('button', { name: 'Save roles' }).click();
  await admin.getByRole('row', { name: /quentin@datapact\.example/ }).getByText(/partnerships_manager/).waitFor();
  await admin.getByRole('button', { name: 'Disable quentin@datapact.example' }).click();
  await admin.getByRole('button', { name: 'Enable quentin@datapact.example' }).waitFor();
  const quentin = (await w.store.staff.list()).find((s) => s.email === 'quentin@datapact.example')!;
  assert.ok(quentin.disabledAt !== null && quentin.passwordResetAt !== null);
  await checkAccessibility(admin, 'staff after changes');
  await screenshot(admin, '16-staff-changes');

  const manager = await w.page();
  await signIn(manager, 'partnerships@datapact.example');
  assert.equal(await manager.getByRole('link', { name: 'Staff and API keys' }).count(), 0);
  assert.deepEqual(await crafted(manager, '/admin/v1/api-keys', true), { status: 403, code: 'forbidden' });
  assert.deepEqual(await crafted(manager, `/admin/v1/staff/${await staffId(w, 'privacy1@datapact.example')}/password-reset`, true), { status: 403, code: 'forbidden' });
});

test('reports: a viewer reads the inventory, the exposure with its chart of members per month, the 2018 reach, the records of processing, and finds the pack', async (t) => {
  const w = await world(t);
  // Releases to Huawei's app over three months: some to members' own tokens, some through a friend's.
  const months = [['2026-04-10', 3, 1], ['2026-05-10', 5, 2], ['2026-06-01', 2, 0]] as const;
  await w.store.audit.append(months.flatMap(([day, own, viaFriend]) => [
    ...Array.from({ length: own }, (_, i) => released(`m_${day}_${i}`, `m_${day}_${i}`, `req_${day}_${i}`, Date.parse(`${day}T08:00:00Z`))),
    ...Array.from({ length: viaFriend }, (_, i) => released('m_ada', `m_friend_${day}_${i}`, `req_${day}_f${i}`, Date.parse(`${day}T09:00:00Z`))),
  ]));
  // Those released through m_ada are m_ada's friends, each with a friend of their own (a friend of a friend of m_ada).
  const friends = months.flatMap(([day, , viaFriend]) => Array.from({ length: viaFriend }, (_, i) => `m_friend_${day}_${i}`));
  await addMembers(w.store, [{ id: 'm_ada' }, ...friends.flatMap((id) => [{ id }, { id: `${id}_own` }])], w.now());
  await addFriendships(w.store, friends.flatMap((id) => [['m_ada', id], [id, `${id}_own`]] as const), w.now());
  const page = await w.page();
  await signIn(page, 'viewer@datapact.example');
  await page.getByRole('link', { name: 'Reports' }).click();
  await checkAccessibility(page, 'reports');
  assert.equal(await page.getByRole('link', { name: 'Download the pack (PDF)' }).getAttribute('href'), '/admin/v1/reports/pack?format=pdf');
  await page.getByRole('link', { name: 'Inventory' }).click();
  await page.getByRole('table', { name: 'Inventory' }).getByText('ZTE Corporation').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Download as CSV' }).getAttribute('href'), '/admin/v1/reports/inventory?format=csv');
  await checkAccessibility(page, 'inventory');
  await screenshot(page, '19-report-inventory');

  await page.goto('/console/reports/exposure?partner_id=p_huawei');
  const chart = page.locator('figure.chart');
  await chart.locator('.recharts-bar-rectangle').first().waitFor({ state: 'attached' });
  assert.match(await chart.locator('figcaption').textContent() ?? '', /2026-04: 3 directly, 1 through friends; 2026-05: 5 directly, 2 through friends; 2026-06: 2 directly, 0 through friends/);
  await page.getByRole('table', { name: 'Exposure per partner' }).getByText('Huawei Device Co., Ltd.').waitFor();
  await checkAccessibility(page, 'exposure');
  await screenshot(page, '20-report-exposure');

  await page.goto('/console/reports/counterfactual');
  const reach = page.getByRole('table', { name: 'The 2018 reach per partner' });
  await reach.getByText('Huawei Device Co., Ltd.').waitFor();
  // Ten members' own tokens and m_ada's; released: those ten and m_ada's three friends.
  // 2018: the 11 token members, m_ada's 3 friends, and their 3 friends only as friends of friends.
  assert.deepEqual(await reach.getByRole('row').nth(1).getByRole('cell').allTextContents(), ['Huawei Device Co., Ltd.', '11', '13', '17', '3']);
  assert.equal(await page.getByRole('link', { name: 'Download as CSV' }).getAttribute('href'), '/admin/v1/reports/counterfactual?format=csv&from=2025-07&to=2026-06');
  await checkAccessibility(page, 'counterfactual');
  await screenshot(page, '21a-report-counterfactual');

  await page.goto('/console/reports/records-of-processing');
  await page.getByRole('region', { name: 'Record of agr_huawei' }).waitFor();
  await checkAccessibility(page, 'records of processing');
  await screenshot(page, '21-report-records');
});

test("least privilege: a viewer reads the suggestions with the draft button disabled; a manager drafts Huawei's in one click", async (t) => {
  const w = await world(t);
  // The reports test's releases to Huawei's app: id and name, directly and through a friend, for device_experience only.
  const viewer = await w.page();
  await signIn(viewer, 'viewer@datapact.example');
  await viewer.goto('/console/reports/least-privilege');
  const seen = viewer.getByRole('region', { name: 'Least privilege of agr_huawei' });
  await seen.getByRole('row', { name: /^Purposes contacts_sync/ }).waitFor();
  assert.equal(await seen.getByRole('button', { name: 'Create suggested draft' }).isDisabled(), true);
  await checkAccessibility(viewer, 'least privilege');
  await screenshot(viewer, '21b-report-least-privilege');

  const manager = await w.page();
  await signIn(manager, 'partnerships@datapact.example');
  await manager.goto('/console/reports/least-privilege');
  const huawei = manager.getByRole('region', { name: 'Least privilege of agr_huawei' });
  await huawei.getByRole('button', { name: 'Create suggested draft' }).click();
  const made = huawei.getByRole('status').filter({ hasText: 'it needs 2 approvals like any other' });
  await made.waitFor();
  const draft = await w.store.agreements.get((await made.getByRole('link').textContent())!);
  assert.deepEqual([draft?.status, draft?.purposes], ['draft', ['device_experience']]);
  await checkAccessibility(manager, 'least privilege, draft made');
});

/** A bearer session of a demo staff account, for what a test prepares through the API. */
async function bearer(w: ConsoleWorld, email: string): Promise<{ authorization: string }> {
  const login = await w.app.inject({ method: 'POST', url: '/admin/v1/login', payload: { email, password: DEMO_PASSWORD } });
  return { authorization: `Bearer ${login.json().token}` };
}

test('what would change: a draft without birthday among the friend fields, simulated on the logged requests before anyone approves; a viewer reads the stored result', async (t) => {
  const w = await world(t);
  // A member of BlackBerry's app read themself and their two friends (name, birthday); the log now holds those requests.
  await addMembers(w.store, [{ id: 'm_sim' }, { id: 'm_sim_f1', shareViaFriends: true }, { id: 'm_sim_f2', shareViaFriends: true }], w.now());
  await addFriendships(w.store, [['m_sim', 'm_sim_f1'], ['m_sim', 'm_sim_f2']], w.now());
  const { token } = await grantToken(w.store, {
    memberId: 'm_sim', appId: 'app_blackberry', agreementId: 'agr_blackberry', memberFields: ['id', 'name', 'birthday', 'friends'], friendFields: ['id', 'name', 'birthday'],
  }, w.now());
  for (const url of ['/v1/me?fields=name,birthday', '/v1/me/friends?fields=name,birthday']) {
    assert.equal((await w.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
  }
  w.advance(60_000);
  const manager = await bearer(w, 'partnerships@datapact.example');
  const created = await w.app.inject({ method: 'POST', url: '/admin/v1/agreements', headers: manager, payload: {
    partner_id: 'p_blackberry', app_ids: ['app_blackberry'], purposes: ['device_experience'], member_fields: ['name', 'birthday', 'friends'],
    friend_fields: ['name'], retention_days: 14, storage: { location: 'partner_servers', country: 'CA', safeguard: 'adequacy_decision' },
    starts_at: new Date(w.now() + 300 * 86_400_000).toISOString(), ends_at: new Date(w.now() + 600 * 86_400_000).toISOString(),
  } });
  assert.equal(created.statusCode, 201, created.body);
  const draftId = created.json().id as string;
  assert.equal((await w.app.inject({ method: 'POST', url: `/admin/v1/agreements/${draftId}/submit`, headers: manager })).statusCode, 200);

  const viewer = await w.page();
  await signIn(viewer, 'viewer@datapact.example');
  await viewer.goto(`/console/agreements/${draftId}`);
  const viewerPanel = viewer.getByRole('region', { name: 'What would change' });
  await viewerPanel.getByText('No simulation of this draft is stored yet', { exact: false }).waitFor();
  assert.equal(await viewerPanel.getByRole('button').count(), 0, 'a viewer is not offered the run');

  // The officer reviews it from the approval queue, and runs the simulation with the keyboard.
  const page = await w.page();
  await signIn(page, 'privacy1@datapact.example');
  await page.goto('/console/approvals');
  await page.getByRole('link', { name: new RegExp(`^Review ${draftId} `) }).click();
  const panel = page.getByRole('region', { name: 'What would change' });
  await tabTo(page, /^Run the simulation$/);
  await page.keyboard.press('Enter');
  await panel.getByTestId('simulation-result').waitFor();
  const simulationId = (await panel.getByRole('link', { name: /^sim_/ }).textContent())!;
  const api = (await w.app.inject({ method: 'GET', url: `/admin/v1/agreements/agr_blackberry/simulations/${simulationId}`, headers: manager })).json();
  assert.equal(api.draft_agreement_id, draftId);
  assert.deepEqual(api.fields.map((f: { field: string }) => f.field), ['birthday'], 'birthday leaves the friend fields');
  assert.equal(await panel.getByTestId('simulation-requests').textContent(), String(api.requests));
  assert.equal(await panel.getByTestId('simulation-changed').textContent(), String(api.requests_changed));
  const rows = panel.getByRole('table', { name: 'What would change, per field' }).locator('tbody tr');
  assert.deepEqual(await rows.first().locator('th, td').allTextContents(), ['birthday', ...[api.fields[0].released_less, api.fields[0].members_less_direct,
    api.fields[0].members_less_through_friends, api.fields[0].released_more, api.fields[0].members_more_direct, api.fields[0].members_more_through_friends,
    api.fields[0].reason_changed].map(String)]);
  assert.deepEqual([api.requests, api.fields[0].released_less, api.fields[0].members_less_through_friends], [2, 2, 2]);
  assert.match(await panel.getByTestId('simulation-members').textContent() ?? '', new RegExp(`less: ${api.members.less_direct} directly, ${api.members.less_through_friends} through friends`));
  await panel.getByText('No request served then would be refused.').waitFor();
  await panel.getByText(api.world_note).waitFor();
  await checkAccessibility(page, 'what would change');
  await screenshot(page, '09a-what-would-change');

  // The viewer, who may not run one, reads the stored one; its permalink opens it on a page of its own.
  await viewer.reload();
  await viewerPanel.getByRole('link', { name: simulationId }).click();
  await viewer.getByRole('heading', { name: `Simulation ${simulationId}` }).waitFor();
  await viewer.getByRole('table', { name: 'What would change, per field' }).getByText('birthday').waitFor();
  await checkAccessibility(viewer, 'simulation permalink');
});

// Last: it moves the clock three months on.
test('agreements: a manager drafts with the rules shown as fields are picked, a viewer cannot approve, two officers approve (one by keyboard only), then activate, suspend, resume', async (t) => {
  const w = await world(t);
  let agreementId = '';

  await t.test('the manager drafts and submits; the editor shows what the rules say', async () => {
    const page = await w.page();
    await signIn(page, 'partnerships@datapact.example');
    await checkAccessibility(page, 'home');
    await screenshot(page, '03-home');
    await page.getByRole('link', { name: 'Agreements' }).click();
    await page.getByRole('table', { name: 'Agreements' }).waitFor();
    await checkAccessibility(page, 'agreements');
    await screenshot(page, '04-agreements');
    await page.getByRole('link', { name: 'New draft' }).click();
    await page.getByRole('heading', { name: 'New agreement draft' }).waitFor();

    await pickPartner(page, 'ZTE Corporation');
    await page.getByRole('checkbox', { name: /ZTE Social Link/ }).check();
    await page.getByRole('checkbox', { name: 'device experience' }).check();
    await page.getByRole('checkbox', { name: 'name' }).first().check();
    const consequences = page.getByTestId('consequences');
    await consequences.getByText('Needs 1 approval', { exact: true }).waitFor();
    await consequences.getByText('The rules accept these terms').waitFor();

    // A sensitive member field: the two-person rule, as the server's rule says.
    await page.getByRole('group', { name: /^Member fields/ }).getByRole('checkbox', { name: 'religion' }).check();
    await consequences.getByText('Needs 2 approvals').waitFor();
    await consequences.getByText(/sensitive member fields \(religion\)/).waitFor();

    // A friend field without the friend list: the refusal saving would meet, before saving.
    const friendFields = page.getByRole('group', { name: /^Friend fields/ });
    await friendFields.getByRole('checkbox', { name: 'birthday' }).check();
    await consequences.getByText(/Saving would be refused: friends_field_required/).waitFor();
    await page.getByRole('group', { name: /^Member fields/ }).getByRole('checkbox', { name: 'friends' }).check();
    await consequences.getByText(/it releases data about friends \(birthday\)/).waitFor();
    await consequences.getByText('The rules accept these terms').waitFor();
    await checkAccessibility(page, 'agreement editor');
    await screenshot(page, '05-agreement-editor');

    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByRole('button', { name: 'Submit for review' }).waitFor();
    agreementId = new URL(page.url()).pathname.split('/').pop()!;
    assert.match(agreementId, /^agr_/);
    await page.getByRole('button', { name: 'Submit for review' }).click();
    await page.getByText('Done: the agreement is now under review.').waitFor();
    await page.getByText('0 of 2 given', { exact: false }).waitFor();
    await page.getByRole('region', { name: 'What would change' }).getByText('Nothing to replay against', { exact: false }).waitFor();
    await checkAccessibility(page, 'agreement detail');
    await screenshot(page, '06-agreement-submitted');
  });

  await t.test('a viewer sees no approve button, and a crafted approval is refused by the API', async () => {
    const page = await w.page();
    await signIn(page, 'viewer@datapact.example');
    assert.equal(await page.getByRole('link', { name: 'Approval queue' }).count(), 0, 'no approval queue for a viewer');
    await page.goto(`/console/agreements/${agreementId}`);
    await page.getByRole('table', { name: 'History' }).getByText('Parker Partnerships').first().waitFor();
    for (const name of ['Approve', 'Activate', 'Submit for review', 'Return to draft']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer is not offered ${name}`);
    }
    await screenshot(page, '07-viewer-agreement');
    assert.deepEqual(await crafted(page, `/admin/v1/agreements/${agreementId}/approve`, true), { status: 403, code: 'forbidden' });
    // And a request without the session's CSRF token (what another site could make the browser send) is refused first.
    assert.deepEqual(await crafted(page, `/admin/v1/agreements/${agreementId}/approve`, false), { status: 403, code: 'invalid_csrf_token' });
  });

  await t.test('a privacy officer approves with the keyboard only, with a comment', async () => {
    const page = await w.page();
    await signIn(page, 'privacy1@datapact.example');
    await tabTo(page, /^Approval queue$/);
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Approval queue' }).waitFor();
    await checkAccessibility(page, 'approval queue');
    await screenshot(page, '08-approval-queue');
    await tabTo(page, new RegExp(`^Review ${agreementId}`));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByRole('table', { name: 'Terms compared with the agreement in force' }).waitFor();
    await tabTo(page, /Comment/);
    await page.keyboard.type('Religion is needed for the prayer-times widget; checked with legal.');
    await tabTo(page, /^Approve$/);
    await checkAccessibility(page, 'review');
    await screenshot(page, '09-review');
    await page.keyboard.press('Enter');
    await page.getByText('1 of 2 given', { exact: false }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'approved once: not offered again');
  });

  await t.test('a second officer approves, the manager activates and suspends, an officer resumes; the history names each actor', async () => {
    const officer = await w.page();
    await signIn(officer, 'privacy2@datapact.example');
    await officer.goto(`/console/agreements/${agreementId}`);
    await officer.getByRole('button', { name: 'Approve' }).click();
    await officer.getByText('2 of 2 given', { exact: false }).waitFor();

    const manager = await w.page();
    await signIn(manager, 'partnerships@datapact.example');
    await manager.goto(`/console/agreements/${agreementId}`);
    await manager.getByRole('button', { name: 'Activate' }).click();
    await manager.getByText('Done: the agreement is now active.').waitFor();
    await manager.getByLabel('Reason to suspend').fill('The partner reported a breach; investigating.');
    await manager.getByRole('button', { name: 'Suspend' }).click();
    await manager.getByText('Done: the agreement is now suspended.').waitFor();

    await officer.reload();
    await officer.getByRole('button', { name: 'Resume' }).click();
    await officer.getByText('Done: the agreement is now active.').waitFor();

    const history = officer.getByRole('table', { name: 'History' });
    for (const text of ['Parker Partnerships', 'Priya Privacy', 'Pavel Privacy', 'Religion is needed for the prayer-times widget', 'investigating']) {
      await history.getByText(text).first().waitFor();
    }
    const actions = await history.locator('tbody tr td:nth-child(4)').allTextContents();
    assert.deepEqual(actions, ['draft', 'submit', 'approve', 'approve', 'activate', 'suspend', 'resume']);
    await checkAccessibility(officer, 'agreement history');
    await screenshot(officer, '10-agreement-history');
  });

  await t.test('the manager plans the wind-down on its timeline (a viewer cannot), and records the deletion attestation once access has ended', async () => {
    const viewer = await w.page();
    await signIn(viewer, 'viewer@datapact.example');
    await viewer.goto(`/console/agreements/${agreementId}`);
    await viewer.getByRole('table', { name: 'History' }).waitFor();
    assert.equal(await viewer.getByRole('form', { name: 'Plan the wind-down' }).count(), 0, 'a viewer is not offered the planner');
    assert.deepEqual(await crafted(viewer, `/admin/v1/agreements/${agreementId}/wind-down`, true), { status: 403, code: 'forbidden' });

    const manager = await w.page();
    await signIn(manager, 'partnerships@datapact.example');
    await manager.goto(`/console/agreements/${agreementId}`);
    const planner = manager.getByRole('form', { name: 'Plan the wind-down' });
    await planner.getByLabel(/^No new grants/).fill('2026-07-01');
    await planner.getByLabel(/^No friend data/).fill('2026-06-15');
    await planner.getByLabel(/^Access ends/).fill('2026-09-01');
    await planner.getByText('The phases go in order').waitFor();
    await planner.getByLabel(/^No friend data/).fill('2026-08-01');
    await planner.getByLabel(/^Reason/).fill('The partner is leaving the programme.');
    const preview = planner.getByRole('list', { name: 'Wind-down timeline' });
    for (const line of ['No new grants: 2026-07-01', 'No friend data: 2026-08-01', 'Access ends: 2026-09-01', 'Deletion attestation due by 2026-10-01']) {
      await preview.getByText(line).waitFor();
    }
    await checkAccessibility(manager, 'wind-down planner');
    await screenshot(manager, '17-wind-down-planner');
    await planner.getByRole('button', { name: 'Schedule the wind-down' }).click();
    await manager.getByRole('region', { name: 'Wind-down' }).getByText('Access ends: 2026-09-01').waitFor();
    await manager.getByText('winding down', { exact: true }).first().waitFor();

    // Access has ended: the attestation is offered; recording it terminates the agreement.
    // (Three months on, yesterday's session is long over: a new sign-in.)
    w.advance(Date.parse('2026-09-02T10:00:00Z') - w.now());
    await signIn(manager, 'partnerships@datapact.example');
    await manager.goto(`/console/agreements/${agreementId}`);
    const attestation = manager.getByRole('form', { name: 'Record the deletion attestation' });
    await attestation.getByLabel(/^Signed by/).fill('Li Wei, Data Protection Officer');
    await attestation.getByLabel(/^Statement/).fill('All member data received under this agreement was deleted on 2026-09-01.');
    await checkAccessibility(manager, 'deletion attestation');
    await attestation.getByRole('button', { name: 'Record the attestation' }).click();
    await manager.getByText('Deletion attested: 2026-09-02').waitFor();
    await manager.getByText('terminated', { exact: true }).first().waitFor();
    const actions = await manager.getByRole('table', { name: 'History' }).locator('tbody tr td:nth-child(4)').allTextContents();
    // The phases reached in between are the system's, in the history too.
    assert.deepEqual(actions.slice(7), ['schedule_wind_down', 'phase_reached:no_new_grants', 'phase_reached:no_friend_data',
      'phase_reached:access_ended', 'record_deletion_attestation']);
    await screenshot(manager, '18-wind-down-done');
  });
});
