import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/cli/open-store.js';
import { addDays } from '../../src/domain/time.js';
import { buildApp } from '../../src/http/app.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-simulate-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const NOW = Date.parse('2026-06-01T00:00:00Z');
const database = join(folder, 'world.db');

function datapact(...args: string[]) {
  return datapactAsIs(...args, '--now', new Date(NOW).toISOString());
}

function datapactAsIs(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args, '--database', database], {
    encoding: 'utf8',
    env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: folder },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('datapact simulate and datapact audit replay', () => {
  before(async () => {
    // A member of a device partner's app read themself and two friends, a day ago.
    const store = await openStore(database);
    let now = addDays(NOW, -1);
    const app = await buildApp({ store, clock: () => now, dataDir: folder });
    try {
      const { appId, agreementId } = await addPartner(store, 'acme', { agreement: { friendFields: ['id', 'name', 'birthday'] } }, addDays(NOW, -2));
      await addMembers(store, [{ id: 'm_1' }, { id: 'm_f1', shareViaFriends: true }, { id: 'm_f2', shareViaFriends: true }], NOW);
      await addFriendships(store, [['m_1', 'm_f1'], ['m_1', 'm_f2']], NOW);
      const { token } = await grantToken(store, { memberId: 'm_1', appId, agreementId, memberFields: ['id', 'name', 'friends'], friendFields: ['id', 'name', 'birthday'] }, now);
      const friends = await app.inject({ method: 'GET', url: '/v1/me/friends?fields=name,birthday', headers: { authorization: `Bearer ${token}` } });
      assert.equal(friends.statusCode, 200);
      now = NOW;
    } finally {
      await app.close();
      await store.close();
    }
  });

  test('simulate: the releases a removed friend field would have withheld, as JSON', () => {
    const run = datapact('simulate', '--agreement', 'agr_acme', '--set', 'friend_fields=id,name', '--format', 'json');
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual([result.requests, result.proposal, result.fields.map((f: { field: string; released_less: number }) => [f.field, f.released_less])],
      [1, { friend_fields: ['id', 'name'] }, [['birthday', 2]]]);
  });

  test('audit seal: the request packed into a replay segment, which the same simulation then reads', () => {
    const sealed = datapactAsIs('audit', 'seal');
    assert.equal(sealed.status, 0, sealed.stderr);
    assert.match(sealed.stdout, /^Sealed 1 request\(s\), 2 subject\(s\), in 1 segment\(s\)\.$/m);
    assert.match(datapactAsIs('audit', 'seal').stdout, /^Sealed 0 request\(s\)/m, 'nothing sealed twice');
    const run = datapact('simulate', '--agreement', 'agr_acme', '--set', 'friend_fields=id,name', '--format', 'json');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).fields.map((f: { field: string; released_less: number }) => [f.field, f.released_less]), [['birthday', 2]]);
  });

  test('audit replay: a version whose recorded terms no longer produce the log is a difference of the rules, exit 1', async () => {
    // As if the rules had changed: the recorded version now leaves birthday out of the friend fields.
    const store = await openStore(database, 'existing');
    try {
      const row = await store.db.selectFrom('agreement_history').select('snapshot').where('agreement_id', '=', 'agr_acme').executeTakeFirstOrThrow();
      const snapshot = { ...JSON.parse(row.snapshot), friend_fields: JSON.stringify(['id', 'name']) };
      await store.db.updateTable('agreement_history').set({ snapshot: JSON.stringify(snapshot) }).where('agreement_id', '=', 'agr_acme').execute();
    } finally {
      await store.close();
    }
    const run = datapact('audit', 'replay');
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /Differences the rules make: 1; explained by members' settings changed since: 0/);
    assert.match(run.stdout, /\[rules\] m_f1 \(friend\): less birthday \| m_f2 \(friend\): less birthday/);
  });
});
