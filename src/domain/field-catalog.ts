/**
 * The fixed, versioned catalog of member fields (PRODUCT.md §3).
 *
 * Every field has a bit position so that sets of fields are plain integers: the decision engine
 * intersects agreements, grants and audiences with a handful of bit operations instead of set
 * look-ups. 18 fields fit comfortably in the 31 bits JavaScript's bitwise operators keep.
 */

export const CATALOG_VERSION = '2026-11-1';

export const SENSITIVITY_CLASSES = ['basic', 'contact', 'profile', 'sensitive', 'activity', 'edge'] as const;
export type SensitivityClass = (typeof SENSITIVITY_CLASSES)[number];

export const FIELDS = [
  'id',
  'name',
  'picture',
  'email',
  'phone',
  'birthday',
  'gender',
  'hometown',
  'location',
  'work',
  'education',
  'relationship_status',
  'religion',
  'political_views',
  'events',
  'likes',
  'photos',
  'friends',
] as const;
export type Field = (typeof FIELDS)[number];

/** Fields that can appear on a member object; `friends` is an edge, read through its own route. */
export type ObjectField = Exclude<Field, 'friends'>;
export const OBJECT_FIELDS = FIELDS.filter((f): f is ObjectField => f !== 'friends');

export const FIELD_CLASS: Readonly<Record<Field, SensitivityClass>> = {
  id: 'basic',
  name: 'basic',
  picture: 'basic',
  email: 'contact',
  phone: 'contact',
  birthday: 'profile',
  gender: 'profile',
  hometown: 'profile',
  location: 'profile',
  work: 'profile',
  education: 'profile',
  relationship_status: 'sensitive',
  religion: 'sensitive',
  political_views: 'sensitive',
  events: 'activity',
  likes: 'activity',
  photos: 'activity',
  friends: 'edge',
};

/** A set of fields, one bit per field in catalog order. */
export type FieldMask = number;

const BIT_BY_FIELD = new Map<string, number>(FIELDS.map((field, index) => [field, 1 << index]));

export function isField(name: string): name is Field {
  return BIT_BY_FIELD.has(name);
}

export function isObjectField(name: string): name is ObjectField {
  return name !== 'friends' && isField(name);
}

export function fieldBit(field: Field): FieldMask {
  return BIT_BY_FIELD.get(field)!;
}

export function maskOf(fields: Iterable<Field>): FieldMask {
  let mask = 0;
  for (const field of fields) mask |= fieldBit(field);
  return mask;
}

export function fieldsOf(mask: FieldMask): Field[] {
  const fields: Field[] = [];
  for (let index = 0; index < FIELDS.length; index++) {
    if (mask & (1 << index)) fields.push(FIELDS[index]!);
  }
  return fields;
}

function maskOfClass(...classes: SensitivityClass[]): FieldMask {
  return maskOf(FIELDS.filter((field) => classes.includes(FIELD_CLASS[field])));
}

export const ALL_FIELDS_MASK: FieldMask = maskOf(FIELDS);
export const OBJECT_FIELDS_MASK: FieldMask = maskOf(OBJECT_FIELDS);
export const ID_MASK: FieldMask = fieldBit('id');
export const FRIENDS_MASK: FieldMask = fieldBit('friends');
export const BASIC_MASK: FieldMask = maskOfClass('basic');
export const SENSITIVE_MASK: FieldMask = maskOfClass('sensitive');
