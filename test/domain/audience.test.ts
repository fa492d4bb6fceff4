import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIENCES, defaultAudience, friendsAudienceMask, isAudience, withAudience, type AudienceSettings } from '../../src/domain/audience.js';
import { BASIC_MASK, FIELD_CLASS, FRIENDS_MASK, OBJECT_FIELDS, OBJECT_FIELDS_MASK, fieldBit, fieldsOf, type ObjectField } from '../../src/domain/field-catalog.js';
import fc from 'fast-check';
import { mask } from './builders.js';

describe('audiences', () => {
  test('are public, friends and only_me (PRODUCT.md §3)', () => {
    assert.deepEqual([...AUDIENCES], ['public', 'friends', 'only_me']);
  });

  test('isAudience accepts exactly those three', () => {
    for (const audience of AUDIENCES) assert.equal(isAudience(audience), true, audience);
    for (const value of ['', 'Public', 'everyone', 'friends_of_friends', 'only me', 'toString']) {
      assert.equal(isAudience(value), false, value);
    }
  });
});

describe('defaultAudience', () => {
  test('basic fields are public', () => {
    for (const field of ['id', 'name', 'picture'] as const) assert.equal(defaultAudience(field), 'public', field);
  });

  test('contact and sensitive fields start as only_me', () => {
    for (const field of ['email', 'phone', 'relationship_status', 'religion', 'political_views'] as const) {
      assert.equal(defaultAudience(field), 'only_me', field);
    }
  });

  test('profile and activity fields start as friends', () => {
    for (const field of ['birthday', 'gender', 'hometown', 'location', 'work', 'education', 'events', 'likes', 'photos'] as const) {
      assert.equal(defaultAudience(field), 'friends', field);
    }
  });
});

describe('friendsAudienceMask', () => {
  test('with no settings: basic, profile and activity fields, nothing contact or sensitive', () => {
    assert.deepEqual(fieldsOf(friendsAudienceMask({})), [
      'id', 'name', 'picture',
      'birthday', 'gender', 'hometown', 'location', 'work', 'education',
      'events', 'likes', 'photos',
    ]);
  });

  test('public and friends both let friends see a field', () => {
    assert.ok(friendsAudienceMask({ email: 'public' }) & mask('email'));
    assert.ok(friendsAudienceMask({ email: 'friends' }) & mask('email'));
    assert.ok(friendsAudienceMask({ religion: 'friends' }) & mask('religion'));
  });

  test('only_me hides a field from friends', () => {
    const m = friendsAudienceMask({ birthday: 'only_me', photos: 'only_me' });
    assert.equal(m & mask('birthday', 'photos'), 0);
    assert.ok(m & mask('gender'), 'other defaults stay');
  });

  test('basic fields stay visible even if a setting says only_me (basic is always public)', () => {
    const m = friendsAudienceMask({ id: 'only_me', name: 'only_me', picture: 'only_me' });
    assert.equal(m & BASIC_MASK, BASIC_MASK);
  });

  test('everything public gives every object field; everything only_me gives basic only', () => {
    const all: AudienceSettings = {};
    const none: AudienceSettings = {};
    for (const field of OBJECT_FIELDS as ObjectField[]) {
      all[field] = 'public';
      none[field] = 'only_me';
    }
    assert.equal(friendsAudienceMask(all), OBJECT_FIELDS_MASK);
    assert.equal(friendsAudienceMask(none), BASIC_MASK);
  });

  test('never contains the friends edge', () => {
    assert.equal(friendsAudienceMask({}) & FRIENDS_MASK, 0);
    const settings = { friends: 'public' } as unknown as AudienceSettings;
    assert.equal(friendsAudienceMask(settings) & FRIENDS_MASK, 0);
  });

  test('equals the field-by-field definition: each non-basic field unless its audience (set or default) is only_me', () => {
    const byDefinition = (settings: AudienceSettings) => {
      let m = BASIC_MASK;
      for (const field of OBJECT_FIELDS) {
        if (FIELD_CLASS[field] === 'basic') continue;
        if ((settings[field] ?? defaultAudience(field)) !== 'only_me') m |= fieldBit(field);
      }
      return m;
    };
    const settings = fc.dictionary(fc.constantFrom(...OBJECT_FIELDS, 'friends' as ObjectField), fc.constantFrom(...AUDIENCES));
    fc.assert(fc.property(settings, (s) => friendsAudienceMask(s) === byDefinition(s)), { numRuns: 500 });
  });

  test('withAudience applies one setting; basic fields and names that are no object field leave the mask as it is', () => {
    const m = friendsAudienceMask({});
    assert.equal(withAudience(m, 'birthday', 'only_me'), m & ~mask('birthday'));
    assert.equal(withAudience(m, 'email', 'friends'), m | mask('email'));
    assert.equal(withAudience(m, 'name', 'only_me'), m);
    assert.equal(withAudience(m, 'friends', 'public'), m);
    assert.equal(withAudience(m, 'toString', 'public'), m);
  });
});
