import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditBlinding } from '../../src/audit/blinding.js';
import { CanonicalEncodingError, ENTRY_KEYS, decodeEntry, encodeEntry } from '../../src/audit/canonical-entry.js';
import { LeafWriter, blindedLeaf, encodeLeafText, releasedBytes, requestBytes, withheldBytes } from '../../src/audit/canonical-entry-v2.js';
import { FIELDS, type Field } from '../../src/domain/field-catalog.js';
import { FIELD_REASONS, FRIEND_OPTED_OUT, RULES_VERSION, type WithheldReason } from '../../src/domain/reason-codes.js';

const AT = Date.UTC(2026, 10, 29, 13, 0, 0, 123);

const released: AuditEntry = {
  at: AT,
  requestId: 'req-1',
  appId: 'app-1',
  partnerId: 'partner-1',
  agreementId: 'agr-1',
  agreementVersion: 3,
  rulesVersion: RULES_VERSION,
  tokenMemberId: 'member-self',
  subjectMemberId: 'member-friend',
  purpose: 'device_experience',
  outcome: 'released',
  code: null,
  released: ['name', 'id', 'birthday'],
  withheld: { religion: 'sensitive_field', email: 'not_in_agreement' },
};

const staffAction: AuditEntry = {
  at: AT,
  requestId: 'req-2',
  appId: null,
  partnerId: 'partner-1',
  agreementId: null,
  agreementVersion: null,
  rulesVersion: RULES_VERSION,
  tokenMemberId: null,
  subjectMemberId: null,
  purpose: null,
  outcome: 'staff_action',
  code: 'partner.update',
  released: [],
  withheld: {},
  actor: 'staff-7',
  action: 'partner.update',
  detail: { z: [3, 1, { b: true, a: null }], a: 'é😀' },
};

const text = (e: AuditEntry): string => encodeEntry(e).toString('utf8');

/** The entry as it decodes: absent optional fields become null. */
function normalized(e: AuditEntry): AuditEntry {
  return { ...e, actor: e.actor ?? null, action: e.action ?? null, detail: e.detail ?? null };
}

/** The same entry with its keys (and those of its maps, at every depth) in reverse order. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)])) as T;
  }
  return value;
}

describe('encodeEntry: the canonical bytes', () => {
  test('fixed key order, ISO-8601 UTC instant, nulls for absent fields, sorted withheld, released in order', () => {
    assert.equal(
      text(released),
      '{"at":"2026-11-29T13:00:00.123Z","requestId":"req-1","appId":"app-1","partnerId":"partner-1",' +
        '"agreementId":"agr-1","agreementVersion":3,"rulesVersion":"' + RULES_VERSION + '",' +
        '"tokenMemberId":"member-self","subjectMemberId":"member-friend","purpose":"device_experience",' +
        '"outcome":"released","code":null,"released":["name","id","birthday"],' +
        '"withheld":{"email":"not_in_agreement","religion":"sensitive_field"},"actor":null,"action":null,"detail":null}',
    );
  });

  test('detail keys are sorted at every depth, arrays kept in order, text is UTF-8', () => {
    const t = text(staffAction);
    assert.ok(t.endsWith('"actor":"staff-7","action":"partner.update","detail":{"a":"é😀","z":[3,1,{"a":null,"b":true}]}}'), t);
    assert.ok(encodeEntry(staffAction).includes(Buffer.from('c3a9f09f9880', 'hex')));
  });

  test('the key order of the input objects does not matter', () => {
    for (const e of [released, staffAction]) assert.deepEqual(encodeEntry(reversedKeys(e)), encodeEntry(e));
  });

  test('absent optional fields, undefined and null encode the same', () => {
    const withNulls: AuditEntry = { ...released, actor: null, action: null, detail: null };
    const withUndefined: AuditEntry = { ...released, actor: undefined, action: undefined, detail: undefined };
    assert.deepEqual(encodeEntry(withNulls), encodeEntry(released));
    assert.deepEqual(encodeEntry(withUndefined), encodeEntry(released));
  });

  test('changing any one field changes the bytes', () => {
    const changes: { [K in (typeof ENTRY_KEYS)[number]]: Partial<AuditEntry> } = {
      at: { at: AT + 1 },
      requestId: { requestId: 'req-1 ' },
      appId: { appId: null },
      partnerId: { partnerId: 'partner-2' },
      agreementId: { agreementId: 'agr-2' },
      agreementVersion: { agreementVersion: 4 },
      rulesVersion: { rulesVersion: 'rules-other' },
      tokenMemberId: { tokenMemberId: 'member-friend' },
      subjectMemberId: { subjectMemberId: 'member-self' },
      purpose: { purpose: 'login' },
      outcome: { outcome: 'withheld' },
      code: { code: 'x' },
      released: { released: ['id', 'name', 'birthday'] },
      withheld: { withheld: { religion: 'sensitive_field', email: 'not_consented' } },
      actor: { actor: 'system' },
      action: { action: 'x' },
      detail: { detail: {} },
    };
    const base = encodeEntry(released);
    for (const key of ENTRY_KEYS) {
      assert.notDeepEqual(encodeEntry({ ...released, ...changes[key] }), base, key);
    }
    // null and the string "null" are different values
    assert.notDeepEqual(encodeEntry({ ...released, code: 'null' }), base);
  });

  test('values that JSON cannot carry exactly are refused', () => {
    assert.throws(() => encodeEntry({ ...released, at: AT + 0.5 }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...released, at: Number.NaN }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...released, at: Date.UTC(10000, 0, 1) }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...released, agreementVersion: Number.POSITIVE_INFINITY }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...staffAction, detail: { when: new Date(AT) } }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...staffAction, detail: { n: 10n } }), CanonicalEncodingError);
    assert.throws(() => encodeEntry({ ...staffAction, detail: { list: [undefined] } }), CanonicalEncodingError);
  });
});

describe('decodeEntry', () => {
  test('round trip of worked examples', () => {
    for (const e of [released, staffAction]) {
      const bytes = encodeEntry(e);
      assert.deepEqual(decodeEntry(bytes), normalized(e));
      assert.deepEqual(encodeEntry(decodeEntry(bytes)), bytes);
    }
  });

  test('only canonical bytes are accepted', () => {
    const t = text(released);
    const bad = [
      t.replace('{"at"', '{ "at"'), // whitespace
      t.replace('"requestId":"req-1","appId":"app-1"', '"appId":"app-1","requestId":"req-1"'), // key order
      t.replace('{"email":"not_in_agreement","religion":"sensitive_field"}', '{"religion":"sensitive_field","email":"not_in_agreement"}'),
      t.replace('"agreementVersion":3', '"agreementVersion":3.0'),
      t.replace('"req-1"', '"req\\u002d1"'),
      t.replace('.123Z', '.123+00:00'),
      t.replace(',"detail":null}', '}'), // missing key
      t.replace('}', ',"extra":1}'),
      t.replace('"outcome":"released"', '"outcome":"leaked"'),
      t.replace('"appId":"app-1"', '"appId":1'),
      '[]',
      'not json',
    ];
    for (const b of bad) assert.throws(() => decodeEntry(Buffer.from(b)), CanonicalEncodingError, b);
    assert.throws(() => decodeEntry(Buffer.from([0xff, 0xfe])), TypeError); // not UTF-8
  });
});

describe('properties', () => {
  const id = fc.string({ minLength: 0, maxLength: 12, unit: 'grapheme' });
  const orNull = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null });
  const reasons: WithheldReason[] = [...FIELD_REASONS, FRIEND_OPTED_OUT];
  const jsonLeaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null));
  const detail = fc.dictionary(
    fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__'),
    fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }).filter((k) => k !== '__proto__'), jsonLeaf, { maxKeys: 3, noNullPrototype: true })),
    { maxKeys: 4, noNullPrototype: true },
  );
  const entry: fc.Arbitrary<AuditEntry> = fc.record(
    {
      at: fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) }),
      requestId: id,
      appId: orNull(id),
      partnerId: orNull(id),
      agreementId: orNull(id),
      agreementVersion: orNull(fc.integer({ min: 0, max: 1_000_000 })),
      rulesVersion: id,
      tokenMemberId: orNull(id),
      subjectMemberId: orNull(id),
      purpose: orNull(id),
      outcome: fc.constantFrom('released', 'withheld', 'denied', 'staff_action'),
      code: orNull(id),
      released: fc.shuffledSubarray<Field>([...FIELDS]),
      withheld: fc
        .uniqueArray(fc.tuple(fc.constantFrom<Field>(...FIELDS), fc.constantFrom(...reasons)), { selector: ([f]) => f, maxLength: 5 })
        .map((pairs) => Object.fromEntries(pairs) as Partial<Record<Field, WithheldReason>>),
      actor: fc.option(id, { nil: undefined }),
      action: orNull(id),
      detail: orNull(detail),
    },
    { requiredKeys: ['at', 'requestId', 'appId', 'partnerId', 'agreementId', 'agreementVersion', 'rulesVersion', 'tokenMemberId', 'subjectMemberId', 'purpose', 'outcome', 'code', 'released', 'withheld'] },
  ) as fc.Arbitrary<AuditEntry>;

  test('decode(encode(e)) is e, and encode(decode(bytes)) is the bytes', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const bytes = encodeEntry(e);
        const back = decodeEntry(bytes);
        assert.deepEqual(back, normalized(e));
        assert.deepEqual(encodeEntry(back), bytes);
        assert.deepEqual(encodeEntry(reversedKeys(e)), bytes);
      }),
      { numRuns: 500 },
    );
  });

  test('any string, control characters, quotes and lone surrogates included, is written as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 8 }), (text, field) => {
        const base = { at: 0, requestId: text, appId: null, partnerId: null, agreementId: null, agreementVersion: null,
          rulesVersion: 'r', tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'denied' as const,
          code: null, released: [field as Field], withheld: {} };
        const json = encodeEntry(base).toString('utf8');
        assert.ok(json.includes(`"requestId":${JSON.stringify(text)},`), json);
        assert.ok(json.includes(`"released":[${JSON.stringify(field)}],`), json);
      }),
      { numRuns: 1000 },
    );
  });

  test('two entries encode the same exactly when they are the same entry', () => {
    fc.assert(
      fc.property(entry, entry, (a, b) => {
        assert.equal(encodeEntry(a).equals(encodeEntry(b)), isDeepStrictEqual(normalized(a), normalized(b)));
      }),
      { numRuns: 500 },
    );
    // and for near neighbours: the same entry with one field taken from another entry
    fc.assert(
      fc.property(entry, entry, fc.constantFrom(...ENTRY_KEYS), (a, b, key) => {
        const mixed = { ...a, [key]: b[key] } as AuditEntry;
        assert.equal(encodeEntry(a).equals(encodeEntry(mixed)), isDeepStrictEqual(normalized(a), normalized(mixed)));
      }),
      { numRuns: 500 },
    );
  });

  test('entries encoded one after another encode as each does alone, even when changed in place in between', () => {
    // Encoding the staff action first leaves nothing of a previous entry to reuse.
    const alone = (e: AuditEntry) => {
      text(staffAction);
      return text(e);
    };
    const variations = fc.array(fc.tuple(entry, fc.subarray([...ENTRY_KEYS])), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(entry, variations, (base, steps) => {
        // Each entry is the one before with some fields taken from another: long runs share a head or a tail.
        let current = base;
        const sequence = steps.map(([other, keys]) => (current = { ...current, ...Object.fromEntries(keys.map((k) => [k, other[k]])) }));
        const inSequence = sequence.map(text);
        sequence.forEach((e, i) => assert.equal(inSequence[i], alone(e)));
      }),
      { numRuns: 300 },
    );
    const mutable = { ...released, released: ['id', 'name'] as Field[], withheld: { religion: 'sensitive_field' } as Record<string, WithheldReason> };
    const before = text(mutable);
    mutable.released.push('birthday');
    mutable.withheld.email = 'not_consented';
    assert.notEqual(text(mutable), before);
    assert.equal(text(mutable), alone(structuredClone(mutable)));
  });

  test('LeafWriter writes 0x00 and the blinded form\'s bytes of any entry, strings of any code units included, one entry after another', () => {
    const blinding = new AuditBlinding(Buffer.alloc(32, 3));
    const writer = new LeafWriter(); // one writer for every run: what it wrote before must not show through
    // Mostly what an id is made of, with what JSON escapes or UTF-8 encodes in several bytes, lone surrogates too.
    const unit = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('m', '_', '7', 'Z', '-') },
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u0080', 'é', '\ud83d', '\ude00', '😀', '\u2028'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const anyString = fc.string({ unit, maxLength: 40 });
    const passedOver = fc.option(fc.record({ count: fc.nat(), reason: anyString }), { nil: null });
    const odd = fc.record({ subjectMemberId: fc.option(anyString, { nil: null }), code: fc.option(anyString, { nil: null }), actor: fc.option(anyString, { nil: null }) });
    fc.assert(
      fc.property(entry, passedOver, fc.option(odd, { nil: undefined }), fc.nat({ max: 1_000_000 }), (e, over, strings, index) => {
        const stored = { ...e, ...strings, passedOver: over };
        const blind = blinding.blind(index);
        const expected = Buffer.concat([Buffer.from([0]), Buffer.from(encodeLeafText(blindedLeaf(stored, blind)), 'utf8')]);
        const written = writer.leafHashInput(requestBytes(stored), {
          subjectMemberId: stored.subjectMemberId, outcome: stored.outcome, code: stored.code, released: releasedBytes(stored.released),
          withheld: withheldBytes(stored.withheld), passedOver: stored.passedOver, actor: stored.actor ?? null, action: stored.action ?? null,
          detail: stored.detail ?? null,
        }, blind);
        assert.deepEqual(written, expected);
      }),
      { numRuns: 1000 },
    );
  });
});
