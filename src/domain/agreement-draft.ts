import type { AgreementStatus } from './agreement.js';
import type { AppClass } from './app.js';
import { isCountryCode } from './countries.js';
import { BadRequest } from './errors.js';
import { FRIENDS_MASK, ID_MASK, fieldsOf, isField, maskOf, type Field, type FieldMask } from './field-catalog.js';
import { isTransferSafeguard, TRANSFER_SAFEGUARDS, type DataStorage } from './partner.js';
import { isPurpose, type Purpose } from './purposes.js';
import type { Instant } from './time.js';
import type { WindDownPlan } from './wind-down.js';

/**
 * The terms of a draft agreement checked against the catalogs and the rules of PRODUCT.md §3 and
 * §5, and the readable difference between two versions. Pure: the caller resolves the apps and
 * passes their classes.
 */

/** The longest term an agreement may have: its end is at most this many months after its start. */
export const MAX_TERM_MONTHS = 24;
/** Certification is due this many months after the start (and yearly after each certification). */
export const CERTIFICATION_MONTHS = 12;
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;

/** A draft as a staff member writes it: names from the catalogs, not yet checked. */
export interface DraftInput {
  readonly appIds: readonly string[];
  readonly purposes: readonly string[];
  readonly memberFields: readonly string[];
  readonly friendFields: readonly string[];
  readonly retentionDays: number;
  readonly storage: { readonly location: string; readonly country?: string | undefined; readonly safeguard?: string | undefined };
  readonly startsAt: Instant;
  readonly endsAt: Instant;
}

/** Checked terms, ready to store. */
export interface DraftTerms {
  readonly appIds: readonly string[];
  readonly purposes: readonly Purpose[];
  readonly memberFields: FieldMask;
  readonly friendFields: FieldMask;
  readonly retentionDays: number;
  readonly storage: DataStorage;
  readonly startsAt: Instant;
  readonly endsAt: Instant;
}

/** What the checks need to know about the world: the class of each of the draft's apps. */
export interface DraftFacts {
  readonly appClasses: Readonly<Record<string, AppClass>>;
}

/** `start` moved on by whole calendar months (UTC); the day is clamped to the month's last. */
export function addMonths(start: Instant, months: number): Instant {
  const date = new Date(start);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
  return date.getTime();
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function fieldMask(names: readonly string[], kind: string): FieldMask {
  const unknown = names.filter((name) => !isField(name));
  if (unknown.length > 0) {
    throw new BadRequest('unknown_field', `${kind} ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the field catalog.`);
  }
  return maskOf(names as Field[]);
}

/**
 * Checks a draft's terms and returns them normalized (duplicates dropped, `id` added to the
 * member fields: a visible subject's id is always released). Each failure is a 400 with its own
 * code: `no_apps`, `unknown_app_class`, `no_purposes`, `unknown_purpose`, `unknown_field`,
 * `friends_of_friends_forbidden`, `friend_fields_not_allowed`, `friends_field_required`,
 * `invalid_retention_days`, `invalid_storage`, `ends_before_start`, `term_too_long`.
 */
export function validateDraft(input: DraftInput, facts: DraftFacts): DraftTerms {
  const appIds = unique(input.appIds);
  if (appIds.length === 0) throw new BadRequest('no_apps', 'An agreement covers at least one app (app_ids).');
  for (const appId of appIds) {
    if (facts.appClasses[appId] === undefined) throw new BadRequest('unknown_app_class', `The class of app ${appId} is unknown.`);
  }

  const purposes = unique(input.purposes);
  if (purposes.length === 0) throw new BadRequest('no_purposes', 'An agreement names at least one purpose.');
  const unknownPurposes = purposes.filter((p) => !isPurpose(p));
  if (unknownPurposes.length > 0) {
    throw new BadRequest('unknown_purpose', `${unknownPurposes.map((p) => `'${p}'`).join(', ')} not in the purpose catalog `
      + '(device_experience, login, messaging, contacts_sync, calendar_sync).');
  }

  const memberFields = fieldMask(input.memberFields, 'Member field(s)') | ID_MASK;
  const friendFields = fieldMask(input.friendFields, 'Friend field(s)');
  if ((friendFields & FRIENDS_MASK) !== 0) {
    throw new BadRequest('friends_of_friends_forbidden', "'friends' cannot be a friend field: friends of friends never leave the platform.");
  }
  if (friendFields !== 0) {
    const notDevicePartner = appIds.filter((id) => facts.appClasses[id] !== 'device_partner');
    if (notDevicePartner.length > 0) {
      throw new BadRequest('friend_fields_not_allowed', `Friend fields are only for agreements whose every app is a device_partner; `
        + `${notDevicePartner.join(', ')} ${notDevicePartner.length === 1 ? 'is' : 'are'} third_party.`);
    }
    if ((memberFields & FRIENDS_MASK) === 0) {
      throw new BadRequest('friends_field_required', "Friend fields need 'friends' in the member fields (the permission to read the friend list).");
    }
  }

  const retentionDays = input.retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < MIN_RETENTION_DAYS || retentionDays > MAX_RETENTION_DAYS) {
    throw new BadRequest('invalid_retention_days', `retention_days is a whole number from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}.`);
  }

  const storage = checkStorage(input.storage);

  if (!Number.isFinite(input.startsAt) || !Number.isFinite(input.endsAt)) {
    throw new BadRequest('invalid_dates', 'starts_at and ends_at are ISO 8601 date-times.');
  }
  if (input.endsAt <= input.startsAt) throw new BadRequest('ends_before_start', 'ends_at must be after starts_at.');
  const latestEnd = addMonths(input.startsAt, MAX_TERM_MONTHS);
  if (input.endsAt > latestEnd) {
    throw new BadRequest('term_too_long', `ends_at is at most ${MAX_TERM_MONTHS} months after starts_at (${new Date(latestEnd).toISOString()} at the latest).`);
  }

  return {
    appIds, purposes: purposes as Purpose[], memberFields, friendFields, retentionDays, storage,
    startsAt: input.startsAt, endsAt: input.endsAt,
  };
}

function checkStorage(storage: DraftInput['storage']): DataStorage {
  if (storage.location === 'on_device') {
    if (storage.country !== undefined || storage.safeguard !== undefined) {
      throw new BadRequest('invalid_storage', "storage.country and storage.safeguard are only for location 'partner_servers'.");
    }
    return { location: 'on_device' };
  }
  if (storage.location === 'partner_servers') {
    if (storage.country === undefined || !isCountryCode(storage.country)) {
      throw new BadRequest('invalid_storage', "storage 'partner_servers' needs the servers' country (ISO 3166-1 alpha-2, e.g. 'DE').");
    }
    if (storage.safeguard === undefined) return { location: 'partner_servers', country: storage.country };
    if (!isTransferSafeguard(storage.safeguard)) {
      throw new BadRequest('invalid_storage', `storage.safeguard is one of ${TRANSFER_SAFEGUARDS.join(', ')}.`);
    }
    return { location: 'partner_servers', country: storage.country, safeguard: storage.safeguard };
  }
  throw new BadRequest('invalid_storage', "storage.location is 'on_device' or 'partner_servers'.");
}

/** What `describeChanges` compares: the terms and the lifecycle facts of one version. */
export interface DescribedVersion {
  readonly status?: AgreementStatus;
  readonly statusReason?: string | null;
  readonly appIds?: readonly string[];
  readonly purposes?: readonly string[];
  readonly memberFields?: FieldMask;
  readonly friendFields?: FieldMask;
  readonly retentionDays?: number;
  readonly storage?: DataStorage;
  readonly startsAt?: Instant;
  readonly endsAt?: Instant;
  readonly certificationDueAt?: Instant;
  readonly windDown?: WindDownPlan | null;
  readonly approvals?: readonly string[];
  readonly deletionAttestedAt?: Instant | null;
  readonly deletionUnconfirmed?: boolean;
}

/** A date as people read it: the day alone at midnight UTC, else the full instant. */
export function readableInstant(instant: Instant | null | undefined): string {
  if (instant === null || instant === undefined) return 'none';
  const iso = new Date(instant).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
}

function setChange(label: string, before: readonly string[], after: readonly string[]): string | null {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  if (added.length === 0 && removed.length === 0) return null;
  return `${label}: ${[...added.map((x) => `+${x}`), ...removed.map((x) => `−${x}`)].join(' ')}`;
}

function valueChange(label: string, before: string, after: string): string | null {
  return before === after ? null : `${label}: ${before} → ${after}`;
}

function storageText(storage: DataStorage | undefined): string {
  if (storage === undefined) return 'none';
  if (storage.location === 'on_device') return 'on_device';
  return `partner_servers (${storage.country}${storage.safeguard === undefined ? '' : `, ${storage.safeguard}`})`;
}

function planText(plan: WindDownPlan | null | undefined): string {
  if (!plan) return 'none';
  return `no_new_grants ${readableInstant(plan.noNewGrants)}, no_friend_data ${readableInstant(plan.noFriendData)}, `
    + `access_ended ${readableInstant(plan.accessEnded)}`;
}

/**
 * The readable difference between two versions, e.g.
 * `end: 2027-01-01 → 2027-06-01; member fields: +email −phone`; an empty string when nothing
 * that is compared changed.
 */
export function describeChanges(before: DescribedVersion, after: DescribedVersion): string {
  const parts: Array<string | null> = [];
  const has = (key: keyof DescribedVersion) => key in before || key in after;
  if (has('status')) parts.push(valueChange('status', before.status ?? 'none', after.status ?? 'none'));
  if (has('statusReason') && (before.statusReason ?? null) !== (after.statusReason ?? null) && after.statusReason) {
    parts.push(`reason: ${after.statusReason}`);
  }
  if (has('startsAt')) parts.push(valueChange('start', readableInstant(before.startsAt), readableInstant(after.startsAt)));
  if (has('endsAt')) parts.push(valueChange('end', readableInstant(before.endsAt), readableInstant(after.endsAt)));
  if (has('appIds')) parts.push(setChange('apps', before.appIds ?? [], after.appIds ?? []));
  if (has('purposes')) parts.push(setChange('purposes', before.purposes ?? [], after.purposes ?? []));
  if (has('memberFields')) parts.push(setChange('member fields', fieldsOf(before.memberFields ?? 0), fieldsOf(after.memberFields ?? 0)));
  if (has('friendFields')) parts.push(setChange('friend fields', fieldsOf(before.friendFields ?? 0), fieldsOf(after.friendFields ?? 0)));
  if (has('retentionDays')) parts.push(valueChange('retention days', String(before.retentionDays ?? 'none'), String(after.retentionDays ?? 'none')));
  if (has('storage')) parts.push(valueChange('storage', storageText(before.storage), storageText(after.storage)));
  if (has('certificationDueAt')) {
    parts.push(valueChange('certification due', readableInstant(before.certificationDueAt), readableInstant(after.certificationDueAt)));
  }
  if (has('windDown')) parts.push(valueChange('wind-down', planText(before.windDown), planText(after.windDown)));
  if (has('approvals')) {
    const added = (after.approvals ?? []).filter((id) => !(before.approvals ?? []).includes(id));
    if (added.length > 0) parts.push(`approved by: ${added.join(', ')}`);
    else if ((before.approvals ?? []).length > 0 && (after.approvals ?? []).length === 0 && before.status === after.status) {
      parts.push('approvals: cleared');
    }
  }
  if (has('deletionAttestedAt')) parts.push(valueChange('deletion attested', readableInstant(before.deletionAttestedAt), readableInstant(after.deletionAttestedAt)));
  if (has('deletionUnconfirmed') && !before.deletionUnconfirmed && after.deletionUnconfirmed) parts.push('flagged: deletion_unconfirmed');
  return parts.filter((p): p is string => p !== null).join('; ');
}
