/**
 * The URLs a partner registers: its webhook for notices and its apps' OAuth redirect URIs. Pure
 * rules: each check returns why a URL is refused, or null when it is fine.
 */

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

export const MAX_URL_LENGTH = 2000;

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * An absolute `https` URL, or in development a plain `http` URL to this machine (`localhost`,
 * `127.0.0.1`, `[::1]`); never with a user name or password in it, nor a fragment.
 */
function check(text: string, what: string, development: boolean): string | null {
  if (text.length > MAX_URL_LENGTH) return `${what} is longer than ${MAX_URL_LENGTH} characters.`;
  const url = parse(text);
  if (!url || text.trim() !== text) return `${what} is not an absolute URL: ${JSON.stringify(text.slice(0, 100))}.`;
  if (url.username !== '' || url.password !== '') return `${what} must not carry a user name or password.`;
  if (url.hash !== '' || text.includes('#')) return `${what} must not have a fragment (#…).`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) {
    return development ? null : `${what} must use https (plain http to localhost is allowed in development only).`;
  }
  return `${what} must use https${development ? ' (or plain http to localhost, 127.0.0.1 or [::1])' : ''}.`;
}

export function webhookUrlProblem(text: string, development: boolean): string | null {
  return check(text, 'webhook_url', development);
}

export function redirectUriProblem(text: string, development: boolean): string | null {
  return check(text, 'redirect_uri', development);
}
