import { BASIC_MASK, FIELD_CLASS, OBJECT_FIELDS, fieldBit, type FieldMask, type ObjectField } from './field-catalog.js';

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

/** The fields a member shows to friends (audience `public` or `friends`), as one mask. */
export function friendsAudienceMask(settings: AudienceSettings): FieldMask {
  let mask = BASIC_MASK;
  for (const field of OBJECT_FIELDS) {
    if (FIELD_CLASS[field] === 'basic') continue;
    const audience = settings[field] ?? defaultAudience(field);
    if (audience !== 'only_me') mask |= fieldBit(field);
  }
  return mask;
}
