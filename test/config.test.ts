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
