import type { Faker } from '@faker-js/faker';
import type { Instant } from '../domain/time.js';
import { toIso } from '../store/columns.js';
import type { NewMember } from '../store/member-repository.js';
import type { MemberRows } from '../store/world-loader.js';
import { generateMember } from './member-profile.js';

/** A batch of generated members as table rows, and each one's join instant (which friendships need). */
export interface MemberBatch {
  readonly rows: MemberRows;
  /** Join instant of `indices[i]`, by i. */
  readonly createdAt: Float64Array;
}

export interface MemberBatchRequest {
  readonly seed: number;
  readonly now: Instant;
  /** Member indices, in the order their rows are wanted (id order). */
  readonly indices: Uint32Array;
  /** Their ids, by position in `indices`. */
  readonly ids: readonly string[];
}

/** Generates the members of `request`; `faker` is reseeded per member, so it may be shared. */
export function generateMemberBatch(faker: Faker, { seed, now, indices, ids }: MemberBatchRequest): MemberBatch {
  const rows: MemberRows = { members: [], profileValues: [], fieldAudiences: [] };
  const createdAt = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    const member = generateMember(faker, { seed, index, id: ids[i]!, now, showcase: index === 0 });
    createdAt[i] = member.createdAt;
    appendMemberRows(rows, member);
  }
  return { rows, createdAt };
}

/** A member's rows; profile values and audiences in field order, as their primary keys sort. */
function appendMemberRows(rows: MemberRows, member: NewMember): void {
  const { id } = member;
  rows.members.push(id, member.platformEnabled ? 1 : 0, member.shareViaFriends ? 1 : 0, toIso(member.createdAt));
  for (const field of Object.keys(member.profile).sort()) {
    rows.profileValues.push(id, field, JSON.stringify(member.profile[field as keyof NewMember['profile']]));
  }
  for (const field of Object.keys(member.audiences).sort()) {
    rows.fieldAudiences.push(id, field, member.audiences[field as keyof NewMember['audiences']]!);
  }
}
