import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { AuditBlinding, tokenMemberCommitment } from '../../src/audit/blinding.js';

test('blinding is HMAC-SHA256(key, domain || index) cut to 16 bytes, and the token commitment SHA-256 over its parts, for keys longer than a block too', () => {
  for (const keyLength of [32, 64, 65, 100]) {
    const key = randomBytes(keyLength);
    const blinding = new AuditBlinding(key);
    for (const index of [0, 1, 255, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(BigInt(index));
      const expected = createHmac('sha256', key).update('datapact-audit-blind/v1').update(message).digest().subarray(0, 16).toString('base64url');
      const blind = blinding.blind(index);
      assert.equal(blind, expected, `key of ${keyLength} bytes, index ${index}`);
      const commitment = createHash('sha256').update('datapact-audit-token-member/v1\n').update(Buffer.from(blind, 'base64url')).update('m_élodie', 'utf8').digest('base64url');
      assert.equal(tokenMemberCommitment(blind, 'm_élodie'), commitment);
    }
  }
});
