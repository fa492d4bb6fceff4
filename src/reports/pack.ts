import { checkLatestHead, type LatestHeadCheck, type LatestHeadCheckOptions } from '../audit/latest-head-check.js';
import type { Controller } from '../domain/controller.js';
import { NotFound } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { counterfactualReport, type CounterfactualReport } from './counterfactual.js';
import { exposureReport, monthOf, type ExposureReport } from './exposure.js';
import { inventoryReport, type Inventory } from './inventory.js';
import { recordsOfProcessing, type RecordsOfProcessing } from './records-of-processing.js';

/**
 * The regulator's pack (PRODUCT.md §6, issue 14 point 5) as data: the answers to the 2018 letters'
 * questions for every partner or one, gathered at one `now`: who and which data, since when and
 * stored where (the inventory), which safeguards (the records of processing), how many members
 * were reached (the exposure over the last 12 months, and month by month), what the 2018 rules
 * would have reached (the counterfactual), and how it was audited (the latest signed tree head,
 * checked as the pack is written). pack-html.ts lays it out as one document.
 */

/** The period the pack covers: the month of `now` and the eleven before it (whole UTC months). */
export const PACK_MONTHS = 12;

export interface PackRequest {
  readonly now: Instant;
  /** Only this partner (404 when there is no such partner). */
  readonly partnerId?: string;
}

/** One partner's distinct members reached in each month of the period (0 in a month without a release). */
export interface PartnerMonths {
  readonly partner_id: string;
  readonly months: ReadonlyArray<{ readonly month: string; readonly members_total: number }>;
}

export interface RegulatorPack {
  readonly generated_at: string;
  readonly partner_id: string | null;
  /** First and last month of the period, both included. */
  readonly from: string;
  readonly to: string;
  readonly controller: Controller;
  readonly inventory: Inventory;
  readonly records: RecordsOfProcessing;
  /** Over the whole period. */
  readonly exposure: ExposureReport;
  /** Per partner with an agreement, month by month: each month's `by_partner` total of the exposure report for that month. */
  readonly members_per_month: readonly PartnerMonths[];
  readonly counterfactual: CounterfactualReport;
  /** The log as it stands when the pack is written (not as of `now`). */
  readonly audit: LatestHeadCheck;
}

export interface PackSources {
  readonly store: Store;
  readonly controller: Controller;
  /** The log's public key and its witnesses, to check the latest head with. */
  readonly log: LatestHeadCheckOptions;
}

/** `count` months, oldest first, ending with `last` (`YYYY-MM`). */
export function monthsEndingWith(last: string, count: number): string[] {
  const [year, month] = last.split('-').map(Number) as [number, number];
  return Array.from({ length: count }, (_, i) => {
    const date = new Date(Date.UTC(year, month - 1 - (count - 1 - i), 1));
    return date.toISOString().slice(0, 7);
  });
}

export async function regulatorPack(sources: PackSources, request: PackRequest): Promise<RegulatorPack> {
  const { store, controller } = sources;
  const { now, partnerId } = request;
  const months = monthsEndingWith(monthOf(now), PACK_MONTHS);
  const period = { now, from: months[0]!, to: months.at(-1)!, ...(partnerId === undefined ? {} : { partnerId }) };
  const [inventory, records, exposure, counterfactual, monthly, audit] = await Promise.all([
    inventoryReport(store, now),
    recordsOfProcessing(store, controller, now),
    exposureReport(store, period),
    counterfactualReport(store, period),
    Promise.all(months.map((month) => exposureReport(store, { ...period, from: month, to: month }))),
    checkLatestHead(store.audit, store.cosignatures, sources.log),
  ]);
  const ofPartner = <T>(rows: readonly T[], id: (row: T) => string) => (partnerId === undefined ? rows : rows.filter((row) => id(row) === partnerId));
  const partnerRows = ofPartner(inventory.data, (row) => row.partner_id);
  if (partnerRows.length === 0 && partnerId !== undefined) throw new NotFound(`There is no partner ${partnerId}.`);
  const withAgreement = [...new Set(partnerRows.filter((row) => row.agreement_id !== null).map((row) => row.partner_id))];
  return {
    generated_at: inventory.generated_at,
    partner_id: partnerId ?? null,
    from: exposure.from,
    to: exposure.to,
    controller,
    inventory: { ...inventory, data: partnerRows },
    records: { ...records, data: ofPartner(records.data, (record) => record.recipient.partner_id) },
    exposure,
    members_per_month: withAgreement.map((id) => ({
      partner_id: id,
      months: monthly.map((report, i) => ({
        month: months[i]!,
        members_total: report.by_partner.find((row) => row.partner_id === id)?.members_total ?? 0,
      })),
    })),
    counterfactual,
    audit,
  };
}
