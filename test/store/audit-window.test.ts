/**
 * The staff query's time window since migration 0041, which indexes the requests' instants within
 * partitions of 65,536 seqs: the query reads only the seqs between the partitions the window's
 * requests are in, and gives the same entries, in the same order and pages, as a read of the whole log
 * would, whatever the order of the instants (a request's instant is taken before it waits for the log,
 * and servers' clocks differ). The requests are written at chosen places of a sparse log, across 300
 * partitions, their instants out of seq order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import type { AuditEntryFilter } from '../../src/store/audit-query-repository.js';
import type { Db } from '../../src/store/database.js';
import { LEAVES_PER_PARTITION } from '../../src/store/member-leaves.js';
import { createStore, type Store } from '../../src/store/store.js';
import { sparseLog as sparseLogOf } from '../helpers/sparse-log.js';
import { DIALECTS, testDatabase } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const P = LEAVES_PER_PARTITION;

/** A request at `NOW + second` seconds: its served entry, then one released entry per subject. */
function request(n: number, second: number, subjects: readonly string[]): AuditEntry[] {
  const shared = {
    at: NOW + second * 1000, requestId: `req-${n}`, appId: 'app', partnerId: n % 2 ? 'p_one' : 'p_two',
    agreementId: 'agr', agreementVersion: 1, rulesVersion: RULES_VERSION, tokenMemberId: `m_token${n % 3}`, purpose: 'device_experience',
  };
  return [
    { ...shared, subjectMemberId: null, outcome: 'served', code: null, released: [], withheld: {} },
    ...subjects.map((subject): AuditEntry => ({ ...shared, subjectMemberId: subject, outcome: 'released', code: 'through_friend', released: ['id'], withheld: {} })),
  ];
}

/** Where each request starts (its first seq), and when it was made: later in the log is not always later in time. */
const PLACES: ReadonlyArray<readonly [number, AuditEntry[]]> = [
  [3, request(1, 5, ['m_a', 'm_b'])],
  [P - 2, request(2, 1, ['m_a', 'm_c', 'm_b'])], // across partitions 0 and 1, older than the request before it
  [P + 40, request(3, 9, ['m_c'])],
  [5 * P + 5, request(4, 2, ['m_a'])], // far later in the log than its instant's neighbours
  [40 * P, request(5, 7, ['m_b', 'm_a'])],
  [41 * P + 3, request(6, 7, ['m_c'])], // the same instant as the request before it
  [299 * P + 7, request(7, 3, ['m_a'])], // a late append with an old instant
  [300 * P - 1, request(8, 9.5, ['m_b', 'm_a'])], // across partitions 299 and 300
];

/** Two legacy entries (audit_entries, before migration 0020) at seqs 1 and 2, then the lean ones where PLACES puts them. */
const sparseLog = (db: Db, store: Store) => sparseLogOf(db, store, request(0, 2, ['m_a']), PLACES);

/** Every page of a query, following the cursor: the seqs in order. */
async function walk(store: Store, filter: AuditEntryFilter, limit: number): Promise<number[]> {
  const seen: number[] = [];
  let before: number | null = null;
  for (;;) {
    const page = await store.auditQueries.page(filter, limit, before);
    seen.push(...page.records.map((r) => r.seq));
    if (!page.hasMore) return seen;
    before = page.records.at(-1)!.seq;
  }
}

const s = (second: number) => NOW + second * 1000;
const WINDOWS: ReadonlyArray<{ from?: number; to?: number }> = [
  { from: s(2), to: s(2) + 1 }, // the legacy request and request 4 only, 5 partitions into the log
  { from: s(1), to: s(3) + 1 }, // requests 2, 4 and 7: partitions 0, 1, 5 and 299
  { from: s(7), to: s(7) + 1 }, // two requests of one instant
  { from: s(9.5) }, { to: s(1) + 1 }, { from: s(5), to: s(9) },
  { from: s(20) }, { to: s(1) }, { from: s(4), to: s(4) + 500 }, // none
];

for (const dialect of DIALECTS) {
  describe(`the staff query's time window across the partitions of the requests' instants on ${dialect}`, () => {
    test('every window gives the entries of the requests made in it, newest first, page by page, with the other filters', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const store = createStore(db);
      const all = await sparseLog(db, store);
      const filters: ReadonlyArray<readonly [AuditEntryFilter, (e: AuditEntry) => boolean]> = [
        [{}, () => true],
        [{ partnerId: 'p_one' }, (e) => e.partnerId === 'p_one'],
        [{ memberId: 'm_a' }, (e) => e.subjectMemberId === 'm_a' || e.tokenMemberId === 'm_a'],
        [{ outcome: 'served' }, (e) => e.outcome === 'served'],
      ];
      let found = 0;
      for (const window of WINDOWS) {
        const inWindow = (e: AuditEntry) => (window.from === undefined || e.at >= window.from) && (window.to === undefined || e.at < window.to);
        for (const [filter, pass] of filters) {
          const expected = [...all].filter(([, e]) => inWindow(e) && pass(e)).map(([seq]) => seq).sort((a, b) => b - a);
          found += expected.length;
          for (const limit of [1, 2, 100]) {
            assert.deepEqual(await walk(store, { ...filter, ...window }, limit), expected, `${JSON.stringify({ ...filter, ...window })} in pages of ${limit}`);
          }
        }
      }
      assert.ok(found > 40, 'the windows find entries');
    });

    test("the first entry at or after an instant (the CLI's --from) is the earliest in seq order, found from the window's partition", async (t) => {
      const { db } = await testDatabase(t, dialect);
      const store = createStore(db);
      const all = await sparseLog(db, store);
      const end = (await store.audit.treeSize()) + 1;
      for (const second of [0, 1.5, 2, 2.5, 3, 5, 6, 7, 8, 9, 9.5, 10]) {
        const seqs = [...all].filter(([, e]) => e.at >= s(second)).map(([seq]) => seq);
        const expected = seqs.length === 0 ? end : Math.min(...seqs);
        assert.equal(await store.audit.firstSeqAtOrAfter(new Date(s(second)).toISOString()), expected, `at ${second} s`);
      }
    });
  });
}
