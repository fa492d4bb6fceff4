import { randomBytes } from 'node:crypto';
import type { Instant } from '../domain/time.js';
import { hashToken } from './access-token-repository.js';
import { fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';

/** A staff member's authenticator, its secret still sealed (see SecretBox). */
export interface StoredTotp {
  readonly secretSealed: string;
  readonly confirmedAt: Instant | null;
  readonly lastUsedStep: number | null;
}

/** A TOTP secret for a new enrolment: 160 random bits (RFC 4226's recommendation), base32. */
export function newTotpSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return Array.from(randomBytes(32), (byte) => alphabet[byte % 32]).join('');
}

/**
 * A recovery code: 16 random base32 letters in four groups (80 bits, e.g. `k7qx-m2ra-vp4d-zs6e`), enough
 * that its unsalted SHA-256 cannot be searched back from a copy of the database.
 */
export function newRecoveryCode(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const letters = Array.from(randomBytes(16), (byte) => alphabet[byte % 32]).join('');
  return letters.match(/.{4}/g)!.join('-');
}

/** Recovery codes are compared without case, spaces or dashes (as people type them). */
function recoveryCodeHash(code: string): string {
  return hashToken(code.toLowerCase().replace(/[\s-]/g, ''));
}

/**
 * Staff TOTP authenticators and recovery codes. Accepting a code is one conditional update, so a
 * code (or recovery code) raced from two requests or two instances is accepted at most once.
 */
export class StaffTwoFactorRepository {
  constructor(private readonly db: Db) {}

  async totp(staffId: string): Promise<StoredTotp | undefined> {
    const row = await this.db.selectFrom('staff_totp').selectAll().where('staff_id', '=', staffId).executeTakeFirst();
    return row && { secretSealed: row.secret_sealed, confirmedAt: fromIsoOrNull(row.confirmed_at), lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step) };
  }

  /** Starts an enrolment (unconfirmed), replacing an unconfirmed one. */
  async startEnrolment(staffId: string, secretSealed: string, now: Instant): Promise<void> {
    await this.db.deleteFrom('staff_totp').where('staff_id', '=', staffId).execute();
    await this.db.insertInto('staff_totp')
      .values({ staff_id: staffId, secret_sealed: secretSealed, created_at: toIso(now), confirmed_at: null, last_used_step: null })
      .execute();
  }

  /**
   * Notes `step` as the last one used, if it is later than the last; false when it is not (a
   * replayed code). Confirms an enrolment on the way when `confirm` is given.
   */
  async useStep(staffId: string, step: number, now: Instant, confirm = false): Promise<boolean> {
    const result = await this.db.updateTable('staff_totp')
      .set({ last_used_step: step, ...(confirm ? { confirmed_at: toIso(now) } : {}) })
      .where('staff_id', '=', staffId)
      .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Replaces the account's recovery codes with new ones; returns them (only their hashes are kept). */
  async replaceRecoveryCodes(staffId: string, count: number, now: Instant): Promise<string[]> {
    const codes = Array.from({ length: count }, newRecoveryCode);
    await this.db.deleteFrom('staff_recovery_codes').where('staff_id', '=', staffId).execute();
    await this.db.insertInto('staff_recovery_codes')
      .values(codes.map((code) => ({ code_hash: recoveryCodeHash(code), staff_id: staffId, created_at: toIso(now), used_at: null })))
      .execute();
    return codes;
  }

  /** Uses a recovery code of the account: true once per code, false after or for any other text. */
  async useRecoveryCode(staffId: string, code: string, now: Instant): Promise<boolean> {
    const result = await this.db.updateTable('staff_recovery_codes')
      .set({ used_at: toIso(now) })
      .where('code_hash', '=', recoveryCodeHash(code))
      .where('staff_id', '=', staffId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async unusedRecoveryCodes(staffId: string): Promise<number> {
    const row = await this.db.selectFrom('staff_recovery_codes').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('staff_id', '=', staffId).where('used_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Removes the authenticator and recovery codes; true when there was an authenticator. */
  async remove(staffId: string): Promise<boolean> {
    await this.db.deleteFrom('staff_recovery_codes').where('staff_id', '=', staffId).execute();
    const result = await this.db.deleteFrom('staff_totp').where('staff_id', '=', staffId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
