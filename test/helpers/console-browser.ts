import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { StaffRole } from '../../src/domain/staff.js';
import type { Instant } from '../../src/domain/time.js';
import { DEFAULT_CONSOLE_DIR } from '../../src/http/console.js';
import { DEMO_PASSWORD } from '../../src/seed/demo-world.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { seedDemoStaff } from '../../src/seed/demo-staff.js';
import { hashPassword } from '../../src/store/member-credential-repository.js';
import { build, type BuildOptions, type Built } from './build.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

/**
 * The staff console in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), against the app listening on a free port with the demo partners and staff.
 */

export const CHROMIUM = process.env.DATAPACT_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of every page the tests visit, in the demo world: committed, and shown by the README. */
/**
 * Where the browser tests save their screenshots: test-artifacts/screenshots/ (not committed), or the folder
 * DATAPACT_SCREENSHOTS_DIR names; `DATAPACT_SCREENSHOTS_DIR=docs/screenshots` refreshes the README's pictures.
 */
export const SCREENSHOTS = resolve(process.env.DATAPACT_SCREENSHOTS_DIR || join(PROJECT_ROOT, 'test-artifacts', 'screenshots'));
/**
 * A full-page picture costs Chromium about as much as the steps around it: taken only when asked for
 * (DATAPACT_SCREENSHOTS_DIR set, or DATAPACT_SCREENSHOTS=1 for test-artifacts/screenshots/), not on every test run.
 */
export const TAKING_SCREENSHOTS = Boolean(process.env.DATAPACT_SCREENSHOTS_DIR || process.env.DATAPACT_SCREENSHOTS);
export const CONSOLE_NOW = Date.parse('2026-06-01T09:00:00Z');

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Fails (never skips) when what the tests need is missing, saying how to get it. */
function requirePrerequisites(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the staff console's browser tests need Debian's chromium package `
      + '(`apt-get install -y chromium`, which .ci/run does), or DATAPACT_CHROMIUM pointing at a Chromium binary.');
  }
  if (!existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html'))) {
    throw new Error(`The staff console is not built (${DEFAULT_CONSOLE_DIR}index.html is missing): run \`npm run build:console\` (npm test does).`);
  }
}

/**
 * How long one browser step may wait for the page (playwright's default is 30 s): on a machine loaded by
 * other work a step can take that long without anything being wrong, and a test must not fail for it.
 */
export const BROWSER_STEP_TIMEOUT_MS = 120_000;

let shared: Promise<Browser> | undefined;

/** One browser per test file (each test gets its own context: its own cookies). */
async function browser(): Promise<Browser> {
  shared ??= chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  if (shared) await (await shared).close();
  shared = undefined;
}

export interface ConsoleWorld extends Built {
  readonly base: string;
  /** The app's clock now (it only moves forward: `advance`). */
  now(): Instant;
  advance(ms: number): Instant;
  /**
   * A fresh browser context and page (its own cookie jar) for test `t`, closed when it ends, which it
   * fails on any CSP violation or page error.
   */
  page(t: TestContext): Promise<Page>;
  /** A staff account of its own for a test that changes it (its password, two-factor, roles). */
  account(email: string, name: string, roles: StaffRole[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * One app with the demo partners and staff, listening on a free port, for a whole test file (its
 * tests share it, in order: each signs in as whom it needs).
 */
export async function consoleWorld(now: Instant = CONSOLE_NOW, options: BuildOptions = {}): Promise<ConsoleWorld> {
  requirePrerequisites();
  const built = await build(undefined, now, options);
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  await seedDemoPartners(built.store, now);
  await seedDemoStaff(built.store, passwordHash, now);
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  const b = await browser();
  let current = now;
  return {
    ...built,
    base,
    now: () => current,
    advance(ms) {
      current += ms;
      built.setNow(current);
      return current;
    },
    async page(t) {
      const context = await b.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base });
      context.setDefaultTimeout(BROWSER_STEP_TIMEOUT_MS);
      t.after(() => context.close());
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      t.after(() => assert.deepEqual(problems, [], 'no CSP violation and no script error in the page'));
      return page;
    },
    async account(email, name, roles) {
      return (await built.store.staff.create({ email, name, roles, passwordHash }, current)).id;
    },
    close: () => built.app.close(),
  };
}

/** Signs in through the sign-in page (and its two-factor step when `code` is given). */
export async function signIn(page: Page, email: string, options: { password?: string; code?: () => string } = {}): Promise<void> {
  await page.goto('/console');
  await page.getByLabel(/^Email/).fill(email);
  await page.getByLabel(/^Password/).fill(options.password ?? DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (options.code) {
    await page.getByLabel(/^Two-factor code/).fill(options.code());
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** axe-core on the page as it is: no serious or critical violation. Evaluated over the DevTools protocol, so the CSP stays as served. */
export async function checkAccessibility(page: Page, where: string): Promise<void> {
  // Once per document: the console navigates in place, so axe stays loaded across its pages.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE_SOURCE);
  // A dialog fading in is checked at its full opacity: mid-transition, its text's contrast against the page
  // behind is lower than it will be (a loaded machine stretches the fade), so wait for every transition to end.
  // An endless animation (a loader's spin) never ends and changes no contrast: it is not waited for.
  type Running = { playState: string; effect: { getTiming(): { iterations: number } } | null };
  await page.waitForFunction(() => (globalThis as unknown as { document: { getAnimations(): Running[] } })
    .document.getAnimations().every((animation) => animation.playState !== 'running' || animation.effect?.getTiming().iterations === Infinity));
  const violations = await page.evaluate(async () => {
    type Result = { violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> }> };
    const global = globalThis as unknown as { axe: { run(context: unknown, options: object): Promise<Result> }; document: unknown };
    const result = await global.axe.run(global.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${where}: axe-core found serious or critical violations`);
}

export async function screenshot(page: Page, name: string): Promise<string | undefined> {
  if (!TAKING_SCREENSHOTS) return undefined;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `console-${name}.png`);
  // From the top: a page scrolled down would show the fixed header and menu halfway down the full-page picture.
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}
