import { isFreshTotpStep, matchingTotpStep, type SecondFactor } from '../domain/staff-login.js';
import type { Instant } from '../domain/time.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Store } from '../store/store.js';

/** A second factor as checked: whether the account has one, and what the code given was worth. */
export interface SecondFactorCheck {
  readonly enabled: boolean;
  readonly result: SecondFactor;
  /** Which kind of code was accepted. */
  readonly via?: 'totp' | 'recovery_code';
}

/**
 * Checks `code` against the account's confirmed authenticator (a TOTP code not used before) or
 * its unused recovery codes. Accepting uses the code up: the same TOTP step, or recovery code, is
 * refused the next time, from any instance.
 */
export async function checkSecondFactor(store: Store, box: SecretBox, staffId: string, code: string | undefined, now: Instant): Promise<SecondFactorCheck> {
  const stored = await store.staffTwoFactor.totp(staffId);
  if (!stored || stored.confirmedAt === null) return { enabled: false, result: 'none' };
  const typed = code?.trim() ?? '';
  if (typed === '') return { enabled: true, result: 'none' };
  const secret = box.open(stored.secretSealed, staffId);
  const step = secret === undefined ? null : matchingTotpStep(secret, typed, now);
  if (step !== null) {
    const fresh = isFreshTotpStep(stored.lastUsedStep, step) && await store.staffTwoFactor.useStep(staffId, step, now);
    return fresh ? { enabled: true, result: 'valid', via: 'totp' } : { enabled: true, result: 'invalid' };
  }
  if (await store.staffTwoFactor.useRecoveryCode(staffId, typed, now)) return { enabled: true, result: 'valid', via: 'recovery_code' };
  return { enabled: true, result: 'invalid' };
}
