import type { Audience } from '../domain/audience.js';
import type { Field } from '../domain/field-catalog.js';
import type { Purpose } from '../domain/purposes.js';

/**
 * What members read for the codes of the field catalog, wherever they meet them: the consent
 * page of the OAuth server and the privacy center name a field the same way.
 */

export const FIELD_LABELS: Readonly<Record<Field, string>> = {
  id: 'Member id',
  name: 'Name',
  picture: 'Profile picture',
  email: 'Email address',
  phone: 'Phone number',
  birthday: 'Birthday',
  gender: 'Gender',
  hometown: 'Hometown',
  location: 'Current city',
  work: 'Work',
  education: 'Education',
  relationship_status: 'Relationship status',
  religion: 'Religion',
  political_views: 'Political views',
  events: 'Events',
  likes: 'Likes',
  photos: 'Photos',
  friends: 'Friend list',
};

export function fieldLabel(field: Field): string {
  return FIELD_LABELS[field];
}

/** Who may see a field. */
export const AUDIENCE_LABELS: Readonly<Record<Audience, string>> = { public: 'Public', friends: 'Friends', only_me: 'Only me' };

/** A purpose as the consent page words it; the privacy center uses the same words. */
export const PURPOSE_WORDING: Readonly<Record<Purpose, string>> = {
  device_experience: 'to show your social network inside the device’s own apps',
  login: 'to sign you in',
  messaging: 'to send and receive your messages',
  contacts_sync: 'to keep your phone contacts in sync',
  calendar_sync: 'to keep your calendar in sync',
};
