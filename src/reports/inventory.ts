import { CERTIFICATION_GRACE_DAYS, notInEffectCause, type Agreement } from '../domain/agreement.js';
import { ATTESTATION_GRACE_DAYS } from '../domain/agreement-lifecycle.js';
import { fieldsOf } from '../domain/field-catalog.js';
import { addDays, DAY_MS, type Instant } from '../domain/time.js';
import { windDownPhase, type WindDownPhase, type WindDownPlan } from '../domain/wind-down.js';
import type { InventorySource } from '../store/inventory-queries.js';
import { inventorySources } from '../store/inventory-queries.js';
import type { Store } from '../store/store.js';

/**
 * The inventory report (PRODUCT.md §6), the lawmakers' first question: which partners, which data,
 * since when, with which safeguards, stored where, audited how. One row per agreement, and one per
 * partner that has none. `buildInventory` is pure: every instant is worked out from `now`.
 */

/** The window of "released in the last N days". */
export const RELEASE_WINDOW_DAYS = 30;

/** The released volume's window: `now`'s UTC day and the 29 whole days before it, up to `now`. */
export function releaseWindowStart(now: Instant): Instant {
  return (Math.floor(now / DAY_MS) - (RELEASE_WINDOW_DAYS - 1)) * DAY_MS;
}
/** A certification due within this many days is reported as `due in N days` rather than `current`. */
export const CERTIFICATION_NOTICE_DAYS = 30;

export type CertificationState = 'current' | 'due' | 'overdue' | 'lapsed';

/** One line of the inventory, as JSON, CSV and the table show it. Instants are ISO 8601 (UTC). */
export interface InventoryRow {
  readonly partner_id: string;
  readonly partner_legal_name: string;
  /** ISO 3166-1 alpha-2. */
  readonly partner_country: string;
  readonly partner_kind: string;
  readonly risk_flags: readonly string[];
  /** Null: the partner has no agreement (every request of its apps is refused, `no_agreement`). */
  readonly agreement_id: string | null;
  readonly version: number | null;
  readonly status: string | null;
  readonly status_reason: string | null;
  /** Whether the rules let data flow at `now` (PRODUCT.md §4 rule 3), whatever the recorded status. */
  readonly in_effect: boolean;
  /** Why not, when not: `no_agreement`, `expired`, `suspended`, `access_ended`, `certification_overdue`, ... */
  readonly not_in_effect_cause: string | null;
  readonly starts_at: string | null;
  /** Whole days since the start; null before the start. */
  readonly age_days: number | null;
  readonly ends_at: string | null;
  /** Days until the end, rounded up (1 on its last day); 0 or less once it has ended (minus the whole days since). */
  readonly days_to_end: number | null;
  readonly purposes: readonly string[];
  readonly member_fields: readonly string[];
  readonly friend_fields: readonly string[];
  readonly retention_days: number | null;
  /** The agreement's storage; the partner's declared storage when it has no agreement. */
  readonly storage_location: string;
  readonly storage_country: string | null;
  readonly certification_due_at: string | null;
  /** `current`, `due in N days`, `overdue by N days`, or `lapsed` (60 days past due: the agreement is suspended by itself). */
  readonly certification_state: string | null;
  readonly last_access_at: string | null;
  readonly fields_released_30d: number;
  readonly members_reached_30d: number;
  /** The phase in force, `none` before the first; null without a wind-down plan. */
  readonly wind_down_phase: WindDownPhase | null;
  readonly wind_down_no_new_grants_at: string | null;
  readonly wind_down_no_friend_data_at: string | null;
  readonly wind_down_access_ended_at: string | null;
  readonly deletion_attested_at: string | null;
  /** The wind-down in a few words: `no_friend_data (access ends 2026-12-20)`. Null without a plan. */
  readonly wind_down: string | null;
  readonly apps: readonly string[];
}

export interface Inventory {
  readonly generated_at: string;
  readonly data: readonly InventoryRow[];
}

const iso = (instant: Instant): string => new Date(instant).toISOString();
const isoOrNull = (instant: Instant | null): string | null => (instant === null ? null : iso(instant));
/** The calendar day (UTC) of an instant, as the labels show it. */
export const day = (instant: Instant): string => iso(instant).slice(0, 10);

/** Whole days from `from` to `to`, rounded down. */
function wholeDays(from: Instant, to: Instant): number {
  return Math.floor((to - from) / DAY_MS);
}

/** Whole days from `from` to `to`, rounded up. */
function daysUpTo(from: Instant, to: Instant): number {
  return Math.ceil((to - from) / DAY_MS);
}

/** Days left, rounded up, before the end; from the end, minus the whole days since (0 on the day it ended). */
function daysToEnd(endsAt: Instant, now: Instant): number {
  if (now < endsAt) return daysUpTo(now, endsAt);
  const since = wholeDays(endsAt, now);
  return since === 0 ? 0 : -since;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * The certification's state at `now`: `current` while more than 30 days away; `due in N days`
 * (rounded up) up to the due instant; `overdue by N days` (whole days) from it; `lapsed` from 60
 * days past due, the instant the rules stop the agreement (`certification_overdue`).
 */
export function certificationState(dueAt: Instant, now: Instant): { state: CertificationState; label: string } {
  if (now >= addDays(dueAt, CERTIFICATION_GRACE_DAYS)) return { state: 'lapsed', label: 'lapsed' };
  if (now >= dueAt) return { state: 'overdue', label: `overdue by ${plural(wholeDays(dueAt, now), 'day')}` };
  const left = daysUpTo(now, dueAt);
  if (left > CERTIFICATION_NOTICE_DAYS) return { state: 'current', label: 'current' };
  return { state: 'due', label: `due in ${plural(left, 'day')}` };
}

/** The wind-down in a few words: the phase in force and what comes next. */
export function windDownLabel(plan: WindDownPlan, now: Instant, deletionAttestedAt: Instant | null): string {
  const phase = windDownPhase(plan, now);
  switch (phase) {
    case 'none':
      return `scheduled (no new grants from ${day(plan.noNewGrants)}, no friend data from ${day(plan.noFriendData)}, access ends ${day(plan.accessEnded)})`;
    case 'no_new_grants':
      return `no_new_grants (no friend data from ${day(plan.noFriendData)}, access ends ${day(plan.accessEnded)})`;
    case 'no_friend_data':
      return `no_friend_data (access ends ${day(plan.accessEnded)})`;
    case 'access_ended': {
      const ended = `access_ended (${day(plan.accessEnded)})`;
      if (deletionAttestedAt !== null) return `${ended}, deletion attested ${day(deletionAttestedAt)}`;
      const attestationDue = addDays(plan.accessEnded, ATTESTATION_GRACE_DAYS);
      return now >= attestationDue
        ? `${ended}, deletion unconfirmed (no attestation since ${day(attestationDue)})`
        : `${ended}, deletion attestation due by ${day(attestationDue)}`;
    }
  }
}

function agreementColumns(agreement: Agreement, source: InventorySource, now: Instant) {
  const cause = notInEffectCause(agreement, now);
  const certification = certificationState(agreement.certificationDueAt, now);
  const plan = agreement.windDown;
  return {
    agreement_id: agreement.id,
    version: agreement.version,
    status: agreement.status,
    status_reason: agreement.statusReason,
    in_effect: cause === null,
    not_in_effect_cause: cause,
    starts_at: iso(agreement.startsAt),
    age_days: now >= agreement.startsAt ? wholeDays(agreement.startsAt, now) : null,
    ends_at: iso(agreement.endsAt),
    days_to_end: daysToEnd(agreement.endsAt, now),
    purposes: [...agreement.purposes],
    member_fields: fieldsOf(agreement.memberFields),
    friend_fields: fieldsOf(agreement.friendFields),
    retention_days: agreement.retentionDays,
    storage_location: agreement.storage.location,
    storage_country: agreement.storage.location === 'partner_servers' ? agreement.storage.country : null,
    certification_due_at: iso(agreement.certificationDueAt),
    certification_state: certification.label,
    last_access_at: isoOrNull(source.lastAccessAt),
    fields_released_30d: source.released.fields,
    members_reached_30d: source.released.members,
    wind_down_phase: plan === null ? null : windDownPhase(plan, now),
    wind_down_no_new_grants_at: plan === null ? null : iso(plan.noNewGrants),
    wind_down_no_friend_data_at: plan === null ? null : iso(plan.noFriendData),
    wind_down_access_ended_at: plan === null ? null : iso(plan.accessEnded),
    deletion_attested_at: isoOrNull(source.deletionAttestedAt),
    wind_down: plan === null ? null : windDownLabel(plan, now, source.deletionAttestedAt),
  };
}

const NO_AGREEMENT = {
  agreement_id: null,
  version: null,
  status: null,
  status_reason: null,
  in_effect: false,
  not_in_effect_cause: 'no_agreement',
  starts_at: null,
  age_days: null,
  ends_at: null,
  days_to_end: null,
  purposes: [],
  member_fields: [],
  friend_fields: [],
  retention_days: null,
  certification_due_at: null,
  certification_state: null,
  last_access_at: null,
  fields_released_30d: 0,
  members_reached_30d: 0,
  wind_down_phase: null,
  wind_down_no_new_grants_at: null,
  wind_down_no_friend_data_at: null,
  wind_down_access_ended_at: null,
  deletion_attested_at: null,
  wind_down: null,
} as const;

/** The inventory at `now`, one row per source, in the sources' order. Pure. */
export function buildInventory(sources: readonly InventorySource[], now: Instant): InventoryRow[] {
  return sources.map((source) => {
    const { partner, agreement } = source;
    const partnerColumns = {
      partner_id: partner.id,
      partner_legal_name: partner.legalName,
      partner_country: partner.country,
      partner_kind: partner.kind,
      risk_flags: [...partner.riskFlags],
    };
    const apps = source.apps.map((app) => app.id);
    if (agreement === null) {
      return {
        ...partnerColumns,
        ...NO_AGREEMENT,
        purposes: [],
        member_fields: [],
        friend_fields: [],
        storage_location: partner.storage.location,
        storage_country: partner.storage.location === 'partner_servers' ? partner.storage.country : null,
        apps,
      };
    }
    return { ...partnerColumns, ...agreementColumns(agreement, source, now), apps };
  });
}

/** Reads the live system and builds the inventory as of `now`. */
export async function inventoryReport(store: Store, now: Instant): Promise<Inventory> {
  const sources = await inventorySources(store.readDb, { now, releasedSince: releaseWindowStart(now) });
  return { generated_at: iso(now), data: buildInventory(sources, now) };
}
