import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import * as client from 'openid-client';
import type { Environment } from '../../src/config.js';
import { addDays, type Instant } from '../../src/domain/time.js';
import { buildApp } from '../../src/http/app.js';
import { createStore, type Store } from '../../src/store/store.js';
import { freshDatabase, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, type PartnerSpec } from '../helpers/fixtures.js';

export const NOW = Date.parse('2026-06-01T00:00:00Z');
export const PASSWORD = 'correct horse battery staple';
export const REDIRECT_URI = 'http://127.0.0.1:9999/callback';
/** The friends of `me`: f0, f2 and f4 let apps see them through friends. */
export const FRIENDS = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];

export interface OAuthWorld {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Where the server listens (plain HTTP). */
  readonly baseUrl: string;
  /** The URL clients see: `baseUrl`, or an https one when a TLS proxy is simulated. */
  readonly publicUrl: string;
  readonly issuer: string;
  setNow(instant: Instant): void;
  /** Registers a partner whose app is an OAuth client with secret `<appId>-secret` and REDIRECT_URI. */
  partner(key: string, spec?: PartnerSpec): Promise<{ appId: string; agreementId: string; secret: string }>;
  /** An openid-client configuration for the app, by discovery. */
  discover(appId: string, secret?: string): Promise<client.Configuration>;
  /** A new browser with an empty cookie jar. */
  browser(): Browser;
}

export interface WorldOptions {
  readonly environment?: Environment;
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * Simulates a TLS-terminating proxy: the public URL is `https://127.0.0.1:<port>`; the test's
   * clients send plain HTTP with `X-Forwarded-Proto: https`, as the proxy would.
   */
  readonly behindTlsProxy?: boolean;
  /** The database (helpers/dialects.ts); SQLite by default. */
  readonly dialect?: Dialect;
}

/** What a TLS-terminating proxy does to a request for `publicUrl`: plain HTTP to the server, with the forwarded protocol. */
export function throughProxy(publicUrl: string, baseUrl: string) {
  return (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    const target = String(url);
    if (!target.startsWith(publicUrl) || publicUrl === baseUrl) return fetch(url, init);
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-proto', 'https');
    return fetch(baseUrl + target.slice(publicUrl.length), { ...init, headers });
  };
}

/** A TCP port nothing listens on now, for a server the test starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A listening Datapact on a free port with members (`me` and six friends, `me`'s password is
 * PASSWORD) and a clock the test moves. Closed when the test ends.
 */
export async function oauthWorld(t: TestContext, options: WorldOptions = {}): Promise<OAuthWorld> {
  const database = await freshDatabase(options.dialect ?? 'sqlite');
  const store = createStore(database.db);
  let now = NOW;
  await addMembers(store, [{ id: 'me' }, ...FRIENDS.map((id, i) => ({ id, shareViaFriends: i % 2 === 0 })), { id: 'fof', shareViaFriends: true }], NOW);
  await addFriendships(store, [...FRIENDS.map((id) => ['me', id] as const), ['f0', 'fof']], NOW);
  await store.credentials.setPassword('me', PASSWORD, NOW);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const publicUrl = options.behindTlsProxy ? `https://127.0.0.1:${port}` : baseUrl;
  const transport = throughProxy(publicUrl, baseUrl);
  const app = await buildApp({
    store,
    clock: () => now,
    publicUrl,
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await app.listen({ port, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await database.drop();
  });
  const issuer = `${publicUrl}/oauth`;
  return {
    app,
    store,
    baseUrl,
    publicUrl,
    issuer,
    setNow: (instant) => { now = instant; },
    async partner(key, spec = {}) {
      const ids = await addPartner(store, key, spec, NOW);
      const secret = `${ids.appId}-secret`;
      await store.partners.setClientSecret(ids.appId, secret);
      await store.partners.setRedirectUris(ids.appId, [REDIRECT_URI]);
      return { appId: ids.appId, agreementId: ids.agreementId, secret };
    },
    browser: () => new Browser(publicUrl, baseUrl),
    async discover(appId, secret = `${appId}-secret`) {
      return client.discovery(new URL(issuer), appId, secret, client.ClientSecretBasic(secret), {
        execute: [client.allowInsecureRequests],
        [client.customFetch]: (url, init) => transport(url, init as RequestInit),
      });
    },
  };
}

/** The partner most tests use: a device partner with friend fields, `religion` among them. */
export const DEVICE_PARTNER: PartnerSpec = {
  agreement: {
    purposes: ['device_experience', 'contacts_sync'],
    memberFields: ['id', 'name', 'picture', 'email', 'birthday', 'friends'],
    friendFields: ['name', 'birthday', 'religion'],
    storage: { location: 'partner_servers', country: 'CA' },
    endsAt: addDays(NOW, 300),
  },
};

/**
 * A browser by hand: a cookie jar and `fetch` with manual redirects, following only redirects
 * that stay on the server; the first one that leaves it (the client's redirect URI) is returned.
 */
export class Browser {
  private readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, for inspection. */
  readonly setCookies: string[] = [];
  /** The URL of the last request, as the browser saw it. */
  lastUrl = '';

  private readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;

  /** `origin`: the server's public URL; `baseUrl`: where it listens, when a TLS proxy is simulated. */
  constructor(private readonly origin: string, baseUrl: string = origin) {
    this.fetch = throughProxy(origin, baseUrl);
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      this.setCookies.push(header);
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      // Path scoping is ignored: every cookie goes back to the one server under test.
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader();
    if (cookie) headers.set('cookie', cookie);
    const target = new URL(url, this.origin);
    const response = await this.fetch(target, { ...init, headers, redirect: 'manual' });
    this.remember(response);
    this.lastUrl = target.href;
    return response;
  }

  /** GETs `url` and follows redirects on this server; returns the final page or the redirect that left. */
  async visit(url: string | URL): Promise<Visit> {
    return this.follow(await this.request(url));
  }

  /** POSTs a form and follows the redirects like `visit`. */
  async submit(url: string | URL, form: Record<string, string | string[]>): Promise<Visit> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) {
      for (const one of Array.isArray(value) ? value : [value]) body.append(name, one);
    }
    return this.follow(await this.request(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
  }

  private async follow(first: Response): Promise<Visit> {
    let response = first;
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        return { status: response.status, url: this.lastUrl, html: await response.text(), headers: response.headers };
      }
      const next = new URL(location, this.lastUrl);
      if (next.origin !== new URL(this.origin).origin) {
        await response.arrayBuffer();
        return { status: response.status, url: this.lastUrl, html: '', headers: response.headers, left: next };
      }
      await response.arrayBuffer();
      response = await this.request(next);
    }
    throw new Error('too many redirects');
  }
}

export interface Visit {
  readonly status: number;
  readonly url: string;
  readonly html: string;
  readonly headers: Headers;
  /** Set when a redirect left the server: where it went (the client's redirect URI). */
  readonly left?: URL;
}

/** The form on a page whose action ends with `suffix`: its action and hidden fields. */
export function form(html: string, suffix: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)];
  const found = forms.find((match) => match[1]!.endsWith(suffix));
  if (!found) throw new Error(`no form posting to *${suffix} in:\n${html}`);
  const fields: Record<string, string> = {};
  for (const input of found[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[input[1]!] = input[2]!;
  return { action: found[1]!, fields };
}

export interface AuthorizationRequest {
  readonly config: client.Configuration;
  readonly url: URL;
  readonly verifier: string;
  readonly state: string;
}

/** An authorization URL built by openid-client, with PKCE (S256) and a state. */
export async function authorizationRequest(
  config: client.Configuration,
  params: { scope: string; purpose?: string; redirect_uri?: string },
): Promise<AuthorizationRequest> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: params.redirect_uri ?? REDIRECT_URI,
    scope: params.scope,
    ...(params.purpose === undefined ? {} : { purpose: params.purpose }),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { config, url, verifier, state };
}

/** Logs `me` in on the login page `visit` and returns the next page (consent, or a redirect away). */
export async function logIn(browser: Browser, visit: Visit, memberId = 'me', password = PASSWORD): Promise<Visit> {
  const login = form(visit.html, '/login');
  return browser.submit(login.action, { ...login.fields, member_id: memberId, password });
}

/** Answers the consent page with the scopes the member ticks (every one offered when undefined). */
export async function consent(browser: Browser, visit: Visit, keep?: readonly string[], decision = 'allow'): Promise<Visit> {
  const page = form(visit.html, '/consent');
  const offered = [...visit.html.matchAll(/name="scope" value="([^"]+)"/g)].map((match) => match[1]!);
  const scope = keep ?? offered;
  return browser.submit(page.action, { ...page.fields, decision, scope: [...scope] });
}

/** The whole browser side: authorization request, login, consent; returns the callback URL with the code. */
export async function authorize(
  world: OAuthWorld,
  appId: string,
  params: { scope: string; purpose?: string; keep?: readonly string[] },
): Promise<{ request: AuthorizationRequest; callback: URL; browser: Browser }> {
  const config = await world.discover(appId);
  const request = await authorizationRequest(config, { purpose: 'device_experience', ...params });
  const browser = world.browser();
  const loginPage = await browser.visit(request.url);
  const consentPage = await logIn(browser, loginPage);
  const done = await consent(browser, consentPage, params.keep);
  if (!done.left) throw new Error(`consent did not return to the client: ${done.status}\n${done.html}`);
  return { request, callback: done.left, browser };
}

/** The code exchange by openid-client. */
export function exchange(auth: { request: AuthorizationRequest; callback: URL }) {
  return client.authorizationCodeGrant(auth.request.config, auth.callback, {
    pkceCodeVerifier: auth.request.verifier,
    expectedState: auth.request.state,
  });
}

/** A Graph API call with a bearer token. */
export async function graph(world: OAuthWorld, path: string, token: string): Promise<{ status: number; body: any }> {
  const response = await throughProxy(world.publicUrl, world.baseUrl)(`${world.publicUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}
