import { createHash } from 'node:crypto';

/**
 * The small kit every server-rendered page of the OAuth server is made with. Every piece of text
 * that reaches a page goes through `escapeHtml`; templates use the `html` tag, which escapes each
 * interpolated value unless it is already `Html` (a fragment built the same way).
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

type Interpolated = string | number | Html | readonly Html[] | null | undefined | false;

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map((part: Html) => part.value).join('');
  return escapeHtml(String(value));
}

/** A template tag: `html\`<p>${text}</p>\`` escapes `text`. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new Html(out);
}

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
  body { margin: 0; padding: 2rem 1rem; }
  main { max-width: 36rem; margin: 0 auto; }
  h1 { font-size: 1.5rem; margin-top: 0; }
  fieldset { border: 1px solid #8888; border-radius: .5rem; margin: 1rem 0; padding: .5rem 1rem 1rem; }
  legend { font-weight: 600; padding: 0 .25rem; }
  label { display: block; margin: .35rem 0; }
  input[type=text], input[type=password] { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; margin-top: .25rem; }
  button { font-size: 1rem; padding: .5rem 1rem; margin: .5rem .5rem 0 0; cursor: pointer; }
  button.primary { font-weight: 600; }
  :focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
  .note { font-size: .9rem; opacity: .85; }
  .error { border-left: 4px solid #c5221f; padding: .5rem 1rem; background: #c5221f22; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { font-weight: 600; }
  dd { margin: 0; }
`;

/** The hash that lets the Content-Security-Policy allow the one inline style block and nothing else. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** Headers for every page: no scripts, no framing (clickjacking a consent), nothing cached. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A whole page: a title, a main landmark and the body. */
export function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Datapact</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`.value;
}

/** A hidden CSRF field: every form of these pages carries one. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
