import type { NumberedEntry } from '../src/audit/audit-entry.js';
import { maskOf } from '../src/domain/field-catalog.js';
import { RequestEntries } from '../src/http/graph/request-entries.js';
import type { GrantContext } from '../src/store/access-token-repository.js';
import { prng } from './prng.js';

const START = Date.parse('2026-11-29T12:00:00Z');
/** The members requests are drawn from, m_0 … m_999999. */
export const WORLD = 1_000_000;
/** Member `m_i`'s number (numberTheWorld in audit.ts gives them so), as the Graph API reads it with the member's row. */
export const numberOf = (i: number): number => i + 1;
/** The members using the partner's app (their tokens), spread across the world; they come back. */
const APP_USERS = 50_000;
const FRIENDS_EACH = 300;
const PROFILE = maskOf(['id', 'name', 'email', 'birthday']);
const FRIEND = maskOf(['id', 'name', 'birthday']);
const FRIEND_NO_BIRTHDAY = maskOf(['id', 'name']);

/**
 * Request `r`'s entries, made by the Graph API's own RequestEntries: mostly a friend-list page (the
 * request's entry, friends passed over counted, then nine friends released), one request in ten the
 * member's own profile (the request's entry and the member, released directly). The token member is
 * one of the app's users drawn at random, and a member's friends are always the same 300 members of
 * the world, a page of them drawn at random: subjects repeat as real friend lists do, across users
 * and across requests of the same user. Each entry carries its members' numbers as the Graph API's
 * do (read with the members' rows: the token's member with the token, friends in the list's scan).
 */
export function graphRequest(r: number): NumberedEntry[] {
  const draw = prng(r + 1);
  const user = Math.floor(draw() * APP_USERS);
  const tokenIndex = (user * 7919) % WORLD;
  const entries = new RequestEntries(tokenContext(`m_${tokenIndex}`, numberOf(tokenIndex)), `bench-${r}`, START + r);
  if (r % 10 === 0) return [entries.served(0), entries.released(`m_${tokenIndex}`, 'self', PROFILE, {}, numberOf(tokenIndex))];
  const first = Math.floor(draw() * (FRIENDS_EACH - 9));
  const friend = (k: number) => Math.floor(prng(user * FRIENDS_EACH + k)() * WORLD);
  return [entries.served(12), ...Array.from({ length: 9 }, (_, i) => {
    const index = friend(first + i);
    return entries.released(`m_${index}`, 'friend', i % 3 ? FRIEND : FRIEND_NO_BIRTHDAY, { religion: 'audience_restricted' }, numberOf(index));
  })];
}

/** What RequestEntries reads of a request's token, as GraphReader.authorize hands it over. */
function tokenContext(memberId: string, memberNumber: number): GrantContext {
  return {
    app: { id: 'app_blackberry', class: 'device_partner' }, partnerId: 'p_blackberry', agreement: { id: 'agr_blackberry', version: 1 },
    member: { id: memberId, platformEnabled: true, number: memberNumber }, grant: { purpose: 'device_experience' },
  } as unknown as GrantContext;
}
