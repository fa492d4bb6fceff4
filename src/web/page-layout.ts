import { createHash } from 'node:crypto';
import { Html, html } from './html.js';

/**
 * The one frame of every server-rendered page (the OAuth server's login, consent and notice
 * pages, and the privacy center): the document around a page's body, its only stylesheet, the
 * security headers it is sent with, and the CSRF field every form carries.
 */

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; padding: 0 1rem 2rem; }
header, main { max-width: 36rem; margin: 0 auto; }
body.wide header, body.wide main { max-width: 52rem; }
main { padding-top: 2rem; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .5rem 0; border-bottom: 1px solid #8888; }
header p { margin: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
a[aria-current] { font-weight: 600; }
h1 { font-size: 1.5rem; margin-top: 0; }
fieldset { border: 1px solid #8888; border-radius: .5rem; margin: 1rem 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
label { display: block; margin: .35rem 0; }
.row { margin: .5rem 0; }
.row label { display: inline-block; min-width: 14rem; }
input[type=text], input[type=password] { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; margin-top: .25rem; }
button { font: inherit; padding: .5rem 1rem; margin: .5rem .5rem 0 0; cursor: pointer; }
header button { margin: 0; padding: .3rem .8rem; }
button.primary { font-weight: 600; }
:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.note, .help { font-size: .9rem; opacity: .85; }
.help { margin: .2rem 0 .5rem 1.8rem; }
.notice { border-left: 4px solid #2e7d32; padding: .5rem 1rem; background: #2e7d3222; }
.error { border-left: 4px solid #c5221f; padding: .5rem 1rem; background: #c5221f22; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid #8888; padding: .3rem .5rem; text-align: left; vertical-align: top; }
:root { --accent: #1a56c4; --danger: #b3261e; --ok: #1b6e2f; --surface: #f4f6fa; --page: #ffffff; --text: #1b1c1f; }
@media (prefers-color-scheme: dark) { :root { --accent: #8ab4f8; --danger: #f2b8b5; --ok: #8fd19e; --surface: #1f2329; --page: #121418; --text: #e8eaed; } }
html { background: var(--page); color: var(--text); }
.verified { color: var(--ok); font-weight: 600; }
.failed { color: var(--danger); font-weight: 600; }
a { color: var(--accent); }
header p strong { font-size: 1.1rem; }
.card { background: var(--surface); border: 1px solid #8886; border-radius: .75rem; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0 1.5rem; }
h3 { font-size: 1rem; margin: .75rem 0 .25rem; }
ul.permissions, ul.kept-out { list-style: none; padding: 0; margin: 0; }
ul.permissions li, ul.kept-out li { display: flex; justify-content: space-between; align-items: center; gap: .5rem; padding: .2rem 0; border-bottom: 1px solid #8883; }
form.inline { display: inline; margin: 0; }
form.inline button { margin: 0; }
button.link { background: none; border: none; padding: .2rem .4rem; color: var(--accent); text-decoration: underline; }
a.button { display: inline-block; padding: .5rem 1rem; margin: .5rem .5rem 0 0; border: 1px solid currentColor; border-radius: .25rem; text-decoration: none; }
.danger { color: var(--danger); }
button.danger { border: 1px solid var(--danger); background: none; font-weight: 600; }
.scroll { overflow-x: auto; }
td { overflow-wrap: break-word; }
pre { overflow-x: auto; background: var(--surface); border: 1px solid #8886; border-radius: .5rem; padding: .75rem; font-size: .85rem; }
@media (max-width: 40rem) {
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; }
  table.stack caption { display: block; text-align: left; }
  table.stack tr { border: 1px solid #8888; border-radius: .5rem; margin: .5rem 0; padding: .25rem .75rem; }
  table.stack td { border: none; padding: .1rem 0; }
  table.stack td::before { content: attr(data-label) ": "; font-weight: 600; }
}
@media (max-width: 30rem) { body { padding: 0 .75rem 2rem; } dl { grid-template-columns: 1fr; } dd { margin-bottom: .5rem; } .row label { min-width: 0; } }
`;

/** The hash that lets the Content-Security-Policy allow the one inline style block and nothing else. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * Headers for every page: no scripts, no styles but the one above, no framing (clickjacking a
 * consent), nothing cached. There is deliberately no `form-action`: browsers apply it to the
 * redirects a form submission leads to, and the consent form must end in a redirect to the app.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = pageHeaders();

/** A page's own script: a static file on this origin, allowed by its hash (the page still works without it). */
export interface PageScript {
  /** Where the script is served (same origin). */
  readonly path: string;
  readonly source: string;
  /** `sha256-<base64>`: the script tag's `integrity` and the CSP source that allows this file and nothing else. */
  readonly hash: string;
}

export function pageScript(path: string, source: string): PageScript {
  return { path, source, hash: `sha256-${createHash('sha256').update(source).digest('base64')}` };
}

/** The headers of a page, allowing `script` (by its hash) when it has one. */
export function pageHeaders(script?: PageScript): Readonly<Record<string, string>> {
  const scriptSource = script === undefined ? '' : `; script-src '${script.hash}'`;
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'${scriptSource}; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}

/** The name members know the platform's pages by: the consent page and the privacy center carry it. */
export const PLATFORM_NAME = 'Datapact';

/** The privacy center's home, linked from the consent page (the OAuth server's pages are not under /privacy). */
export const PRIVACY_CENTER_PATH = '/privacy';

export interface NavLink {
  readonly href: string;
  readonly label: string;
  readonly current: boolean;
}

/** A site's navigation: its links, then anything else the header holds (a log-out form). */
export interface SiteNav {
  /** The accessible name of the `nav` landmark. */
  readonly label: string;
  readonly links: readonly NavLink[];
  readonly after?: Html;
}

export interface PageOptions {
  /** A header naming the part of the site (also named in the title), with its navigation if any. */
  readonly header?: { readonly site: string; readonly nav?: SiteNav };
  /** Room for tables; forms and notices read better in the narrow column. */
  readonly wide?: boolean;
  /** Send the page with `pageHeaders(script)`. */
  readonly script?: PageScript;
}

function siteNav(nav: SiteNav): Html {
  const links = nav.links.map((link) =>
    html`<li><a href="${link.href}"${link.current ? html` aria-current="page"` : ''}>${link.label}</a></li>`);
  return html`<nav aria-label="${nav.label}"><ul>
${links.map((link) => html`${link}\n`)}</ul></nav>
${nav.after}`;
}

/** A whole page: a title, an optional header, a main landmark with the body. */
export function page(title: string, body: Html, options: PageOptions = {}): string {
  const { header } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${header?.site ?? 'Datapact'}</title>
<style>${new Html(STYLE)}</style>
${options.script && html`<script src="${options.script.path}" integrity="${options.script.hash}" defer></script>\n`}</head>
<body${options.wide ? html` class="wide"` : ''}>
${header && html`<header>
<p><strong>${header.site}</strong></p>
${header.nav && siteNav(header.nav)}
</header>
`}<main>
${body}
</main>
</body>
</html>
`.markup;
}

/** A hidden CSRF field: every form of these pages carries one. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
