import { friendsAudienceMask, isAudience, type Audience, type AudienceSettings } from '../domain/audience.js';
import { isField, type FieldMask, type ObjectField } from '../domain/field-catalog.js';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { toFlag, toIso } from './columns.js';
import type { Db } from './database.js';

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
}

const INSERT_BATCH = 500;

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
    const [rows, audienceRows] = await Promise.all([
      this.db.selectFrom('members').select(['id', 'platform_enabled', 'share_via_friends']).where('id', 'in', ids).execute(),
      this.db.selectFrom('field_audiences').select(['member_id', 'field', 'audience']).where('member_id', 'in', ids).execute(),
    ]);
    const audiences = new Map<string, AudienceSettings>();
    for (const row of audienceRows) {
      if (!isField(row.field) || row.field === 'friends' || !isAudience(row.audience)) continue;
      const settings = audiences.get(row.member_id) ?? {};
      settings[row.field] = row.audience as Audience;
      audiences.set(row.member_id, settings);
    }
    for (const row of rows) {
      result.set(row.id, {
        id: row.id,
        platformEnabled: row.platform_enabled === 1,
        shareViaFriends: row.share_via_friends === 1,
        friendsAudience: friendsAudienceMask(audiences.get(row.id) ?? {}),
      });
    }
    return result;
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
  }
}
