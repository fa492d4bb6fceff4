import { randomBytes } from 'node:crypto';
import { isStaffRole, type StaffMember, type StaffRole } from '../domain/staff.js';
import type { Instant } from '../domain/time.js';
import { hashToken } from './access-token-repository.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import { hashPassword, passwordMatches } from './member-credential-repository.js';
import type { StaffCredentialKind, StaffCredentialsTable, StaffTable } from './schema.js';

/** Session tokens (from a login) and API keys (for automation) start differently, so a leak says which it is. */
export const SESSION_TOKEN_PREFIX = 'dps_';
export const API_KEY_PREFIX = 'dpk_';

/** Emails are compared as typed, less case and surrounding space. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A password for an account made without one: shown once, to be changed by whoever receives it. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** A random id with a prefix: 16 characters of [a-z0-9]. */
export function randomId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return prefix + id;
}

function staffFromRow(row: StaffTable): StaffMember {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: (JSON.parse(row.roles) as string[]).filter(isStaffRole),
    createdAt: fromIso(row.created_at),
    disabledAt: fromIsoOrNull(row.disabled_at),
    passwordResetAt: fromIsoOrNull(row.password_reset_at),
  };
}

/** A credential as listed: everything but its secret (which is never stored). */
export interface StaffCredential {
  readonly id: string;
  readonly staffId: string;
  readonly kind: StaffCredentialKind;
  readonly label: string | null;
  readonly createdAt: Instant;
  readonly expiresAt: Instant | null;
  readonly revokedAt: Instant | null;
  readonly lastUsedAt: Instant | null;
}

function credentialFromRow(row: StaffCredentialsTable): StaffCredential {
  return {
    id: row.id,
    staffId: row.staff_id,
    kind: row.kind,
    label: row.label,
    createdAt: fromIso(row.created_at),
    expiresAt: fromIsoOrNull(row.expires_at),
    revokedAt: fromIsoOrNull(row.revoked_at),
    lastUsedAt: fromIsoOrNull(row.last_used_at),
  };
}

/** A credential just issued: the only time its secret exists outside the caller's hands. */
export interface IssuedCredential extends StaffCredential {
  readonly secret: string;
}

/** Who a bearer credential speaks for, when it is live. */
export interface StaffAuthentication {
  readonly staff: StaffMember;
  readonly credential: StaffCredential;
}

export interface NewStaff {
  readonly email: string;
  readonly name: string;
  readonly roles: readonly StaffRole[];
  /** scrypt hash (`hashPassword`); hashed by the caller, outside any transaction. */
  readonly passwordHash: string;
}

/** `last_used_at` is written at most this often per credential, not at every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A hash no password matches, checked for unknown emails so that timing does not tell who exists. */
let decoyHash: Promise<string> | undefined;

/**
 * Staff accounts and their bearer credentials. Passwords are scrypt hashes; session tokens and API
 * keys are stored as their SHA-256 only, so a copy of the database holds nothing usable.
 */
export class StaffRepository {
  constructor(private readonly db: Db) {}

  async create(input: NewStaff, now: Instant): Promise<StaffMember> {
    const id = randomId('st_');
    await this.db
      .insertInto('staff')
      .values({
        id,
        email: normalizeEmail(input.email),
        name: input.name,
        roles: JSON.stringify([...new Set(input.roles)]),
        password_hash: input.passwordHash,
        created_at: toIso(now),
        disabled_at: null,
        password_reset_at: null,
      })
      .execute();
    return (await this.byId(id))!;
  }

  async byId(id: string): Promise<StaffMember | undefined> {
    const row = await this.db.selectFrom('staff').selectAll().where('id', '=', id).executeTakeFirst();
    return row && staffFromRow(row);
  }

  async byEmail(email: string): Promise<StaffMember | undefined> {
    const row = await this.db.selectFrom('staff').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
    return row && staffFromRow(row);
  }

  async list(): Promise<StaffMember[]> {
    const rows = await this.db.selectFrom('staff').selectAll().orderBy('email').execute();
    return rows.map(staffFromRow);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('staff').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Changes name, roles or whether the account is disabled; only what is given. */
  async update(id: string, change: { name?: string; roles?: readonly StaffRole[]; disabledAt?: Instant | null }): Promise<void> {
    const set: { name?: string; roles?: string; disabled_at?: string | null } = {};
    if (change.name !== undefined) set.name = change.name;
    if (change.roles !== undefined) set.roles = JSON.stringify([...new Set(change.roles)]);
    if (change.disabledAt !== undefined) set.disabled_at = change.disabledAt === null ? null : toIso(change.disabledAt);
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('staff').set(set).where('id', '=', id).execute();
  }

  /** Replaces the password (a `hashPassword` hash, made outside the transaction). */
  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('staff').set({ password_hash: passwordHash }).where('id', '=', id).execute();
  }

  /** The account when `password` is right for `email` and it is not disabled; else undefined. */
  async verifyPassword(email: string, password: string): Promise<StaffMember | undefined> {
    return (await this.checkPassword(email, password)).verified;
  }

  /**
   * Checks a login's password: `verified` is the account when the password is right and the
   * account enabled; `accountId` names the account the email belongs to, if any (for the audit).
   */
  async checkPassword(email: string, password: string): Promise<{ verified?: StaffMember; accountId: string | null }> {
    const row = await this.db.selectFrom('staff').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
    if (!row) {
      decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await passwordMatches(password, await decoyHash);
      return { accountId: null };
    }
    const matches = await passwordMatches(password, row.password_hash);
    return matches && row.disabled_at === null ? { verified: staffFromRow(row), accountId: row.id } : { accountId: row.id };
  }

  /** Whether `password` is the account's current one. */
  async passwordIs(staffId: string, password: string): Promise<boolean> {
    const row = await this.db.selectFrom('staff').select('password_hash').where('id', '=', staffId).executeTakeFirst();
    return row !== undefined && passwordMatches(password, row.password_hash);
  }

  /**
   * Sets a new password hash. `resetAt` marks it as an admin's one-time password (the account must
   * change it); null is the account's own choice, which ends a pending reset.
   */
  async setPassword(staffId: string, passwordHash: string, resetAt: Instant | null): Promise<void> {
    await this.db.updateTable('staff')
      .set({ password_hash: passwordHash, password_reset_at: resetAt === null ? null : toIso(resetAt) })
      .where('id', '=', staffId)
      .execute();
  }

  /**
   * Issues a session token (`dps_…`) or an API key (`dpk_…`). The secret is returned here once;
   * only its SHA-256 is kept.
   */
  async issue(
    staffId: string,
    kind: StaffCredentialKind,
    options: { label?: string | null; expiresAt?: Instant | null },
    now: Instant,
  ): Promise<IssuedCredential> {
    const secret = (kind === 'session' ? SESSION_TOKEN_PREFIX : API_KEY_PREFIX) + randomBytes(32).toString('base64url');
    const row: StaffCredentialsTable = {
      token_hash: hashToken(secret),
      id: randomId(kind === 'session' ? 'ses_' : 'key_'),
      staff_id: staffId,
      kind,
      label: options.label ?? null,
      created_at: toIso(now),
      expires_at: options.expiresAt == null ? null : toIso(options.expiresAt),
      revoked_at: null,
      last_used_at: null,
    };
    await this.db.insertInto('staff_credentials').values(row).execute();
    return { ...credentialFromRow(row), secret };
  }

  /**
   * The staff member and credential behind a bearer secret, when the credential is unexpired and
   * unrevoked and the account is not disabled; else undefined. Notes the use (at most once a minute).
   */
  async authenticate(secret: string, now: Instant): Promise<StaffAuthentication | undefined> {
    if (secret.length < 20 || secret.length > 200) return undefined;
    if (!secret.startsWith(SESSION_TOKEN_PREFIX) && !secret.startsWith(API_KEY_PREFIX)) return undefined;
    const row = await this.db
      .selectFrom('staff_credentials as c')
      .innerJoin('staff as s', 's.id', 'c.staff_id')
      .selectAll('c')
      .select(['s.email', 's.name', 's.roles', 's.password_hash', 's.created_at as staff_created_at', 's.disabled_at', 's.password_reset_at'])
      .where('c.token_hash', '=', hashToken(secret))
      .executeTakeFirst();
    if (!row) return undefined;
    const credential = credentialFromRow(row);
    if (credential.revokedAt !== null && credential.revokedAt <= now) return undefined;
    if (credential.expiresAt !== null && now >= credential.expiresAt) return undefined;
    if (row.disabled_at !== null) return undefined;
    if (credential.lastUsedAt === null || now - credential.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      await this.db.updateTable('staff_credentials').set({ last_used_at: toIso(now) }).where('id', '=', credential.id).execute();
    }
    const staff = staffFromRow({
      id: row.staff_id, email: row.email, name: row.name, roles: row.roles, password_hash: row.password_hash,
      created_at: row.staff_created_at, disabled_at: row.disabled_at, password_reset_at: row.password_reset_at,
    });
    return { staff, credential };
  }

  async credential(id: string): Promise<StaffCredential | undefined> {
    const row = await this.db.selectFrom('staff_credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row && credentialFromRow(row);
  }

  /** Revokes a credential by its public id; false when there is none or it was revoked already. */
  async revoke(id: string, now: Instant): Promise<boolean> {
    const result = await this.db
      .updateTable('staff_credentials')
      .set({ revoked_at: toIso(now) })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Revokes every live credential of an account (when it is disabled). */
  async revokeAll(staffId: string, now: Instant): Promise<number> {
    const result = await this.db
      .updateTable('staff_credentials')
      .set({ revoked_at: toIso(now) })
      .where('staff_id', '=', staffId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Revokes an account's live credentials of one kind, but for `keepId` (the session in use); returns how many. */
  async revokeKind(staffId: string, kind: StaffCredentialKind, now: Instant, keepId?: string): Promise<number> {
    let query = this.db
      .updateTable('staff_credentials')
      .set({ revoked_at: toIso(now) })
      .where('staff_id', '=', staffId)
      .where('kind', '=', kind)
      .where('revoked_at', 'is', null);
    if (keepId !== undefined) query = query.where('id', '!=', keepId);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** API keys (never their secrets), newest first; of one account when given. */
  async apiKeys(staffId?: string): Promise<StaffCredential[]> {
    let query = this.db.selectFrom('staff_credentials').selectAll().where('kind', '=', 'api_key');
    if (staffId !== undefined) query = query.where('staff_id', '=', staffId);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map(credentialFromRow);
  }
}
