import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSegment, encodeSegment, type SealedRequest } from '../../src/store/replay-segment.js';

const text = fc.string({ maxLength: 12 });
const head = fc.tuple(
  fc.constantFrom('app_a', 'app_b'), fc.option(fc.constantFrom('partner_a', 'pärtner "b"')), fc.option(fc.integer({ min: 1, max: 4 })),
  fc.constantFrom('2026-01', '2026-11'), fc.option(fc.constantFrom('device_experience', 'sync')), fc.constantFrom<'served' | 'denied'>('served', 'denied'),
  fc.option(fc.constantFrom('platform_disabled', 'grant_expired')),
);
/** A subject's packed code (mostly one of a few, as a request's friends share theirs; up to 2^40) and member number. */
const code = fc.oneof({ arbitrary: fc.constantFrom(6, 1_234_567, 2 ** 40 + 1), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 2 ** 40 }), weight: 1 });
const subjects = fc.array(fc.tuple(code, fc.integer({ min: 0, max: 2 ** 31 - 1 })), { maxLength: 40 });
const request = fc.record({
  leafCount: fc.integer({ min: 1, max: 200 }), at: fc.integer({ min: 0, max: 2 ** 45 }), head, tokenMemberId: text, namedMemberId: fc.option(text),
  passedOver: fc.integer({ min: -1, max: 1000 }), appended: fc.boolean(), subjects, gap: fc.integer({ min: 1, max: 2 ** 20 }),
});

test('a replay segment reads back every request as sealed: heads, instants, tokens, and each subject\'s code and number, in order', () => {
  let subjectsSeen = 0;
  let sharedCodes = 0;
  fc.assert(fc.property(fc.array(request, { maxLength: 30 }), (drawn) => {
    let seq = 2 ** 33;
    const requests: SealedRequest[] = drawn.map(({ gap, subjects: pairs, ...rest }) => {
      seq += gap;
      return { ...rest, seq, codes: pairs.map(([code]) => code), numbers: pairs.map(([, number]) => number) };
    });
    const segment = decodeSegment(encodeSegment(requests));
    const read: SealedRequest[] = Array.from({ length: segment.length }, (_, index) => {
      const span = Array.from({ length: segment.starts[index + 1]! - segment.starts[index]! }, (_, at) => segment.starts[index]! + at);
      return {
        seq: segment.seqs[index]!, leafCount: segment.leafCounts[index]!, at: segment.ats[index]!, head: segment.headClasses[segment.heads[index]!]!,
        tokenMemberId: segment.tokens[index]!, namedMemberId: segment.named[index]!, passedOver: segment.passedOver[index]!, appended: segment.appended[index] === 1,
        codes: span.map((at) => segment.codes[segment.codeIndexes[at]!]!), numbers: span.map((at) => segment.numbers[at]!),
      };
    });
    assert.deepEqual(read, requests);
    subjectsSeen += segment.numbers.length;
    sharedCodes += segment.numbers.length - segment.codes.length;
  }), { numRuns: 300 });
  // Segments of many subjects, most sharing a code with another (each code held once).
  assert.ok(subjectsSeen > 4_000 && sharedCodes > subjectsSeen / 2, `${subjectsSeen} subjects, ${sharedCodes} of them sharing a code`);
});

test('a segment of another format is refused, not misread', () => {
  const body = encodeSegment([]);
  const header = JSON.parse(body.subarray(4, 4 + body.readUInt32LE(0)).toString('utf8')) as Record<string, unknown>;
  const json = Buffer.from(JSON.stringify({ ...header, format: 2 }));
  const other = Buffer.alloc(4 + json.length + 64);
  other.writeUInt32LE(json.length, 0);
  json.copy(other, 4);
  assert.throws(() => decodeSegment(other), /format 2/);
});
