import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { defaultLogOrigin, isKeyName } from './audit/checkpoint.js';
import { parseWitnessList, parseWitnessQuorum, type WitnessEndpoint } from './audit/checkpoint-witnessing.js';
import { DEMO_CONTROLLER, type Controller } from './domain/controller.js';
import { isCountryCode } from './domain/countries.js';
import { DEFAULT_CHROMIUM } from './reports/pack-pdf.js';
import { isPostgresUrl } from './store/database.js';

/**
 * Every environment variable Datapact reads is read here, once, and checked strictly: a value that
 * is set but not understood stops the command with a message naming the variable, rather than
 * being ignored or replaced by its default. README, "Configuration", lists the same variables.
 * To add one: a field on Config, a line in loadConfig using the readers below, a row in the README.
 */
export type Environment = 'development' | 'production';

/** How long the server waits on a client (AppOptions.timeouts), in milliseconds. */
export interface ServerTimeouts {
  /** To receive a whole request, headers and body (Node's `requestTimeout`). */
  readonly requestMs: number;
  /** To receive a request's headers (Node's `headersTimeout`): what cuts off a client sending them byte by byte. */
  readonly headersMs: number;
  /** An idle keep-alive connection is kept this long after a response (Node's `keepAliveTimeout`). */
  readonly keepAliveMs: number;
  /** A connection on which nothing at all arrives for this long is closed (Fastify's `connectionTimeout`). */
  readonly idleMs: number;
}

export interface Config {
  /** The platform as the records of processing name it (DATAPACT_CONTROLLER_NAME, DATAPACT_CONTROLLER_COUNTRY). */
  readonly controller: Controller;
  /** `production` never seeds, refuses demo credentials and development tokens, and marks cookies `Secure`. */
  readonly environment: Environment;
  /** The public base URL (an origin): every absolute URL the server gives out starts with it; the OAuth issuer is `${publicUrl}/oauth`. */
  readonly publicUrl: string;
  readonly dataDir: string;
  /** Where the data lives: DATAPACT_DATABASE_URL (PostgreSQL) when set, else `databasePath`. What `openStore` takes. */
  readonly database: string;
  /** The SQLite file (DATAPACT_DATABASE), used when no DATAPACT_DATABASE_URL is set. */
  readonly databasePath: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Seed the demo world when `serve` starts on an empty database; never in production. */
  readonly seedDemo: boolean;
  /** Seconds between the scheduler's runs in `serve` (DATAPACT_TICK_SECONDS); 0 turns it off. */
  readonly tickSeconds: number;
  /** Seconds between the webhook dispatcher's runs in `serve` (DATAPACT_NOTICE_SECONDS). */
  readonly noticeSeconds: number;
  /** DATAPACT_TRUSTED_PROXIES: the load balancers whose X-Forwarded-For names the client (AppOptions.trustedProxies). */
  readonly trustedProxies: readonly string[];
  readonly timeouts: ServerTimeouts;
  /** DATAPACT_LOG_ORIGIN: the first line of the log's checkpoints, naming it; default `<host of publicUrl>/audit`. */
  readonly logOrigin: string;
  /** DATAPACT_WITNESSES: the witnesses asked to cosign each checkpoint (`<url> <verifier key>`, comma-separated). */
  readonly witnesses: readonly WitnessEndpoint[];
  /** DATAPACT_CHROMIUM: the Chromium binary that prints the regulator's pack to PDF; default Debian's /usr/bin/chromium. */
  readonly chromium: string;
  /** DATAPACT_WITNESS_QUORUM: cosignatures a head needs before it is not flagged; default all the witnesses. */
  readonly witnessQuorum: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The server's timeouts when none are configured: generous for a slow phone, short for a slowloris. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000,
  headersMs: 10_000,
  // Longer than the usual load balancer's 60 s idle timeout, so that the balancer, not Datapact, closes
  // an idle connection (else a request it sends on a connection being closed fails with a 502).
  keepAliveMs: 72_000,
  idleMs: 120_000,
};

type Env = NodeJS.ProcessEnv;

/** The variable's value, or undefined when it is unset or empty (an empty variable means its default). */
function given(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number, what = 'a whole number'): number {
  const value = given(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new Error(`${name} must be ${what} from ${min} to ${max}, got '${value}'.`);
  return parsed;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = given(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got '${value}'.`);
  return value as T;
}

function seconds(env: Env, name: string, fallbackMs: number, max: number): number {
  return wholeNumber(env, name, fallbackMs / 1000, 1, max, 'a whole number of seconds') * 1000;
}

/**
 * DATAPACT_ENV, exactly `development` or `production`: `Production` or `prod` is refused, not taken
 * for development (which accepts development tokens and sends cookies without `Secure`). NODE_ENV is
 * never read: it belongs to other tools, and a server must not turn production by inference.
 */
function environment(env: Env): Environment {
  return oneOf(env, 'DATAPACT_ENV', ['development', 'production'], 'development');
}

/**
 * DATAPACT_PUBLIC_URL: an http(s) origin, nothing after it (paths are the server's own). In
 * production it must be given and https: browsers and partners reach Datapact through TLS.
 */
function publicUrl(env: Env, port: number, production: boolean): string {
  const value = given(env, 'DATAPACT_PUBLIC_URL');
  if (value === undefined) {
    if (production) throw new Error('DATAPACT_PUBLIC_URL must be set in production: the https URL partners and browsers use, e.g. https://datapact.example.com.');
    return `http://localhost:${port}`;
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== ''
    || url.pathname !== '/' || /[?#]/.test(value)) {
    throw new Error(`DATAPACT_PUBLIC_URL must be an http or https origin such as https://datapact.example.com (no path, query or user name), got '${value}'.`);
  }
  if (production && url.protocol !== 'https:') throw new Error(`DATAPACT_PUBLIC_URL must be an https URL in production, got '${value}'.`);
  return url.origin;
}

/** DATAPACT_SEED_DEMO: `true` or `false`; production never seeds, and says so if asked to. */
function seedDemo(env: Env, production: boolean): boolean {
  const wanted = oneOf(env, 'DATAPACT_SEED_DEMO', ['true', 'false'], production ? 'false' : 'true') === 'true';
  if (wanted && production) throw new Error('DATAPACT_SEED_DEMO=true is refused in production: the demo world comes with published passwords and secrets.');
  return wanted;
}

const PROXY_KEYWORDS = ['loopback', 'linklocal', 'uniquelocal'];

/** A comma-separated list of addresses, CIDR ranges (10.0.0.0/8) and proxy-addr's keywords. */
function trustedProxies(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    const [address = '', prefix, ...rest] = entry.split('/');
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 6 ? 128 : 32));
    if (PROXY_KEYWORDS.includes(entry) || (isIP(address) !== 0 && prefixOk && rest.length === 0)) return entry;
    throw new Error(`DATAPACT_TRUSTED_PROXIES: '${entry}' is not an IP address, a CIDR range (10.0.0.0/8) or one of ${PROXY_KEYWORDS.join(', ')}.`);
  });
}

/** DATAPACT_DATABASE_URL, checked: only PostgreSQL is reached by URL (the value is not echoed: it may hold a password). */
function databaseUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isPostgresUrl(value)) throw new Error('DATAPACT_DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:port/database.');
  return value;
}

/**
 * DATAPACT_LOG_ORIGIN: a schema-less URL (C2SP tlog-checkpoint), also the log's key name in its
 * signed notes, so no spaces or `+`. Fixed once the log has signed a checkpoint (AuditLog.start).
 */
function logOrigin(env: Env, publicUrl: string): string {
  const value = given(env, 'DATAPACT_LOG_ORIGIN');
  if (value === undefined) return defaultLogOrigin(publicUrl);
  if (value.includes('://')) throw new Error(`DATAPACT_LOG_ORIGIN is a URL without its scheme, such as datapact.example.com/audit, got '${value}'.`);
  if (!isKeyName(value)) throw new Error(`DATAPACT_LOG_ORIGIN must not contain spaces, '+' or control characters, got '${value}'.`);
  return value;
}

function witnessing(env: Env): Pick<Config, 'witnesses' | 'witnessQuorum'> {
  const witnesses = parseWitnessList(env.DATAPACT_WITNESSES);
  return { witnesses, witnessQuorum: parseWitnessQuorum(env.DATAPACT_WITNESS_QUORUM, witnesses.length) };
}

function timeouts(env: Env): ServerTimeouts {
  const read: ServerTimeouts = {
    requestMs: seconds(env, 'DATAPACT_REQUEST_TIMEOUT_SECONDS', DEFAULT_TIMEOUTS.requestMs, 3600),
    headersMs: seconds(env, 'DATAPACT_HEADERS_TIMEOUT_SECONDS', DEFAULT_TIMEOUTS.headersMs, 3600),
    keepAliveMs: seconds(env, 'DATAPACT_KEEP_ALIVE_TIMEOUT_SECONDS', DEFAULT_TIMEOUTS.keepAliveMs, 3600),
    idleMs: seconds(env, 'DATAPACT_IDLE_TIMEOUT_SECONDS', DEFAULT_TIMEOUTS.idleMs, 3600),
  };
  // Node refuses a headers timeout longer than the whole request's.
  if (read.headersMs > read.requestMs) {
    throw new Error(`DATAPACT_HEADERS_TIMEOUT_SECONDS (${read.headersMs / 1000}) must not be longer than DATAPACT_REQUEST_TIMEOUT_SECONDS (${read.requestMs / 1000}).`);
  }
  return read;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(given(env, 'DATAPACT_DATA_DIR') ?? './data');
  const databaseFile = given(env, 'DATAPACT_DATABASE');
  const databasePath = databaseFile ? resolve(databaseFile) : join(dataDir, 'datapact.db');
  const port = wholeNumber(env, 'PORT', 8080, 0, 65535, 'a port number');
  const runsIn = environment(env);
  const production = runsIn === 'production';
  const url = publicUrl(env, port, production);
  return {
    environment: runsIn,
    publicUrl: url,
    logOrigin: logOrigin(env, url),
    dataDir,
    database: databaseUrl(given(env, 'DATAPACT_DATABASE_URL')) ?? databasePath,
    databasePath,
    host: given(env, 'HOST') ?? '127.0.0.1',
    port,
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    seedDemo: seedDemo(env, production),
    tickSeconds: wholeNumber(env, 'DATAPACT_TICK_SECONDS', 60, 0, 86_400, 'a whole number of seconds'),
    noticeSeconds: wholeNumber(env, 'DATAPACT_NOTICE_SECONDS', 15, 1, 86_400, 'a whole number of seconds'),
    trustedProxies: trustedProxies(env.DATAPACT_TRUSTED_PROXIES),
    timeouts: timeouts(env),
    ...witnessing(env),
    controller: controller(env, production),
    chromium: given(env, 'DATAPACT_CHROMIUM') ?? DEFAULT_CHROMIUM,
  };
}

/**
 * DATAPACT_CONTROLLER_NAME and DATAPACT_CONTROLLER_COUNTRY: the platform as the records of
 * processing name it. Production must state both (a made-up controller would make every record
 * wrong); development uses the demo world's.
 */
function controller(env: Env, production: boolean): Controller {
  const name = given(env, 'DATAPACT_CONTROLLER_NAME');
  const country = given(env, 'DATAPACT_CONTROLLER_COUNTRY');
  if (name === undefined && country === undefined && !production) return DEMO_CONTROLLER;
  if (name === undefined || country === undefined) {
    throw new Error('DATAPACT_CONTROLLER_NAME and DATAPACT_CONTROLLER_COUNTRY must both be set' +
      `${production ? ' in production' : ''}: the platform's legal name and its country (ISO 3166-1 alpha-2), as the records of processing name them.`);
  }
  if (!isCountryCode(country)) throw new Error(`DATAPACT_CONTROLLER_COUNTRY must be an ISO 3166-1 alpha-2 code such as IE, got '${country}'.`);
  if (name.length > 200) throw new Error('DATAPACT_CONTROLLER_NAME must be at most 200 characters.');
  return { name, country };
}
