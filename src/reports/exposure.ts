import { BadRequest } from '../domain/errors.js';
import { FIELDS } from '../domain/field-catalog.js';
import type { Instant } from '../domain/time.js';
import { ExposureQueries, type AgreementExposure, type AgreementLine, type FieldTimes, type MemberCounts, type MonthSpan } from '../store/exposure-queries.js';
import type { Store } from '../store/store.js';

/**
 * The exposure report (PRODUCT.md §6; issue 14 point 1): whose data went where. Per partner,
 * agreement, month and field: how many distinct members' data was released directly (to a token
 * of their own), through friends (to a token of one of their friends), and both together (each
 * member once); how many times each field went out; and per partner and per storage country the
 * agreements declare, the distinct members over the whole period. Exact, from the member sets kept
 * as entries are appended (audit-aggregates.ts), never a scan of the log.
 *
 * Periods are whole UTC months: the sets are kept per month, so a period is any run of months
 * (`from` to `to`, both included), and a member released in several of them counts once over the
 * period. The month of `now` counts what it holds so far.
 */

/** `field` of a row about every field: members any of whose fields were released. */
export const ANY_FIELD = '*';

export interface ExposureRow {
  readonly partner_id: string;
  readonly partner_legal_name: string;
  readonly agreement_id: string;
  /** `on_device` or `partner_servers`, as the agreement declares. */
  readonly storage_location: string;
  /** The servers' country (ISO 3166-1), null for `on_device`. */
  readonly storage_country: string | null;
  /** A month (`2026-11`), or the whole period (`2026-09..2026-11`) when it spans more than one. */
  readonly period: string;
  /** A catalog field, or `*`: members any of whose fields were released. */
  readonly field: string;
  readonly members_direct: number;
  readonly members_through_friends: number;
  /** Members released directly or through friends or both, each once. */
  readonly members_total: number;
  /** Times the field was released; null on a `*` row. */
  readonly times_direct: number | null;
  readonly times_through_friends: number | null;
}

export interface ExposureGroupRow {
  readonly members_direct: number;
  readonly members_through_friends: number;
  readonly members_total: number;
}

export interface ExposureReport {
  readonly generated_at: string;
  /** First and last month of the period, both included. */
  readonly from: string;
  readonly to: string;
  readonly partner_id: string | null;
  readonly data: readonly ExposureRow[];
  /** Per partner over the period: a member released under two of its agreements counts once. */
  readonly by_partner: ReadonlyArray<ExposureGroupRow & { readonly partner_id: string; readonly partner_legal_name: string }>;
  /** Per storage the agreements declare (`on_device` or the servers' country) over the period. */
  readonly by_storage: ReadonlyArray<ExposureGroupRow & { readonly storage: string }>;
}

export interface ExposureRequest {
  readonly now: Instant;
  /** `YYYY-MM`; default: the month of `now`. */
  readonly from?: string;
  /** `YYYY-MM`; default: the month of `now`. */
  readonly to?: string;
  readonly partnerId?: string;
}

/** A request for a period of whole months, leaving out what was not given. */
export function monthlyRequest(now: Instant, from: string | undefined, to: string | undefined, partnerId: string | undefined): ExposureRequest {
  return {
    now,
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(partnerId === undefined ? {} : { partnerId }),
  };
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** `YYYY-MM` (UTC) of an instant. */
export const monthOf = (instant: Instant): string => new Date(instant).toISOString().slice(0, 7);

/** The period asked for, checked: whole months, in order, none after the month of `now`. */
export function exposureSpan(request: ExposureRequest): MonthSpan {
  const current = monthOf(request.now);
  const from = request.from ?? request.to ?? current;
  const to = request.to ?? current;
  for (const [name, month] of [['from', from], ['to', to]] as const) {
    if (!MONTH.test(month)) throw new BadRequest('invalid_parameter', `${name} must be a month, YYYY-MM (${month} is not).`);
  }
  for (const [name, month] of [['from', from], ['to', to]] as const) {
    if (month > current) throw new BadRequest('invalid_parameter', `${name} (${month}) is after the month of the report's time (${current}).`);
  }
  if (from > to) throw new BadRequest('invalid_parameter', `from (${from}) must not be after to (${to}).`);
  return { from, to, ...(request.partnerId === undefined ? {} : { partnerId: request.partnerId }) };
}

const memberColumns = (counts: MemberCounts): ExposureGroupRow => ({
  members_direct: counts.direct,
  members_through_friends: counts.throughFriends,
  members_total: counts.total,
});

/** The rows of one agreement and period: every field first, then each field released in catalog order. */
function rowsOf(
  line: AgreementLine,
  exposure: AgreementExposure,
  period: string,
  times: ReadonlyMap<string, { direct: number; throughFriends: number }>,
): ExposureRow[] {
  const base = {
    partner_id: line.partnerId, partner_legal_name: line.partnerLegalName, agreement_id: line.agreementId,
    storage_location: line.storageLocation, storage_country: line.storageCountry, period,
  };
  const rows: ExposureRow[] = [{ ...base, field: ANY_FIELD, ...memberColumns(exposure.any), times_direct: null, times_through_friends: null }];
  for (const field of FIELDS) {
    const counts = exposure.fields.get(field);
    if (counts === undefined) continue;
    const timesOf = times.get(field);
    rows.push({ ...base, field, ...memberColumns(counts), times_direct: timesOf?.direct ?? 0, times_through_friends: timesOf?.throughFriends ?? 0 });
  }
  return rows;
}

/** Times per field of one agreement, over the months given (one month, or the period). */
function timesIn(all: readonly FieldTimes[], agreementId: string, month: string | null) {
  const times = new Map<string, { direct: number; throughFriends: number }>();
  for (const t of all) {
    if (t.agreementId !== agreementId || (month !== null && t.month !== month)) continue;
    const sum = times.get(t.field) ?? { direct: 0, throughFriends: 0 };
    times.set(t.field, { direct: sum.direct + t.direct, throughFriends: sum.throughFriends + t.throughFriends });
  }
  return times;
}

/** Reads the kept sets and builds the report for the period asked, as of `now`. */
export async function exposureReport(store: Store, request: ExposureRequest): Promise<ExposureReport> {
  const span = exposureSpan(request);
  const queries = new ExposureQueries(store.readDb);
  const lines = await queries.agreements(span.partnerId);
  const agreementIds = new Set(lines.map((line) => line.agreementId));
  const [sets, times] = await Promise.all([queries.sets(span, agreementIds), queries.fieldTimes(span, agreementIds)]);
  const perMonth = queries.perMonth(sets);
  const overSpan = span.from !== span.to ? queries.overSpan(sets) : [];
  const storageOf = (line: AgreementLine) => line.storageCountry ?? line.storageLocation;
  const byPartner = queries.byGroup(sets, new Map(lines.map((line) => [line.agreementId, line.partnerId])));
  const byStorage = queries.byGroup(sets, new Map(lines.map((line) => [line.agreementId, storageOf(line)])));
  const data: ExposureRow[] = [];
  const periodLabel = `${span.from}..${span.to}`;
  for (const line of lines) {
    for (const exposure of perMonth.filter((e) => e.agreementId === line.agreementId)) {
      data.push(...rowsOf(line, exposure, exposure.month!, timesIn(times, line.agreementId, exposure.month)));
    }
    const whole = overSpan.find((e) => e.agreementId === line.agreementId);
    if (whole !== undefined) data.push(...rowsOf(line, whole, periodLabel, timesIn(times, line.agreementId, null)));
  }
  const partnerNames = new Map(lines.map((line) => [line.partnerId, line.partnerLegalName]));
  return {
    generated_at: new Date(request.now).toISOString(),
    from: span.from,
    to: span.to,
    partner_id: span.partnerId ?? null,
    data,
    by_partner: byPartner.map((group) => ({ partner_id: group.key, partner_legal_name: partnerNames.get(group.key) ?? group.key, ...memberColumns(group.members) })),
    by_storage: byStorage.map((group) => ({ storage: group.key, ...memberColumns(group.members) })),
  };
}
