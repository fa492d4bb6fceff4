import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideSubject, subjectVisibility, type SubjectDecision, type SubjectFacts } from '../../src/domain/subject-decision.js';
import {
  BASIC_MASK,
  FIELDS,
  FIELD_CLASS,
  ID_MASK,
  OBJECT_FIELDS,
  OBJECT_FIELDS_MASK,
  SENSITIVE_MASK,
  fieldBit,
  type Field,
  type FieldMask,
} from '../../src/domain/field-catalog.js';
import { FIELD_REASONS, type FieldReason } from '../../src/domain/reason-codes.js';
import type { AppClass } from '../../src/domain/app.js';
import {
  APP_ID,
  EVERY_MEMBER_FIELD,
  NOW,
  PARTNER_ID,
  friend,
  mask,
  plan,
  releasedFields,
  self,
  stranger,
  windDown,
  withheldReasons,
  type ContextOverrides,
} from './builders.js';

const EVERYTHING: FieldMask = OBJECT_FIELDS_MASK;
const SENSITIVE_FIELDS = ['relationship_status', 'religion', 'political_views'] as const;
const WITHOUT_FRIENDS = OBJECT_FIELDS_MASK;

function assertHidden(decision: SubjectDecision, reason: 'stranger' | 'friend_opted_out'): void {
  assert.deepEqual(decision, { visible: false, reason });
}

const thirdParty: ContextOverrides = { app: { class: 'third_party' } };

describe('decideSubject: the token member (self)', () => {
  test('every requested field in the agreement and the grant is released, nothing withheld', () => {
    const d = decideSubject(plan(), self(), EVERYTHING);
    assert.ok(d.visible);
    assert.equal(d.relation, 'self');
    assert.equal(d.released, EVERYTHING);
    assert.deepEqual(d.withheld, []);
  });

  test('only the requested fields are released (plus id)', () => {
    const d = decideSubject(plan(), self(), mask('name', 'email'));
    assert.deepEqual(releasedFields(d), ['id', 'name', 'email']);
    assert.deepEqual(withheldReasons(d), {});
  });

  test('id is released even when not requested, not in the agreement and not consented', () => {
    const p = plan({ agreement: { memberFields: mask('name') }, grant: { memberFields: mask('name') } });
    assert.deepEqual(releasedFields(decideSubject(p, self(), 0)), ['id']);
    assert.deepEqual(releasedFields(decideSubject(p, self(), mask('id'))), ['id']);
    assert.deepEqual(withheldReasons(decideSubject(p, self(), mask('id'))), {});
  });

  test('not_in_agreement: a field the agreement does not list', () => {
    const p = plan({ agreement: { memberFields: EVERY_MEMBER_FIELD & ~mask('email') } });
    const d = decideSubject(p, self(), mask('name', 'email'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { email: 'not_in_agreement' });
  });

  test('not_consented: a field the agreement lists but the member did not consent to', () => {
    const p = plan({ grant: { memberFields: EVERY_MEMBER_FIELD & ~mask('email') } });
    const d = decideSubject(p, self(), mask('name', 'email'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { email: 'not_consented' });
  });

  test('a field missing from both the agreement and the grant is withheld as not_in_agreement (first failing reason)', () => {
    const p = plan({ agreement: { memberFields: mask('name', 'friends') }, grant: { memberFields: mask('name', 'friends') } });
    const d = decideSubject(p, self(), mask('name', 'email', 'religion'));
    assert.deepEqual(withheldReasons(d), { email: 'not_in_agreement', religion: 'not_in_agreement' });
  });

  test("the member's own sensitive fields and only_me fields are released: audience and sensitivity bind only friends", () => {
    const d = decideSubject(plan(), self({ friendsAudience: 0 }), mask('religion', 'email', 'political_views'));
    assert.deepEqual(releasedFields(d), ['id', 'email', 'religion', 'political_views']);
  });

  test('the member is recognised by id, whatever the friend and sharing flags say', () => {
    const d = decideSubject(plan(), self({ isFriend: true, shareViaFriends: false, usesApp: false }), mask('email'));
    assert.ok(d.visible);
    assert.equal(d.relation, 'self');
    assert.deepEqual(releasedFields(d), ['id', 'email']);
  });

  test('self is not affected by the wind-down friend phase or by a third-party app', () => {
    const w = windDown();
    const d = decideSubject(plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData), self(), mask('birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'birthday']);
    const t = decideSubject(plan(thirdParty), self(), mask('birthday', 'email'));
    assert.deepEqual(releasedFields(t), ['id', 'email', 'birthday']);
  });
});

describe('decideSubject: strangers (not a visible friend)', () => {
  test('a non-friend does not exist for the caller, whatever their settings', () => {
    assertHidden(decideSubject(plan(), stranger(), EVERYTHING), 'stranger');
    assertHidden(decideSubject(plan(thirdParty), stranger(), EVERYTHING), 'stranger');
    assertHidden(decideSubject(plan(), stranger(), 0), 'stranger');
  });

  test('friends permission missing from the agreement member fields makes friends strangers', () => {
    const p = plan({ agreement: { memberFields: WITHOUT_FRIENDS } });
    assertHidden(decideSubject(p, friend(), EVERYTHING), 'stranger');
  });

  test('friends permission missing from the grant makes friends strangers', () => {
    const p = plan({ grant: { memberFields: WITHOUT_FRIENDS } });
    assertHidden(decideSubject(p, friend(), EVERYTHING), 'stranger');
  });

  test('friends permission missing from the grant makes friends strangers for third-party apps too', () => {
    const p = plan({ ...thirdParty, grant: { memberFields: WITHOUT_FRIENDS } });
    assertHidden(decideSubject(p, friend(), mask('name')), 'stranger');
  });

  test('a missing friends permission hides friends as strangers, not as opted out', () => {
    const p = plan({ grant: { memberFields: WITHOUT_FRIENDS } });
    assertHidden(decideSubject(p, friend({ shareViaFriends: false }), EVERYTHING), 'stranger');
  });
});

describe('decideSubject: a friend under a device-partner app', () => {
  test('an opted-in friend is visible with every non-sensitive field', () => {
    const d = decideSubject(plan(), friend(), EVERYTHING);
    assert.ok(d.visible);
    assert.equal(d.relation, 'friend');
    assert.equal(d.released, EVERYTHING & ~SENSITIVE_MASK);
    assert.deepEqual(withheldReasons(d), { relationship_status: 'sensitive_field', religion: 'sensitive_field', political_views: 'sensitive_field' });
  });

  test('share_via_friends off: the friend is left out entirely (friend_opted_out)', () => {
    assertHidden(decideSubject(plan(), friend({ shareViaFriends: false }), EVERYTHING), 'friend_opted_out');
    assertHidden(decideSubject(plan(), friend({ shareViaFriends: false }), mask('id')), 'friend_opted_out');
  });

  test('platform off: the friend is left out entirely, even with share_via_friends on', () => {
    assertHidden(decideSubject(plan(), friend({ platformEnabled: false, shareViaFriends: true }), EVERYTHING), 'friend_opted_out');
  });

  test('whether the friend uses the app does not matter to a device-partner app', () => {
    assert.ok(decideSubject(plan(), friend({ usesApp: false }), EVERYTHING).visible);
    assertHidden(decideSubject(plan(), friend({ usesApp: true, shareViaFriends: false }), EVERYTHING), 'friend_opted_out');
  });

  test('not_in_agreement: a field not in the agreement friend fields, even if it is a member field', () => {
    const p = plan({ agreement: { friendFields: OBJECT_FIELDS_MASK & ~mask('birthday') } });
    const d = decideSubject(p, friend(), mask('name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { birthday: 'not_in_agreement' });
  });

  test('an agreement with no friend fields releases only the id of a visible friend', () => {
    const d = decideSubject(plan({ agreement: { friendFields: 0 } }), friend(), mask('name', 'picture', 'work'));
    assert.deepEqual(releasedFields(d), ['id']);
    assert.deepEqual(withheldReasons(d), { name: 'not_in_agreement', picture: 'not_in_agreement', work: 'not_in_agreement' });
  });

  test("not_consented: a friend field the member's grant does not cover", () => {
    const p = plan({ grant: { friendFields: OBJECT_FIELDS_MASK & ~mask('birthday') } });
    const d = decideSubject(p, friend(), mask('name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { birthday: 'not_consented' });
  });

  test("audience_restricted: a field whose audience the friend set to only_me", () => {
    const d = decideSubject(plan(), friend({ friendsAudience: OBJECT_FIELDS_MASK & ~mask('birthday') }), mask('name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { birthday: 'audience_restricted' });
  });

  test('wind_down: exactly at no_friend_data every friend field is withheld, but the friend and its id remain', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData);
    const d = decideSubject(p, friend(), mask('id', 'name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id']);
    assert.deepEqual(withheldReasons(d), { name: 'wind_down', birthday: 'wind_down' });
  });

  test('wind_down: 1 ms before no_friend_data friend fields are still released', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData - 1);
    const d = decideSubject(p, friend(), mask('name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'name', 'birthday']);
    assert.deepEqual(withheldReasons(d), {});
  });

  test('wind_down applies at its date even while the status is still active', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'active', windDown: w } }, w.noFriendData);
    assert.deepEqual(withheldReasons(decideSubject(p, friend(), mask('birthday'))), { birthday: 'wind_down' });
  });

  for (const field of SENSITIVE_FIELDS) {
    test(`sensitive_field: ${field} never leaves about a friend, though agreement, grant and audience allow it`, () => {
      const d = decideSubject(plan(), friend({ friendsAudience: OBJECT_FIELDS_MASK }), mask(field, 'name'));
      assert.deepEqual(releasedFields(d), ['id', 'name']);
      assert.deepEqual(withheldReasons(d), { [field]: 'sensitive_field' });
    });
  }

  test('id and the other basic fields of a visible friend are public whatever the audience mask says', () => {
    const d = decideSubject(plan(), friend({ friendsAudience: 0 }), mask('id', 'name', 'birthday'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
    assert.deepEqual(withheldReasons(d), { birthday: 'audience_restricted' });
  });

  test('the id of a visible friend is released even when not asked for', () => {
    assert.deepEqual(releasedFields(decideSubject(plan(), friend(), 0)), ['id']);
  });
});

describe('decideSubject: a friend who keeps an app or partner out (PRODUCT.md §4)', () => {
  const keepsApp = { apps: [APP_ID], partners: [] };
  const keepsPartner = { apps: [], partners: [PARTNER_ID] };
  const keepsOthers = { apps: ['app-other'], partners: ['partner-other'] };

  test('is left out by that app, exactly as a friend who opted out, in both app classes', () => {
    for (const overrides of [{}, thirdParty]) {
      assertHidden(decideSubject(plan(overrides), friend({ exclusions: keepsApp }), EVERYTHING), 'friend_opted_out');
      assertHidden(decideSubject(plan(overrides), friend({ exclusions: keepsApp }), mask('id')), 'friend_opted_out');
    }
  });

  test('is left out by every app of a partner they keep out', () => {
    for (const appId of [APP_ID, 'app-2-of-partner-1']) {
      assertHidden(decideSubject(plan({ app: { id: appId } }), friend({ exclusions: keepsPartner }), EVERYTHING), 'friend_opted_out');
    }
  });

  test('is still seen by every other app and partner, with the same fields as before', () => {
    const d = decideSubject(plan(), friend({ exclusions: keepsOthers }), EVERYTHING);
    assert.deepEqual(d, decideSubject(plan(), friend(), EVERYTHING));
    assert.ok(d.visible);
  });

  test('does not change what the member\'s own consent gives the app about themselves', () => {
    const d = decideSubject(plan(), self({ exclusions: { apps: [APP_ID], partners: [PARTNER_ID] } }), EVERYTHING);
    assert.ok(d.visible);
    assert.equal(d.relation, 'self');
  });
});

describe('decideSubject: first failing reason wins', () => {
  test('not_in_agreement before not_consented, audience, wind-down and sensitivity', () => {
    const w = windDown();
    const p = plan(
      { agreement: { status: 'winding_down', windDown: w, friendFields: mask('name') }, grant: { friendFields: mask('name') } },
      w.noFriendData,
    );
    const d = decideSubject(p, friend({ friendsAudience: 0 }), mask('religion'));
    assert.deepEqual(withheldReasons(d), { religion: 'not_in_agreement' });
  });

  test('not_consented before audience, wind-down and sensitivity', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'winding_down', windDown: w }, grant: { friendFields: mask('name') } }, w.noFriendData);
    const d = decideSubject(p, friend({ friendsAudience: 0 }), mask('religion'));
    assert.deepEqual(withheldReasons(d), { religion: 'not_consented' });
  });

  test('audience_restricted before wind-down and sensitivity', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData);
    const d = decideSubject(p, friend({ friendsAudience: BASIC_MASK }), mask('religion'));
    assert.deepEqual(withheldReasons(d), { religion: 'audience_restricted' });
  });

  test('wind_down before sensitivity', () => {
    const w = windDown();
    const p = plan({ agreement: { status: 'winding_down', windDown: w } }, w.noFriendData);
    const d = decideSubject(p, friend(), mask('religion'));
    assert.deepEqual(withheldReasons(d), { religion: 'wind_down' });
  });

  test('each field keeps its own first failing reason within one request', () => {
    const p = plan({
      agreement: { friendFields: OBJECT_FIELDS_MASK & ~mask('email') },
      grant: { friendFields: OBJECT_FIELDS_MASK & ~mask('email', 'phone') },
    });
    const d = decideSubject(p, friend({ friendsAudience: OBJECT_FIELDS_MASK & ~mask('hometown', 'religion', 'phone') }), mask('name', 'email', 'phone', 'hometown', 'religion', 'work'));
    assert.deepEqual(releasedFields(d), ['id', 'name', 'work']);
    assert.deepEqual(withheldReasons(d), {
      email: 'not_in_agreement',
      phone: 'not_consented',
      hometown: 'audience_restricted',
      religion: 'audience_restricted',
    });
    assert.ok(d.visible);
    assert.deepEqual(d.withheld.map((group) => group.reason), ['not_in_agreement', 'not_consented', 'audience_restricted']);
  });
});

describe('decideSubject: a friend under a third-party app', () => {
  const cases: [boolean, boolean, boolean][] = [
    [true, true, true],
    [true, false, false],
    [false, true, false],
    [false, false, false],
  ];
  for (const [platformEnabled, usesApp, visible] of cases) {
    test(`platform ${platformEnabled ? 'on' : 'off'}, ${usesApp ? 'uses' : 'does not use'} the app: ${visible ? 'visible' : 'left out'}`, () => {
      const d = decideSubject(plan(thirdParty), friend({ platformEnabled, usesApp, shareViaFriends: true }), mask('name'));
      if (visible) assert.deepEqual(releasedFields(d), ['id', 'name']);
      else assertHidden(d, 'friend_opted_out');
    });
  }

  test('share_via_friends does not matter to a third-party app: usesApp does', () => {
    const d = decideSubject(plan(thirdParty), friend({ shareViaFriends: false, usesApp: true }), mask('name'));
    assert.deepEqual(releasedFields(d), ['id', 'name']);
  });

  test('only id, name and picture are released; everything else is third_party_friend_data', () => {
    const d = decideSubject(plan(thirdParty), friend(), EVERYTHING);
    assert.ok(d.visible);
    assert.equal(d.relation, 'friend');
    assert.equal(d.released, BASIC_MASK);
    const reasons = withheldReasons(d);
    for (const field of OBJECT_FIELDS) {
      if (FIELD_CLASS[field] === 'basic') assert.equal(reasons[field], undefined, field);
      else assert.equal(reasons[field], 'third_party_friend_data', field);
    }
  });

  test('sensitive friend fields are withheld as third_party_friend_data, the first rule they fail', () => {
    const d = decideSubject(plan(thirdParty), friend(), mask(...SENSITIVE_FIELDS));
    assert.deepEqual(withheldReasons(d), { relationship_status: 'third_party_friend_data', religion: 'third_party_friend_data', political_views: 'third_party_friend_data' });
  });

  test('name and picture also need the agreement member fields and the grant', () => {
    const p1 = plan({ ...thirdParty, agreement: { memberFields: mask('id', 'picture', 'friends') } });
    assert.deepEqual(withheldReasons(decideSubject(p1, friend(), mask('name', 'picture'))), { name: 'not_in_agreement' });
    const p2 = plan({ ...thirdParty, grant: { memberFields: mask('id', 'name', 'friends') } });
    assert.deepEqual(withheldReasons(decideSubject(p2, friend(), mask('name', 'picture'))), { picture: 'not_consented' });
  });

  test("the friend's audience is not read for the basic fields, which are always public", () => {
    const d = decideSubject(plan(thirdParty), friend({ friendsAudience: 0 }), mask('name', 'picture'));
    assert.deepEqual(releasedFields(d), ['id', 'name', 'picture']);
  });

  test('agreement friend fields do not widen what a third-party app gets about friends', () => {
    const d = decideSubject(plan({ ...thirdParty, agreement: { friendFields: OBJECT_FIELDS_MASK } }), friend(), mask('birthday'));
    assert.deepEqual(withheldReasons(d), { birthday: 'third_party_friend_data' });
  });
});

/**
 * An independent, field-by-field reading of PRODUCT.md §4 (plus the grant's friend fields, which the
 * engine also checks), compared with the engine over random worlds.
 */
describe('decideSubject matches a field-by-field model of the rules', () => {
  interface World {
    appClass: AppClass;
    appId: string;
    agreementMember: FieldMask;
    agreementFriend: FieldMask;
    grantMember: FieldMask;
    grantFriend: FieldMask;
    friendDataEnded: boolean;
    subject: SubjectFacts;
    subjectKind: 'self' | 'friend' | 'stranger';
    requested: FieldMask;
  }

  const has = (m: FieldMask, field: Field): boolean => (m & fieldBit(field)) !== 0;

  function model(world: World): SubjectDecision {
    const { subject } = world;
    const isSelf = world.subjectKind === 'self';
    if (!isSelf) {
      const friendsAllowed = has(world.agreementMember, 'friends') && has(world.grantMember, 'friends');
      if (!subject.isFriend || !friendsAllowed) return { visible: false, reason: 'stranger' };
      const keptOut = subject.exclusions.apps.includes(world.appId) || subject.exclusions.partners.includes(PARTNER_ID);
      const optedIn = subject.platformEnabled && !keptOut && (world.appClass === 'third_party' ? subject.usesApp : subject.shareViaFriends);
      if (!optedIn) return { visible: false, reason: 'friend_opted_out' };
    }
    let released = ID_MASK;
    const byReason = new Map<FieldReason, FieldMask>();
    for (const field of FIELDS) {
      if (field === 'id' || !has(world.requested, field)) continue;
      const checks: [FieldReason, boolean][] = isSelf
        ? [['not_in_agreement', has(world.agreementMember, field)], ['not_consented', has(world.grantMember, field)]]
        : world.appClass === 'third_party'
          ? [
              ['third_party_friend_data', FIELD_CLASS[field] === 'basic'],
              ['not_in_agreement', has(world.agreementMember, field)],
              ['not_consented', has(world.grantMember, field)],
              ['wind_down', !world.friendDataEnded],
            ]
          : [
              ['not_in_agreement', has(world.agreementFriend, field)],
              ['not_consented', has(world.grantFriend, field)],
              ['audience_restricted', has(subject.friendsAudience, field) || FIELD_CLASS[field] === 'basic'],
              ['wind_down', !world.friendDataEnded],
              ['sensitive_field', FIELD_CLASS[field] !== 'sensitive'],
            ];
      const failed = checks.find(([, ok]) => !ok);
      if (failed === undefined) released |= fieldBit(field);
      else byReason.set(failed[0], (byReason.get(failed[0]) ?? 0) | fieldBit(field));
    }
    const withheld = FIELD_REASONS.filter((reason) => byReason.has(reason)).map((reason) => ({ reason, fields: byReason.get(reason)! }));
    return { visible: true, relation: isSelf ? 'self' : 'friend', released, withheld };
  }

  /** The engine's withheld groups, ordered by reason so that both sides compare equal. */
  function normalise(decision: SubjectDecision): SubjectDecision {
    if (!decision.visible) return decision;
    const withheld = [...decision.withheld].sort((a, b) => FIELD_REASONS.indexOf(a.reason) - FIELD_REASONS.indexOf(b.reason));
    return { ...decision, withheld };
  }

  const anyMask = fc.integer({ min: 0, max: (1 << FIELDS.length) - 1 });
  /** Exclusions drawn from the request's own app and partner and others, so that every combination is met. */
  const exclusionLists = fc.record({
    apps: fc.subarray([APP_ID, 'app-2-of-partner-1', 'app-other']),
    partners: fc.subarray([PARTNER_ID, 'partner-other']),
  });
  const worlds = fc.record({
    appClass: fc.constantFrom<AppClass>('device_partner', 'third_party'),
    appId: fc.constantFrom(APP_ID, 'app-2-of-partner-1'),
    exclusions: fc.oneof(exclusionLists, fc.constant({ apps: ['app-other'], partners: ['partner-other'] })),
    agreementMember: anyMask,
    agreementFriend: anyMask,
    grantMember: anyMask,
    grantFriend: anyMask,
    friendDataEnded: fc.boolean(),
    subjectKind: fc.constantFrom('self', 'friend', 'stranger'),
    platformEnabled: fc.boolean(),
    shareViaFriends: fc.boolean(),
    usesApp: fc.boolean(),
    friendsAudience: anyMask.map((m) => m & OBJECT_FIELDS_MASK),
    requested: anyMask,
  });

  test('for random agreements, grants, settings and requests', () => {
    const w = windDown();
    // The exclusion rule's cases, counted so that the test fails if the generator stops reaching them.
    const exclusionCases = { keptOutByApp: 0, keptOutByPartnerOnly: 0, seenDespiteOtherExclusions: 0 };
    fc.assert(
      fc.property(worlds, (raw) => {
        const world: World = {
          ...raw,
          subjectKind: raw.subjectKind as World['subjectKind'],
          subject:
            raw.subjectKind === 'self'
              ? self({
                  platformEnabled: raw.platformEnabled, shareViaFriends: raw.shareViaFriends, usesApp: raw.usesApp,
                  friendsAudience: raw.friendsAudience, exclusions: raw.exclusions,
                })
              : friend({
                  id: raw.subjectKind === 'friend' ? 'member-friend' : 'member-other',
                  isFriend: raw.subjectKind === 'friend',
                  platformEnabled: raw.platformEnabled,
                  shareViaFriends: raw.shareViaFriends,
                  usesApp: raw.usesApp,
                  friendsAudience: raw.friendsAudience,
                  exclusions: raw.exclusions,
                }),
        };
        const now = world.friendDataEnded ? w.noFriendData : NOW;
        const p = plan(
          {
            app: { class: world.appClass, id: world.appId },
            agreement: { status: 'winding_down', windDown: w, memberFields: world.agreementMember, friendFields: world.agreementFriend },
            grant: { memberFields: world.grantMember, friendFields: world.grantFriend },
          },
          now,
        );
        const decision = decideSubject(p, world.subject, world.requested);
        assert.deepEqual(normalise(decision), model(world));
        const { apps, partners } = world.subject.exclusions;
        const wouldBeSeen = world.subjectKind === 'friend' && p.friendsVisible && world.subject.platformEnabled
          && (world.appClass === 'third_party' ? world.subject.usesApp : world.subject.shareViaFriends);
        if (wouldBeSeen && apps.includes(world.appId)) exclusionCases.keptOutByApp++;
        else if (wouldBeSeen && partners.includes(PARTNER_ID)) exclusionCases.keptOutByPartnerOnly++;
        else if (wouldBeSeen && apps.length + partners.length > 0) exclusionCases.seenDespiteOtherExclusions++;
        // The scan's first half agrees with the whole decision, without reading the audience.
        const { friendsAudience: _unread, ...visibilityFacts } = world.subject;
        assert.equal(subjectVisibility(p, visibilityFacts), decision.visible ? decision.relation : decision.reason);
      }),
      { numRuns: 4000 },
    );
    // Each is expected in dozens of runs; none at all would mean the generator no longer reaches it.
    for (const [name, count] of Object.entries(exclusionCases)) assert.ok(count > 0, `${name}: ${count} runs`);
  });

  test('released and withheld always partition the requested fields, with id released', () => {
    fc.assert(
      fc.property(fc.constantFrom<AppClass>('device_partner', 'third_party'), anyMask, anyMask, anyMask, (appClass, fields, audience, requested) => {
        const p = plan({ app: { class: appClass }, agreement: { friendFields: fields }, grant: { friendFields: fields } });
        const d = decideSubject(p, friend({ friendsAudience: audience & OBJECT_FIELDS_MASK }), requested);
        assert.ok(d.visible);
        let withheld = 0;
        for (const group of d.withheld) {
          assert.notEqual(group.fields, 0, 'no empty group');
          assert.equal(withheld & group.fields, 0, 'a field is withheld once');
          withheld |= group.fields;
        }
        assert.equal(d.released & ID_MASK, ID_MASK);
        assert.equal(withheld & ID_MASK, 0);
        assert.equal(d.released & withheld, 0);
        assert.equal((d.released | withheld) & ~ID_MASK, requested & ~ID_MASK);
      }),
      { numRuns: 500 },
    );
  });
});
