/**
 * Every `error.code` the server answers with, its status and what it means: the OpenAPI
 * document's description lists them (openapi.ts), and test/http/error-codes.test.ts fails when a
 * code thrown anywhere in src is missing here. Grouped by who meets them.
 */

export interface ErrorCodeDoc {
  readonly code: string;
  readonly statuses: readonly number[];
  readonly meaning: string;
}

const doc = (code: string, statuses: number | readonly number[], meaning: string): ErrorCodeDoc =>
  ({ code, statuses: typeof statuses === 'number' ? [statuses] : statuses, meaning });

/** A lifecycle action refused in the agreement's state: `activate_not_allowed_when_draft`, `suspend_not_allowed_when_terminated`, … */
export const LIFECYCLE_CODE_PATTERN = /^[a-z_]+_not_allowed_when_[a-z_]+$/;

export const ERROR_CODES: readonly ErrorCodeDoc[] = [
  // Any request.
  doc('invalid_parameter', 400, 'A parameter or body its schema refuses (where and why in the message), or a value out of range.'),
  doc('invalid_request', [400, 413, 415], 'Malformed JSON or HTTP, a path that is not UTF-8, a body over the limit (413) or not JSON (415).'),
  doc('not_found', 404, 'No such resource for this caller, or an unknown route.'),
  doc('request_timeout', 408, 'The request was not received within the server\'s timeouts.'),
  doc('uri_too_long', 414, 'A path parameter over 1,000 characters.'),
  doc('headers_too_large', 431, 'A request line and headers over 16 KiB.'),
  doc('https_required', 421, 'An https deployment reached without its TLS proxy (no X-Forwarded-Proto: https).'),
  doc('rate_limited', 429, 'Too many requests (Graph API: per access token) or failed logins; Retry-After says when to try again.'),
  doc('overloaded', 503, 'The server is at capacity (its audit queue is full); try again after Retry-After.'),
  doc('database_unavailable', 503, 'The database cannot take the request now; try again after Retry-After.'),
  doc('internal_error', 500, 'A bug, logged with the request id.'),
  // Graph API.
  doc('unknown_field', 400, 'A name outside the field catalog in `fields` (or an audience for one).'),
  doc('invalid_cursor', 400, 'An `after` cursor that is malformed or belongs to another list or member.'),
  doc('invalid_token', 401, 'No bearer token, an unknown one, or one expired or revoked.'),
  doc('grant_expired', 401, 'The grant went unused for 90 days: ask for consent again. (A grant the member revoked takes its tokens with it: invalid_token.)'),
  doc('app_disabled', 403, 'The app is disabled.'),
  doc('agreement_not_in_effect', 403, 'The app\'s agreement is not in effect; `cause` says why (no_agreement, expired, suspended, …).'),
  doc('purpose_not_allowed', 403, 'The grant\'s purpose is not one of the agreement\'s.'),
  doc('platform_disabled', 403, 'The token\'s member turned apps and devices off.'),
  doc('not_consented', 403, 'The friend list without `friends` in both the agreement and the grant.'),
  doc('friends_of_friends_forbidden', [400, 403], 'Another member\'s friend list (403); `friends` as an agreement\'s friend field (400).'),
  // Partner endpoints.
  doc('access_not_ended', 409, 'A deletion attestation before access has ended.'),
  // Privacy center.
  doc('login_required', 401, 'No member session (privacy center) or staff credential (admin API).'),
  doc('invalid_csrf_token', 403, 'A form or state-changing request without the CSRF token that matches its cookie.'),
  doc('field_not_editable', 400, 'An audience for `id`, `name` or `picture`, which are always public.'),
  doc('permission_not_removable', 400, 'Removing `id` from an app (revoke the app instead).'),
  doc('deletion_already_requested', 409, 'A deletion request while the last one to that partner awaits confirmation.'),
  doc('too_many_exclusions', 409, 'Keeping a 201st app or partner out.'),
  // Audit log.
  doc('leaf_index_out_of_range', 400, 'An inclusion proof for a leaf at or past the tree size.'),
  doc('tree_size_not_signed', 400, 'A proof against a tree size no kept signed head has.'),
  // Admin API: staff and credentials.
  doc('invalid_credentials', 401, 'A staff login with a wrong email or password.'),
  doc('two_factor_required', 401, 'A staff login with the right password but no two-factor code.'),
  doc('invalid_two_factor_code', [401, 403], 'A wrong or used two-factor code (401 at login, 403 when asked again).'),
  doc('wrong_password', 403, 'The account\'s password, asked again, is wrong.'),
  doc('password_change_required', 403, 'An admin reset this account\'s password: change it first.'),
  doc('forbidden', 403, 'The staff member\'s roles lack the permission (named in the message).'),
  doc('not_a_session', 400, 'A logout with an API key.'),
  doc('same_password', 400, 'A new password equal to the current one.'),
  doc('email_taken', 409, 'A staff account with that email exists.'),
  doc('last_admin', 409, 'The change would leave no enabled admin.'),
  doc('already_revoked', 409, 'The API key is revoked already.'),
  doc('staff_disabled', 409, 'The staff account is disabled.'),
  doc('own_account', 409, 'An admin resetting their own password (change it instead).'),
  doc('guarded_account', 409, 'An account holding a guarded role, acted on by someone else\'s credential.'),
  doc('two_factor_enabled', 409, 'Two-factor is on already.'),
  doc('two_factor_not_enabled', 409, 'The account has no two-factor.'),
  doc('no_enrolment', 409, 'No two-factor enrolment to confirm.'),
  doc('proposal_not_pending', 409, 'The role proposal is settled already.'),
  doc('proposer_cannot_confirm', 409, 'A role grant confirmed by the admin who proposed it.'),
  doc('subject_cannot_confirm', 409, 'A role grant confirmed by its own subject.'),
  // Admin API: partners, apps and agreements.
  doc('partner_kind_conflict', 409, 'A partner with device_partner apps changing its kind away from device_maker.'),
  doc('privacy_policy_missing', 409, 'An agreement drafted for a partner without a privacy policy URL.'),
  doc('app_of_another_partner', 400, 'An agreement naming another partner\'s app.'),
  doc('unknown_app_class', 400, 'An agreement naming an app whose class is unknown.'),
  doc('no_apps', 400, 'An agreement without apps.'),
  doc('no_purposes', 400, 'An agreement without purposes.'),
  doc('unknown_purpose', 400, 'A purpose outside the catalog.'),
  doc('friend_fields_not_allowed', 400, 'Friend fields in an agreement with an app that is not a device_partner.'),
  doc('friends_field_required', 400, 'Friend fields without `friends` in the member fields.'),
  doc('invalid_retention_days', 400, 'Retention outside the allowed range of days.'),
  doc('invalid_dates', 400, 'starts_at or ends_at not an ISO 8601 date-time.'),
  doc('ends_before_start', 400, 'ends_at not after starts_at.'),
  doc('term_too_long', 400, 'An agreement longer than the longest term.'),
  doc('invalid_storage', 400, 'Storage without its country, or a country or safeguard for on_device storage.'),
  doc('approvals_missing', 409, 'Activation before enough privacy officers other than the author approved.'),
  doc('already_approved', 409, 'A second approval by the same privacy officer.'),
  doc('author_cannot_approve', 409, 'The agreement\'s author approving it.'),
  doc('admins_never_approve', 409, 'An admin approving an agreement.'),
  doc('agreement_overlap', 409, 'A renewal starting before the agreement in force ends.'),
  doc('no_suggestions', 409, 'A least-privilege draft asked for an agreement the report has nothing to remove from (the message says why: too young, unused, ended, …).'),
  doc('already_ended', 409, 'An action on an agreement whose end date has passed.'),
  doc('certification_overdue', 409, 'Reinstating before the partner certified.'),
  doc('phases_out_of_order', 409, 'Wind-down phases not in the order no_new_grants < no_friend_data < access_ended.'),
  // Admin API: simulations.
  doc('empty_proposal', 400, 'A simulation whose proposal changes nothing.'),
  doc('incomplete_wind_down', 400, 'A simulated wind-down for a version without one, not giving all three phases.'),
  doc('invalid_wind_down', 400, 'Simulated wind-down phases out of order.'),
  doc('invalid_period', 400, 'A simulation period whose from is not before its to.'),
  doc('phase_in_past', 409, 'A wind-down phase in the past.'),
  doc('phase_after_end', 409, 'Access ending after the end date.'),
  doc('concurrent_change', 409, 'The agreement changed meanwhile; load it again and retry.'),
  doc('<action>_not_allowed_when_<status>', 409, 'A lifecycle action the agreement\'s status does not allow (`activate_not_allowed_when_draft`, …).'),
];

/** The list as a Markdown table, for the OpenAPI document's description. */
export function errorCodesMarkdown(): string {
  const rows = ERROR_CODES.map(({ code, statuses, meaning }) => `| \`${code}\` | ${statuses.join(', ')} | ${meaning} |`);
  return ['| code | status | meaning |', '|---|---|---|', ...rows].join('\n');
}
