/**
 * Why a field was not released (PRODUCT.md §4). A withheld field carries the first rule it
 * failed; the order of the rules per relation (self, device-partner friend, third-party friend)
 * is set in access-plan.ts.
 */
export const FIELD_REASONS = [
  'not_in_agreement',
  'not_consented',
  'third_party_friend_data',
  'audience_restricted',
  'wind_down',
  'sensitive_field',
] as const;
export type FieldReason = (typeof FIELD_REASONS)[number];

/** A friend left out of every response because of their own settings; seen only in the audit log. */
export const FRIEND_OPTED_OUT = 'friend_opted_out';

/** A friend a third-party app's friend list passed over because they do not use the app (counted, never named). */
export const FRIEND_NOT_APP_USER = 'friend_not_app_user';

export type WithheldReason = FieldReason | typeof FRIEND_OPTED_OUT;

/** The version of the rules recorded with every audit entry, so any decision can be replayed. */
export const RULES_VERSION = 'rules-2026-11-1';
