import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

/** One cookie as a response set it: its value and attributes (names lower-cased). */
export interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: ReadonlyMap<string, string | true>;
}

/** Parses the Set-Cookie headers of a response, by hand. */
export function setCookies(response: LightMyRequestResponse): SetCookie[] {
  const header = response.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((line) => {
    const [pair = '', ...parts] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes = new Map<string, string | true>();
    for (const part of parts) {
      const at = part.indexOf('=');
      if (at === -1) attributes.set(part.toLowerCase(), true);
      else attributes.set(part.slice(0, at).toLowerCase(), part.slice(at + 1));
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  });
}

/** The value of the hidden `_csrf` field of the (first) form on a page. */
export function csrfFieldOf(page: string): string {
  const match = /<input type="hidden" name="_csrf" value="([^"]+)">/.exec(page);
  assert.ok(match, 'the page carries a CSRF field');
  return match[1]!;
}

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/**
 * A browser as far as these tests need one: a cookie jar (no domain or path matching: everything
 * is one host under /), a remote address, and form posts.
 */
export class MemberBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly app: FastifyInstance, readonly remoteAddress = '127.0.0.1') {}

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(options: InjectOptions): Promise<LightMyRequestResponse> {
    const headers = { ...(options.headers ?? {}) } as Record<string, string>;
    if (this.cookies.size > 0 && headers.cookie === undefined) headers.cookie = this.cookieHeader();
    const response = await this.app.inject({ remoteAddress: this.remoteAddress, ...options, headers });
    for (const cookie of setCookies(response)) {
      const expires = cookie.attributes.get('expires');
      const expired = typeof expires === 'string' && Date.parse(expires) <= Date.now();
      if (cookie.value === '' || expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.request({ method: 'GET', url, headers });
  }

  postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.request({
      method: 'POST', url, payload: form(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }

  /** A fresh CSRF token from a page that carries a form. */
  async csrfFrom(url: string): Promise<string> {
    const response = await this.get(url);
    assert.equal(response.statusCode, 200, `${url} is a page`);
    return csrfFieldOf(response.body);
  }

  /** Opens the login page and posts the form; returns the answer to the post. */
  async login(memberId: string, password: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const csrf = await this.csrfFrom('/privacy/login');
    return this.postForm('/privacy/login', { member_id: memberId, password, _csrf: csrf, ...extra });
  }

  /** The CSRF token the JSON API hands out (GET /v1/me/privacy). */
  async apiCsrf(): Promise<string> {
    const response = await this.get('/v1/me/privacy');
    assert.equal(response.statusCode, 200);
    return response.json().csrf_token as string;
  }

  json(method: 'PATCH' | 'PUT' | 'POST' | 'DELETE' | 'GET', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.request({
      method, url,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    });
  }
}
