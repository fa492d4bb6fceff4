import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ONE_TIME_PASSWORD_TTL_MS, TOTP_PERIOD_S, isFreshTotpStep, judgeStaffLogin, matchingTotpStep, mustChangePasswordFirst,
  totpCodeAt, totpStepAt, type SecondFactor,
} from '../../src/domain/staff-login.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('judgeStaffLogin', () => {
  test('what a login still lacks, for every combination of facts', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(
      fc.boolean(), fc.boolean(), fc.constantFrom<SecondFactor>('none', 'valid', 'invalid'), fc.option(fc.integer({ min: 0, max: 2 * ONE_TIME_PASSWORD_TTL_MS })),
      (passwordMatches, twoFactorEnabled, secondFactor, resetAge) => {
        const passwordResetAt = resetAge === null ? null : NOW - resetAge;
        const verdict = judgeStaffLogin({ passwordMatches, passwordResetAt, twoFactorEnabled, secondFactor, now: NOW });
        const expired = resetAge !== null && resetAge >= ONE_TIME_PASSWORD_TTL_MS;
        const expected = !passwordMatches || expired ? 'invalid_credentials'
          : twoFactorEnabled && secondFactor === 'none' ? 'two_factor_required'
            : twoFactorEnabled && secondFactor === 'invalid' ? 'invalid_two_factor_code'
              : 'ok';
        seen.add(expected);
        assert.equal(verdict.ok ? 'ok' : verdict.code, expected);
        if (verdict.ok) assert.equal(verdict.passwordChangeRequired, passwordResetAt !== null);
        else assert.equal(verdict.failedStep, expected === 'invalid_credentials' ? 'password' : 'second_factor');
      },
    ), { numRuns: 300 });
    assert.deepEqual([...seen].sort(), ['invalid_credentials', 'invalid_two_factor_code', 'ok', 'two_factor_required']);
  });

  test('a pending reset confines sessions, not API keys', () => {
    assert.equal(mustChangePasswordFirst(NOW, 'session'), true);
    assert.equal(mustChangePasswordFirst(NOW, 'api_key'), false);
    assert.equal(mustChangePasswordFirst(null, 'session'), false);
  });
});

describe('TOTP', () => {
  test('RFC 6238 test vector (SHA-1, 8 digits shown as its last 6)', () => {
    // RFC 6238 Appendix B: secret "12345678901234567890", T = 59 s gives 94287082.
    const base32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    assert.equal(totpCodeAt(base32, 59_000), '287082');
  });

  test('codes of the step before and after are accepted (clock drift), no further; only fresh steps count', () => {
    const step = totpStepAt(NOW);
    const period = TOTP_PERIOD_S * 1000;
    assert.equal(matchingTotpStep(SECRET, totpCodeAt(SECRET, NOW), NOW), step);
    assert.equal(matchingTotpStep(SECRET, totpCodeAt(SECRET, NOW - period), NOW), step - 1);
    assert.equal(matchingTotpStep(SECRET, totpCodeAt(SECRET, NOW + period), NOW), step + 1);
    assert.equal(matchingTotpStep(SECRET, totpCodeAt(SECRET, NOW - 2 * period), NOW), null);
    assert.equal(matchingTotpStep(SECRET, 'abcdef', NOW), null);
    assert.equal(matchingTotpStep(SECRET, ` ${totpCodeAt(SECRET, NOW)}`, NOW), null, 'the caller trims');
    assert.equal(isFreshTotpStep(null, step), true);
    assert.equal(isFreshTotpStep(step, step), false);
    assert.equal(isFreshTotpStep(step - 1, step), true);
  });
});
