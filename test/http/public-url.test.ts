import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { build } from '../helpers/build.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DISCOVERY = '/oauth/.well-known/openid-configuration';

/** Every absolute URL in a JSON document, wherever it is. */
function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(urlsIn);
  return [];
}

describe('endpoint URLs come from DATAPACT_PUBLIC_URL, never from request headers', () => {
  const deployments = [
    { publicUrl: 'http://localhost:8080', proxy: {} },
    { publicUrl: 'https://datapact.example', proxy: { 'x-forwarded-proto': 'https' } },
  ];
  for (const { publicUrl, proxy } of deployments) {
    test(`${publicUrl}: a spoofed Host or X-Forwarded-Host does not move the issuer or any endpoint`, async (t) => {
      const { app } = await build(t, NOW, { publicUrl });
      const spoofs = [{ host: 'evil.example' }, { 'x-forwarded-host': 'evil.example' }, { host: 'evil.example', 'x-forwarded-host': 'evil.example:444' }];
      for (const spoof of spoofs) {
        const response = await app.inject({ url: DISCOVERY, headers: { ...proxy, ...spoof } });
        assert.equal(response.statusCode, 200, JSON.stringify(spoof));
        const discovery = response.json();
        assert.equal(discovery.issuer, `${publicUrl}/oauth`);
        const urls = urlsIn(discovery);
        assert.ok(urls.length >= 6, `discovery lists its endpoints: ${urls.join(' ')}`);
        for (const url of urls) assert.ok(url.startsWith(`${publicUrl}/`), `${url} (sent ${JSON.stringify(spoof)})`);
      }
    });
  }
});

describe('an https deployment reached without its TLS proxy', () => {
  test('answers a clear 421 https_required naming the public URL, not a 500; /health still answers', async (t) => {
    const { app } = await build(t, NOW, { publicUrl: 'https://datapact.example', environment: 'production' });
    const paths = [
      DISCOVERY,
      '/oauth/authorize?client_id=app_x&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_challenge=x&code_challenge_method=S256',
      '/privacy/login',
      '/v1/me',
    ];
    for (const url of paths) {
      for (const headers of [{}, { 'x-forwarded-proto': 'http' }]) {
        const response = await app.inject({ url, headers });
        assert.equal(response.statusCode, 421, `${url} ${JSON.stringify(headers)}`);
        const { error } = response.json();
        assert.equal(error.code, 'https_required');
        assert.match(error.message, /https:\/\/datapact\.example only.*X-Forwarded-Proto/);
        assert.equal(typeof error.request_id, 'string');
      }
    }
    assert.equal((await app.inject({ url: '/health' })).statusCode, 200);
    const throughProxy = await app.inject({ url: DISCOVERY, headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(throughProxy.statusCode, 200);
  });
});
