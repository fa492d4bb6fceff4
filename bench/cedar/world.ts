/**
 * Random worlds and requests for the Cedar comparison (bench/cedar/index.ts), seeded with
 * bench/prng.ts so every run decides the same requests.
 *
 * A world is a few hundred members (platform settings, field audiences, a random friend graph)
 * and a handful of apps, each under its own random agreement (member and friend fields, purposes,
 * a wind-down plan in any phase that still lets requests through). A request is a token of one
 * member of the world (a random grant under one app), one subject (the member, a friend, a friend
 * of a friend or a stranger) and a random set of requested fields. Only requests that pass the
 * request-level rules are kept: the comparison is about the field rules.
 */
import type { RequestContext } from '../../src/domain/access-plan.js';
import type { AgreementTerms } from '../../src/domain/agreement.js';
import type { App, AppClass } from '../../src/domain/app.js';
import { AUDIENCES, defaultAudience, friendsAudienceMask, type Audience, type AudienceSettings } from '../../src/domain/audience.js';
import { FIELDS, OBJECT_FIELDS, maskOf, type Field, type FieldMask, type ObjectField } from '../../src/domain/field-catalog.js';
import type { Grant } from '../../src/domain/grant.js';
import { PURPOSES, type Purpose } from '../../src/domain/purposes.js';
import type { FriendExclusions, SubjectFacts } from '../../src/domain/subject-decision.js';
import { DAY_MS, type Instant } from '../../src/domain/time.js';
import type { WindDownPlan } from '../../src/domain/wind-down.js';
import { prng } from '../prng.js';

/** How the subject relates to the token's member; kept for the coverage report. */
export type Relation = 'self' | 'friend' | 'friend_of_friend' | 'stranger';

/** One generated request: Datapact's inputs and the raw facts the Cedar context is built from. */
export interface GeneratedRequest {
  readonly now: Instant;
  readonly context: RequestContext;
  readonly subject: SubjectFacts;
  readonly relation: Relation;
  /** The subject's own audience settings as stored (absent: the catalog default). */
  readonly audiences: AudienceSettings;
  readonly requested: FieldMask;
  readonly requestedFields: readonly ObjectField[];
  readonly agreementMemberFields: readonly Field[];
  readonly agreementFriendFields: readonly Field[];
  readonly grantMemberFields: readonly Field[];
  readonly grantFriendFields: readonly Field[];
}

interface Member {
  readonly id: string;
  readonly platformEnabled: boolean;
  readonly shareViaFriends: boolean;
  /** The apps and partners the member keeps from seeing them through friends. */
  readonly exclusions: FriendExclusions;
  readonly audiences: AudienceSettings;
  readonly friendsAudience: FieldMask;
  readonly friends: Set<number>;
}

interface Partnership {
  readonly app: App;
  readonly agreement: AgreementTerms;
  readonly memberFields: readonly Field[];
  readonly friendFields: readonly Field[];
  /** Members with an active grant with this app (what `usesApp` means). */
  readonly users: Set<number>;
}

interface World {
  readonly now: Instant;
  readonly members: readonly Member[];
  readonly partnerships: readonly Partnership[];
}

const WORLD_MEMBERS = 300;
const AVERAGE_FRIENDS = 14;
const APPS_PER_WORLD = 6;
const REQUESTS_PER_WORLD = 500;
const BASE_NOW: Instant = Date.UTC(2027, 2, 15, 12, 0, 0);

export function generateRequests(count: number, seed: number): GeneratedRequest[] {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const chance = (p: number): boolean => random() < p;
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const subset = <T>(items: readonly T[], p: number): T[] => items.filter(() => chance(p));
  /** A random set of catalog fields: `friends` (the edge) with its own probability. */
  const fieldSet = (p: number, pFriends: number): Field[] =>
    FIELDS.filter((field) => (field === 'friends' ? chance(pFriends) : chance(p)));
  const density = (): number => pick([0.25, 0.5, 0.75, 0.9, 1]);

  function audienceSettings(): AudienceSettings {
    const settings: AudienceSettings = {};
    const change = pick([0, 0.3, 0.6, 1]);
    // Basic fields included: the product refuses to change them, the rules must ignore them anyway.
    for (const field of OBJECT_FIELDS) if (field !== 'id' && chance(change)) settings[field] = pick(AUDIENCES);
    return settings;
  }

  function windDown(now: Instant): WindDownPlan | null {
    const r = random();
    const hour = 3_600_000;
    // [noNewGrants, noFriendData, accessEnded] relative to now; access_ended itself would refuse the request.
    let offsets: [number, number, number];
    if (r < 0.35) return null;
    else if (r < 0.45) offsets = [5 * DAY_MS, 20 * DAY_MS, 40 * DAY_MS]; // announced, nothing in force yet
    else if (r < 0.58) offsets = [-3 * DAY_MS, 10 * DAY_MS, 30 * DAY_MS]; // no_new_grants
    else if (r < 0.62) offsets = [0, 10 * DAY_MS, 30 * DAY_MS]; // no_new_grants from this very instant
    else if (r < 0.67) offsets = [-3 * DAY_MS, 1, 30 * DAY_MS]; // no_friend_data one millisecond from now
    else if (r < 0.74) offsets = [-10 * DAY_MS, 0, 30 * DAY_MS]; // no_friend_data from this very instant
    else offsets = [-20 * DAY_MS, -int(10) * DAY_MS - hour, 1 + int(20) * DAY_MS]; // no_friend_data
    return { noNewGrants: now + offsets[0], noFriendData: now + offsets[1], accessEnded: now + offsets[2] };
  }

  function world(index: number): World {
    const now = BASE_NOW + int(400) * DAY_MS + int(DAY_MS);
    const members: Member[] = [];
    for (let i = 0; i < WORLD_MEMBERS; i++) {
      const audiences = audienceSettings();
      // App and partner ids are fixed by position (below), so a member can name one before it exists.
      const app = (k: number) => `w${index}_app${k}`;
      members.push({
        id: `w${index}_m${i}`,
        platformEnabled: chance(0.85),
        shareViaFriends: chance(0.45),
        exclusions: {
          apps: chance(0.15) ? [app(int(APPS_PER_WORLD))] : [],
          partners: chance(0.08) ? [`p_${app(int(APPS_PER_WORLD))}`] : [],
        },
        audiences,
        friendsAudience: friendsAudienceMask(audiences),
        friends: new Set(),
      });
    }
    for (let e = 0; e < (WORLD_MEMBERS * AVERAGE_FRIENDS) / 2; e++) {
      const a = int(WORLD_MEMBERS);
      const b = int(WORLD_MEMBERS);
      if (a === b) continue;
      members[a]!.friends.add(b);
      members[b]!.friends.add(a);
    }
    const partnerships: Partnership[] = [];
    for (let k = 0; k < APPS_PER_WORLD; k++) {
      const appClass: AppClass = chance(0.6) ? 'device_partner' : 'third_party';
      const plan = windDown(now);
      const purposes = subset(PURPOSES, 0.5);
      if (purposes.length === 0) purposes.push(pick(PURPOSES));
      const memberFields = fieldSet(density(), 0.9);
      // Friend fields are for device partners; a third-party agreement with some checks they are ignored.
      const friendFields = fieldSet(appClass === 'device_partner' ? density() : 0.2, 0.3);
      const id = `w${index}_app${k}`;
      const agreement: AgreementTerms = {
        id: `agr_${id}`,
        version: 1 + int(3),
        partnerId: `p_${id}`,
        status: plan === null ? 'active' : 'winding_down',
        purposes,
        memberFields: maskOf(memberFields),
        friendFields: maskOf(friendFields),
        startsAt: now - (1 + int(300)) * DAY_MS,
        endsAt: now + (1 + int(300)) * DAY_MS,
        certificationDueAt: now + (int(120) - 50) * DAY_MS,
        windDown: plan,
      };
      const users = new Set<number>();
      for (let i = 0; i < WORLD_MEMBERS; i++) if (chance(0.4)) users.add(i);
      partnerships.push({
        app: { id, partnerId: agreement.partnerId, name: id, class: appClass, status: 'active' },
        agreement,
        memberFields,
        friendFields,
        users,
      });
    }
    return { now, members, partnerships };
  }

  function subjectOf(w: World, caller: number): { index: number; relation: Relation } {
    const friends = [...w.members[caller]!.friends];
    const r = random();
    if (r < 0.12) return { index: caller, relation: 'self' };
    if (r < 0.75 && friends.length > 0) return { index: pick(friends), relation: 'friend' };
    if (r < 0.85 && friends.length > 0) {
      const fof = [...w.members[pick(friends)]!.friends].filter((i) => i !== caller && !w.members[caller]!.friends.has(i));
      if (fof.length > 0) return { index: pick(fof), relation: 'friend_of_friend' };
    }
    for (;;) {
      const index = int(WORLD_MEMBERS);
      if (index !== caller && !w.members[caller]!.friends.has(index)) return { index, relation: 'stranger' };
    }
  }

  function requestedFields(): ObjectField[] {
    const r = random();
    if (r < 0.05) return [...OBJECT_FIELDS];
    if (r < 0.25) return [pick(OBJECT_FIELDS)];
    const fields = subset(OBJECT_FIELDS, 0.15);
    return fields.length > 0 ? fields : [pick(OBJECT_FIELDS)];
  }

  const requests: GeneratedRequest[] = [];
  let w = world(0);
  let serial = 0;
  while (requests.length < count) {
    if (requests.length >= (serial + 1) * REQUESTS_PER_WORLD) w = world(++serial);
    const { now, members } = w;
    const partnership = pick(w.partnerships);
    const caller = int(WORLD_MEMBERS);
    // A member with the platform off is refused at the request level (403): not a field question.
    if (!members[caller]!.platformEnabled) continue;
    const grantMemberFields = fieldSet(density(), 0.9);
    const grantFriendFields = fieldSet(density(), 0.3);
    const purpose: Purpose = pick(partnership.agreement.purposes);
    const grant: Grant = {
      id: `g${requests.length}`,
      memberId: members[caller]!.id,
      appId: partnership.app.id,
      agreementId: partnership.agreement.id,
      agreementVersion: partnership.agreement.version,
      purpose,
      memberFields: maskOf(grantMemberFields),
      friendFields: maskOf(grantFriendFields),
      grantedAt: now - (1 + int(200)) * DAY_MS,
      lastUsedAt: now - int(89) * DAY_MS,
      revokedAt: chance(0.1) ? now + (1 + int(10)) * DAY_MS : null,
    };
    const context: RequestContext = {
      token: { grantId: grant.id, expiresAt: now + 1 + int(3_600_000), revokedAt: null },
      grant,
      app: partnership.app,
      agreement: partnership.agreement,
      member: { id: members[caller]!.id, platformEnabled: true },
    };
    const { index, relation } = subjectOf(w, caller);
    const s = members[index]!;
    const subject: SubjectFacts = {
      id: s.id,
      isFriend: relation === 'friend',
      platformEnabled: s.platformEnabled,
      shareViaFriends: s.shareViaFriends,
      exclusions: s.exclusions,
      usesApp: partnership.users.has(index),
      friendsAudience: s.friendsAudience,
    };
    const fields = requestedFields();
    requests.push({
      now,
      context,
      subject,
      relation,
      audiences: s.audiences,
      requested: maskOf(fields),
      requestedFields: fields,
      agreementMemberFields: partnership.memberFields,
      agreementFriendFields: partnership.friendFields,
      grantMemberFields,
      grantFriendFields,
    });
  }
  return requests;
}

/** The subject's audience for one field as the member sees it in their settings. */
export function audienceOf(settings: AudienceSettings, field: ObjectField): Audience {
  return settings[field] ?? defaultAudience(field);
}
