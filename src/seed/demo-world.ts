import type { Grant } from '../domain/grant.js';
import type { Purpose } from '../domain/purposes.js';
import { addDays, type Instant } from '../domain/time.js';
import { hashPassword } from '../store/member-credential-repository.js';
import type { Store } from '../store/store.js';
import { demoAgreementId, demoAppId, seedDemoPartners, type DemoPartnerKey } from './demo-partners.js';
import { seedDemoStaff } from './demo-staff.js';
import { memberIdAt } from './member-ids.js';
import { seedMembers, type SeedPhase } from './world-generator.js';

/**
 * The demo world the README walks through: 2,000 members with about 150 friends each, seed 2018,
 * the partners of the 2018 record, and a few grants so that every rule has something to show.
 */

export const DEMO_SEED = 2018;
export const DEMO_MEMBERS = 2_000;
export const DEMO_AVG_FRIENDS = 150;

/**
 * The member to try the demo with: the world's first member, with about 556 friends (the reporter's
 * count in 2018), a third of whom opted in to sharing through friends. Fixed by the seed.
 */
export const DEMO_MEMBER_ID = memberIdAt(DEMO_SEED, 0);

/** Every demo member's password, for the login and consent pages and the privacy center. */
export const DEMO_PASSWORD = 'datapact-demo';

export function demoMemberId(): string {
  return DEMO_MEMBER_ID;
}

/** Friends of the demo member who use the third-party app too, and so are visible through it. */
const THIRD_PARTY_FRIEND_USERS = 12;
/** Members outside the demo member's circle who use the app: never visible to it. */
const THIRD_PARTY_OTHER_USERS = 5;

/** Device partner apps the demo member has consented to: one per agreement state, and ZTE without any. */
const DEVICE_GRANTS: ReadonlyArray<{ key: DemoPartnerKey; purpose: Purpose; hasAgreement: boolean; lastUsedDay: number }> = [
  { key: 'huawei', purpose: 'device_experience', hasAgreement: true, lastUsedDay: -1 },
  { key: 'lenovo', purpose: 'device_experience', hasAgreement: true, lastUsedDay: -1 },
  { key: 'oppo', purpose: 'device_experience', hasAgreement: true, lastUsedDay: -31 },
  { key: 'tcl', purpose: 'device_experience', hasAgreement: true, lastUsedDay: -16 },
  { key: 'blackberry', purpose: 'device_experience', hasAgreement: true, lastUsedDay: -2 },
  { key: 'zte', purpose: 'device_experience', hasAgreement: false, lastUsedDay: -3 },
];

export interface DemoWorldOptions {
  readonly now: Instant;
  readonly onProgress?: (done: number, total: number, phase: SeedPhase) => void;
}

export interface DemoWorldSummary {
  readonly members: number;
  readonly friendships: number;
  readonly partners: number;
  readonly agreements: number;
  readonly grants: number;
  readonly demoMemberId: string;
  readonly ms: number;
}

async function agreementFields(store: Store, agreementId: string): Promise<{ memberFields: number; friendFields: number }> {
  const agreement = await store.agreements.get(agreementId);
  if (!agreement) throw new Error(`demo agreement ${agreementId} is missing`);
  return { memberFields: agreement.memberFields, friendFields: agreement.friendFields };
}

async function demoGrants(store: Store, now: Instant): Promise<Grant[]> {
  const grants: Grant[] = [];
  const grant = (memberId: string, key: DemoPartnerKey, purpose: Purpose, fields: { memberFields: number; friendFields: number } | null, grantedDay: number, lastUsedDay: number): Grant => ({
    id: `g_${key}_${memberId}`,
    memberId,
    appId: demoAppId(key),
    agreementId: fields ? demoAgreementId(key) : null,
    agreementVersion: fields ? 1 : null,
    purpose,
    memberFields: fields?.memberFields ?? 0,
    friendFields: fields?.friendFields ?? 0,
    grantedAt: addDays(now, grantedDay),
    lastUsedAt: addDays(now, lastUsedDay),
    revokedAt: null,
  });

  for (const device of DEVICE_GRANTS) {
    const fields = device.hasAgreement ? await agreementFields(store, demoAgreementId(device.key)) : null;
    grants.push(grant(DEMO_MEMBER_ID, device.key, device.purpose, fields, -60, device.lastUsedDay));
  }

  // The third-party app: the demo member, some of its friends (visible as id, name, picture), and a
  // few strangers (never visible). Chosen in id order, so the same on every run.
  const thirdParty = await agreementFields(store, demoAgreementId('pixelharbour'));
  const friendIds = await store.friendships.page(DEMO_MEMBER_ID, null, 10_000);
  const friendSettings = await store.members.settings(friendIds);
  const friendUsers = friendIds.filter((id) => friendSettings.get(id)?.platformEnabled).slice(0, THIRD_PARTY_FRIEND_USERS);
  const friendSet = new Set(friendIds);
  const strangers: string[] = [];
  for (let index = DEMO_MEMBERS - 1; index > 0 && strangers.length < THIRD_PARTY_OTHER_USERS; index--) {
    const id = memberIdAt(DEMO_SEED, index);
    if (!friendSet.has(id)) strangers.push(id);
  }
  grants.push(grant(DEMO_MEMBER_ID, 'pixelharbour', 'login', thirdParty, -100, -1));
  friendUsers.forEach((id, n) => grants.push(grant(id, 'pixelharbour', 'login', thirdParty, -90 + n, -1 - (n % 7))));
  for (const id of strangers) grants.push(grant(id, 'pixelharbour', 'login', thirdParty, -80, -4));
  return grants;
}

export async function seedDemoWorld(store: Store, options: DemoWorldOptions): Promise<DemoWorldSummary> {
  const started = performance.now();
  const { now } = options;
  const world = await seedMembers(store, {
    members: DEMO_MEMBERS,
    avgFriends: DEMO_AVG_FRIENDS,
    seed: DEMO_SEED,
    now,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const partners = await seedDemoPartners(store, now);
  const grants = await demoGrants(store, now);
  await store.grants.insertMany(grants);
  // One hash for all: hashing 2,000 passwords with their own salts would take minutes of scrypt.
  const memberIds = Array.from({ length: DEMO_MEMBERS }, (_, index) => memberIdAt(DEMO_SEED, index));
  const demoHash = await hashPassword(DEMO_PASSWORD);
  await store.credentials.setHashes(memberIds, demoHash, now);
  // Staff for the admin API (admin@datapact.example, …), with the same password.
  await seedDemoStaff(store, demoHash, now);
  return {
    members: world.members,
    friendships: world.friendships,
    partners: partners.partners,
    agreements: partners.agreements,
    grants: grants.length,
    demoMemberId: DEMO_MEMBER_ID,
    ms: Math.round(performance.now() - started),
  };
}
