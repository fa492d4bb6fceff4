import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../../src/cli/open-store.js';
import { DatapactError } from '../../src/domain/errors.js';
import { addDays } from '../../src/domain/time.js';
import { describeApplied, runDueTransitions, startScheduler } from '../../src/scheduler/scheduler.js';
import { AgreementLifecycleRepository } from '../../src/store/agreement-lifecycle-repository.js';
import { build } from '../helpers/build.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

async function world(t: Parameters<typeof build>[0], agreement: Parameters<typeof addPartner>[2]['agreement'] = {}) {
  const built = await build(t, NOW);
  const partner = await addPartner(built.store, 'acme', { agreement }, NOW);
  const repository = new AgreementLifecycleRepository(built.store.db);
  const load = async () => (await repository.load(partner.agreementId))!;
  return { ...built, ...partner, repository, load };
}

describe('runDueTransitions', () => {
  test('nothing before its date; a lapsed certification suspends once, as the system, with a reason', async (t) => {
    const w = await world(t, { certificationDueAt: addDays(NOW, 100) });
    assert.deepEqual(await runDueTransitions(w.store.db, addDays(NOW, 160) - 1), []);
    const applied = await runDueTransitions(w.store.db, addDays(NOW, 160), { tickId: 'tick_test' });
    assert.equal(applied.length, 1);
    assert.equal(describeApplied(applied[0]!), 'agr_acme v2 lapse_certification (active → suspended): certification was due 2026-09-09; 60 days overdue');
    assert.deepEqual(await runDueTransitions(w.store.db, addDays(NOW, 161)), [], 'idempotent');
    const loaded = await w.load();
    assert.deepEqual([loaded.agreement.status, loaded.agreement.statusReason, loaded.agreement.version], ['suspended', 'certification_overdue', 2]);
    const [, entry] = await w.repository.history('agr_acme');
    assert.deepEqual([entry!.actor, entry!.action, entry!.diff], ['system', 'lapse_certification', 'status: active → suspended; reason: certification_overdue']);
    const audit = await w.store.audit.byRequest('tick_test');
    assert.deepEqual(audit.map((e) => [e.outcome, e.actor, e.action, e.agreementVersion]), [['staff_action', 'system', 'agreement.lapse_certification', 2]]);
    const notices = await w.store.db.selectFrom('notices').select(['type', 'partner_id']).execute();
    assert.deepEqual(notices, [{ type: 'agreement.suspended', partner_id: 'p_acme' }]);
  });

  test('the end date expires into a wind-down ending at once; 30 days later without attestation, deletion_unconfirmed', async (t) => {
    const endsAt = addDays(NOW, 50);
    const w = await world(t, { endsAt, certificationDueAt: addDays(NOW, 300) });
    const applied = await runDueTransitions(w.store.db, endsAt);
    assert.deepEqual(applied.map((c) => [c.action, c.to]), [
      ['expire', 'winding_down'], ['phase_reached:no_new_grants', 'winding_down'], ['phase_reached:no_friend_data', 'winding_down'],
      ['phase_reached:access_ended', 'winding_down'],
    ]);
    assert.match(applied[0]!.reason, /the end date 2026-07-21 has passed/);
    assert.deepEqual((await w.load()).agreement.windDown, { noNewGrants: endsAt, noFriendData: endsAt, accessEnded: endsAt });
    assert.deepEqual(await runDueTransitions(w.store.db, addDays(endsAt, 29)), []);
    assert.deepEqual((await runDueTransitions(w.store.db, addDays(endsAt, 30))).map((c) => c.action), ['flag_deletion_unconfirmed']);
    assert.deepEqual(await runDueTransitions(w.store.db, addDays(endsAt, 90)), []);
    const loaded = await w.load();
    assert.equal(loaded.columns.deletionUnconfirmed, true);
    assert.equal(loaded.agreement.version, 6);
    assert.deepEqual((await w.repository.history('agr_acme')).map((h) => h.version), [1, 2, 3, 4, 5, 6]);
  });

  test('a late scheduler catches up in order: 7-day notice only, when it first runs 5 days before a phase', async (t) => {
    const plan = { noNewGrants: addDays(NOW, 5), noFriendData: addDays(NOW, 40), accessEnded: addDays(NOW, 80) };
    const w = await world(t, { status: 'winding_down', windDown: plan });
    assert.deepEqual((await runDueTransitions(w.store.db, NOW)).map((c) => c.action), ['phase_upcoming:no_new_grants:7d']);
    assert.deepEqual((await runDueTransitions(w.store.db, addDays(NOW, 10))).map((c) => c.action),
      ['phase_reached:no_new_grants', 'phase_upcoming:no_friend_data:30d']);
    assert.deepEqual((await runDueTransitions(w.store.db, addDays(NOW, 10))), []);
    const upcoming = await w.store.db.selectFrom('notices').select(['type', 'dedupe_key']).where('type', '=', 'wind_down.phase_upcoming').execute();
    assert.equal(upcoming.length, 2);
  });

  test('two runs at once apply each transition once; a stale version is refused with concurrent_change', async (t) => {
    const w = await world(t, { certificationDueAt: addDays(NOW, 100) });
    const at = addDays(NOW, 170);
    const [a, b] = await Promise.all([runDueTransitions(w.store.db, at), runDueTransitions(w.store.db, at)]);
    assert.equal(a.length + b.length, 1);
    assert.equal((await w.repository.history('agr_acme')).length, 2);

    const stale = await w.load();
    await w.store.db.transaction().execute(async (trx) => {
      await new AgreementLifecycleRepository(trx).saveVersion(stale, stale, { actor: 'system', action: 'noop', reason: null, at, diff: '' });
    });
    await assert.rejects(
      w.store.db.transaction().execute((trx) => new AgreementLifecycleRepository(trx).saveVersion(stale, stale, { actor: 'system', action: 'noop', reason: null, at })),
      (e: DatapactError) => e.status === 409 && e.code === 'concurrent_change',
    );
    assert.equal((await w.repository.history('agr_acme')).length, 3);
  });

  test('startScheduler runs at once and stops cleanly; interval 0 is off', async (t) => {
    const w = await world(t, { certificationDueAt: addDays(NOW, -100) });
    const lines: string[] = [];
    const off = startScheduler({ db: w.store.db, clock: () => NOW, intervalSeconds: 0 });
    await off.stop();
    assert.equal((await w.load()).agreement.status, 'active');
    const scheduler = startScheduler({
      db: w.store.db, clock: () => NOW, intervalSeconds: 3600,
      log: { info: (_o, message) => lines.push(message), error: (_o, message) => lines.push(`error: ${message}`) },
    });
    await scheduler.stop();
    assert.equal((await w.load()).agreement.status, 'suspended');
    assert.deepEqual(lines, ['agr_acme v2 lapse_certification (active → suspended): certification was due 2026-02-21; 60 days overdue']);
  });

  test('a run seals the logged requests into replay segments (here from the first one) and keeps the world changes of the last versions (here one)', async (t) => {
    const w = await world(t);
    await addMembers(w.store, [{ id: 'm_1' }], NOW);
    const { token } = await grantToken(w.store, { memberId: 'm_1', appId: w.appId, agreementId: w.agreementId, memberFields: ['id', 'name'] }, NOW);
    assert.equal((await w.app.inject({ method: 'GET', url: '/v1/me?fields=name', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    const lines: string[] = [];
    const scheduler = startScheduler({
      db: w.store.db, clock: () => NOW, intervalSeconds: 3600, sealing: { minRequests: 1 }, worldChangesKept: 1,
      log: { info: (_o, message) => lines.push(message), error: (_o, message) => lines.push(`error: ${message}`) },
    });
    await scheduler.stop();
    assert.deepEqual(lines.filter((line) => !line.startsWith('the 2018 reach')), ['1 logged request(s) sealed into 1 replay segment(s)']);
    const segments = await w.store.db.selectFrom('replay_segments').select(['agreement_id', 'requests', 'subjects']).execute();
    assert.deepEqual(segments, [{ agreement_id: 'agr_acme', requests: 1, subjects: 1 }]);
    const { version } = await w.store.db.selectFrom('world_version').select('version').executeTakeFirstOrThrow();
    const journal = await w.store.db.selectFrom('world_changes').select('version').distinct().execute();
    assert.ok(Number(version) > 2, `world version ${version}`);
    assert.deepEqual(journal.map((row) => Number(row.version)), [Number(version)], 'the last version\'s changes only');
  });
});

describe('datapact tick', () => {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-tick-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const datapact = (...args: string[]) => spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    encoding: 'utf8', env: { ...process.env, DATAPACT_DATA_DIR: folder },
  });

  test('applies once what is due at --now and prints it; a second run finds nothing', async () => {
    const database = join(folder, 'tick.db');
    const store = await openStore(database);
    await addPartner(store, 'acme', { agreement: { endsAt: addDays(NOW, 10), certificationDueAt: addDays(NOW, 100) } }, NOW);
    await store.db.destroy();
    const first = datapact('tick', '--now', '2026-06-11T00:00:00Z', '--database', database);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.split('\n')[0], 'agr_acme v2 expire (active → winding_down): the end date 2026-06-11 has passed');
    assert.match(first.stderr, /Applied 4 change\(s\) at 2026-06-11T00:00:00.000Z/);
    const second = datapact('tick', '--now', '2026-06-11T00:00:00Z', '--database', database);
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /Nothing was due/);
    const bad = datapact('tick', '--now', 'next tuesday', '--database', database);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ISO 8601/);
  });
});
