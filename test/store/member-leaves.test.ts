/**
 * Reads by member since migration 0035, which indexes the leaves by subject within partitions of
 * 65,536 seqs (so that appends write only the newest partition's slice of the index): a member's
 * access history and the staff query by member visit the partitions newest first and give the same
 * entries, in the same order and pages, as a read of the whole log would. The leaves are written at
 * chosen places of a sparse log, across 300 partitions, some empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import type { Db } from '../../src/store/database.js';
import { LEAVES_PER_PARTITION } from '../../src/store/member-leaves.js';
import { createStore, type Store } from '../../src/store/store.js';
import { sparseLog as sparseLogOf } from '../helpers/sparse-log.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const MEMBER = 'm_partitioned';
const P = LEAVES_PER_PARTITION;

/** A request's entries: its served entry, then one per subject (released, or withheld for `withheld`). */
function request(n: number, token: string, subjects: readonly string[], withheld = false): AuditEntry[] {
  const shared = {
    at: NOW + n * 1000, requestId: `req-${n}`, appId: n % 2 ? 'app_one' : 'app_two', partnerId: n % 3 ? 'p_one' : 'p_two',
    agreementId: 'agr', agreementVersion: 2, rulesVersion: RULES_VERSION, tokenMemberId: token, purpose: 'device_experience',
  };
  return [
    { ...shared, subjectMemberId: null, outcome: 'served', code: null, released: [], withheld: {} },
    ...subjects.map((subject): AuditEntry => ({
      ...shared, subjectMemberId: subject, outcome: withheld ? 'withheld' : 'released', code: 'through_friend',
      released: withheld ? [] : ['id', 'name'], withheld: withheld ? { name: 'audience_restricted' } : {},
    })),
  ];
}

/** Where each request starts (its first seq): the member's entries fall in partitions 0, 1, 3, 40, 299 and 300 (the last read on its own past the widest step). */
const PLACES: ReadonlyArray<readonly [number, AuditEntry[]]> = [
  [3, request(1, 'm_token', ['m_a', MEMBER, 'm_b'])],
  [P - 2, request(2, MEMBER, [MEMBER, 'm_c'])], // across partitions 0 and 1: the member's own token, and its subject
  [P + 40, request(3, 'm_token', [MEMBER], true)], // withheld: not in the history, in the staff query
  [3 * P + 5, request(4, 'm_other', ['m_a', MEMBER])],
  [40 * P, request(5, 'm_token', [MEMBER, MEMBER])], // seq 40 * P is the first of its partition
  [299 * P + 7, request(6, MEMBER, ['m_b'])], // the member's token only
  [300 * P - 1, request(7, 'm_token', ['m_c', MEMBER])], // the last seq of partition 299, then the first of 300
];

/** Two legacy entries (audit_entries, before migration 0020) at seqs 1 and 2, then the lean ones where PLACES puts them. */
const sparseLog = (db: Db, store: Store) => sparseLogOf(db, store, request(0, MEMBER, [MEMBER]), PLACES);

/** Seqs of `all` that pass, newest first. */
function newestFirst(all: Map<number, AuditEntry>, pass: (entry: AuditEntry) => boolean): number[] {
  return [...all].filter(([, entry]) => pass(entry)).map(([seq]) => seq).sort((a, b) => b - a);
}

for (const dialect of DIALECTS) {
  describe(`reads by member across the partitions of the leaves' index on ${dialect}`, () => {
    test('the access history gives every release of the member, newest first, page by page, with the filters', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const store = createStore(db);
      const all = await sparseLog(db, store);
      const released = newestFirst(all, (e) => e.subjectMemberId === MEMBER && e.outcome === 'released');
      assert.equal(released.length, 7);
      assert.ok(released.some((seq) => seq > 300 * P) && released.some((seq) => seq < 3), 'the newest partition and the legacy rows');

      const whole = await store.accessHistory.page(MEMBER, 100, null);
      assert.deepEqual(whole.entries.map((e) => e.seq), released);
      assert.equal(whole.hasMore, false);
      assert.deepEqual(whole.entries.map((e) => e.via), released.map((seq) => (all.get(seq)!.tokenMemberId === MEMBER ? 'direct' : 'friend')));
      const first = whole.entries[0]!;
      assert.deepEqual({ at: first.at, app: first.app, partner: first.partner, agreement: first.agreement, released: first.released },
        { at: NOW + 7000, app: { id: 'app_one', name: 'app_one' }, partner: { id: 'p_one', legalName: 'p_one', country: '' },
          agreement: { id: 'agr', version: 2 }, released: ['id', 'name'] });

      for (const limit of [1, 2, 3]) {
        const seen: number[] = [];
        let before: number | null = null;
        for (;;) {
          const page = await store.accessHistory.page(MEMBER, limit, before);
          seen.push(...page.entries.map((e) => e.seq));
          if (!page.hasMore) break;
          before = page.entries.at(-1)!.seq;
        }
        assert.deepEqual(seen, released, `pages of ${limit}`);
      }
      const fromMiddle = await store.accessHistory.page(MEMBER, 3, 40 * P + 1);
      assert.deepEqual(fromMiddle.entries.map((e) => e.seq), released.filter((seq) => seq < 40 * P + 1).slice(0, 3));
      const appOne = await store.accessHistory.page(MEMBER, 100, null, { appId: 'app_one' });
      assert.deepEqual(appOne.entries.map((e) => e.seq), newestFirst(all, (e) => e.subjectMemberId === MEMBER && e.outcome === 'released' && e.appId === 'app_one'));
      const window = await store.accessHistory.page(MEMBER, 100, null, { since: NOW + 2000, until: NOW + 6000 });
      assert.deepEqual(window.entries.map((e) => e.seq), newestFirst(all, (e) => e.subjectMemberId === MEMBER && e.outcome === 'released' && e.at >= NOW + 2000 && e.at < NOW + 6000));
      assert.deepEqual((await store.accessHistory.page('m_nobody', 25, null)).entries, []);
    });

    test('the staff query by member gives the entries about the member or made with their token, newest first, page by page', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const store = createStore(db);
      const all = await sparseLog(db, store);
      const about = (e: AuditEntry) => e.subjectMemberId === MEMBER || e.tokenMemberId === MEMBER;
      for (const [filter, pass] of [
        [{ memberId: MEMBER }, about],
        [{ memberId: MEMBER, partnerId: 'p_one' }, (e: AuditEntry) => about(e) && e.partnerId === 'p_one'],
        [{ memberId: MEMBER, outcome: 'withheld' }, (e: AuditEntry) => about(e) && e.outcome === 'withheld'],
      ] as const) {
        const expected = newestFirst(all, pass);
        for (const limit of [2, 100]) {
          const seen: number[] = [];
          let before: number | null = null;
          for (;;) {
            const page = await store.auditQueries.page(filter, limit, before);
            seen.push(...page.records.map((r) => r.seq));
            if (!page.hasMore) break;
            before = page.records.at(-1)!.seq;
          }
          assert.deepEqual(seen, expected, `${JSON.stringify(filter)} in pages of ${limit}`);
        }
      }
      const [newest] = (await store.auditQueries.page({ memberId: MEMBER }, 1, null)).records;
      assert.deepEqual(newest, { ...all.get(300 * P + 1)!, actor: null, action: null, detail: null, passedOver: null, seq: 300 * P + 1, format: 2 });
    });
  });
}
