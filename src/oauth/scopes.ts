import { FIELDS, OBJECT_FIELDS, fieldBit, fieldsOf, isField, type Field, type FieldMask } from '../domain/field-catalog.js';

/**
 * The OAuth scopes of Datapact: one per field of the catalog. A field about the member is asked
 * for by its name (`name`, `email`, `friends` for the friend list...); a field about the member's
 * friends as `friends.<field>` (`friends.birthday`). `id` is always released and needs no scope;
 * `openid` asks for an ID token as well.
 */

export const FRIEND_SCOPE_PREFIX = 'friends.';

/** Scopes for fields about the member: every field but `id`. */
export const MEMBER_SCOPES: readonly Field[] = FIELDS.filter((field) => field !== 'id');

/** Scopes for fields about friends: every field a member object carries, but `id`. */
export const FRIEND_SCOPES: readonly string[] = OBJECT_FIELDS.filter((field) => field !== 'id').map(friendScope);

/** What discovery announces and the provider knows. */
export const SUPPORTED_SCOPES: readonly string[] = ['openid', ...MEMBER_SCOPES, ...FRIEND_SCOPES];

/** Scopes a client may send that ask for no field: tolerated, never an error. */
const NO_FIELD_SCOPES = new Set(['openid', 'offline_access', 'id']);

export function friendScope(field: Field): string {
  return FRIEND_SCOPE_PREFIX + field;
}

/** A scope parameter read as fields. */
export interface RequestedScopes {
  readonly openid: boolean;
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
  /** Scope values that name nothing Datapact knows. */
  readonly unknown: readonly string[];
}

export function parseScope(scope: string | undefined): RequestedScopes {
  let memberFields = 0;
  let friendFields = 0;
  const unknown: string[] = [];
  const values = (scope ?? '').split(' ').filter((value) => value !== '');
  for (const value of values) {
    if (NO_FIELD_SCOPES.has(value)) continue;
    if (value.startsWith(FRIEND_SCOPE_PREFIX)) {
      const field = value.slice(FRIEND_SCOPE_PREFIX.length);
      if (isField(field) && FRIEND_SCOPES.includes(value)) friendFields |= fieldBit(field);
      else unknown.push(value);
    } else if (isField(value)) {
      memberFields |= fieldBit(value);
    } else {
      unknown.push(value);
    }
  }
  return { openid: values.includes('openid'), memberFields, friendFields, unknown };
}

/** The scope values for a set of member and friend fields (`id` needs none). */
export function scopesOf(memberFields: FieldMask, friendFields: FieldMask, openid: boolean): string[] {
  return [
    ...(openid ? ['openid'] : []),
    ...fieldsOf(memberFields).filter((field) => field !== 'id'),
    ...fieldsOf(friendFields).filter((field) => field !== 'id').map(friendScope),
  ];
}
