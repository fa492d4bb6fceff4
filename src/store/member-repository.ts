import {
  DEFAULT_FRIENDS_AUDIENCE, audienceIsEditable, defaultAudience, isAudience, withAudience, type Audience, type AudienceSettings,
} from '../domain/audience.js';
import { isObjectField, type FieldMask, type ObjectField } from '../domain/field-catalog.js';
import { NO_EXCLUSIONS, type FriendExclusions } from '../domain/subject-decision.js';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { numberOf, toFlag, toIso } from './columns.js';
import type { Db } from './database.js';
import { refreshVisibleFriends } from './visible-friends.js';
import { QueryText } from './query-text.js';

export type ProfileValue = string | readonly string[];
export type Profile = Partial<Record<ObjectField, ProfileValue>>;

export interface NewMember {
  readonly id: string;
  readonly platformEnabled: boolean;
  readonly shareViaFriends: boolean;
  readonly createdAt: Instant;
  readonly profile: Profile;
  readonly audiences: AudienceSettings;
}

/** A member's platform settings and field audiences, as the rules read them. */
export interface MemberSettings {
  readonly id: string;
  readonly platformEnabled: boolean;
  readonly shareViaFriends: boolean;
  readonly friendsAudience: FieldMask;
  /** The member's number (the audit counts take it with the member released). */
  readonly number?: number;
}

/** One member's platform settings and the audiences they changed (absent fields have the default). */
export interface MemberPrivacy {
  readonly platformEnabled: boolean;
  readonly shareViaFriends: boolean;
  readonly audiences: AudienceSettings;
}

/** A member's change to their own settings; what is absent stays as it is. */
export interface PrivacyChange {
  readonly platformEnabled?: boolean;
  readonly shareViaFriends?: boolean;
  readonly audiences?: AudienceSettings;
}

const INSERT_BATCH = 500;

/** What a member keeps from seeing them through friends: one app, or every app of one partner. */
export type ExclusionKind = 'app' | 'partner';
export const EXCLUSION_KINDS: readonly ExclusionKind[] = ['app', 'partner'];

/** The most exclusions a member keeps: far more than apps exist, and a bound on what each friend read costs. */
export const MAX_EXCLUSIONS = 200;

export class MemberRepository {
  constructor(private readonly db: Db) {}

  async insertMany(members: readonly NewMember[]): Promise<void> {
    for (const batch of chunks(members, INSERT_BATCH)) {
      await this.db
        .insertInto('members')
        .values(batch.map((m) => ({
          id: m.id,
          platform_enabled: toFlag(m.platformEnabled),
          share_via_friends: toFlag(m.shareViaFriends),
          created_at: toIso(m.createdAt),
        })))
        .execute();
    }
    const values = members.flatMap((m) =>
      Object.entries(m.profile).map(([field, value]) => ({ member_id: m.id, field, value: JSON.stringify(value) })),
    );
    for (const batch of chunks(values, INSERT_BATCH)) await this.db.insertInto('profile_values').values(batch).execute();
    const audiences = members.flatMap((m) =>
      Object.entries(m.audiences).map(([field, audience]) => ({ member_id: m.id, field, audience: audience as string })),
    );
    for (const batch of chunks(audiences, INSERT_BATCH)) await this.db.insertInto('field_audiences').values(batch).execute();
  }

  async exists(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('members').select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Settings of the members that exist among `ids`; absent ids are simply missing from the map. */
  async settings(ids: readonly string[]): Promise<Map<string, MemberSettings>> {
    const result = new Map<string, MemberSettings>();
    if (ids.length === 0) return result;
    const [rows, audiences] = await Promise.all([
      this.db.selectFrom('members').select(['id', 'platform_enabled', 'share_via_friends', 'number']).where('id', 'in', ids).execute(),
      this.friendsAudiences(ids),
    ]);
    for (const row of rows) {
      result.set(row.id, {
        id: row.id,
        platformEnabled: row.platform_enabled === 1,
        shareViaFriends: row.share_via_friends === 1,
        friendsAudience: audiences.get(row.id)!,
        number: numberOf(row.number),
      });
    }
    return result;
  }

  /**
   * What each of `ids` shows to friends (MemberSettings' `friendsAudience`), one entry per id: a
   * member without stored audiences has the defaults. Existence is not checked here. With `fields`,
   * only their audiences are read (a request decides only the fields it asks for): the other
   * fields' bits keep the default.
   */
  async friendsAudiences(ids: readonly string[], fields?: readonly ObjectField[]): Promise<Map<string, FieldMask>> {
    const masks = new Map<string, FieldMask>(ids.map((id) => [id, DEFAULT_FRIENDS_AUDIENCE]));
    if (ids.length === 0 || fields?.length === 0) return masks;
    let rows: ReadonlyArray<{ member_id: string; field: string; audience: string }>;
    if (ids.length > MAX_COMPILED_IDS) {
      let query = this.db.selectFrom('field_audiences').select(['member_id', 'field', 'audience']).where('member_id', 'in', ids);
      if (fields !== undefined) query = query.where('field', 'in', fields);
      rows = await query.execute();
    } else if (fields === undefined) {
      rows = (await AUDIENCES.run(this.db, `${ids.length}`, ids)).rows;
    } else {
      rows = (await AUDIENCES_OF_FIELDS.run(this.db, `${ids.length}:${fields.length}`, [...ids, ...fields])).rows;
    }
    for (const row of rows) {
      const mask = masks.get(row.member_id);
      if (mask !== undefined && isAudience(row.audience)) masks.set(row.member_id, withAudience(mask, row.field, row.audience));
    }
    return masks;
  }

  /** The stored values of `fields` for each of `ids`. */
  async profiles(ids: readonly string[], fields: readonly ObjectField[]): Promise<Map<string, Profile>> {
    const result = new Map<string, Profile>();
    if (ids.length === 0 || fields.length === 0) return result;
    const rows = await this.db
      .selectFrom('profile_values')
      .select(['member_id', 'field', 'value'])
      .where('member_id', 'in', ids)
      .where('field', 'in', fields)
      .execute();
    for (const row of rows) {
      const profile = result.get(row.member_id) ?? {};
      profile[row.field as ObjectField] = JSON.parse(row.value) as ProfileValue;
      result.set(row.member_id, profile);
    }
    return result;
  }

  async setPlatformSettings(id: string, settings: { platformEnabled?: boolean; shareViaFriends?: boolean }): Promise<void> {
    await this.db
      .updateTable('members')
      .set({
        ...(settings.platformEnabled === undefined ? {} : { platform_enabled: toFlag(settings.platformEnabled) }),
        ...(settings.shareViaFriends === undefined ? {} : { share_via_friends: toFlag(settings.shareViaFriends) }),
      })
      .where('id', '=', id)
      .execute();
    await refreshVisibleFriends(this.db, [id]);
  }

  /** One member's settings as stored, or undefined for an unknown member. */
  async privacy(id: string): Promise<MemberPrivacy | undefined> {
    const [row, audienceRows] = await Promise.all([
      this.db.selectFrom('members').select(['platform_enabled', 'share_via_friends']).where('id', '=', id).executeTakeFirst(),
      this.db.selectFrom('field_audiences').select(['field', 'audience']).where('member_id', '=', id).execute(),
    ]);
    if (!row) return undefined;
    const audiences: AudienceSettings = {};
    for (const { field, audience } of audienceRows) {
      if (isObjectField(field) && isAudience(audience)) audiences[field] = audience;
    }
    return { platformEnabled: row.platform_enabled === 1, shareViaFriends: row.share_via_friends === 1, audiences };
  }

  /**
   * Applies a member's change in one transaction. Only audiences that differ from the catalog's
   * default are stored: setting a field back to its default deletes its row. Basic fields are
   * always public and refused here as a last line of defence.
   */
  async updatePrivacy(id: string, change: PrivacyChange): Promise<void> {
    const audiences = Object.entries(change.audiences ?? {}) as Array<[ObjectField, Audience]>;
    for (const [field] of audiences) {
      if (!audienceIsEditable(field)) throw new Error(`The audience of ${field} cannot be changed.`);
    }
    await this.db.transaction().execute(async (trx) => {
      const flags = {
        ...(change.platformEnabled === undefined ? {} : { platform_enabled: toFlag(change.platformEnabled) }),
        ...(change.shareViaFriends === undefined ? {} : { share_via_friends: toFlag(change.shareViaFriends) }),
      };
      if (Object.keys(flags).length > 0) {
        await trx.updateTable('members').set(flags).where('id', '=', id).execute();
        await refreshVisibleFriends(trx, [id]);
      }
      for (const [field, audience] of audiences) {
        if (audience === defaultAudience(field)) {
          await trx.deleteFrom('field_audiences').where('member_id', '=', id).where('field', '=', field).execute();
        } else {
          await trx
            .insertInto('field_audiences')
            .values({ member_id: id, field, audience })
            .onConflict((oc) => oc.columns(['member_id', 'field']).doUpdateSet({ audience }))
            .execute();
        }
      }
    });
  }

  /** The apps and partners each of `ids` keeps from seeing them through friends; members with none are absent. */
  async friendExclusions(ids: readonly string[]): Promise<Map<string, FriendExclusions>> {
    const result = new Map<string, { apps: string[]; partners: string[] }>();
    for (const batch of chunks(ids, INSERT_BATCH)) {
      const rows = await this.db.selectFrom('member_friend_exclusions').select(['member_id', 'kind', 'target_id'])
        .where('member_id', 'in', batch).execute();
      for (const row of rows) {
        const entry = result.get(row.member_id) ?? { apps: [], partners: [] };
        (row.kind === 'app' ? entry.apps : entry.partners).push(row.target_id);
        result.set(row.member_id, entry);
      }
    }
    return result;
  }

  async friendExclusionsOf(id: string): Promise<FriendExclusions> {
    return (await this.friendExclusions([id])).get(id) ?? NO_EXCLUSIONS;
  }

  /** Adds an exclusion; adding one already there changes nothing. False when the member already keeps MAX_EXCLUSIONS. */
  async exclude(id: string, kind: ExclusionKind, targetId: string, now: Instant): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const count = await trx.selectFrom('member_friend_exclusions').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('member_id', '=', id).executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_EXCLUSIONS) return false;
      await trx.insertInto('member_friend_exclusions')
        .values({ member_id: id, kind, target_id: targetId, created_at: toIso(now) })
        .onConflict((oc) => oc.columns(['member_id', 'kind', 'target_id']).doNothing())
        .execute();
      return true;
    });
  }

  /** Removes an exclusion; removing one that is not there changes nothing. */
  async unexclude(id: string, kind: ExclusionKind, targetId: string): Promise<void> {
    await this.db.deleteFrom('member_friend_exclusions')
      .where('member_id', '=', id).where('kind', '=', kind).where('target_id', '=', targetId).execute();
  }
}

// A friend list reads its friends' audiences on every request: the statements are compiled once per list length,
// for lists as long as a page (longer ones, rare, are built each time rather than kept).
const MAX_COMPILED_IDS = 100;
const AUDIENCES = new QueryText((db, ids) =>
  db.selectFrom('field_audiences').select(['member_id', 'field', 'audience']).where('member_id', 'in', ids as string[]));
const AUDIENCES_OF_FIELDS = new QueryText((db, values, shape) => {
  const idCount = Number(shape.split(':')[0]);
  return db.selectFrom('field_audiences').select(['member_id', 'field', 'audience'])
    .where('member_id', 'in', values.slice(0, idCount) as string[]).where('field', 'in', values.slice(idCount) as string[]);
});
