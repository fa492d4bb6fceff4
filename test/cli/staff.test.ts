import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../../src/cli/open-store.js';
import { buildApp } from '../../src/http/app.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-staff-'));
after(() => rmSync(folder, { recursive: true, force: true }));
const database = join(folder, 'staff.db');

function datapact(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('datapact staff', () => {
  test('add makes the first admin, with a generated password printed once, who can log in to the admin API', async () => {
    const added = datapact('staff', 'add', '--email', 'First.Admin@Platform.example', '--name', 'First Admin', '--role', 'admin', '--database', database);
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /Created staff account st_[a-z0-9]{16} for first\.admin@platform\.example \(admin\)/);
    const password = added.stdout.trim();
    assert.match(password, /^[A-Za-z0-9_-]{24}$/, 'stdout is the password alone');

    const store = await openStore(database);
    const app = await buildApp({ store });
    try {
      const login = await app.inject({ method: 'POST', url: '/admin/v1/login', payload: { email: 'first.admin@platform.example', password } });
      assert.equal(login.statusCode, 200);
      const me = await app.inject({ url: '/admin/v1/me', headers: { authorization: `Bearer ${login.json().token}` } });
      assert.deepEqual(me.json().roles, ['admin']);
      const [entry] = await store.audit.staffActions('system');
      assert.equal(entry?.action, 'staff.create');
      assert.equal((entry?.detail as { via: string }).via, 'cli');
      assert.ok(!JSON.stringify(entry).includes(password));
    } finally {
      await app.close();
      await store.db.destroy();
    }
  });

  test('add with a password and several roles prints no password; list shows every account', () => {
    const added = datapact('staff', 'add', '--email', 'pm@platform.example', '--name', 'Pat Manager', '--role', 'partnerships_manager',
      '--role', 'viewer,privacy_officer', '--password', 'chosen password 1', '--database', database);
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stdout, '');
    const list = datapact('staff', 'list', '--database', database);
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0]!, /^EMAIL\s+NAME\s+ROLES\s+ID\s+STATUS$/);
    assert.match(list.stdout, /first\.admin@platform\.example\s+First Admin\s+admin\s+st_\w+\s+active/);
    assert.match(list.stdout, /pm@platform\.example\s+Pat Manager\s+partnerships_manager,viewer,privacy_officer\s+st_\w+\s+active/);
    assert.doesNotMatch(list.stdout, /scrypt|chosen password/);
  });

  test('bad arguments are refused with a clear message, and nothing is written', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--email', 'x@platform.example', '--name', 'X', '--role', 'superuser'], /not a staff role: superuser/],
      [['--email', 'not-an-email', '--name', 'X', '--role', 'admin'], /not an email address/],
      [['--email', 'x@platform.example', '--name', 'X', '--role', 'admin', '--password', 'short'], /at least 12 characters/],
      [['--email', 'PM@platform.example', '--name', 'X', '--role', 'admin'], /already a staff account for pm@platform\.example/],
      [['--email', 'x@platform.example', '--name', 'X'], /required option '--role <role>'/],
    ];
    for (const [args, message] of cases) {
      const result = datapact('staff', 'add', ...args, '--database', database);
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
    assert.equal(datapact('staff', 'list', '--database', database).stdout.trim().split('\n').length, 3);
  });

  test('list on a new database says how to make the first admin', () => {
    assert.equal(datapact('migrate', '--database', join(folder, 'empty.db')).status, 0);
    const empty = datapact('staff', 'list', '--database', join(folder, 'empty.db'));
    assert.equal(empty.status, 0, empty.stderr);
    assert.match(empty.stderr, /datapact staff add --email … --name … --role admin/);
  });
});
