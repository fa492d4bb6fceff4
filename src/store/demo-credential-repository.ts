import { sql } from 'kysely';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

/** A password hash and who holds it. */
export interface HeldHash {
  readonly passwordHash: string;
  readonly holders: readonly string[];
}

export interface StaffPasswordRow {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly disabled: boolean;
}

export interface AppCredentialRow {
  readonly id: string;
  readonly partnerId: string;
  readonly clientSecret: string | null;
  readonly redirectUris: readonly string[];
}

/**
 * What the production start checks for the demo world's credentials (seed/demo-credentials.ts), and
 * what `datapact demo-credentials remove` changes. Reads every staff account and app (a few hundred
 * at most), but only some members' hashes.
 */
export class DemoCredentialRepository {
  constructor(private readonly db: Db) {}

  async staffPasswords(): Promise<StaffPasswordRow[]> {
    const rows = await this.db.selectFrom('staff').select(['id', 'email', 'password_hash', 'disabled_at']).orderBy('email').execute();
    return rows.map((row) => ({ id: row.id, email: row.email, passwordHash: row.password_hash, disabled: row.disabled_at !== null }));
  }

  async appCredentials(): Promise<AppCredentialRow[]> {
    const rows = await this.db.selectFrom('apps').select(['id', 'partner_id', 'client_secret', 'redirect_uris']).orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id, partnerId: row.partner_id, clientSecret: row.client_secret, redirectUris: JSON.parse(row.redirect_uris) as string[],
    }));
  }

  /**
   * The member password hashes worth checking against the demo password: those of the given members
   * (the demo world's ids), and any hash held by more than one member. Salted hashes never repeat;
   * a repeated one was set in bulk, as the demo seed does.
   */
  async suspectMemberHashes(memberIds: readonly string[]): Promise<string[]> {
    const found = new Set<string>();
    for (const batch of chunks(memberIds, 500)) {
      const rows = await this.db.selectFrom('member_credentials').select('password_hash').distinct().where('member_id', 'in', batch).execute();
      for (const row of rows) found.add(row.password_hash);
    }
    const shared = await this.db
      .selectFrom('member_credentials')
      .select('password_hash')
      .groupBy('password_hash')
      .having(sql<number>`count(*)`, '>', 1)
      .execute();
    for (const row of shared) found.add(row.password_hash);
    return [...found];
  }

  /** How many members hold the hash, and the first few of them by id. */
  async membersHolding(passwordHash: string, sample: number): Promise<{ count: number; memberIds: string[] }> {
    const counted = await this.db.selectFrom('member_credentials').select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('password_hash', '=', passwordHash).executeTakeFirstOrThrow();
    const rows = await this.db.selectFrom('member_credentials').select('member_id').where('password_hash', '=', passwordHash)
      .orderBy('member_id').limit(sample).execute();
    return { count: Number(counted.n), memberIds: rows.map((row) => row.member_id) };
  }

  /** Deletes the password of every member holding the hash: they can no longer log in with a password. */
  async deleteMemberPasswords(passwordHash: string): Promise<number> {
    const result = await this.db.deleteFrom('member_credentials').where('password_hash', '=', passwordHash).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Replaces a staff account's password hash and disables it. */
  async retireStaffPassword(staffId: string, passwordHash: string, now: Instant): Promise<void> {
    await this.db.updateTable('staff')
      .set((eb) => ({ password_hash: passwordHash, disabled_at: eb.fn.coalesce('disabled_at', eb.val(toIso(now))) }))
      .where('id', '=', staffId)
      .execute();
  }
}
