/**
 * Graph API callers drawn at random across a seeded world (bench/scale.ts, bench/reads.ts): members
 * whose own platform setting is on and who have a friend, each with a grant and a token of the
 * benchmark's device partner, made before anything is timed.
 */
import { randomUUID } from 'node:crypto';
import { maskOf, type Field, type ObjectField } from '../../src/domain/field-catalog.js';
import type { Instant } from '../../src/domain/time.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import { createStore, type Store } from '../../src/store/store.js';
import { addPartner } from '../../test/helpers/fixtures.js';

/** The eight friend fields of bench/http.ts; religion is withheld about a friend by the rules. */
export const FRIEND_FIELDS: readonly ObjectField[] = ['name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'religion'];
const MEMBER_FIELDS: readonly Field[] = ['id', 'name', 'picture', 'birthday', 'friends'];
export const PAGE = 25;
/** The request every caller makes: a first page of friends with the eight fields. */
export const FRIENDS_PATH = `/v1/me/friends?fields=${FRIEND_FIELDS.join(',')}&limit=${PAGE}`;
const TOKEN_TTL_MS = 24 * 3_600_000;

export interface CallerOptions {
  /** The world's seed and size: its members are memberIdAt(seed, 0 .. members - 1). */
  readonly seed: number;
  readonly members: number;
  readonly count: number;
  readonly random: () => number;
  readonly now: Instant;
}

/**
 * `count` bearer tokens, each of a member drawn at random (again while the member's platform is off
 * or it has no friend) with a new grant for the device partner `app_scale` (added once per world).
 * Grants and tokens are written in one transaction.
 */
export async function callerTokens(store: Store, { seed, members, count, random, now }: CallerOptions): Promise<string[]> {
  if (!(await store.partners.app('app_scale'))) {
    await addPartner(store, 'scale', { agreement: { memberFields: [...MEMBER_FIELDS], friendFields: ['id', ...FRIEND_FIELDS] } }, now);
  }
  const callers: string[] = [];
  for (let tries = 0; callers.length < count; tries++) {
    if (tries > 20 * count) throw new Error(`fewer than ${count} of ${members} members have the platform on and a friend`);
    const member = memberIdAt(seed, Math.floor(random() * members));
    const on = (await store.members.settings([member])).get(member)?.platformEnabled === true;
    if (on && (await store.friendships.page(member, null, 1)).length > 0) callers.push(member);
  }
  return store.db.transaction().execute(async (trx) => {
    const tx = createStore(trx);
    const grants = callers.map((memberId) => ({
      id: `g_scale_${randomUUID()}`, memberId, appId: 'app_scale', agreementId: 'agr_scale', agreementVersion: 1, purpose: 'device_experience' as const,
      memberFields: maskOf(MEMBER_FIELDS), friendFields: maskOf(['id', ...FRIEND_FIELDS]), grantedAt: now, lastUsedAt: null, revokedAt: null,
    }));
    await tx.grants.insertMany(grants);
    const tokens: string[] = [];
    for (const grant of grants) tokens.push((await tx.tokens.issue(grant.id, now, TOKEN_TTL_MS)).token);
    return tokens;
  });
}
