import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_FIELDS_MASK,
  BASIC_MASK,
  FIELDS,
  FIELD_CLASS,
  FRIENDS_MASK,
  ID_MASK,
  OBJECT_FIELDS,
  OBJECT_FIELDS_MASK,
  SENSITIVE_MASK,
  SENSITIVITY_CLASSES,
  fieldBit,
  fieldsOf,
  isField,
  maskOf,
  type Field,
  type SensitivityClass,
} from '../../src/domain/field-catalog.js';

/** PRODUCT.md §3, written out independently of the source. */
const SPEC_CATALOG: Record<SensitivityClass, Field[]> = {
  basic: ['id', 'name', 'picture'],
  contact: ['email', 'phone'],
  profile: ['birthday', 'gender', 'hometown', 'location', 'work', 'education'],
  sensitive: ['relationship_status', 'religion', 'political_views'],
  activity: ['events', 'likes', 'photos'],
  edge: ['friends'],
};

describe('field catalog contents', () => {
  test('holds exactly the 18 fields of PRODUCT.md §3, each once', () => {
    const specFields = Object.values(SPEC_CATALOG).flat();
    assert.equal(FIELDS.length, 18);
    assert.equal(new Set(FIELDS).size, FIELDS.length);
    assert.deepEqual([...FIELDS].sort(), [...specFields].sort());
  });

  test('gives every field the sensitivity class of PRODUCT.md §3', () => {
    for (const [sensitivity, fields] of Object.entries(SPEC_CATALOG)) {
      for (const field of fields) assert.equal(FIELD_CLASS[field], sensitivity, field);
    }
    assert.deepEqual(Object.keys(FIELD_CLASS).sort(), [...FIELDS].sort());
  });

  test('lists the six sensitivity classes', () => {
    assert.deepEqual([...SENSITIVITY_CLASSES].sort(), Object.keys(SPEC_CATALOG).sort());
  });

  test('object fields are every field except the friends edge', () => {
    assert.equal(OBJECT_FIELDS.length, 17);
    assert.ok(!(OBJECT_FIELDS as readonly string[]).includes('friends'));
    assert.deepEqual(OBJECT_FIELDS, FIELDS.filter((field) => field !== 'friends'));
  });
});

describe('isField', () => {
  test('accepts every catalog field', () => {
    for (const field of FIELDS) assert.equal(isField(field), true, field);
  });

  test('rejects names outside the catalog, wrong case and object-prototype keys', () => {
    for (const name of ['', 'Name', 'ID', 'friend', 'friends_of_friends', 'unknown', 'toString', 'constructor', '__proto__', ' id']) {
      assert.equal(isField(name), false, JSON.stringify(name));
    }
  });
});

describe('field bits and masks', () => {
  test('every field has its own single bit, in catalog order', () => {
    FIELDS.forEach((field, index) => assert.equal(fieldBit(field), 1 << index, field));
    const bits = FIELDS.map(fieldBit);
    assert.equal(new Set(bits).size, FIELDS.length);
  });

  test('every mask fits in the positive range of 31-bit integers', () => {
    assert.ok(ALL_FIELDS_MASK > 0);
    assert.equal(ALL_FIELDS_MASK, (1 << FIELDS.length) - 1);
    assert.equal(ALL_FIELDS_MASK | 0, ALL_FIELDS_MASK);
  });

  test('maskOf of nothing is 0 and fieldsOf(0) is empty', () => {
    assert.equal(maskOf([]), 0);
    assert.deepEqual(fieldsOf(0), []);
  });

  test('maskOf ignores duplicates and input order', () => {
    assert.equal(maskOf(['email', 'id', 'email']), maskOf(['id', 'email']));
    assert.equal(maskOf(['email', 'id']), fieldBit('id') | fieldBit('email'));
  });

  test('fieldsOf returns fields in catalog order, whatever order they were added in', () => {
    assert.deepEqual(fieldsOf(maskOf(['friends', 'religion', 'id', 'email'])), ['id', 'email', 'religion', 'friends']);
  });

  test('fieldsOf inverts maskOf for every single field and for the whole catalog', () => {
    for (const field of FIELDS) assert.deepEqual(fieldsOf(maskOf([field])), [field]);
    assert.deepEqual(fieldsOf(ALL_FIELDS_MASK), [...FIELDS]);
  });

  test('fieldsOf ignores bits beyond the catalog', () => {
    assert.deepEqual(fieldsOf(fieldBit('name') | (1 << 20) | (1 << 30)), ['name']);
  });

  test('named masks hold exactly their fields', () => {
    assert.deepEqual(fieldsOf(ID_MASK), ['id']);
    assert.deepEqual(fieldsOf(FRIENDS_MASK), ['friends']);
    assert.deepEqual(fieldsOf(BASIC_MASK), ['id', 'name', 'picture']);
    assert.deepEqual(fieldsOf(SENSITIVE_MASK), ['relationship_status', 'religion', 'political_views']);
    assert.deepEqual(fieldsOf(OBJECT_FIELDS_MASK), [...OBJECT_FIELDS]);
    assert.equal(OBJECT_FIELDS_MASK, ALL_FIELDS_MASK & ~FRIENDS_MASK);
  });

  test('basic and sensitive classes do not overlap, and neither holds the friends edge', () => {
    assert.equal(BASIC_MASK & SENSITIVE_MASK, 0);
    assert.equal(BASIC_MASK & FRIENDS_MASK, 0);
    assert.equal(SENSITIVE_MASK & FRIENDS_MASK, 0);
  });
});
