import type { Agreement } from '../../src/domain/agreement.js';
import type { AudienceSettings } from '../../src/domain/audience.js';
import type { AppClass } from '../../src/domain/app.js';
import { maskOf, type Field } from '../../src/domain/field-catalog.js';
import type { Purpose } from '../../src/domain/purposes.js';
import { addDays, type Instant } from '../../src/domain/time.js';
import type { Profile } from '../../src/store/member-repository.js';
import type { Store } from '../../src/store/store.js';

export interface MemberSpec {
  readonly id: string;
  readonly platformEnabled?: boolean;
  readonly shareViaFriends?: boolean;
  readonly profile?: Profile;
  readonly audiences?: AudienceSettings;
}

/** A full profile so that every field has a value to leak if a rule were broken. */
export function fullProfile(id: string): Profile {
  return {
    name: `Name ${id}`, picture: `https://pictures.example/${id}.jpg`, email: `${id}@mail.example`, phone: `+1555${id.length}`,
    birthday: '1990-01-02', gender: 'female', hometown: `Home ${id}`, location: `City ${id}`, work: [`Work ${id}`],
    education: [`School ${id}`], relationship_status: 'single', religion: `Religion ${id}`, political_views: `Views ${id}`,
    events: [`Event ${id}`], likes: [`Like ${id}`], photos: [`https://photos.example/${id}/1.jpg`],
  };
}

export async function addMembers(store: Store, members: readonly MemberSpec[], now: Instant): Promise<void> {
  await store.members.insertMany(members.map((m) => ({
    id: m.id,
    platformEnabled: m.platformEnabled ?? true,
    shareViaFriends: m.shareViaFriends ?? false,
    createdAt: addDays(now, -1000),
    profile: m.profile ?? fullProfile(m.id),
    audiences: m.audiences ?? {},
  })));
}

export async function addFriendships(store: Store, pairs: ReadonlyArray<readonly [string, string]>, now: Instant): Promise<void> {
  await store.friendships.insertMany(pairs.map(([a, b]) => ({ a, b, since: addDays(now, -100) })));
}

export interface PartnerSpec {
  readonly appClass?: AppClass;
  readonly appStatus?: 'active' | 'disabled';
  readonly agreement?: Partial<Omit<Agreement, 'memberFields' | 'friendFields'>> & {
    memberFields?: readonly Field[];
    friendFields?: readonly Field[];
  };
  readonly withoutAgreement?: boolean;
}

/** Registers a partner with one app and (unless told otherwise) an active agreement. */
export async function addPartner(store: Store, key: string, spec: PartnerSpec, now: Instant) {
  const partnerId = `p_${key}`;
  const appId = `app_${key}`;
  const agreementId = `agr_${key}`;
  await store.partners.insertPartner({
    id: partnerId, legalName: `${key} Ltd`, country: 'CN', kind: 'device_maker', riskFlags: [],
    storage: { location: 'on_device' }, contacts: [], webhookUrl: null,
    privacyPolicyUrl: `https://${key}.example/privacy`,
  }, now);
  await store.partners.insertApp({
    id: appId, partnerId, name: `${key} app`, class: spec.appClass ?? 'device_partner', status: spec.appStatus ?? 'active',
  }, [], now);
  if (!spec.withoutAgreement) {
    const a = spec.agreement ?? {};
    await store.agreements.insert({
      id: agreementId, version: 1, partnerId, status: 'active', statusReason: null, purposes: ['device_experience'],
      retentionDays: 30, storage: { location: 'on_device' }, startsAt: addDays(now, -30), endsAt: addDays(now, 300),
      certificationDueAt: addDays(now, 200), windDown: null, appIds: [appId],
      ...a,
      memberFields: maskOf(a.memberFields ?? ['id', 'name', 'picture', 'email', 'birthday', 'friends']),
      friendFields: maskOf(a.friendFields ?? []),
    }, { actor: 'test', action: 'created', reason: null, at: now });
  }
  return { partnerId, appId, agreementId };
}

export interface GrantSpec {
  readonly memberId: string;
  readonly appId: string;
  readonly agreementId: string | null;
  readonly purpose?: Purpose;
  readonly memberFields: readonly Field[];
  readonly friendFields?: readonly Field[];
  readonly grantedAt?: Instant;
  readonly revokedAt?: Instant | null;
  readonly tokenTtlMs?: number;
}

let grantCounter = 0;

/** Creates a grant and returns a bearer token for it. */
export async function grantToken(store: Store, spec: GrantSpec, now: Instant): Promise<{ token: string; grantId: string }> {
  const grantId = `g_test_${++grantCounter}`;
  await store.grants.insertMany([{
    id: grantId, memberId: spec.memberId, appId: spec.appId, agreementId: spec.agreementId, agreementVersion: spec.agreementId ? 1 : null,
    purpose: spec.purpose ?? 'device_experience', memberFields: maskOf(spec.memberFields), friendFields: maskOf(spec.friendFields ?? []),
    grantedAt: spec.grantedAt ?? now, lastUsedAt: null, revokedAt: spec.revokedAt ?? null,
  }]);
  const { token } = await store.tokens.issue(grantId, now, spec.tokenTtlMs ?? 3_600_000);
  return { token, grantId };
}
