import { FIELD_CLASS, OBJECT_FIELDS, fieldBit, isObjectField, type FieldMask, type ObjectField } from './field-catalog.js';

/** Who may see a field, as its member set it (PRODUCT.md §3). */
export const AUDIENCES = ['public', 'friends', 'only_me'] as const;
export type Audience = (typeof AUDIENCES)[number];

export function isAudience(value: string): value is Audience {
  return (AUDIENCES as readonly string[]).includes(value);
}

/**
 * The audience a field has until its member changes it. Basic fields are always public; contact
 * and sensitive details start private, so a new member shares nothing delicate by default.
 */
export function defaultAudience(field: ObjectField): Audience {
  switch (FIELD_CLASS[field]) {
    case 'basic':
      return 'public';
    case 'contact':
    case 'sensitive':
      return 'only_me';
    default:
      return 'friends';
  }
}

export type AudienceSettings = Partial<Record<ObjectField, Audience>>;

/** Whether a member may change a field's audience: every object field but the basic ones, which are always public. */
export function audienceIsEditable(field: ObjectField): boolean {
  return FIELD_CLASS[field] !== 'basic';
}

/** What a member who changed nothing shows to friends: basic fields and those whose default is not `only_me`. */
export const DEFAULT_FRIENDS_AUDIENCE: FieldMask = OBJECT_FIELDS.reduce(
  (mask, field) => (FIELD_CLASS[field] === 'basic' || defaultAudience(field) !== 'only_me' ? mask | fieldBit(field) : mask),
  0,
);

/**
 * A friends-audience mask with one field's setting applied: `only_me` takes the field out, any
 * other audience puts it in. Basic fields are always public, and a name that is not an object
 * field is no setting at all: both leave the mask as it is.
 */
export function withAudience(mask: FieldMask, field: string, audience: Audience): FieldMask {
  if (!isObjectField(field) || FIELD_CLASS[field] === 'basic') return mask;
  return audience === 'only_me' ? mask & ~fieldBit(field) : mask | fieldBit(field);
}

/**
 * The fields a member shows to friends (audience `public` or `friends`), as one mask: the
 * defaults with the settings the member changed applied.
 */
export function friendsAudienceMask(settings: AudienceSettings): FieldMask {
  let mask = DEFAULT_FRIENDS_AUDIENCE;
  for (const field of Object.keys(settings) as ObjectField[]) {
    const audience = settings[field];
    if (audience != null) mask = withAudience(mask, field, audience);
  }
  return mask;
}
