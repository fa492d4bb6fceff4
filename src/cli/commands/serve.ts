import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadOrCreateSecret } from '../../store/secret-files.js';
import { startNoticeDispatcher } from '../../notices/webhook-dispatcher.js';
import { loadConfig, type Config } from '../../config.js';
import { findDemoCredentials, refusalMessage } from '../../seed/demo-credentials.js';
import { DEMO_MEMBER_ID, DEMO_PASSWORD, seedDemoWorld } from '../../seed/demo-world.js';
import { describeLocation } from '../../store/database.js';
import { whileHoldingLock } from '../../store/session-lock.js';
import type { Store } from '../../store/store.js';
import { startScheduler } from '../../scheduler/scheduler.js';
import { openStore } from '../open-store.js';
import { WalCheckpointing } from '../../store/wal-checkpointing.js';
import { withProgressBar } from '../progress-bar.js';

/**
 * The server's log: Fastify's own logger (pino, which Fastify brings) at `level`. Requests are logged by method, URL,
 * host and addresses only: never a body (login passwords, tokens sent to the token endpoint) and never these headers.
 */
export function serverLogger(level: string) {
  return { level, redact: ['req.headers.authorization', 'req.headers.cookie'] };
}

/** An arbitrary constant naming the demo seed's advisory lock ("dpseed" in ASCII). */
const DEMO_SEED_LOCK_KEY = 0x64_70_73_65_65_64;

/**
 * Servers starting together on an empty database: one seeds, the others wait for it and find the
 * world there. Never in production (Config.seedDemo is false there).
 */
async function seedOnFirstStart(store: Store, config: Config): Promise<boolean> {
  if (!config.seedDemo || config.environment === 'production') return false;
  return whileHoldingLock(store.db, DEMO_SEED_LOCK_KEY, async () => {
    if ((await store.members.count()) > 0) return false;
    console.error('First start: seeding the demo world (2,000 members, the partners of the 2018 record)...');
    await withProgressBar('Demo world', (onProgress) => seedDemoWorld(store, { now: Date.now(), onProgress }));
    return true;
  });
}

/** Production starts only on a database free of the demo world's published credentials (PRODUCT.md §7). */
async function refuseDemoCredentialsInProduction(store: Store, config: Config): Promise<void> {
  if (config.environment !== 'production') return;
  const found = await findDemoCredentials(store);
  if (found.length > 0) throw new Error(refusalMessage(found));
}

function printProductionWelcome(url: string, config: Config): void {
  console.error(`
Datapact is running on ${url} (public URL ${config.publicUrl}, production)
  Graph API ${config.publicUrl}/v1   OAuth issuer ${config.publicUrl}/oauth   Admin API ${config.publicUrl}/admin/v1
  Database  ${describeLocation(config.database)}
`);
}

function printWelcome(url: string, config: Config, seeded: boolean): void {
  if (config.environment === 'production') return printProductionWelcome(url, config);
  console.error(`
Datapact is running on ${url} (public URL ${config.publicUrl})
  Graph API        ${config.publicUrl}/v1/me
  OAuth issuer     ${config.publicUrl}/oauth   (discovery: ${config.publicUrl}/oauth/.well-known/openid-configuration)
  Privacy center   ${config.publicUrl}/privacy   (demo login: ${DEMO_MEMBER_ID} / ${DEMO_PASSWORD})
  Admin API        ${config.publicUrl}/admin/v1   (demo staff: admin@datapact.example / ${DEMO_PASSWORD}; README, "Admin API for staff")
  API docs         ${config.publicUrl}/docs
  Audit log        ${config.publicUrl}/v1/audit/tree-head   (public key: /v1/audit/public-key; check it all: npx datapact audit verify)
  Database         ${describeLocation(config.database)}${seeded ? ' (demo world seeded now)' : ''}

Partners get tokens through OAuth (README, "OAuth for partners"). For a quick try, a DEVELOPMENT ONLY
token that skips the consent screen (refused when DATAPACT_ENV=production):
  TOKEN=$(npx datapact tokens issue --member ${DEMO_MEMBER_ID} --app app_blackberry \\
      --purpose device_experience --fields id,name,birthday,friends --friend-fields name,birthday,religion)
  curl -s -H "Authorization: Bearer $TOKEN" '${config.publicUrl}/v1/me/friends?fields=name,birthday,religion&limit=3'
`);
}

/** `datapact serve`: migrate, seed the demo world on first start, and serve the API. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the Datapact server (migrates the database; seeds the demo world on first start, except in production, '
      + 'where it refuses to start while demo credentials exist)')
    .option('--port <port>', 'port to listen on (default: PORT or 8080)')
    .option('--host <host>', 'address to listen on (default: HOST or 127.0.0.1)')
    .action(async (options) => {
      const config = loadConfig({ ...process.env, ...(options.port ? { PORT: options.port } : {}), ...(options.host ? { HOST: options.host } : {}) });
      const store = await openStore(config.database, 'create', { checkIntegrity: true });
      let seeded: boolean;
      try {
        seeded = await seedOnFirstStart(store, config);
        await refuseDemoCredentialsInProduction(store, config);
      } catch (error) {
        await store.db.destroy();
        throw error;
      }
      // Loaded here, so that the other commands do not load the HTTP stack (and oidc-provider with it).
      const { buildApp } = await import('../../http/app.js');
      const app = await buildApp({
        store,
        logger: serverLogger(config.logLevel),
        environment: config.environment,
        publicUrl: config.publicUrl,
        logOrigin: config.logOrigin,
        dataDir: config.dataDir,
        trustedProxies: config.trustedProxies,
        timeouts: config.timeouts,
        witnesses: config.witnesses,
        witnessQuorum: config.witnessQuorum,
        controller: config.controller,
        chromium: config.chromium,
        cookieSecret: loadOrCreateSecret(join(config.dataDir, 'secrets', 'cookie-secret'), () => randomBytes(32).toString('base64url')),
      });
      // Notices to partners' webhooks (README, "Notices to partners"): every DATAPACT_NOTICE_SECONDS.
      const stopNotices = startNoticeDispatcher({
        store, intervalSeconds: config.noticeSeconds, allowLoopback: config.environment !== 'production', onError: (error) => app.log.error({ err: error }, 'notice dispatch failed'),
      });
      // The WAL copied into the database file off the request thread (README, "Scaling out"); SQLite files only.
      const checkpointing = WalCheckpointing.start(store.db, config.database, { onError: (error) => app.log.warn({ err: error }, 'WAL checkpointing stopped') });
      app.addHook('onClose', async () => checkpointing?.stop());
      // What time does (README, "Agreement lifecycle"): applied every DATAPACT_TICK_SECONDS, as `datapact tick` does once.
      const scheduler = startScheduler({ db: store.db, database: config.database, clock: Date.now, intervalSeconds: config.tickSeconds, log: app.log });
      app.addHook('onClose', async () => scheduler.stop());
      // Each new checkpoint to the witnesses (README, "Checkpoints and witnesses"): looked for every second, failures backed off.
      app.witnessing.start(1000, (error) => app.log.warn({ err: error }, 'a witness did not cosign the latest checkpoint'));
      const close = async () => {
        await scheduler.stop();
        await stopNotices();
        await app.close();
        await store.close();
        process.exit(0);
      };
      process.once('SIGINT', close);
      process.once('SIGTERM', close);
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      printWelcome(`http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`, config, seeded);
    });
}
