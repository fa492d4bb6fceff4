import type { Generated } from 'kysely';
import type { NoticeDeliveryStatus, NoticeStatus } from '../domain/notice.js';

/**
 * The tables as Kysely sees them. Only types that both SQLite and PostgreSQL store the same way:
 * instants as ISO-8601 text (UTC, sortable), booleans as 0/1, sets and records as JSON text.
 */
export interface Database {
  members: MembersTable;
  profile_values: ProfileValuesTable;
  field_audiences: FieldAudiencesTable;
  friendships: FriendshipsTable;
  app_friends: AppFriendsTable;
  partners: PartnersTable;
  apps: AppsTable;
  agreements: AgreementsTable;
  agreement_apps: AgreementAppsTable;
  agreement_history: AgreementHistoryTable;
  grants: GrantsTable;
  access_tokens: AccessTokensTable;
  audit_entries: AuditEntriesTable;
  /** The view over the whole log (migration 0020): audit_entries' frozen rows, then requests' leaves. */
  audit_log: AuditEntriesTable;
  audit_requests: AuditRequestsTable;
  audit_leaves: AuditLeavesTable;
  audit_field_sets: AuditFieldSetsTable;
  audit_nodes: AuditNodesTable;
  audit_heads: AuditHeadsTable;
  member_credentials: MemberCredentialsTable;
  web_sessions: WebSessionsTable;
  oidc_payloads: OidcPayloadsTable;
  client_tokens: ClientTokensTable;
  agreement_certifications: PartnerFilingsTable;
  deletion_attestations: PartnerFilingsTable;
  staff: StaffTable;
  staff_credentials: StaffCredentialsTable;
  staff_totp: StaffTotpTable;
  staff_recovery_codes: StaffRecoveryCodesTable;
  notices: NoticesTable;
  notice_deliveries: NoticeDeliveriesTable;
  rate_limit_counters: RateLimitCountersTable;
  staff_role_proposals: StaffRoleProposalsTable;
  audit_cosignatures: AuditCosignaturesTable;
  readiness_probes: ReadinessProbesTable;
  simulations: SimulationsTable;
  audit_daily_counts: AuditDailyCountsTable;
  audit_release_days: AuditReleaseDaysTable;
  audit_release_instants: AuditReleaseInstantsTable;
  audit_exposure: AuditExposureTable;
  audit_field_months: AuditFieldMonthsTable;
  audit_field_uses: AuditFieldUsesTable;
  member_numbers: MemberNumbersTable;
  friend_number_lists: FriendNumberListsTable;
  ended_friendships: EndedFriendshipsTable;
  replay_segments: ReplaySegmentsTable;
  world_version: WorldVersionTable;
  world_changes: WorldChangesTable;
  audit_token_months: AuditTokenMonthsTable;
  member_sets: MemberSetsTable;
  member_set_deltas: MemberSetDeltasTable;
  member_friend_exclusions: MemberFriendExclusionsTable;
  deletion_requests: DeletionRequestsTable;
}

/** Always empty: `/health/ready` inserts a row and deletes it in one transaction (migration 0023). */
/** A simulation's result (JSON), kept under its id (migration 0031). */
export interface SimulationsTable {
  id: string;
  agreement_id: string;
  created_at: string;
  created_by: string;
  result: string;
}

export interface ReadinessProbesTable {
  id: string;
  padding: Buffer;
}

export interface MembersTable {
  id: string;
  platform_enabled: number;
  share_via_friends: number;
  created_at: string;
  /** The member's number (`member_numbers`), set by the trigger that numbers a new member (migration 0037). */
  number: Generated<number | null>;
}

export interface ProfileValuesTable {
  member_id: string;
  field: string;
  /** JSON text: a string or a list, as the field's type says. */
  value: string;
}

/** Only audiences a member changed are stored; the catalog's default stands for the rest. */
export interface FieldAudiencesTable {
  member_id: string;
  field: string;
  audience: string;
}

/** Undirected: each friendship is stored once in each direction so that either side is one index read. */
export interface FriendshipsTable {
  member_id: string;
  friend_id: string;
  since: string;
  /** 1 when the friend has the platform on and shares through friends' apps (visible-friends.ts keeps it). */
  friend_shares: Generated<number>;
  /** The friend's place, from 1, among the member's friends in id order (visible-friends.ts keeps it). */
  friend_ordinal: Generated<number>;
}

/** A friend (`friend_id`) of `member_id` who has the platform on and an unrevoked grant with the third-party app `app_id`. */
export interface AppFriendsTable {
  app_id: string;
  member_id: string;
  friend_id: string;
}

export interface PartnersTable {
  id: string;
  legal_name: string;
  country: string;
  kind: string;
  risk_flags: string;
  storage_location: string;
  storage_country: string | null;
  contacts: string;
  webhook_url: string | null;
  created_at: string;
  /** HMAC-SHA256 key that signs the partner's webhook notices; null until first needed (migration 0006). */
  webhook_secret: string | null;
  /** The partner's privacy policy, linked from the consent page; null for partners registered before 0025. */
  privacy_policy_url: string | null;
}

export interface AppsTable {
  id: string;
  partner_id: string;
  name: string;
  class: string;
  status: string;
  redirect_uris: string;
  created_at: string;
  /** The OAuth client secret (oidc-provider compares it as given); null for a public client. */
  client_secret: string | null;
}

/** The current version of each agreement; every version ever written is in agreement_history. */
export interface AgreementsTable {
  id: string;
  partner_id: string;
  version: number;
  status: string;
  status_reason: string | null;
  purposes: string;
  member_fields: string;
  friend_fields: string;
  retention_days: number;
  storage_location: string;
  storage_country: string | null;
  /** The transfer's safeguard (TRANSFER_SAFEGUARDS) for storage on partner servers; null when none is stated (migration 0027). */
  storage_safeguard: string | null;
  starts_at: string;
  ends_at: string;
  certification_due_at: string;
  wind_down: string | null;
  created_at: string;
  updated_at: string;
  /** The staff member who drafted (or last edited) the version; `system` for agreements made before the lifecycle. */
  author_id: string;
  /** JSON text: ids of the privacy officers who approved the version under review. */
  approvals: string;
  /** 0/1: the two-person rule applies (friend fields, sensitive member fields or a risk-flagged partner). */
  needs_two_approvals: number;
  deletion_attested_at: string | null;
  /** 0/1: no deletion attestation came within 30 days after access ended. */
  deletion_unconfirmed: number;
  /** JSON text: the wind-down notices already sent (`upcoming:<phase>:<days>`, `reached:<phase>`), and `started` for a renewal's takeover. */
  wind_down_notices: string;
  /** JSON text: ids of the privacy officers whose approvals counted at activation (migration 0016). */
  approved_by: string;
}

export interface AgreementAppsTable {
  agreement_id: string;
  app_id: string;
}

export interface AgreementHistoryTable {
  agreement_id: string;
  version: number;
  at: string;
  actor: string;
  action: string;
  reason: string | null;
  /** JSON text of the agreement as this version left it. */
  snapshot: string;
  /** What changed from the previous version, readably: `end: 2027-01-01 → 2027-06-01; member fields: +email −phone`. */
  diff: string | null;
}

export interface GrantsTable {
  id: string;
  member_id: string;
  app_id: string;
  agreement_id: string | null;
  agreement_version: number | null;
  purpose: string;
  member_fields: string;
  friend_fields: string;
  granted_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Why `revoked_at` was recorded (a GrantEndReason); null: by its member, before reasons were kept. */
  end_reason: string | null;
}

export interface AccessTokensTable {
  /** SHA-256 of the bearer secret; the secret itself is never stored. */
  token_hash: string;
  grant_id: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** `development` (the CLI, refused in production) or `oauth`. */
  origin: TokenOrigin;
  /** The fields the token was issued for (JSON field lists); null: its grant's. */
  member_fields: string | null;
  friend_fields: string | null;
}

export type TokenOrigin = 'development' | 'oauth';

export interface AuditEntriesTable {
  seq: Generated<number>;
  at: string;
  request_id: string;
  app_id: string | null;
  partner_id: string | null;
  agreement_id: string | null;
  agreement_version: number | null;
  rules_version: string;
  token_member_id: string | null;
  subject_member_id: string | null;
  purpose: string | null;
  outcome: string;
  code: string | null;
  released: string;
  withheld: string;
  /** Who did a staff action: a staff id, or `system`; null for entries about data released. */
  actor: string | null;
  /** A staff action's name, e.g. `partner.create`; null for entries about data released. */
  action: string | null;
  /** JSON text: what a staff action changed. */
  detail: string | null;
  /**
   * SHA-256(0x00 || canonical entry): the entry's leaf in the audit tree (leaf index seq - 1), for
   * legacy entries (`format` 1) only; a blinded entry's is recomputed with the blinding key.
   */
  leaf_hash: Buffer | null;
  /** 1: legacy canonical form (canonical-entry.ts); 2: blinded (canonical-entry-v2.ts). Migration 0014. */
  format: Generated<number>;
  /** A request's entry: how many friends its scan passed over, and why (migration 0014). */
  passed_over: number | null;
  passed_over_reason: string | null;
}

/** What the entries of one request share (migration 0020): leaves first_seq .. first_seq + leaf_count - 1. */
export interface AuditRequestsTable {
  first_seq: number;
  leaf_count: number;
  at: string;
  request_id: string;
  app_id: string | null;
  partner_id: string | null;
  agreement_id: string | null;
  agreement_version: number | null;
  rules_version: string;
  token_member_id: string | null;
  purpose: string | null;
  /** The request's subjects packed for a replay (migration 0042); null before it, and for staff actions. */
  replay_subjects: string | null;
}

/** What one entry adds to its request's fields (migration 0020). */
export interface AuditLeavesTable {
  seq: number;
  /** seq - the request's first_seq. */
  pos: number;
  subject_member_id: string | null;
  outcome: string;
  code: string | null;
  /** audit_field_sets ids. */
  released: number;
  withheld: number;
  passed_over: number | null;
  passed_over_reason: string | null;
  actor: string | null;
  action: string | null;
  detail: string | null;
  /** The subject's member number when logged (migration 0039; not part of the entry): null where the appender had none. */
  subject_number: number | null;
}

/** Each distinct released or withheld list, once, as the entries' JSON text. */
export interface AuditFieldSetsTable {
  id: number;
  json: string;
}

/** Complete subtrees of the audit tree above the leaves: node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level). */
export interface AuditNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

/** Signed tree heads (src/audit/tree-head.ts), one per tree size. */
export interface AuditHeadsTable {
  tree_size: number;
  root_hash: Buffer;
  /** Epoch milliseconds, as signed. */
  timestamp: number;
  signature: Buffer;
  /** Lowercase hex SHA-256 of the signing key's DER SubjectPublicKeyInfo. */
  key_id: string;
  /** The C2SP checkpoint's origin line and the log's signature over it, made with the head (NULL before 0022). */
  checkpoint_origin: string | null;
  checkpoint_signature: Buffer | null;
}

export interface MemberCredentialsTable {
  member_id: string;
  /** scrypt, in the form `scrypt$N$r$p$salt$hash` (base64url parts). */
  password_hash: string;
  updated_at: string;
}

/** Server-side web sessions (members' privacy center); the cookie holds only the signed id. */
export interface WebSessionsTable {
  id: string;
  data: string;
  expires_at: string;
}

/** One row per oidc-provider model instance (sessions, codes, grants, tokens, interactions...). */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: string | null;
  consumed_at: string | null;
}

/** Tokens partner servers obtained with client credentials; only the SHA-256 is stored. */
export interface ClientTokensTable {
  token_hash: string;
  app_id: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** A statement a partner filed about an agreement: a certification or a deletion attestation. */
export interface PartnerFilingsTable {
  id: string;
  agreement_id: string;
  agreement_version: number;
  app_id: string;
  /** The person at the partner who signs the statement. */
  signed_by: string;
  statement: string;
  filed_at: string;
}

/** Platform staff who use the admin API. */
export interface StaffTable {
  id: string;
  email: string;
  name: string;
  /** JSON text: a list of staff roles. */
  roles: string;
  /** scrypt, as for members' passwords. */
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
  /** Set by an admin's password reset: until the password is changed, the account can do nothing else. */
  password_reset_at: string | null;
}

/** A staff member's TOTP authenticator (migration 0019). */
export interface StaffTotpTable {
  staff_id: string;
  /** The secret, AES-256-GCM-encrypted under a key kept in the data directory (see totp-sealer.ts). */
  secret_sealed: string;
  created_at: string;
  /** Null until the first code confirms the enrolment; only a confirmed authenticator is asked for. */
  confirmed_at: string | null;
  /** The TOTP time step of the last code accepted: a code of this step or an earlier one is refused. */
  last_used_step: number | null;
}

/** Recovery codes for a staff member's two-factor, as SHA-256; each works once. */
export interface StaffRecoveryCodesTable {
  code_hash: string;
  staff_id: string;
  created_at: string;
  used_at: string | null;
}

export type StaffCredentialKind = 'session' | 'api_key';

/** Staff bearer credentials: session tokens from a login and API keys. Only the SHA-256 is stored. */
export interface StaffCredentialsTable {
  token_hash: string;
  /** Public id, to list and revoke a credential without its secret. */
  id: string;
  staff_id: string;
  kind: StaffCredentialKind;
  label: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** The outbox of notices to partners' webhooks (migration 0006); one row per event. */
export interface NoticesTable {
  id: string;
  partner_id: string;
  agreement_id: string | null;
  /** e.g. `agreement.activated`, `wind_down.phase_upcoming`. */
  type: string;
  /** JSON text: the notice's `data`. */
  payload: string;
  created_at: string;
  /** Unique when set: the same event enqueued twice (e.g. by two scheduler instances) is kept once. */
  dedupe_key: string | null;
  status: NoticeStatus;
  attempts: number;
  /** When the dispatcher may try next; null once delivered, abandoned or undeliverable. */
  next_attempt_at: string | null;
  /** A dispatcher's lease: nobody else sends this notice before then. */
  claimed_until: string | null;
  claimed_by: string | null;
  delivered_at: string | null;
}

/** One row per attempt to post a notice to its partner's webhook. */
export interface NoticeDeliveriesTable {
  id: string;
  notice_id: string;
  attempt: number;
  attempted_at: string;
  status: NoticeDeliveryStatus;
  http_status: number | null;
  error: string | null;
  /** When the next attempt is due after a failure; null after a success or the last attempt. */
  next_attempt_at: string | null;
}

/** Login-attempt counters shared by every instance (migration 0013): a fixed window per key. */
export interface RateLimitCountersTable {
  key: string;
  hits: number;
  window_ends_at: string;
}

export type RoleProposalStatus = 'pending' | 'confirmed' | 'rejected' | 'cancelled';

/** Grants of `privacy_officer` or `admin` proposed through the API, waiting for a second admin (migration 0016). */
export interface StaffRoleProposalsTable {
  id: string;
  staff_id: string;
  /** JSON text: the guarded roles to add. */
  roles: string;
  proposed_by: string;
  proposed_at: string;
  status: RoleProposalStatus;
  decided_by: string | null;
  decided_at: string | null;
}

/** Witnesses' cosignatures of the audit log's checkpoints (migration 0015). */
export interface AuditCosignaturesTable {
  tree_size: number;
  /** The witness's verifier key (cosignature/v1). */
  witness: string;
  root_hash: Buffer;
  /** `— <witness name> <base64>` and a line feed, as the witness returned it. */
  signature_line: string;
  /** POSIX seconds, the time the cosignature carries. */
  cosigned_at: number;
}

/*
 * Counts kept current as entries are appended (migration 0021, src/store/audit-aggregates.ts), so
 * that the staff's reports never read the log itself. A key column the entry left empty (a staff
 * action has no app) holds '' rather than NULL: NULLs never conflict, so they would not add up.
 */

/** Entries per UTC day, partner, app, agreement and outcome. */
export interface AuditDailyCountsTable {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  partner_id: string;
  app_id: string;
  agreement_id: string;
  outcome: string;
  entries: number;
  /** Fields released (outcome `released`), `id` not counted. */
  fields: number;
  /** The latest entry's instant, epoch milliseconds. */
  last_at: number;
}

/** Per agreement, UTC day and member whose data was released: when, first, in a batch of appends (epoch ms). */
export interface AuditReleaseDaysTable {
  /** The journal's order (migration 0034): the folding moves rows into bitmaps by it. */
  id: Generated<number>;
  agreement_id: string;
  day: string;
  member_id: string;
  /** The member's first release that day among the entries of one batch (a member may have a row per batch). */
  first_at: number;
}

/**
 * Per instant (epoch ms) and agreement: the fields released then, `id` not counted. A request's
 * entries share their instant, so rows grow with requests, not with the members they release;
 * the inventory reads only the first and last day of its window here (the whole days between in
 * audit_daily_counts), so that its window starts and ends at any instant.
 */
export interface AuditReleaseInstantsTable {
  at: number;
  agreement_id: string;
  fields: number;
}

/** Per agreement, UTC month and member whose data was released: which fields, directly and through friends (field masks). */
export interface AuditExposureTable {
  /** The journal's order (migration 0034); a member may have a row per batch, their fields ORed when read. */
  id: Generated<number>;
  agreement_id: string;
  /** `YYYY-MM` (UTC). */
  month: string;
  member_id: string;
  /** Fields released to a token of this member's own (field-catalog bits). */
  direct_fields: number;
  /** Fields released to a token of one of their friends. */
  friend_fields: number;
}

/** Per agreement, UTC month and field: how many times it was released, directly and through friends. */
export interface AuditFieldMonthsTable {
  agreement_id: string;
  month: string;
  field: string;
  direct: number;
  friends: number;
}

/**
 * Per UTC month, agreement, app, purpose, field and way (`d` directly, `f` through friends): the
 * first and last release (epoch ms), kept on append (migration 0032; the least-privilege report).
 */
export interface AuditFieldUsesTable {
  month: string;
  agreement_id: string;
  app_id: string;
  purpose: string;
  field: string;
  how: 'd' | 'f';
  first_at: number;
  last_at: number;
}

/** A direction of a friendship ended since migration 0042, by member numbers (a replay's "friend today"). */
export interface EndedFriendshipsTable {
  member_number: number;
  friend_number: number;
}

/** The version of what a replay reads of today's world (migration 0044): moved on by triggers. */
export interface WorldVersionTable {
  id: number;
  version: number;
}

/** Which member each move of world_version was about (migration 0045); null: a member not numbered yet. */
export interface WorldChangesTable {
  version: number;
  member_number: number | null;
}

/** A run of one agreement's logged requests packed for a replay (migration 0043, replay-segment.ts). */
export interface ReplaySegmentsTable {
  agreement_id: string;
  first_seq: number;
  below_seq: number;
  requests: number;
  subjects: number;
  unappended: number;
  first_at: string;
  last_at: string;
  body: Buffer;
}

/** A member's friends by number (migration 0040): sorted ascending, 4 bytes each, big-endian. */
export interface FriendNumberListsTable {
  member_number: number;
  friends: Buffer;
}

/** Every member's dense number, given on insert (migration 0028): what member sets are bitmaps over. */
export interface MemberNumbersTable {
  number: Generated<number>;
  member_id: string;
}

/** Per UTC month and partner, the members whose tokens its apps used (migration 0028). */
export interface AuditTokenMonthsTable {
  /** The journal's order (migration 0034); a member may have a row per batch. */
  id: Generated<number>;
  month: string;
  partner_id: string;
  member_id: string;
}

/** A set of members (a portable Roaring bitmap of their numbers) per kind, period and key (src/store/member-sets.ts). */
export interface MemberSetsTable {
  kind: string;
  period: string;
  set_key: string;
  members: Uint8Array;
}

/** What folds added to a member set since it was last merged (migration 0036): the set is its bitmap ORed with these. */
export interface MemberSetDeltasTable {
  id: Generated<number>;
  kind: string;
  period: string;
  set_key: string;
  members: Uint8Array;
}

/** An app (`kind` `app`) or partner (`kind` `partner`) a member keeps from seeing them through friends (migration 0025). */
export interface MemberFriendExclusionsTable {
  member_id: string;
  kind: string;
  target_id: string;
  created_at: string;
}

/** A member's request that a partner delete their data (migration 0025); `confirmed_at` once the partner confirms. */
export interface DeletionRequestsTable {
  id: string;
  member_id: string;
  partner_id: string;
  requested_at: string;
  confirmed_at: string | null;
}
