import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/cli/open-store.js';

test('tokens issue says it is for development only and refused in production', () => {
  const result = spawnSync(process.execPath, ['bin/datapact.js', 'tokens', 'issue', '--help'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const help = result.stdout.replace(/\s+/g, ' ');
  assert.match(help, /DEVELOPMENT ONLY/);
  assert.match(help, /refuses these tokens when the server runs with DATAPACT_ENV=production/);
  assert.match(help, /partners get tokens through OAuth/);
});

describe('tokens issue warns when the rules at the door would refuse the grant', () => {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-tokens-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const database = join(folder, 'world.db');
  const env = { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder, DATAPACT_ENV: 'development' };
  const datapact = (...args: string[]) => spawnSync(process.execPath, ['bin/datapact.js', ...args], { encoding: 'utf8', env });
  let member = '';

  before(async () => {
    const seeded = datapact('seed', '--members', '20', '--avg-friends', '2', '--seed', '3', '--database', database);
    assert.equal(seeded.status, 0, seeded.stderr);
    const store = await openStore(database);
    member = (await store.db.selectFrom('members').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow()).id;
    await store.db.destroy();
  });

  const issue = (app: string, purpose: string, fields: string, ...more: string[]) =>
    datapact('tokens', 'issue', '--member', member, '--app', app, '--purpose', purpose, '--fields', fields, '--database', database, ...more);

  test('outside the agreement (none, another purpose, other fields, friend fields for a third-party app): a warning naming why', () => {
    const cases: Array<[ReturnType<typeof issue>, RegExp]> = [
      [issue('app_zte', 'device_experience', 'id,name'), /app_zte has no agreement in effect \(no_agreement\)/],
      [issue('app_oppo', 'device_experience', 'id,name'), /app_oppo has no agreement in effect \(expired\)/],
      [issue('app_lenovo', 'messaging', 'id,name'), /purpose 'messaging' is not one of the agreement's purposes \(device_experience, contacts_sync\)/],
      [issue('app_lenovo', 'device_experience', 'id,name,religion'), /religion is outside the agreement's member fields/],
      [issue('app_pixelharbour', 'login', 'id,name', '--friend-fields', 'name'), /a third-party app cannot ask for fields about friends \(friends\.name\)/],
    ];
    for (const [result, why] of cases) {
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /Warning: the rules would refuse this grant through OAuth: /);
      assert.match(result.stderr, why);
      assert.match(result.stdout.trim(), /^\S+$/, 'the token is made all the same');
    }
  });

  test('within the agreement in force: no warning', () => {
    const result = issue('app_lenovo', 'device_experience', 'id,name,birthday,friends', '--friend-fields', 'name,birthday');
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Warning/);
  });

  test('with DATAPACT_ENV=production: refused, nothing made', () => {
    const result = spawnSync(process.execPath, ['bin/datapact.js', 'tokens', 'issue', '--member', member, '--app', 'app_lenovo',
      '--purpose', 'device_experience', '--fields', 'id', '--database', database], {
      encoding: 'utf8', env: {
        ...env, DATAPACT_ENV: 'production', DATAPACT_PUBLIC_URL: 'https://datapact.example',
        DATAPACT_CONTROLLER_NAME: 'Example Social Ltd', DATAPACT_CONTROLLER_COUNTRY: 'IE',
      },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /tokens issue is for development only: .* refused with DATAPACT_ENV=production/);
    assert.equal(result.stdout, '');
  });
});
