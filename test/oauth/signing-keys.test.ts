import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { loadCookieKeys, loadSigningKeys } from '../../src/oauth/signing-keys.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { createStore } from '../../src/store/store.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-keys-'));
after(() => rmSync(folder, { recursive: true, force: true }));

describe('signing keys', () => {
  test('generated on first start, kept in the data directory (0600), the same on the next start', () => {
    const first = loadSigningKeys(folder);
    assert.equal(first.keys.length, 1);
    assert.equal(first.keys[0]!.kty, 'EC');
    assert.ok(first.keys[0]!.d, 'a private key');
    const file = join(folder, 'secrets', 'oauth-jwks.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadSigningKeys(folder), first);
    assert.deepEqual(loadCookieKeys(folder), loadCookieKeys(folder));
  });

  test('without a data directory, fresh keys each time; the JWKS endpoint publishes only the public part', async () => {
    assert.notDeepEqual(loadSigningKeys(undefined), loadSigningKeys(undefined));
    const db = openSqlite(':memory:');
    await migrateToLatest(db);
    const app = await buildApp({ store: createStore(db), dataDir: folder });
    try {
      const response = await app.inject({ url: '/oauth/jwks' });
      assert.equal(response.statusCode, 200);
      const [key] = response.json().keys;
      const kept = loadSigningKeys(folder).keys[0]!;
      assert.equal(key.kid, kept.kid);
      assert.equal(key.x, kept.x);
      assert.equal(key.d, undefined, 'no private part');
    } finally {
      await app.close();
      await db.destroy();
    }
  });
});
