import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config.js';

test('DATAPACT_TRUSTED_PROXIES: addresses, CIDR ranges and keywords, comma separated; anything else refused by name', () => {
  assert.deepEqual(loadConfig({}).trustedProxies, []);
  assert.deepEqual(loadConfig({ DATAPACT_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.0.2.1 ,fd00::/8,loopback,' }).trustedProxies,
    ['10.0.0.0/8', '192.0.2.1', 'fd00::/8', 'loopback']);
  for (const bad of ['10.0.0.0/33', 'lb.internal', '10.0.0/8', '::1/129', '10.0.0.1/8/1', '*']) {
    assert.throws(() => loadConfig({ DATAPACT_TRUSTED_PROXIES: bad }), (error: Error) =>
      error.message.startsWith(`DATAPACT_TRUSTED_PROXIES: '${bad}' is not an IP address`), bad);
  }
});

test('defaults: a development server on this machine', () => {
  const config = loadConfig({});
  assert.equal(config.environment, 'development');
  assert.equal(config.publicUrl, 'http://localhost:8080');
  assert.equal(config.port, 8080);
  assert.equal(config.seedDemo, true);
  assert.equal(config.tickSeconds, 60);
  assert.equal(config.noticeSeconds, 15);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.timeouts, { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 72_000, idleMs: 120_000 });
  assert.equal(loadConfig({ PORT: '9000', DATAPACT_PUBLIC_URL: '' }).publicUrl, 'http://localhost:9000');
});

test('every variable is checked strictly: a value not understood is refused, naming the variable', () => {
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: '80a' }, /^PORT must be a port number/],
    [{ PORT: '70000' }, /^PORT must be a port number/],
    [{ DATAPACT_ENV: 'prod' }, /^DATAPACT_ENV must be one of development, production, got 'prod'/],
    [{ DATAPACT_SEED_DEMO: 'no' }, /^DATAPACT_SEED_DEMO must be one of true, false/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ DATAPACT_TICK_SECONDS: '1.5' }, /^DATAPACT_TICK_SECONDS must be a whole number of seconds/],
    [{ DATAPACT_NOTICE_SECONDS: '0' }, /^DATAPACT_NOTICE_SECONDS must be a whole number of seconds from 1/],
    [{ DATAPACT_NOTICE_SECONDS: 'soon' }, /^DATAPACT_NOTICE_SECONDS/],
    [{ DATAPACT_REQUEST_TIMEOUT_SECONDS: '0' }, /^DATAPACT_REQUEST_TIMEOUT_SECONDS must be a whole number of seconds from 1/],
    [{ DATAPACT_HEADERS_TIMEOUT_SECONDS: 'x' }, /^DATAPACT_HEADERS_TIMEOUT_SECONDS/],
    [{ DATAPACT_KEEP_ALIVE_TIMEOUT_SECONDS: '-1' }, /^DATAPACT_KEEP_ALIVE_TIMEOUT_SECONDS/],
    [{ DATAPACT_IDLE_TIMEOUT_SECONDS: '1e3' }, /^DATAPACT_IDLE_TIMEOUT_SECONDS/],
    [{ DATAPACT_HEADERS_TIMEOUT_SECONDS: '40' }, /^DATAPACT_HEADERS_TIMEOUT_SECONDS \(40\) must not be longer than DATAPACT_REQUEST_TIMEOUT_SECONDS \(30\)/],
    [{ DATAPACT_PUBLIC_URL: 'datapact.example' }, /^DATAPACT_PUBLIC_URL must be an http or https origin/],
    [{ DATAPACT_PUBLIC_URL: 'https://datapact.example/api' }, /^DATAPACT_PUBLIC_URL must be an http or https origin/],
    [{ DATAPACT_PUBLIC_URL: 'https://user:pw@datapact.example' }, /^DATAPACT_PUBLIC_URL must be an http or https origin/],
    [{ DATAPACT_PUBLIC_URL: 'ftp://datapact.example' }, /^DATAPACT_PUBLIC_URL must be an http or https origin/],
  ];
  for (const [env, message] of refused) assert.throws(() => loadConfig(env), (error: Error) => message.test(error.message), JSON.stringify(env));
  assert.equal(loadConfig({ DATAPACT_PUBLIC_URL: 'https://Datapact.example:443/' }).publicUrl, 'https://datapact.example');
  assert.equal(loadConfig({ DATAPACT_NOTICE_SECONDS: '2' }).noticeSeconds, 2);
  assert.deepEqual(loadConfig({ DATAPACT_REQUEST_TIMEOUT_SECONDS: '60', DATAPACT_HEADERS_TIMEOUT_SECONDS: '5' }).timeouts,
    { requestMs: 60_000, headersMs: 5_000, keepAliveMs: 72_000, idleMs: 120_000 });
});

test('production: an https public URL is required, and the demo world is never seeded', () => {
  const production = { DATAPACT_ENV: 'production', DATAPACT_PUBLIC_URL: 'https://datapact.example', ...CONTROLLER };
  const config = loadConfig(production);
  assert.equal(config.environment, 'production');
  assert.equal(config.seedDemo, false);
  assert.throws(() => loadConfig({ DATAPACT_ENV: 'production' }), /^Error: DATAPACT_PUBLIC_URL must be set in production/);
  assert.throws(() => loadConfig({ ...production, DATAPACT_PUBLIC_URL: 'http://datapact.example' }), /DATAPACT_PUBLIC_URL must be an https URL in production/);
  assert.throws(() => loadConfig({ ...production, DATAPACT_SEED_DEMO: 'true' }), /DATAPACT_SEED_DEMO=true is refused in production/);
});

const CONTROLLER = { DATAPACT_CONTROLLER_NAME: 'Example Social Ltd', DATAPACT_CONTROLLER_COUNTRY: 'DE' };

test('the controller the records of processing name: stated in production, the demo world\'s in development', () => {
  assert.deepEqual(loadConfig({}).controller, { name: 'Demo Social Network Ltd', country: 'IE' });
  assert.deepEqual(loadConfig(CONTROLLER).controller, { name: 'Example Social Ltd', country: 'DE' });
  const production = { DATAPACT_ENV: 'production', DATAPACT_PUBLIC_URL: 'https://datapact.example' };
  assert.deepEqual(loadConfig({ ...production, ...CONTROLLER }).controller, { name: 'Example Social Ltd', country: 'DE' });
  assert.throws(() => loadConfig(production), /DATAPACT_CONTROLLER_NAME and DATAPACT_CONTROLLER_COUNTRY must both be set in production/);
  assert.throws(() => loadConfig({ DATAPACT_CONTROLLER_NAME: 'Example Social Ltd' }), /must both be set: /);
  assert.throws(() => loadConfig({ ...CONTROLLER, DATAPACT_CONTROLLER_COUNTRY: 'Germany' }), /DATAPACT_CONTROLLER_COUNTRY must be an ISO 3166-1 alpha-2 code such as IE, got 'Germany'/);
});

test('DATAPACT_WITNESSES and DATAPACT_WITNESS_QUORUM: the quorum defaults to every witness, and cannot exceed them', async () => {
  const { Cosigner } = await import('../src/audit/cosignature.js');
  const [a, b] = [Cosigner.generate('a.example/w').verifierKey, Cosigner.generate('b.example/w').verifierKey];
  assert.deepEqual([loadConfig({}).witnesses, loadConfig({}).witnessQuorum], [[], 0]);
  const config = loadConfig({ DATAPACT_WITNESSES: `https://a.example ${a}, https://b.example/ ${b}` });
  assert.deepEqual(config.witnesses, [{ url: 'https://a.example', vkey: a }, { url: 'https://b.example', vkey: b }]);
  assert.equal(config.witnessQuorum, 2);
  assert.equal(loadConfig({ DATAPACT_WITNESSES: `https://a.example ${a}`, DATAPACT_WITNESS_QUORUM: '0' }).witnessQuorum, 0);
  assert.throws(() => loadConfig({ DATAPACT_WITNESSES: `https://a.example ${a}`, DATAPACT_WITNESS_QUORUM: '2' }), /DATAPACT_WITNESS_QUORUM/);
});

test('DATAPACT_LOG_ORIGIN: the public URL\'s host and /audit by default; a schema-less URL without spaces or + when given', () => {
  assert.equal(loadConfig({}).logOrigin, 'localhost:8080/audit');
  assert.equal(loadConfig({ DATAPACT_PUBLIC_URL: 'https://datapact.example' }).logOrigin, 'datapact.example/audit');
  assert.equal(loadConfig({ DATAPACT_PUBLIC_URL: 'https://datapact.example', DATAPACT_LOG_ORIGIN: ' transparency.example/datapact/2026 ' }).logOrigin,
    'transparency.example/datapact/2026');
  for (const [value, message] of [
    ['https://datapact.example/audit', /DATAPACT_LOG_ORIGIN is a URL without its scheme, such as datapact\.example\.com\/audit, got 'https:\/\/datapact\.example\/audit'/],
    ['datapact example', /DATAPACT_LOG_ORIGIN must not contain spaces, '\+' or control characters, got 'datapact example'/],
    ['datapact.example/a+b', /DATAPACT_LOG_ORIGIN must not contain spaces/],
  ] as const) assert.throws(() => loadConfig({ DATAPACT_LOG_ORIGIN: value }), message, value);
});

test('DATAPACT_ENV takes the exact words only, and nothing is inferred from NODE_ENV', () => {
  for (const value of ['Production', 'PRODUCTION', 'prod', 'production1', 'dev', 'Development', 'staging', 'true']) {
    assert.throws(() => loadConfig({ DATAPACT_ENV: value, DATAPACT_PUBLIC_URL: 'https://datapact.example' }),
      (error: Error) => error.message === `DATAPACT_ENV must be one of development, production, got '${value}'.`, value);
  }
  assert.equal(loadConfig({ DATAPACT_ENV: 'development' }).environment, 'development');
  assert.equal(loadConfig({ DATAPACT_ENV: 'production', DATAPACT_PUBLIC_URL: 'https://datapact.example', ...CONTROLLER }).environment, 'production');
  // NODE_ENV is other tools' variable: it neither makes production nor stands in for DATAPACT_ENV.
  assert.equal(loadConfig({ NODE_ENV: 'production' }).environment, 'development');
  assert.equal(loadConfig({ NODE_ENV: 'production', DATAPACT_ENV: 'development' }).environment, 'development');
  assert.equal(loadConfig({ NODE_ENV: 'Production' }).environment, 'development');
});
