import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

const SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key)),
  );
}

/** An scrypt hash with its parameters and salt, so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash that no password matches, compared against when the member is unknown so timing does not tell. */
let decoyHash: Promise<string> | undefined;

/** Members' passwords. Only scrypt hashes are stored; a password is never logged or returned. */
export class MemberCredentialRepository {
  constructor(private readonly db: Db) {}

  async setPassword(memberId: string, password: string, now: Instant): Promise<void> {
    await this.setHashes([memberId], await hashPassword(password), now);
  }

  /** Stores one precomputed hash for many members: how the demo world gives everyone the demo password. */
  async setHashes(memberIds: readonly string[], passwordHash: string, now: Instant): Promise<void> {
    for (const batch of chunks(memberIds, 500)) {
      await this.db
        .insertInto('member_credentials')
        .values(batch.map((memberId) => ({ member_id: memberId, password_hash: passwordHash, updated_at: toIso(now) })))
        .onConflict((oc) => oc.column('member_id').doUpdateSet((eb) => ({
          password_hash: eb.ref('excluded.password_hash'),
          updated_at: eb.ref('excluded.updated_at'),
        })))
        .execute();
    }
  }

  /** The member id when `password` is right for `memberId`, else undefined (unknown member included). */
  async verify(memberId: string, password: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('member_credentials')
      .select('password_hash')
      .where('member_id', '=', memberId)
      .executeTakeFirst();
    if (!row) {
      decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await passwordMatches(password, await decoyHash);
      return undefined;
    }
    return (await passwordMatches(password, row.password_hash)) ? memberId : undefined;
  }
}
