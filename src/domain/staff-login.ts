import * as OTPAuth from 'otpauth';
import type { Instant } from './time.js';

/**
 * Staff login policy (issue 12): what a login attempt still lacks, and what a session may do while
 * an admin's password reset waits to be replaced. Pure: every fact is an input, `now` included.
 */

/** A password set by an admin's reset works for this long; then only another reset helps. */
export const ONE_TIME_PASSWORD_TTL_MS = 72 * 60 * 60 * 1000;

/** TOTP as authenticator apps expect it (RFC 6238 defaults): SHA-1, 6 digits, 30-second steps. */
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_S = 30;
/** Codes of one step either side of now are accepted, for clocks that drift. */
export const TOTP_WINDOW = 1;
export const TOTP_ISSUER = 'Datapact';
export const RECOVERY_CODE_COUNT = 10;

/** The second factor a login presented, as checked by the caller. */
export type SecondFactor = 'none' | 'valid' | 'invalid';

export interface StaffLoginFacts {
  /** False too when the account is unknown or disabled (the same answer for all three). */
  readonly passwordMatches: boolean;
  /** Set while the password is a one-time one from an admin's reset. */
  readonly passwordResetAt: Instant | null;
  readonly twoFactorEnabled: boolean;
  readonly secondFactor: SecondFactor;
  readonly now: Instant;
}

export type StaffLoginStep = 'password' | 'second_factor';

export type StaffLoginVerdict =
  | { readonly ok: true; readonly passwordChangeRequired: boolean }
  | {
    readonly ok: false;
    readonly failedStep: StaffLoginStep;
    /** What the caller is told: the password step never says which part was wrong. */
    readonly code: 'invalid_credentials' | 'two_factor_required' | 'invalid_two_factor_code';
  };

export function judgeStaffLogin(facts: StaffLoginFacts): StaffLoginVerdict {
  const expired = facts.passwordResetAt !== null && facts.now - facts.passwordResetAt >= ONE_TIME_PASSWORD_TTL_MS;
  if (!facts.passwordMatches || expired) return { ok: false, failedStep: 'password', code: 'invalid_credentials' };
  if (facts.twoFactorEnabled && facts.secondFactor === 'none') return { ok: false, failedStep: 'second_factor', code: 'two_factor_required' };
  if (facts.twoFactorEnabled && facts.secondFactor === 'invalid') return { ok: false, failedStep: 'second_factor', code: 'invalid_two_factor_code' };
  return { ok: true, passwordChangeRequired: facts.passwordResetAt !== null };
}

/**
 * While an admin's reset is pending, a session may only change the password (and see who it is,
 * and log out). API keys are separate credentials an admin issues and revokes, and keep working.
 */
export function mustChangePasswordFirst(passwordResetAt: Instant | null, credentialKind: 'session' | 'api_key'): boolean {
  return passwordResetAt !== null && credentialKind === 'session';
}

function totp(secretBase32: string, account: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: TOTP_ISSUER, label: account, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/** The `otpauth://totp/…` URI an authenticator app reads (usually as a QR code). */
export function totpUri(secretBase32: string, account: string): string {
  return totp(secretBase32, account).toString();
}

/** The TOTP time step `now` falls in. */
export function totpStepAt(now: Instant): number {
  return Math.floor(now / (TOTP_PERIOD_S * 1000));
}

/** The time step whose code `code` is, within the window around `now`; null when it is none of them. */
export function matchingTotpStep(secretBase32: string, code: string, now: Instant): number | null {
  if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code)) return null;
  const delta = totp(secretBase32, '').validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  return delta === null ? null : totpStepAt(now) + delta;
}

/** A code is accepted once: only a step later than the last one accepted counts (no replay). */
export function isFreshTotpStep(lastUsedStep: number | null, step: number): boolean {
  return lastUsedStep === null || step > lastUsedStep;
}

/** The code an authenticator shows at `now` (for tests and the CLI's demo; never sent by the server). */
export function totpCodeAt(secretBase32: string, now: Instant): string {
  return totp(secretBase32, '').generate({ timestamp: now });
}
