import type { Agreement } from '../domain/agreement.js';
import type { App } from '../domain/app.js';
import type { Partner } from '../domain/partner.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { agreementFromRow } from './agreement-repository.js';
import { utcDay } from './audit-aggregates.js';
import { fromIso, toIso } from './columns.js';
import type { Db } from './database.js';
import { emptySet, readSets, ReadNumbers, union, type MemberSet } from './member-sets.js';
import { appFromRow, storageFromColumns } from './partner-repository.js';
import type { AgreementsTable } from './schema.js';

/**
 * What the inventory report (PRODUCT.md §6) reads of the live system: every partner with each of
 * its agreements (or none), the apps, and per agreement its last access, what it was released in
 * a window and the deletion attestation. The report itself is built from these in src/reports.
 */

/** One partner with one of its agreements, or with none: a line of the inventory before it is worked out. */
export interface InventorySource {
  readonly partner: Partner;
  /** The agreement's apps; for a partner without an agreement, the partner's own apps. */
  readonly apps: readonly App[];
  readonly agreement: Agreement | null;
  /** The latest of the agreement's audited releases and its grants' last use, up to `now`. */
  readonly lastAccessAt: Instant | null;
  /** Audited releases under the agreement within the window. */
  readonly released: ReleasedVolume;
  /** The latest deletion attestation recorded for the agreement (by the lifecycle or a partner's filing) up to `now`. */
  readonly deletionAttestedAt: Instant | null;
}

export interface ReleasedVolume {
  /** Fields released, one per field per subject, the always-released `id` not counted. */
  readonly fields: number;
  /** Distinct members any of whose data was released. */
  readonly members: number;
}

export interface InventoryWindow {
  /** Nothing after it is read (a report as of a past instant leaves later events out). */
  readonly now: Instant;
  /** Start (inclusive) of the window of released volume. */
  readonly releasedSince: Instant;
}

const NO_RELEASES: ReleasedVolume = { fields: 0, members: 0 };

/**
 * Partners left-joined with their agreements: a partner without any agreement is one row with no
 * agreement. Ordered by legal name, then agreement start and id.
 */
async function partnersWithAgreements(db: Db) {
  return db
    .selectFrom('partners as p')
    .leftJoin('agreements as a', 'a.partner_id', 'p.id')
    .selectAll('a')
    .select([
      'p.id as p_id', 'p.legal_name as p_legal_name', 'p.country as p_country', 'p.kind as p_kind', 'p.risk_flags as p_risk_flags',
      'p.storage_location as p_storage_location', 'p.storage_country as p_storage_country', 'p.contacts as p_contacts',
      'p.webhook_url as p_webhook_url', 'p.privacy_policy_url as p_privacy_policy_url',
    ])
    .orderBy('p.legal_name')
    .orderBy('p.id')
    .orderBy('a.starts_at')
    .orderBy('a.id')
    .execute();
}

/** Every app with the agreements naming it (an app under none appears once, with a null agreement). */
async function appsWithAgreements(db: Db) {
  return db
    .selectFrom('apps')
    .leftJoin('agreement_apps', 'agreement_apps.app_id', 'apps.id')
    .select(['apps.id', 'apps.partner_id', 'apps.name', 'apps.class', 'apps.status', 'agreement_apps.agreement_id'])
    .orderBy('apps.id')
    .execute();
}

/** Per agreement, the latest audited release and the latest grant use, both up to `now`. */
async function lastAccess(db: Db, now: Instant): Promise<Map<string, Instant>> {
  const [released, used] = await Promise.all([
    lastRelease(db, now),
    db
      .selectFrom('grants')
      .select(['agreement_id', (eb) => eb.fn.max('last_used_at').as('last')])
      .where('agreement_id', 'is not', null)
      .where('last_used_at', '<=', toIso(now))
      .groupBy('agreement_id')
      .execute(),
  ]);
  const latest = new Map<string, Instant>(released);
  for (const row of used) {
    if (row.agreement_id === null || row.last === null) continue;
    const at = fromIso(String(row.last));
    if (at > (latest.get(row.agreement_id) ?? -Infinity)) latest.set(row.agreement_id, at);
  }
  return latest;
}

/**
 * Per agreement, the latest audited release up to `now`, from the counts kept on append
 * (audit-aggregates.ts): of the days before `now`'s, the latest of each day's counts (every one
 * of them before `now`); of `now`'s own day, the latest release instant at or before `now`.
 */
async function lastRelease(db: Db, now: Instant): Promise<Map<string, Instant>> {
  const [before, today] = await Promise.all([
    db
      .selectFrom('audit_daily_counts')
      .select(['agreement_id', (eb) => eb.fn.max('last_at').as('last')])
      .where('outcome', '=', 'released')
      .where('agreement_id', '<>', '')
      .where('day', '<', utcDay(now))
      .groupBy('agreement_id')
      .execute(),
    db
      .selectFrom('audit_release_instants')
      .select(['agreement_id', (eb) => eb.fn.max('at').as('last')])
      .where('at', '>=', startOfDay(now))
      .where('at', '<=', now)
      .groupBy('agreement_id')
      .execute(),
  ]);
  const latest = new Map<string, Instant>();
  for (const row of [...before, ...today]) {
    const at = Number(row.last);
    if (at > (latest.get(row.agreement_id) ?? -Infinity)) latest.set(row.agreement_id, at);
  }
  return latest;
}

const startOfDay = (at: Instant): Instant => Math.floor(at / DAY_MS) * DAY_MS;

/**
 * Per agreement, the fields and distinct members released in [since, now], from the counts kept
 * on append (audit-aggregates.ts). `since` is the start of a UTC day (inventory.ts). Members: the
 * release-day sets of the days from `since`'s to `now`'s (member-sets.ts), with the rows an older
 * database may still hold in its journal (member-set-folding.ts; on `now`'s day those whose first
 * release is at or before `now`). A day's set holds the whole day: where the agreement released
 * anything later on `now`'s day (a report as of a past instant), that day's members are counted
 * from the log's entries up to `now` instead, as the daily counts count a window that ends within
 * a day. Fields: the whole days before `now`'s from the daily counts, `now`'s day from the release instants.
 */
export async function releasedVolume(db: Db, since: Instant, now: Instant): Promise<Map<string, ReleasedVolume>> {
  const [first, last] = [utcDay(since), utcDay(now)];
  const [folded, rows, wholeDays, lastDay, releasedLater] = await Promise.all([
    readSets(db, 'release_day', first, last),
    // Numbered in the query: one read, not one per 500 members (ReadNumbers) on the staff's read thread.
    db
      .selectFrom('audit_release_days')
      .leftJoin('member_numbers', 'member_numbers.member_id', 'audit_release_days.member_id')
      .select(['agreement_id', 'audit_release_days.member_id', 'member_numbers.number'])
      .where('day', '>=', first)
      .where('day', '<=', last)
      .where((eb) => eb.or([eb('day', '<', last), eb('first_at', '<=', now)]))
      .execute(),
    db
      .selectFrom('audit_daily_counts')
      .select(['agreement_id', (eb) => eb.fn.sum<number | string>('fields').as('fields')])
      .where('outcome', '=', 'released')
      .where('agreement_id', '<>', '')
      .where('day', '>=', first)
      .where('day', '<', last)
      .groupBy('agreement_id')
      .execute(),
    db
      .selectFrom('audit_release_instants')
      .select(['agreement_id', (eb) => eb.fn.sum<number | string>('fields').as('fields')])
      .where('at', '>=', startOfDay(now))
      .where('at', '<=', now)
      .groupBy('agreement_id')
      .execute(),
    db
      .selectFrom('audit_release_instants')
      .select('agreement_id')
      .distinct()
      .where('at', '>', now)
      .where('at', '<', startOfDay(now) + DAY_MS)
      .execute(),
  ]);
  const cutShort = new Set(releasedLater.map((row) => row.agreement_id));
  const members = new Map<string, MemberSet[]>();
  const setsOf = (agreementId: string) => members.get(agreementId) ?? members.set(agreementId, []).get(agreementId)!;
  for (const set of folded) if (set.period !== last || !cutShort.has(set.key)) setsOf(set.key).push(set.members);
  const lastDayRows = cutShort.size === 0 ? [] : await releasedUpTo(db, [...cutShort], startOfDay(now), now);
  const numbers = await new ReadNumbers(db).of([...rows.flatMap((row) => (row.number === null ? [row.member_id] : [])), ...lastDayRows.map((row) => row.member_id)]);
  const unfolded = new Map<string, MemberSet>();
  for (const row of [...rows, ...lastDayRows]) {
    const number = row.number === null ? numbers.get(row.member_id)! : Number(row.number);
    (unfolded.get(row.agreement_id) ?? unfolded.set(row.agreement_id, emptySet()).get(row.agreement_id)!).add(number);
  }
  for (const [agreementId, set] of unfolded) setsOf(agreementId).push(set);

  const volume = new Map<string, { fields: number; members: number }>();
  const of = (agreementId: string) => volume.get(agreementId) ?? volume.set(agreementId, { fields: 0, members: 0 }).get(agreementId)!;
  for (const [agreementId, sets] of members) of(agreementId).members = union(sets).size;
  for (const row of [...wholeDays, ...lastDay]) of(row.agreement_id).fields += Number(row.fields);
  return volume;
}

/** The members released under the agreements in [from, to], read from the log's entries. */
async function releasedUpTo(db: Db, agreementIds: readonly string[], from: Instant, to: Instant) {
  const rows = await db
    .selectFrom('audit_log')
    .select(['agreement_id', 'subject_member_id'])
    .distinct()
    .where('agreement_id', 'in', agreementIds)
    .where('outcome', '=', 'released')
    .where('subject_member_id', 'is not', null)
    // `at` is fixed-width ISO text (toIso), so comparing the text compares the instants.
    .where('at', '>=', toIso(from))
    .where('at', '<=', toIso(to))
    .execute();
  return rows.map((row) => ({ agreement_id: row.agreement_id!, member_id: row.subject_member_id!, number: null }));
}

/** Per agreement, the latest deletion attestation filed up to `now`. */
async function deletionAttestations(db: Db, now: Instant): Promise<Map<string, Instant>> {
  const rows = await db
    .selectFrom('deletion_attestations')
    .select(['agreement_id', (eb) => eb.fn.max('filed_at').as('last')])
    .where('filed_at', '<=', toIso(now))
    .groupBy('agreement_id')
    .execute();
  return new Map(rows.flatMap((row) => (row.last === null ? [] : [[row.agreement_id, fromIso(String(row.last))]])));
}

/** Everything the inventory report needs, read in a handful of queries whatever the number of partners. */
export async function inventorySources(db: Db, window: InventoryWindow): Promise<InventorySource[]> {
  const [rows, appRows, access, volume, attestations] = await Promise.all([
    partnersWithAgreements(db),
    appsWithAgreements(db),
    lastAccess(db, window.now),
    releasedVolume(db, window.releasedSince, window.now),
    deletionAttestations(db, window.now),
  ]);

  const appsByAgreement = new Map<string, App[]>();
  const appsByPartner = new Map<string, App[]>();
  for (const row of appRows) {
    const app = appFromRow(row);
    const ofPartner = appsByPartner.get(app.partnerId) ?? [];
    if (!ofPartner.some((known) => known.id === app.id)) ofPartner.push(app);
    appsByPartner.set(app.partnerId, ofPartner);
    if (row.agreement_id !== null) appsByAgreement.set(row.agreement_id, [...(appsByAgreement.get(row.agreement_id) ?? []), app]);
  }

  return rows.map((row) => {
    const partner: Partner = {
      id: row.p_id,
      legalName: row.p_legal_name,
      country: row.p_country,
      kind: row.p_kind as Partner['kind'],
      riskFlags: JSON.parse(row.p_risk_flags) as Partner['riskFlags'],
      storage: storageFromColumns(row.p_storage_location, row.p_storage_country),
      contacts: JSON.parse(row.p_contacts) as string[],
      webhookUrl: row.p_webhook_url,
      privacyPolicyUrl: row.p_privacy_policy_url,
    };
    if (row.id === null) {
      return { partner, apps: appsByPartner.get(partner.id) ?? [], agreement: null, lastAccessAt: null, released: NO_RELEASES, deletionAttestedAt: null };
    }
    const apps = appsByAgreement.get(row.id) ?? [];
    // The left join makes every agreement column nullable; with an id, the row is a whole agreement.
    const agreementRow = row as unknown as AgreementsTable;
    const agreement = agreementFromRow(agreementRow, apps.map((app) => app.id));
    // Recorded on the agreement by the lifecycle, or filed by the partner: the later one up to `now`.
    const recorded = agreementRow.deletion_attested_at == null ? null : fromIso(agreementRow.deletion_attested_at);
    const filed = attestations.get(agreement.id) ?? null;
    const attested = [recorded, filed].filter((at): at is Instant => at !== null && at <= window.now);
    return {
      partner,
      apps,
      agreement,
      lastAccessAt: access.get(agreement.id) ?? null,
      released: volume.get(agreement.id) ?? NO_RELEASES,
      deletionAttestedAt: attested.length === 0 ? null : Math.max(...attested),
    };
  });
}
