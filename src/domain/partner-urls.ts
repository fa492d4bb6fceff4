import ipaddr from 'ipaddr.js';

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

/** `localhost` and its subdomains name this machine whatever DNS says (RFC 6761). */
function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * What kind of address `address` is (an IPv4 or IPv6 address, as DNS answers or as a URL spells it,
 * brackets allowed) when the platform must not send a request to it, e.g. `a link-local address`;
 * null when it may. Only public unicast addresses are allowed: a webhook pointing inside the
 * platform's network (cloud metadata at 169.254.169.254, a database on 10.0.0.5, a service on the
 * loopback) would let whoever registers it make the server call there. Loopback is allowed when
 * `allowLoopback` (development: a receiver on this machine). An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.5`) is judged as the IPv4 address it carries.
 */
export function forbiddenAddressKind(address: string, allowLoopback: boolean): string | null {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  const range = ipaddr.process(bare).range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && allowLoopback) return null;
  return `${RANGE_NAMES[range] ?? `a special-purpose (${range})`} address${range === 'loopback' ? ' (allowed in development only)' : ''}`;
}

const RANGE_NAMES: Readonly<Record<string, string>> = {
  private: 'a private', linkLocal: 'a link-local', loopback: 'a loopback', uniqueLocal: 'a unique-local', carrierGradeNat: 'a shared (CGNAT)',
  unspecified: 'an unspecified', multicast: 'a multicast', broadcast: 'a broadcast', reserved: 'a reserved',
};

/** Why a webhook's host may not be called, judged on the URL alone (a name is judged again once resolved, at delivery). */
function webhookHostProblem(url: URL, development: boolean): string | null {
  const host = url.hostname;
  if (isLoopbackName(host)) return development ? null : 'webhook_url must not point to this machine (localhost is allowed in development only).';
  // A trailing dot (`169.254.169.254.`) still names the address.
  const bare = host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (!ipaddr.isValid(bare)) return null;
  const kind = forbiddenAddressKind(bare, development);
  return kind === null ? null : `webhook_url must point to a public address: ${bare} is ${kind}.`;
}

/**
 * A webhook URL as `check` wants it, whose host is not a private, link-local, loopback (except in
 * development) or otherwise special address. A name is resolved only at delivery, and its every
 * address is checked then (see the webhook dispatcher).
 */
export function webhookUrlProblem(text: string, development: boolean): string | null {
  const problem = check(text, 'webhook_url', development);
  if (problem !== null) return problem;
  return webhookHostProblem(new URL(text), development);
}

/** The partner's privacy policy: a page members open from the consent page, so `check`'s rules apply. */
export function privacyPolicyUrlProblem(text: string, development: boolean): string | null {
  return check(text, 'privacy_policy_url', development);
}

export function redirectUriProblem(text: string, development: boolean): string | null {
  return check(text, 'redirect_uri', development);
}
