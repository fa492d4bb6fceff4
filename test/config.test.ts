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
