import type { NumberedEntry } from '../src/audit/audit-entry.js';
import type { Field } from '../src/domain/field-catalog.js';
import { RULES_VERSION } from '../src/domain/reason-codes.js';
import { prng } from './prng.js';

const START = Date.parse('2026-11-29T12:00:00Z');
/** The members requests are drawn from, m_0 … m_999999. */
export const WORLD = 1_000_000;
/** Member `m_i`'s number (numberTheWorld in audit.ts gives them so), as the Graph API reads it with the member's row. */
export const numberOf = (i: number): number => i + 1;
/** The members using the partner's app (their tokens), spread across the world; they come back. */
const APP_USERS = 50_000;
const FRIENDS_EACH = 300;
// One list per set of fields, shared by the entries that released it, as RequestEntries shares them.
const PROFILE: readonly Field[] = ['id', 'name', 'email', 'birthday'];
const FRIEND: readonly Field[] = ['id', 'name', 'birthday'];
const FRIEND_NO_BIRTHDAY: readonly Field[] = ['id', 'name'];
const NOTHING: readonly Field[] = [];

/**
 * Request `r` as the Graph API logs it: mostly a friend-list page (the request's entry, friends passed
 * over counted, then nine friends released), one request in ten the member's own profile (the request's
 * entry and the member, released directly). The token member is one of the app's users drawn at random,
 * and a member's friends are always the same 300 members of the world, a page of them drawn at random:
 * subjects repeat as real friend lists do, across users and across requests of the same user. Each entry
 * carries its members' numbers as the Graph API's do (it reads them with the members' rows: the token's
 * with the token, the friends' with the friend list's scan).
 */
export function graphRequest(r: number): NumberedEntry[] {
  const draw = prng(r + 1);
  const user = Math.floor(draw() * APP_USERS);
  const tokenIndex = (user * 7919) % WORLD;
  const token = `m_${tokenIndex}`;
  const base: NumberedEntry = {
    at: START + r, requestId: `bench-${r}`, appId: 'app_blackberry', partnerId: 'p_blackberry', agreementId: 'agr_blackberry',
    agreementVersion: 1, rulesVersion: RULES_VERSION, tokenMemberId: token, subjectMemberId: token, purpose: 'device_experience',
    outcome: 'released', code: null, released: NOTHING, withheld: { religion: 'audience_restricted' }, tokenMemberNumber: numberOf(tokenIndex),
  };
  const served: NumberedEntry = { ...base, subjectMemberId: null, outcome: 'served', released: NOTHING, withheld: {}, passedOver: { count: 12, reason: 'friend_opted_out' } };
  if (r % 10 === 0) return [served, { ...base, subjectMemberId: token, subjectNumber: numberOf(tokenIndex), released: PROFILE, withheld: {} }];
  const first = Math.floor(draw() * (FRIENDS_EACH - 9));
  const friend = (k: number) => Math.floor(prng(user * FRIENDS_EACH + k)() * WORLD);
  return [served, ...Array.from({ length: 9 }, (_, i): NumberedEntry => {
    const index = friend(first + i);
    return { ...base, subjectMemberId: `m_${index}`, subjectNumber: numberOf(index), code: 'through_friend', released: i % 3 ? FRIEND : FRIEND_NO_BIRTHDAY };
  })];
}

