import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { LoggedHead } from '../../src/domain/replay.js';
import { ConsentTable } from '../../src/reports/consent-table.js';
import type { LoggedConsent } from '../../src/store/replay-log-repository.js';

const MEMBERS = 3;
const consent = fc.record({
  member: fc.integer({ min: -1, max: MEMBERS }),
  appId: fc.constantFrom('a_tv', 'a_tv', 'a_phone'),
  agreementId: fc.constantFrom('agr_1', 'agr_1', 'agr_2', null),
  purpose: fc.constantFrom('device_experience', 'device_experience', 'contacts_sync'),
  grantedAt: fc.integer({ min: 0, max: 8 }),
  memberFields: fc.integer({ min: 0, max: 7 }),
  friendFields: fc.integer({ min: 0, max: 7 }),
});
const request = fc.record({
  member: fc.integer({ min: -1, max: MEMBERS + 1 }),
  appId: fc.constantFrom('a_tv', 'a_phone'),
  agreementId: fc.constantFrom('agr_1', 'agr_2', null),
  purpose: fc.constantFrom('device_experience', 'contacts_sync'),
  at: fc.integer({ min: 0, max: 8 }),
});

test("the consent table finds each request's grant as the replay does: the newest given by then for its app, agreement and purpose, the first of equals", () => {
  let chosenAmongSeveral = 0;
  let tiesBroken = 0;
  // Requests mostly for a grant given (its member, app, agreement and purpose, at any instant), so that most find several.
  const world = fc.array(consent, { minLength: 20, maxLength: 60 }).chain((consents) => fc.tuple(fc.constant(consents), fc.array(fc.oneof(
    request, fc.tuple(fc.constantFrom(...consents), fc.integer({ min: 0, max: 8 })).map(([c, at]) => ({ ...c, at })),
    fc.tuple(fc.constantFrom(...consents), fc.integer({ min: 0, max: 8 })).map(([c, at]) => ({ ...c, at })),
  ), { minLength: 10, maxLength: 20 })));
  fc.assert(fc.property(world, ([consents, requests]) => {
    const given = consents.map((c): readonly [number, LoggedConsent] => [c.member, { ...c, revokedAt: null }]);
    const table = ConsentTable.of(MEMBERS - 1, given);
    for (const r of requests) {
      // What the replay reads of a member's consents, in the order given: the newest by then for the request's grant, the first of equals.
      const candidates = given.filter(([member, c]) => member === r.member && r.member >= 0 && r.member < MEMBERS && c.appId === r.appId
        && c.agreementId === r.agreementId && c.purpose === r.purpose && c.grantedAt <= r.at).map(([, c]) => c);
      const newest = candidates.reduce<LoggedConsent | undefined>((found, c) => (found === undefined || c.grantedAt > found.grantedAt ? c : found), undefined);
      const head = { appId: r.appId, agreementId: r.agreementId, purpose: r.purpose, at: r.at } as LoggedHead;
      const found = table.consentAt(r.member, head);
      assert.deepEqual(found, newest === undefined ? undefined : { memberFields: newest.memberFields, friendFields: newest.friendFields });
      if (candidates.length > 1) chosenAmongSeveral++;
      if (candidates.filter((c) => c.grantedAt === newest?.grantedAt).length > 1) tiesBroken++;
    }
  }), { numRuns: 300 });
  // The property chose among several grants of one member, and broke ties between grants given at one instant.
  assert.ok(chosenAmongSeveral > 100 && tiesBroken > 20, `${chosenAmongSeveral} among several, ${tiesBroken} ties`);
});

test("a table with some members' consents replaced (a refreshed world's) finds what a table made of today's consents finds", () => {
  let answeredOtherwise = 0;
  let newMemberFound = 0;
  const change = fc.record({ changed: fc.uniqueArray(fc.integer({ min: 0, max: MEMBERS }), { minLength: 1, maxLength: 3 }), consents: fc.array(consent, { maxLength: 8 }) });
  fc.assert(fc.property(fc.array(consent, { minLength: 10, maxLength: 40 }), fc.array(change, { minLength: 1, maxLength: 2 }), fc.array(request, { minLength: 20, maxLength: 30 }),
    (before, changes, requests) => {
      const given = (list: typeof before) => list.map((c): readonly [number, LoggedConsent] => [c.member, { ...c, revokedAt: null }]);
      // Member MEMBERS joins after the first table was made: a member numbered since.
      const first = ConsentTable.of(MEMBERS - 1, given(before));
      let table = first;
      let today = given(before.filter((c) => c.member < MEMBERS));
      for (const { changed, consents } of changes) {
        const theirs = given(consents.filter((c) => changed.includes(c.member)));
        table = table.withMembers(changed, theirs);
        today = [...today.filter(([member]) => !changed.includes(member)), ...theirs];
      }
      // Made whole, a member's consents in the order given: the changed members' after the others', as withMembers keeps them.
      const whole = ConsentTable.of(MEMBERS, today);
      for (const r of requests) {
        const head = { appId: r.appId, agreementId: r.agreementId, purpose: r.purpose, at: r.at } as LoggedHead;
        const found = table.consentAt(r.member, head);
        assert.deepEqual(found, whole.consentAt(r.member, head));
        if (!isDeepStrictEqual(found, first.consentAt(r.member, head))) answeredOtherwise++;
        if (r.member === MEMBERS && found !== undefined) newMemberFound++;
      }
    }), { numRuns: 300 });
  assert.ok(answeredOtherwise > 100 && newMemberFound > 5, `${answeredOtherwise} answered otherwise than before, ${newMemberFound} of a new member`);
});
