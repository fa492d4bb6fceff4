import type { KoaContextWithOIDC } from 'oidc-provider';
import { html } from '../web/html.js';
import { page, PAGE_HEADERS } from '../web/page-layout.js';

/**
 * The pages oidc-provider answers with itself (RP-initiated logout at `/oauth/logout`): rendered
 * with the project's page kit and sent with its headers (CSP without scripts, no framing, no
 * caching), instead of the library's defaults, which load a third-party font and, for a browser
 * that is not logged in, submit their form with an inline script.
 */

/** Answers with a whole page and the headers every page is sent with. */
export function sendProviderPage(ctx: KoaContextWithOIDC, status: number, document: string): void {
  ctx.status = status;
  ctx.type = 'html';
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.body = document;
}

export interface LogoutView {
  /** Where the form posts: the provider's logout confirmation endpoint. */
  readonly action: string;
  /** The provider's anti-forgery secret for this logout, bound to the browser's session. */
  readonly xsrf: string;
  /** Whether a member is logged in at the authorization server in this browser. */
  readonly loggedIn: boolean;
}

const KEEPS_ACCESS = 'Logging out does not disconnect any app: an app keeps the access you gave it until you revoke it in your privacy center.';

export function logoutPage(view: LogoutView): string {
  const xsrf = html`<input type="hidden" name="xsrf" value="${view.xsrf}">`;
  if (!view.loggedIn) {
    return page('You are not logged in', html`
<h1>You are not logged in</h1>
<p>There is nothing to log out of in this browser.</p>
<form method="post" action="${view.action}">
  ${xsrf}
  <input type="hidden" name="logout" value="yes">
  <button type="submit" class="primary">Continue</button>
</form>
`);
  }
  return page('Log out?', html`
<h1>Log out?</h1>
<p>You are logged in to Datapact in this browser, where apps send you to give your consent.</p>
<p class="note">${KEEPS_ACCESS}</p>
<form method="post" action="${view.action}">
  ${xsrf}
  <button type="submit" name="logout" value="yes" class="primary">Yes, log me out</button>
  <button type="submit">No, stay logged in</button>
</form>
`);
}

export function loggedOutPage(): string {
  return page('You are logged out', html`
<h1>You are logged out</h1>
<p>An app that sends you here again will ask you to log in.</p>
<p class="note">${KEEPS_ACCESS}</p>
`);
}

/** The logout confirmation, as the library would have rendered it: its confirmation endpoint and its secret from the session. */
export function renderLogout(ctx: KoaContextWithOIDC): void {
  const session = ctx.oidc.session;
  const xsrf = session?.state?.secret;
  if (typeof xsrf !== 'string') throw new Error('the logout request has no anti-forgery secret in its session');
  sendProviderPage(ctx, 200, logoutPage({ action: ctx.oidc.urlFor('end_session_confirm'), xsrf, loggedIn: session?.accountId !== undefined }));
}

/**
 * Koa middleware for the provider: for a browser that is not logged in, the library answers
 * `/oauth/logout` with a page that submits itself by script (and calls no hook): replaced by the
 * same page as a logged-in member gets, with a button.
 */
export async function logoutWithoutScript(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
  if (oidc?.route === 'end_session' && ctx.status === 200 && oidc.session?.accountId === undefined) renderLogout(ctx);
}
