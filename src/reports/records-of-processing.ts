import { notInEffectCause, type Agreement } from '../domain/agreement.js';
import { ATTESTATION_GRACE_DAYS, needsTwoApprovals } from '../domain/agreement-lifecycle.js';
import type { Controller } from '../domain/controller.js';
import { FIELD_CLASS, fieldsOf, SENSITIVE_MASK, SENSITIVITY_CLASSES, type Field, type FieldMask, type SensitivityClass } from '../domain/field-catalog.js';
import { GRANT_IDLE_DAYS } from '../domain/grant.js';
import type { Partner } from '../domain/partner.js';
import type { Purpose } from '../domain/purposes.js';
import { addDays, type Instant } from '../domain/time.js';
import { inventorySources, type InventorySource } from '../store/inventory-queries.js';
import type { Store } from '../store/store.js';

/**
 * Records of processing activities (GDPR Art. 30, PRODUCT.md §6): one record per agreement, from
 * the live agreements, partners and apps, worked out at `now`. A regulator reads who the
 * controller is, why data goes to whom, about whom and of what kind, where it is kept and on what
 * basis it leaves the controller's country, for how long, under which binding rules, and since when.
 * `buildRecords` is pure.
 */

/** What a record points out for staff to act on. */
export const RECORD_FINDINGS = ['transfer_without_safeguard', 'certification_overdue', 'deletion_unconfirmed'] as const;
export type RecordFinding = (typeof RECORD_FINDINGS)[number];

export interface DataCategory {
  /** Whose data: the member who granted access, or that member's friends. */
  readonly about: 'members' | 'friends';
  readonly class: SensitivityClass;
  readonly fields: readonly Field[];
}

export interface ProcessingRecord {
  readonly agreement_id: string;
  readonly version: number;
  readonly status: string;
  readonly in_effect: boolean;
  readonly controller: Controller;
  readonly recipient: {
    readonly partner_id: string;
    readonly legal_name: string;
    readonly country: string;
    readonly kind: string;
    readonly risk_flags: readonly string[];
    readonly apps: readonly string[];
  };
  readonly purposes: readonly { readonly purpose: string; readonly description: string }[];
  readonly member_categories: readonly string[];
  readonly data_categories: readonly DataCategory[];
  readonly storage: { readonly location: string; readonly country: string | null };
  readonly transfer: {
    /** Whether the data is kept outside the controller's country (on the partner's servers there). */
    readonly outside_controller_country: boolean;
    readonly destination_country: string | null;
    /** The safeguard the agreement states; null when it states none. */
    readonly safeguard: string | null;
  };
  readonly retention_days: number;
  readonly security_measures: readonly string[];
  readonly dates: {
    readonly starts_at: string;
    readonly ends_at: string;
    readonly certification_due_at: string;
    readonly access_ended_at: string | null;
    readonly deletion_attested_at: string | null;
    readonly last_transfer_at: string | null;
  };
  readonly findings: readonly RecordFinding[];
}

export interface RecordsOfProcessing {
  readonly generated_at: string;
  readonly controller: Controller;
  readonly data: readonly ProcessingRecord[];
}

/** Each purpose as a record of processing states it (the consent page says the same to the member). */
export const PURPOSE_DESCRIPTIONS: Readonly<Record<Purpose, string>> = {
  device_experience: "showing the member's social network inside the device's own apps",
  login: 'signing the member in to the partner\'s app',
  messaging: "sending and receiving the member's messages",
  contacts_sync: "keeping the member's phone contacts in sync",
  calendar_sync: "keeping the member's calendar in sync",
};

const iso = (instant: Instant): string => new Date(instant).toISOString();
const isoOrNull = (instant: Instant | null): string | null => (instant === null ? null : iso(instant));

/** The records at `now`: one per agreement, in the sources' order (partners without an agreement have none). */
export function buildRecords(sources: readonly InventorySource[], controller: Controller, now: Instant): ProcessingRecord[] {
  return sources.flatMap((source) => (source.agreement === null ? [] : [record(source, source.agreement, controller, now)]));
}

function record(source: InventorySource, agreement: Agreement, controller: Controller, now: Instant): ProcessingRecord {
  const { partner } = source;
  const storage = agreement.storage;
  const destination = storage.location === 'partner_servers' ? storage.country : null;
  const transfer = {
    outside_controller_country: destination !== null && destination !== controller.country,
    destination_country: destination,
    safeguard: storage.location === 'partner_servers' ? storage.safeguard ?? null : null,
  };
  const accessEnded = agreement.windDown?.accessEnded ?? null;
  return {
    agreement_id: agreement.id,
    version: agreement.version,
    status: agreement.status,
    in_effect: notInEffectCause(agreement, now) === null,
    controller,
    recipient: {
      partner_id: partner.id,
      legal_name: partner.legalName,
      country: partner.country,
      kind: partner.kind,
      risk_flags: [...partner.riskFlags],
      apps: source.apps.map((app) => app.id),
    },
    purposes: agreement.purposes.map((purpose) => ({ purpose, description: PURPOSE_DESCRIPTIONS[purpose] })),
    member_categories: memberCategories(agreement),
    // Sensitive fields never leave through friends (PRODUCT.md §4), whatever the agreement lists: they are not processed.
    data_categories: [...categories('members', agreement.memberFields), ...categories('friends', agreement.friendFields & ~SENSITIVE_MASK)],
    storage: { location: storage.location, country: destination },
    transfer,
    retention_days: agreement.retentionDays,
    security_measures: securityMeasures(agreement, partner),
    dates: {
      starts_at: iso(agreement.startsAt),
      ends_at: iso(agreement.endsAt),
      certification_due_at: iso(agreement.certificationDueAt),
      access_ended_at: accessEnded === null || accessEnded > now ? null : iso(accessEnded),
      deletion_attested_at: isoOrNull(source.deletionAttestedAt),
      last_transfer_at: isoOrNull(source.lastAccessAt),
    },
    findings: findings(agreement, source, transfer, now),
  };
}

function memberCategories(agreement: Agreement): string[] {
  const categories = ["members who granted one of the recipient's apps access, for the agreement's purposes"];
  if (agreement.friendFields !== 0) {
    categories.push("friends of those members who let their friends share their data, within each field's audience");
  }
  return categories;
}

/** The fields by sensitivity class, in the catalog's order of classes. */
function categories(about: DataCategory['about'], mask: FieldMask): DataCategory[] {
  const fields = fieldsOf(mask);
  return SENSITIVITY_CLASSES.flatMap((cls) => {
    const inClass = fields.filter((field) => FIELD_CLASS[field] === cls);
    return inClass.length === 0 ? [] : [{ about, class: cls, fields: inClass }];
  });
}

/** The rules that bind the recipient (PRODUCT.md §4, §5, §8), as they apply to this agreement. */
function securityMeasures(agreement: Agreement, partner: Partner): string[] {
  const measures = [
    "Data leaves only through the platform's API, one request at a time, under an OAuth grant the member consented to for these purposes, and only the fields the agreement and the grant both allow.",
    `Grants end when the member revokes them and after ${GRANT_IDLE_DAYS} days unused.`,
    'Friends of friends never leave the platform.',
  ];
  if (agreement.friendFields !== 0) {
    measures.push('Friend data only about friends who allow sharing through friends and whose audience for the field allows it; sensitive fields never through friends.');
  }
  measures.push(
    'Every release and refusal is recorded before the response leaves, in an append-only audit log whose signed tree heads (RFC 9162, C2SP checkpoints) make any change evident.',
    `The recipient certifies compliance every year; the next certification is due ${iso(agreement.certificationDueAt).slice(0, 10)}.`,
    `The recipient keeps data at most ${agreement.retentionDays} days and attests its deletion within ${ATTESTATION_GRACE_DAYS} days of access ending.`,
  );
  if (needsTwoApprovals(agreement.memberFields, agreement.friendFields, partner.riskFlags)) {
    measures.push('Two privacy officers approve every version (friend data, sensitive fields or a risk-flagged recipient).');
  }
  return measures;
}

function findings(agreement: Agreement, source: InventorySource, transfer: ProcessingRecord['transfer'], now: Instant): RecordFinding[] {
  const found: RecordFinding[] = [];
  if (transfer.outside_controller_country && transfer.safeguard === null) found.push('transfer_without_safeguard');
  const cause = notInEffectCause(agreement, now);
  if (cause === 'certification_overdue' || (cause === null && now >= agreement.certificationDueAt)) found.push('certification_overdue');
  const accessEnded = agreement.windDown?.accessEnded;
  if (accessEnded !== undefined && source.deletionAttestedAt === null && now >= addDays(accessEnded, ATTESTATION_GRACE_DAYS)) {
    found.push('deletion_unconfirmed');
  }
  return found;
}

/** Reads the live system and builds the records as of `now`. */
export async function recordsOfProcessing(store: Store, controller: Controller, now: Instant): Promise<RecordsOfProcessing> {
  const sources = await inventorySources(store.readDb, { now, releasedSince: now });
  return { generated_at: iso(now), controller, data: buildRecords(sources, controller, now) };
}
