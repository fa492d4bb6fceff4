import { BulkInsert } from './bulk-insert.js';
import type { Db } from './database.js';
import { rebuildFriendNumberLists } from './friend-number-lists.js';

/**
 * Where the seed's rows go. The generator hands over plain rows, flat in the column order below
 * (no objects per row: a million-member world is 150 million friendship rows), members in id
 * order and each member's friends in friend id order, so that a loader can append to its B-trees.
 *
 * Three loaders: this one through Kysely (any database, fine for thousands of members: tests, the
 * demo world), SqliteWorldLoader (its own connection, cached statements, durability off for the
 * load) and PostgresCopyLoader (COPY, constraints built after the load).
 */
export type CellValue = string | number;

export const MEMBER_COLUMNS = ['id', 'platform_enabled', 'share_via_friends', 'created_at'] as const;
export const PROFILE_VALUE_COLUMNS = ['member_id', 'field', 'value'] as const;
export const FIELD_AUDIENCE_COLUMNS = ['member_id', 'field', 'audience'] as const;
/**
 * `friend_shares`: the friend has the platform on and shares through friends' apps; `friend_ordinal`:
 * the friend's place, from 1, in the member's list in id order (migration 0038).
 */
export const FRIENDSHIP_COLUMNS = ['member_id', 'friend_id', 'since', 'friend_shares', 'friend_ordinal'] as const;

/** One batch of members with their profile values and changed audiences, flat in column order. */
export interface MemberRows {
  readonly members: CellValue[];
  readonly profileValues: CellValue[];
  readonly fieldAudiences: CellValue[];
}

export interface WorldLoader {
  writeMembers(rows: MemberRows): Promise<void>;
  /** Friendship rows (both directions are separate rows), flat in FRIENDSHIP_COLUMNS order. */
  writeFriendships(rows: CellValue[]): Promise<void>;
  /**
   * After the last write: everything is committed, each member's friends are written by number too
   * (friend_number_lists, migration 0040), and the schema is exactly the migrations' again.
   */
  finish(): Promise<void>;
  /** Releases what the loader opened; also after a failure. */
  close(): Promise<void>;
}

const members = new BulkInsert('members', MEMBER_COLUMNS, 1000);
const profileValues = new BulkInsert('profile_values', PROFILE_VALUE_COLUMNS, 1000);
const fieldAudiences = new BulkInsert('field_audiences', FIELD_AUDIENCE_COLUMNS, 1000);
const friendships = new BulkInsert('friendships', FRIENDSHIP_COLUMNS, 1000);

/** Multi-row INSERTs through the store's own connection, one transaction per batch. */
export class KyselyWorldLoader implements WorldLoader {
  constructor(private readonly db: Db) {}

  async writeMembers(rows: MemberRows): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await members.run(trx, rows.members);
      await profileValues.run(trx, rows.profileValues);
      await fieldAudiences.run(trx, rows.fieldAudiences);
    });
  }

  async writeFriendships(rows: CellValue[]): Promise<void> {
    await this.db.transaction().execute((trx) => friendships.run(trx, rows));
  }

  async finish(): Promise<void> {
    await rebuildFriendNumberLists(this.db);
  }

  async close(): Promise<void> {}
}
