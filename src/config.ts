import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseWitnessList, parseWitnessQuorum, type WitnessEndpoint } from './audit/checkpoint-witnessing.js';
import { isPostgresUrl } from './store/database.js';

/** Settings read from the environment; each has a default that runs the demo on one machine. */
export type Environment = 'development' | 'production';

export interface Config {
  /** `production` refuses development tokens and marks cookies `Secure`. */
  readonly environment: Environment;
  /** The public base URL: the OAuth issuer is `${publicUrl}/oauth`. */
  readonly publicUrl: string;
  readonly dataDir: string;
  /** Where the data lives: DATAPACT_DATABASE_URL (PostgreSQL) when set, else `databasePath`. What `openStore` takes. */
  readonly database: string;
  /** The SQLite file (DATAPACT_DATABASE), used when no DATAPACT_DATABASE_URL is set. */
  readonly databasePath: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly seedDemo: boolean;
  /** Seconds between the scheduler's runs in `serve` (DATAPACT_TICK_SECONDS); 0 turns it off. */
  readonly tickSeconds: number;
  /** DATAPACT_TRUSTED_PROXIES: the load balancers whose X-Forwarded-For names the client (AppOptions.trustedProxies). */
  readonly trustedProxies: readonly string[];
  /** DATAPACT_WITNESSES: the witnesses asked to cosign each checkpoint (`<url> <verifier key>`, comma-separated). */
  readonly witnesses: readonly WitnessEndpoint[];
  /** DATAPACT_WITNESS_QUORUM: cosignatures a head needs before it is not flagged; default all the witnesses. */
  readonly witnessQuorum: number;
}

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name} must be a port number, got '${value}'.`);
  return parsed;
}

function tickSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return 60;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 86_400) throw new Error(`DATAPACT_TICK_SECONDS must be a whole number of seconds from 0 to 86400, got '${value}'.`);
  return parsed;
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

function witnessing(env: NodeJS.ProcessEnv): Pick<Config, 'witnesses' | 'witnessQuorum'> {
  const witnesses = parseWitnessList(env.DATAPACT_WITNESSES);
  return { witnesses, witnessQuorum: parseWitnessQuorum(env.DATAPACT_WITNESS_QUORUM, witnesses.length) };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DATAPACT_DATA_DIR ?? './data');
  const databasePath = env.DATAPACT_DATABASE ? resolve(env.DATAPACT_DATABASE) : join(dataDir, 'datapact.db');
  const port = integer('PORT', env.PORT, 8080);
  const environment = (env.DATAPACT_ENV ?? env.NODE_ENV) === 'production' ? 'production' : 'development';
  return {
    environment,
    publicUrl: (env.DATAPACT_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    dataDir,
    database: databaseUrl(env.DATAPACT_DATABASE_URL) ?? databasePath,
    databasePath,
    host: env.HOST ?? '127.0.0.1',
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    seedDemo: env.DATAPACT_SEED_DEMO !== 'false',
    tickSeconds: tickSeconds(env.DATAPACT_TICK_SECONDS),
    trustedProxies: trustedProxies(env.DATAPACT_TRUSTED_PROXIES),
    ...witnessing(env),
  };
}
