/**
 * Issue 11, point 0: nothing a partner can observe of the audit log depends on what is withheld.
 * Two attacks that worked before: counting hidden friends by the public tree's growth, and
 * identifying them by recomputing leaf hashes from what the partner knows and asking for inclusion.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { encodeEntry } from '../../src/audit/canonical-entry.js';
import { rootHashPlan } from '../../src/audit/merkle-tree.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { CountingPlugin } from '../helpers/counting-plugin.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

/** Member `me` with `shown` friends who share with apps through friends, and `hidden` who do not. */
async function world(t: TestContext, dialect: Dialect, shown: number, hidden: number, plugin?: CountingPlugin, appClass?: 'device_partner' | 'third_party') {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-leaks-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const built = await build(t, NOW, { dialect, dataDir, audit: { headIntervalMs: 0 }, ...(plugin === undefined ? {} : { plugin }) });
  const visible = Array.from({ length: shown }, (_, i) => ({ id: `v${String(i).padStart(2, '0')}`, shareViaFriends: true }));
  const secret = Array.from({ length: hidden }, (_, i) => ({ id: `h${String(i).padStart(2, '0')}`, shareViaFriends: false }));
  await addMembers(built.store, [{ id: 'me' }, { id: 'stranger', shareViaFriends: true }, ...visible, ...secret], NOW);
  await addFriendships(built.store, [...visible, ...secret].map((f) => ['me', f.id] as const), NOW);
  const partner = await addPartner(built.store, 'dev', { agreement: { friendFields: ['name'] }, ...(appClass === undefined ? {} : { appClass }) }, NOW);
  const { token } = await grantToken(built.store, {
    memberId: 'me', appId: partner.appId, agreementId: partner.agreementId,
    memberFields: ['id', 'name', 'friends'], friendFields: ['name'], tokenTtlMs: 365 * 86_400_000,
  }, NOW);
  const get = (url: string, bearer: string | null = token) =>
    built.app.inject({ method: 'GET', url, headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  /** The public tree size: what anyone reads from GET /v1/audit/tree-head. */
  const treeSize = async () => (await get('/v1/audit/tree-head', null)).json().tree_size as number;
  return { ...built, ...partner, get, treeSize, dataDir };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`the audit log leaks nothing of hidden friends, on ${dialect}`, () => {
    test.both('the audit append', 'a friends page grows the public tree by 1 + the friends shown, as in a world where the hidden friends do not exist', async (t) => {
      const growth = async (hidden: number) => {
        const { get, treeSize } = await world(t, dialect, 5, hidden);
        await get('/v1/me'); // a first head
        const before = await treeSize();
        const page = (await get('/v1/me/friends?limit=25&fields=name')).json();
        assert.equal(page.data.length, 5);
        return (await treeSize()) - before;
      };
      const withHidden = await growth(41);
      const without = await growth(0);
      assert.equal(withHidden, 1 + 5, 'one entry for the request and one per friend shown');
      assert.equal(withHidden, without, 'the 41 hidden friends change nothing public');
    });

    for (const appClass of ['device_partner', 'third_party'] as const) test(`a ${appClass} app's friends page reads the same statements and rows from the database with 0 or 120 hidden friends around the ones shown`, async (t) => {
      // The work a page does is what its response time is made of: it must not grow with the hidden
      // friends the page passes over (the friend list's timing hint of issue 11, point 0).
      const work = async (hidden: number) => {
        const counter = new CountingPlugin();
        const { get, store, appId, agreementId } = await world(t, dialect, 0, 0, counter, appClass);
        const shown = ['b10', 'd20', 'f30', 'h40', 'k50'];
        // Hidden friends sort before, between and after those shown: sharing off, platform off, and
        // for the third-party app also friends who do not use it and one whose grant was revoked.
        const secret = Array.from({ length: hidden }, (_, i) => `${'acegj'[i % 5]}${String(i).padStart(3, '0')}`);
        await addMembers(store, [
          ...shown.map((id) => ({ id, shareViaFriends: true })),
          ...secret.map((id, i) => ({ id, shareViaFriends: appClass === 'third_party' || i % 2 === 1, platformEnabled: i % 2 === 0 })),
        ], NOW);
        await addFriendships(store, [...shown, ...secret].map((id) => ['me', id] as const), NOW);
        if (appClass === 'third_party') {
          for (const memberId of shown) await grantToken(store, { memberId, appId, agreementId, memberFields: ['id'] }, NOW);
          for (const [i, memberId] of secret.entries()) {
            if (i % 4 !== 1) continue; // platform off, or a grant revoked
            const { grantId } = await grantToken(store, { memberId, appId, agreementId, memberFields: ['id'] }, NOW);
            if (i % 8 === 1) await store.grants.revoke(grantId, NOW);
          }
        }
        await get('/v1/me');
        const pages: Array<{ statements: number; rows: number; ids: string[] }> = [];
        for (const url of ['/v1/me/friends?limit=3&fields=name', '/v1/me/friends?limit=3&fields=name']) {
          counter.statements = 0;
          counter.rows = 0;
          const body = (await get(url)).json();
          pages.push({ statements: counter.statements, rows: counter.rows, ids: body.data.map((f: { id: string }) => f.id) });
        }
        const next = (await get(`/v1/me/friends?limit=3&fields=name&after=${(await get('/v1/me/friends?limit=3&fields=name')).json().paging.after}`)).json();
        return { page: pages[1]!, next: next.data.map((f: { id: string }) => f.id) };
      };
      const without = await work(0);
      const withHidden = await work(120);
      assert.deepEqual(without.page.ids, ['b10', 'd20', 'f30']);
      assert.deepEqual(withHidden.next, ['h40', 'k50']);
      assert.deepEqual(withHidden.page, without.page, 'statements and rows of a page (the second of two alike, with its field list interned)');
    });

    test('a 404 lookup grows the tree by one entry whether the member is a hidden friend or a stranger', async (t) => {
      const { get, treeSize } = await world(t, dialect, 1, 1);
      await get('/v1/me');
      const sizes = [await treeSize()];
      for (const id of ['h00', 'stranger', 'nobody']) {
        assert.equal((await get(`/v1/members/${id}`)).statusCode, 404);
        sizes.push(await treeSize());
      }
      assert.deepEqual(sizes.slice(1).map((size, i) => size - sizes[i]!), [1, 1, 1]);
    });

    for (const appClass of ['device_partner', 'third_party'] as const) test(`a 404 lookup by a ${appClass} app runs the same statements whether the member is a hidden friend, one excluding the app, a stranger or no one`, async (t) => {
      const counter = new CountingPlugin();
      const { get, store } = await world(t, dialect, 1, 1, counter, appClass);
      await addMembers(store, [{ id: 'excluder', shareViaFriends: true }], NOW);
      await addFriendships(store, [['me', 'excluder']], NOW);
      await store.members.exclude('excluder', 'partner', 'p_dev', NOW);
      await get('/v1/me');
      const statements: Record<string, number> = {};
      for (const round of [1, 2]) { // the first round's appends intern the entries' field lists once
        for (const id of ['h00', 'excluder', 'stranger', 'nobody']) {
          counter.statements = 0;
          assert.equal((await get(`/v1/members/${id}`)).statusCode, 404);
          if (round === 2) statements[id] = counter.statements;
        }
      }
      assert.ok(statements.h00! > 0);
      assert.deepEqual(new Set(Object.values(statements)).size, 1, `statements per lookup: ${JSON.stringify(statements)}`);
    });

    test('inclusion proofs of arbitrary leaves are not public', async (t) => {
      const { get } = await world(t, dialect, 2, 2);
      await get('/v1/me/friends');
      for (const bearer of [null, 'not-a-token']) {
        const response = await get('/v1/audit/inclusion?leaf_index=0', bearer);
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.code, 'forbidden');
        assert.equal(response.json().leaf_hash, undefined);
      }
    });

    test('no leaf can be recomputed from what the partner knows (response, request id, time, ids)', async (t) => {
      const { get, store, appId, partnerId, agreementId, dataDir, treeSize } = await world(t, dialect, 2, 3);
      const response = await get('/v1/me/friends?fields=name');
      const requestId = response.headers['x-request-id'] as string;
      const size = await treeSize();
      // The tree's real leaves, recomputed with the server's blinding key, and checked against the signed root.
      const audit = store.audit.withBlinding(loadOrCreateAuditBlinding(dataDir));
      const reads = Array.from({ length: size }, (_, index) => ({ level: 0, index }));
      const leaves = new Set((await audit.run({ reads, assemble: (nodes) => [...nodes] })).map((leaf) => leaf.toString('hex')));
      const root = (await get('/v1/audit/tree-head', null)).json().root_hash as string;
      assert.equal((await audit.run(rootHashPlan(size))).toString('base64'), root, 'these are the leaves of the signed tree');
      // Every guess the partner can make: each friend (hidden ones included), each outcome it could
      // have been logged with, in the legacy encoding it could have been written in.
      for (const subject of ['v00', 'v01', 'h00', 'h01', 'h02']) {
        for (const [outcome, code, released] of [
          ['released', 'through_friend', ['id', 'name']], ['withheld', 'friend_opted_out', []],
        ] as const) {
          const guess = encodeEntry({
            at: NOW, requestId, appId, partnerId, agreementId, agreementVersion: 1, rulesVersion: RULES_VERSION,
            tokenMemberId: 'me', subjectMemberId: subject, purpose: 'device_experience', outcome, code, released: [...released], withheld: {},
          });
          const hash = createHash('sha256').update(Buffer.concat([Buffer.from([0]), guess])).digest('hex');
          assert.ok(!leaves.has(hash), `a guess about ${subject} (${outcome}) matches a leaf`);
        }
      }
    });
  });
}
