import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { AgreementStatus } from '../../src/domain/agreement.js';
import {
  checkNoOverlap, governingAgreement, overlappingAgreements, wasActivated, type CoveringAgreement,
} from '../../src/domain/agreement-in-force.js';
import { addDays } from '../../src/domain/time.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function agreement(id: string, status: AgreementStatus, startDay: number, endDay: number, extra: Partial<CoveringAgreement> = {}): CoveringAgreement {
  return {
    id, version: 1, partnerId: 'p', status, purposes: ['device_experience'], memberFields: 1, friendFields: 0,
    startsAt: addDays(NOW, startDay), endsAt: addDays(NOW, endDay), certificationDueAt: addDays(NOW, startDay + 365),
    windDown: null, appIds: ['app'], ...extra,
  };
}

describe('the agreement in force at now', () => {
  const current = agreement('current', 'active', -100, 100);
  const renewal = agreement('renewal', 'active', 100, 400);

  test('a renewal activated ahead of its start takes over at its start, not at its activation', () => {
    assert.equal(governingAgreement([current, renewal], NOW)?.id, 'current');
    assert.equal(governingAgreement([renewal, current], addDays(NOW, 100) - 1)?.id, 'current');
    assert.equal(governingAgreement([current, renewal], addDays(NOW, 100))?.id, 'renewal');
  });

  test('between terms, the one that ended last explains why; before any, the first to come; else a draft', () => {
    const gapRenewal = agreement('later', 'active', 150, 400);
    assert.equal(governingAgreement([current, gapRenewal], addDays(NOW, 120))?.id, 'current');
    assert.equal(governingAgreement([renewal], NOW)?.id, 'renewal');
    const draft = agreement('draft', 'draft', 0, 100);
    assert.equal(governingAgreement([draft], NOW)?.id, 'draft');
    assert.equal(governingAgreement([draft, current], NOW)?.id, 'current', 'a draft never displaces the agreement in force');
    assert.equal(governingAgreement([], NOW), null);
  });

  test('an agreement terminated after its wind-down is still read; one terminated as a draft never was in force', () => {
    const plan = { noNewGrants: addDays(NOW, -30), noFriendData: addDays(NOW, -20), accessEnded: addDays(NOW, -10) };
    const ended = agreement('ended', 'terminated', -200, 100, { windDown: plan });
    const withdrawn = agreement('withdrawn', 'terminated', -50, 100);
    assert.equal(wasActivated(ended), true);
    assert.equal(wasActivated(withdrawn), false);
    assert.equal(governingAgreement([ended, withdrawn], NOW)?.id, 'ended');
  });

  test('property: the one whose term holds now, else the last to have started, else the next to start', () => {
    // Consecutive terms of one app, none overlapping, each activated; now anywhere around them.
    const terms = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), length: fc.integer({ min: 1, max: 200 }) }), { minLength: 1, maxLength: 5 });
    const seen = { in_force: 0, ended: 0, upcoming: 0 };
    fc.assert(fc.property(terms, fc.integer({ min: -50, max: 1200 }), fc.boolean(), (spans, nowDay, reversed) => {
      let day = 0;
      const list = spans.map((span, i) => {
        const start = day + span.gap;
        day = start + span.length;
        return agreement(`a${i}`, i % 2 === 0 ? 'active' : 'suspended', start, day);
      });
      const now = addDays(NOW, nowDay);
      const chosen = governingAgreement(reversed ? [...list].reverse() : list, now);
      const holding = list.find((a) => a.startsAt <= now && now < a.endsAt);
      const started = list.filter((a) => a.startsAt <= now);
      if (holding) { seen.in_force++; assert.equal(chosen?.id, holding.id); }
      else if (started.length > 0) { seen.ended++; assert.equal(chosen?.id, started[started.length - 1]!.id); }
      else { seen.upcoming++; assert.equal(chosen?.id, list[0]!.id); }
    }), { numRuns: 500 });
    for (const [kind, count] of Object.entries(seen)) assert.ok(count > 20, `the property met '${kind}' only ${count} times`);
  });
});

describe('overlapping terms', () => {
  test('property: refused exactly when the terms of the same app intersect', () => {
    const term = fc.tuple(fc.integer({ min: -100, max: 300 }), fc.integer({ min: 1, max: 200 }));
    const seen = { overlap: 0, apart: 0, other_app: 0 };
    fc.assert(fc.property(term, term, fc.boolean(), ([aStart, aLength], [bStart, bLength], sameApp) => {
      const existing = agreement('existing', 'active', aStart, aStart + aLength);
      const candidate = agreement('candidate', 'under_review', bStart, bStart + bLength, { appIds: [sameApp ? 'app' : 'other'] });
      const intersect = aStart < bStart + bLength && bStart < aStart + aLength;
      const clash = overlappingAgreements(candidate, [existing]).length > 0;
      seen[!sameApp ? 'other_app' : intersect ? 'overlap' : 'apart']++;
      assert.equal(clash, sameApp && intersect);
      if (clash) assert.throws(() => checkNoOverlap(candidate, [existing]), (e: { code: string }) => e.code === 'agreement_overlap');
    }), { numRuns: 500 });
    for (const [kind, count] of Object.entries(seen)) assert.ok(count > 20, `the property met '${kind}' only ${count} times`);
  });

  test('terminated, draft and reviewed agreements, and access ended by a wind-down, leave the term free', () => {
    const renewal = agreement('renewal', 'under_review', 50, 300);
    const early = { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 50) };
    for (const other of [
      agreement('t', 'terminated', 0, 100, { windDown: early }), agreement('d', 'draft', 0, 100),
      agreement('r', 'under_review', 0, 100), agreement('w', 'winding_down', 0, 100, { windDown: early }),
    ]) assert.deepEqual(overlappingAgreements(renewal, [other]), [], other.id);
    assert.equal(overlappingAgreements(renewal, [agreement('s', 'suspended', 0, 100)]).length, 1, 'a suspended one may resume');
  });
});
