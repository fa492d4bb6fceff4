import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { AuditBlinding, BLIND_SIZE, tokenMemberCommitment } from '../../src/audit/blinding.js';

// The definitions of PRODUCT.md §8, spelled with Node's Hmac and Hash objects: the appender computes
// the same bytes its own, faster, way.
function referenceBlind(key: Buffer, leafIndex: number): string {
  const index = Buffer.alloc(8);
  index.writeBigUInt64BE(BigInt(leafIndex));
  return createHmac('sha256', key).update('datapact-audit-blind/v1').update(index).digest().subarray(0, BLIND_SIZE).toString('base64url');
}

function referenceCommitment(blind: string, tokenMemberId: string): string {
  return createHash('sha256').update('datapact-audit-token-member/v1\n').update(Buffer.from(blind, 'base64url')).update(tokenMemberId, 'utf8')
    .digest('base64url');
}

describe('audit blinding', () => {
  test('an entry\'s blind is HMAC-SHA256(key, domain || index) cut to 16 bytes, for keys of any length and any index', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 130 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (key, index) => {
        const blinding = new AuditBlinding(Buffer.from(key));
        assert.equal(blinding.blind(index), referenceBlind(Buffer.from(key), index));
        // Called again (its buffers are reused), the same.
        assert.equal(blinding.blind(index), referenceBlind(Buffer.from(key), index));
      }),
      { numRuns: 200 },
    );
  });

  test('the token member commitment is SHA-256(domain || blind || id), whatever the id holds', () => {
    const blinding = new AuditBlinding(Buffer.alloc(32, 7));
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.string({ unit: 'grapheme', maxLength: 200 }), (index, id) => {
        const blind = blinding.blind(index);
        assert.equal(tokenMemberCommitment(blind, id), referenceCommitment(blind, id));
      }),
      { numRuns: 200 },
    );
    // A long id after a short one, and back: the reused input grows and still hashes only what it holds.
    const blind = blinding.blind(1);
    for (const id of ['m_1', 'm_'.padEnd(500, 'x'), 'm_2']) assert.equal(tokenMemberCommitment(blind, id), referenceCommitment(blind, id));
  });
});
