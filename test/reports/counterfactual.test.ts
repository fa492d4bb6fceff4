/**
 * The counterfactual report (issue 14 point 2): beside the members Datapact released data on, the
 * members the 2018 rules would have exposed through the same partners' requests (the token
 * members, every friend whatever their settings, every friend of a friend). A small world by
 * hand; then random worlds against a breadth-first count over the entries and today's graph,
 * before the reach is indexed, after, with requests appended between, and with the counts folded.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { prng } from '../../bench/prng.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays } from '../../src/domain/time.js';
import { counterfactualReport, GRAPH_NOTE } from '../../src/reports/counterfactual.js';
import { foldMemberSets } from '../../src/store/member-set-folding.js';
import { findReach, indexReach, reachPieces } from '../../src/store/reach.js';
import { ReachIndexing } from '../../src/store/reach-indexing.js';
import { createStore, type Store } from '../../src/store/store.js';
import { DIALECTS, sqliteFileDatabase, testDatabase, type Dialect } from '../helpers/dialects.js';
import { CountingPlugin } from '../helpers/counting-plugin.js';
import { addFriendships, addMembers, addPartner } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');

function request(partner: string, token: string, at: number, released: readonly string[], id: string): AuditEntry[] {
  const base = {
    at, requestId: id, appId: `app_${partner}`, partnerId: `p_${partner}`, agreementId: `agr_${partner}`, agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: token, purpose: 'device_experience', withheld: {},
  };
  return [
    { ...base, subjectMemberId: null, outcome: 'served', code: null, released: [] },
    ...released.map((subject): AuditEntry => ({
      ...base, subjectMemberId: subject, outcome: 'released', code: subject === token ? null : 'through_friend', released: ['id', 'name'],
    })),
  ];
}

async function world(t: TestContext, dialect: Dialect, members: readonly string[], pairs: ReadonlyArray<readonly [string, string]>): Promise<Store> {
  const store = createStore((await testDatabase(t, dialect)).db);
  await addMembers(store, members.map((id) => ({ id })), NOW);
  await addFriendships(store, pairs, NOW);
  await addPartner(store, 'acme', {}, addDays(NOW, -200));
  await addPartner(store, 'zte', {}, addDays(NOW, -200));
  return store;
}

/** A world on a database another connection can open (the reach worker's): its store and where it is. */
async function sharedWorld(t: TestContext, dialect: Dialect, members: readonly string[], pairs: ReadonlyArray<readonly [string, string]>) {
  const fresh = dialect === 'sqlite' ? await sqliteFileDatabase() : await testDatabase(t, dialect);
  if (dialect === 'sqlite') t.after(() => fresh.drop());
  const store = createStore(fresh.db);
  await addMembers(store, members.map((id) => ({ id })), NOW);
  await addFriendships(store, pairs, NOW);
  await addPartner(store, 'acme', {}, addDays(NOW, -200));
  await addPartner(store, 'zte', {}, addDays(NOW, -200));
  return { store, location: 'path' in fresh ? String(fresh.path) : fresh.url! };
}

/** [partner, tokens, released, reach, friends-of-friends only] per row. */
const rowsOf = async (store: Store, from: string, to: string, partnerId?: string) =>
  (await counterfactualReport(store, { now: NOW, from, to, ...(partnerId === undefined ? {} : { partnerId }) })).data
    .map((row) => [row.partner_id, row.token_members, row.released_members, row.reach_2018, row.reach_2018_friends_of_friends_only]);

/** The rows counted the slow way: the entries' token members per partner, two hops over the pairs. */
function counted(entries: readonly AuditEntry[], pairs: ReadonlyArray<readonly [string, string]>, from: string, to: string) {
  const friends = new Map<string, Set<string>>();
  for (const [a, b] of pairs) {
    friends.set(a, (friends.get(a) ?? new Set()).add(b));
    friends.set(b, (friends.get(b) ?? new Set()).add(a));
  }
  const perPartner = new Map<string, { tokens: Set<string>; released: Set<string> }>();
  for (const e of entries) {
    const month = new Date(e.at).toISOString().slice(0, 7);
    if (month < from || month > to || e.partnerId === null || e.tokenMemberId === null) continue;
    const p = perPartner.get(e.partnerId) ?? perPartner.set(e.partnerId, { tokens: new Set(), released: new Set() }).get(e.partnerId)!;
    p.tokens.add(e.tokenMemberId);
    if (e.outcome === 'released' && e.subjectMemberId !== null) p.released.add(e.subjectMemberId);
  }
  return [...perPartner.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([partner, { tokens, released }]) => {
    const near = new Set([...tokens, ...[...tokens].flatMap((m) => [...(friends.get(m) ?? [])])]);
    const far = new Set([...near].flatMap((m) => [...(friends.get(m) ?? [])]).filter((m) => !near.has(m)));
    return [partner, tokens.size, released.size, near.size + far.size, far.size];
  });
}

for (const dialect of DIALECTS) {
  describe(`the counterfactual report on ${dialect}`, () => {
    test('a small world by hand: hidden friends and friends of friends are what the 2018 rules add', async (t) => {
      // a - b - c - d, a - e; f alone with g. b keeps their data from friends' apps: never released.
      const store = await world(t, dialect, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'e'], ['f', 'g']]);
      const may = Date.parse('2026-05-10T10:00:00Z');
      await store.audit.append(request('acme', 'a', may, ['a', 'e'], 'r1')); // b hidden: not released
      await store.audit.append(request('acme', 'a', may + 1000, ['a'], 'r2')); // the same token member again
      await store.audit.append(request('zte', 'f', NOW, ['g'], 'r3'));
      const report = await counterfactualReport(store, { now: NOW, from: '2026-05', to: '2026-06' });
      assert.equal(report.graph_note, GRAPH_NOTE);
      assert.deepEqual([report.from, report.to, report.partner_id], ['2026-05', '2026-06', null]);
      // acme: token a; released a and e; 2018: a, b, e (friends) and c (b's friend) = 4, of which c only as a friend of a friend.
      assert.deepEqual(await rowsOf(store, '2026-05', '2026-06'), [['p_acme', 1, 2, 4, 1], ['p_zte', 1, 1, 2, 0]]);
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), [['p_zte', 1, 1, 2, 0]], 'June: acme made no request');
      assert.deepEqual(await rowsOf(store, '2026-05', '2026-06', 'p_zte'), [['p_zte', 1, 1, 2, 0]]);
      assert.equal(await indexReach(store.db), 2, 'two token members (a in May for acme, f in June for zte) indexed');
      assert.equal(await indexReach(store.db), 0, 'nothing new: indexed once');
      assert.deepEqual(await rowsOf(store, '2026-05', '2026-06'), [['p_acme', 1, 2, 4, 1], ['p_zte', 1, 1, 2, 0]]);
    });

    test('the audit log leaves a newcomer\'s reach to the scheduler\'s job: the report is exact before and after it runs', async (t) => {
      const pairs = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'e'], ['f', 'g']] as const;
      const store = await world(t, dialect, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], pairs);
      const log = new AuditLog({ db: store.db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(undefined), blinding: loadOrCreateAuditBlinding(undefined) });
      const entries = [...request('acme', 'a', NOW, ['a', 'e'], 'r1'), ...request('zte', 'f', NOW + 1, ['g'], 'r2')];
      await log.append(entries);
      await log.flush();
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted(entries, pairs, '2026-06', '2026-06'), 'not indexed: the report expands them');
      assert.equal(await indexReach(store.db), 2, 'a and f are left for the indexing job');
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted(entries, pairs, '2026-06', '2026-06'));
      await log.close();
    });

    test('appending a newcomer\'s request costs the appender the same with 0 or 300 hidden friends (statements and rows counted)', async (t) => {
      const others = Array.from({ length: 300 }, (_, i) => `h${String(i).padStart(3, '0')}`);
      const appenderWork = async (pairs: ReadonlyArray<readonly [string, string]>) => {
        const store = await world(t, dialect, ['n', ...others], pairs); // friends keep their data from apps (share_via_friends off): hidden
        const counter = new CountingPlugin();
        // No head signed after the first batch: heads come by time, which this test does not depend on.
        const log = new AuditLog({ db: store.db.withPlugin(counter), clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(undefined), blinding: loadOrCreateAuditBlinding(undefined), headIntervalMs: 1e9 });
        await log.append(request('acme', 'n', NOW, ['n'], 'r1'));
        await log.flush();
        await log.close();
        return { statements: counter.statements, rows: counter.rows };
      };
      const alone = await appenderWork([]);
      const hidden = await appenderWork(others.map((other) => ['n', other] as const));
      assert.ok(alone.statements > 0);
      assert.deepEqual(hidden, alone, 'nothing the appender does depends on the newcomer\'s neighbourhood');
    });

    test('the scheduler\'s indexing finds the reach in a worker thread on a connection of its own, and stores it at its next run', async (t) => {
      const pairs = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'e'], ['f', 'g']] as const;
      const { store, location } = await sharedWorld(t, dialect, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], pairs);
      const entries = [...request('acme', 'a', NOW, ['a', 'e'], 'r1'), ...request('zte', 'f', NOW + 1, ['g'], 'r2')];
      await store.audit.append(entries);
      const indexing = new ReachIndexing(store.db, location);
      t.after(() => indexing.stop());
      assert.equal(await indexing.run(), 0, 'the first run (a server\'s start) starts no worker');
      await indexing.settled();
      assert.equal(await indexing.run(), 0, 'the second run starts the worker');
      await indexing.settled();
      assert.equal(await indexing.run(), 2, 'the next run stores what it found: a and f');
      assert.equal(await indexReach(store.db), 0, 'nothing left');
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted(entries, pairs, '2026-06', '2026-06'));
      await indexing.settled();
      assert.equal(await indexing.run(), 0, 'nothing new found');
      const more = request('acme', 'c', NOW + 2, ['c'], 'r3');
      await store.audit.append(more);
      assert.equal(await indexing.run(), 0, 'the log grew: a worker starts');
      await indexing.settled();
      assert.equal(await indexing.run(), 1, 'and c is stored at the next run');
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted([...entries, ...more], pairs, '2026-06', '2026-06'));
    });

    test('storing a newcomer\'s reach costs the writer the same each run with 0 or 300 hidden friends and their friends (statements and rows counted)', async (t) => {
      const hidden = Array.from({ length: 300 }, (_, i) => `h${String(i).padStart(3, '0')}`);
      const farther = hidden.map((friend) => `f${friend}`);
      const writerWork = async (pairs: ReadonlyArray<readonly [string, string]>) => {
        const store = await world(t, dialect, ['n', ...hidden, ...farther], pairs); // share_via_friends off: hidden
        const entries = request('acme', 'n', NOW, ['n'], 'r1');
        await store.audit.append(entries);
        const counter = new CountingPlugin();
        // Found on this thread, on a connection not counted: what is counted is the writer's share.
        const indexing = new ReachIndexing(store.db.withPlugin(counter), '', { piecesPerRun: 3, find: async () => reachPieces(await findReach(store.db)) });
        t.after(() => indexing.stop());
        const runs: Array<{ statements: number; rows: number }> = [];
        let indexed = 0;
        const countedRun = async () => {
          [counter.statements, counter.rows] = [0, 0];
          indexed += await indexing.run();
          runs.push({ statements: counter.statements, rows: counter.rows });
        };
        await countedRun(); // nothing found yet: padding only
        await countedRun(); // starts the worker
        await indexing.settled();
        const found = indexing.pending;
        for (let run = 0; run < 3; run++) await countedRun();
        assert.equal(indexed, 1, 'n indexed');
        assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted(entries, pairs, '2026-06', '2026-06'));
        return { found, runs };
      };
      const alone = await writerWork([]);
      const surrounded = await writerWork([...hidden.map((friend) => ['n', friend] as const), ...hidden.map((friend, i) => [friend, farther[i]!] as const)]);
      assert.deepEqual([alone.found, surrounded.found], [1, 4], 'n alone is one piece; with their friends and friends of friends, four');
      assert.ok(alone.runs[0]!.statements > 0);
      assert.deepEqual(surrounded.runs, alone.runs, 'every run writes the same, whatever the newcomer\'s neighbourhood');
      assert.deepEqual(new Set(alone.runs.map((run) => JSON.stringify(run))).size, 1, 'from the first run on, before anything was found too');
    });

    test('a store spread over many runs: the report is exact after every step, and pieces lost with the process are found again', async (t) => {
      const next = prng(dialect === 'sqlite' ? 21 : 22);
      const members = Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < 70; i++) {
        const [a, b] = [members[Math.floor(next() * 40)]!, members[Math.floor(next() * 40)]!];
        if (a !== b && !pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) pairs.push([a, b]);
      }
      const store = await world(t, dialect, members, pairs);
      const entries: AuditEntry[] = [];
      for (let i = 0; i < 10; i++) {
        const logged = request(i % 3 === 0 ? 'zte' : 'acme', members[Math.floor(next() * 40)]!, NOW - (i % 2) * 30 * 86_400_000, [], `r${i}`);
        entries.push(...logged);
        await store.audit.append(logged);
      }
      const exact = async (when: string) =>
        assert.deepEqual(await rowsOf(store, '2026-05', '2026-06'), counted(entries, pairs, '2026-05', '2026-06'), when);
      // Spans of 8 members: every set is cut into several pieces, one stored per run (found on this thread: the worker's own test is above).
      const started = async () => {
        const indexing = new ReachIndexing(store.db, '', { piecesPerRun: 1, find: async () => reachPieces(await findReach(store.db), 8) });
        await indexing.run();
        await indexing.run();
        await indexing.settled();
        return indexing;
      };
      let indexing = await started();
      const found = indexing.pending;
      assert.ok(found > 20, `${found} pieces`);
      for (let step = 0; indexing.pending > 0; step++) {
        if (step === Math.floor(found / 2)) {
          await indexing.stop(); // the process ends between two steps: what is queued is lost
          indexing = await started();
          assert.ok(indexing.pending > 0 && indexing.pending < found, 'found again: only what was not stored');
        }
        await indexing.run();
        await exact(`after step ${step}`);
      }
      await indexing.stop();
      assert.equal(await indexReach(store.db), 0, 'every token member indexed');
    });

    test('a worker that fails is reported once and tried again at the next run, though the log has not grown', async (t) => {
      const store = await world(t, dialect, ['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]);
      await store.audit.append(request('acme', 'a', NOW, ['b'], 'r1'));
      let failures = 1;
      const indexing = new ReachIndexing(store.db, '', {
        find: async () => {
          if (failures-- > 0) throw new Error('the thread stopped');
          return reachPieces(await findReach(store.db));
        },
      });
      await indexing.run(); // the first run starts none
      await indexing.run();
      await indexing.settled();
      await assert.rejects(indexing.run(), /the thread stopped/);
      await indexing.settled();
      assert.ok(indexing.pending > 0, 'found on the next try');
      await indexing.run();
      await indexing.stop();
      assert.equal(await indexReach(store.db), 0, 'a indexed');
    });

    test('a reach stored whole by an earlier version (one row a set, keyed by the partner) is read beside the pieces', async (t) => {
      const pairs = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'e'], ['f', 'g']] as const;
      const store = await world(t, dialect, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], pairs);
      const entries = [...request('acme', 'a', NOW, ['a', 'e'], 'r1'), ...request('zte', 'f', NOW + 1, ['g'], 'r2')];
      await store.audit.append(entries);
      assert.equal(await indexReach(store.db), 2);
      for (const partner of ['p_acme', 'p_zte']) { // this small world's sets each fit in the span from 0: a row each
        await store.db.updateTable('member_sets').set({ set_key: partner }).where('set_key', '=', `${partner} 0`).execute();
      }
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted(entries, pairs, '2026-06', '2026-06'));
      assert.equal(await indexReach(store.db), 0, 'a and f are indexed');
      const more = request('acme', 'c', NOW + 2, ['c'], 'r3');
      await store.audit.append(more);
      assert.equal(await indexReach(store.db), 1, 'c is');
      assert.deepEqual(await rowsOf(store, '2026-06', '2026-06'), counted([...entries, ...more], pairs, '2026-06', '2026-06'));
    });

    test('random worlds: equal to a breadth-first count, indexed or not, folded or not, with requests appended between', async (t) => {
      const next = prng(dialect === 'sqlite' ? 11 : 12);
      const members = Array.from({ length: 60 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < 110; i++) {
        const [a, b] = [members[Math.floor(next() * 60)]!, members[Math.floor(next() * 60)]!];
        if (a !== b && !pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) pairs.push([a, b]);
      }
      const store = await world(t, dialect, members, pairs);
      const entries: AuditEntry[] = [];
      const append = async (count: number, tag: string) => {
        for (let i = 0; i < count; i++) {
          const partner = next() < 0.6 ? 'acme' : 'zte';
          const token = members[Math.floor(next() * 12)]!; // few token members: each is met again
          const at = NOW - Math.floor(next() * 75) * 86_400_000;
          const released = [token, ...members.filter(() => next() < 0.05)];
          const logged = request(partner, token, at, released, `${tag}${i}`);
          entries.push(...logged);
          await store.audit.append(logged);
        }
      };
      const check = async (when: string) => {
        for (const [from, to] of [['2026-04', '2026-06'], ['2026-05', '2026-05'], ['2026-06', '2026-06']] as const) {
          assert.deepEqual(await rowsOf(store, from, to), counted(entries, pairs, from, to), `${when}: ${from}..${to}`);
        }
      };
      await append(25, 'a');
      await check('nothing indexed');
      assert.ok((await indexReach(store.db)) > 0);
      await check('indexed');
      await append(25, 'b');
      await check('more requests, not indexed');
      await foldMemberSets(store.db);
      await check('folded');
      await indexReach(store.db);
      await check('indexed again');
      const fofOnly = counted(entries, pairs, '2026-04', '2026-06').reduce((sum, row) => sum + Number(row[4]), 0);
      assert.ok(fofOnly > 0, 'the generated graph has members reached only as friends of friends');
    });
  });
}
