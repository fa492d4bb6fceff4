import Table from 'cli-table3';
import { toCsv, type CsvValue } from './csv.js';
import { ANY_FIELD, type ExposureReport, type ExposureRow } from './exposure.js';
import type { InventoryFormat } from './inventory-format.js';

/** The exposure report as JSON, CSV (its `data` rows) and a terminal table, the inventory's formats. */

/** The CSV's columns, in the row's order (a stable contract for spreadsheets). */
export const EXPOSURE_COLUMNS: readonly (keyof ExposureRow)[] = [
  'partner_id', 'partner_legal_name', 'agreement_id', 'storage_location', 'storage_country', 'period', 'field',
  'members_direct', 'members_through_friends', 'members_total', 'times_direct', 'times_through_friends',
];

export function exposureCsv(report: ExposureReport): string {
  return toCsv(EXPOSURE_COLUMNS, report.data.map((row) => EXPOSURE_COLUMNS.map((column): CsvValue => row[column] ?? '')));
}

const PLAIN = { head: [], border: [], compact: true };
const n = (value: number | null) => (value === null ? '' : value.toLocaleString('en'));

function detail(report: ExposureReport): string {
  const table = new Table({
    head: ['partner', 'agreement', 'stored', 'period', 'field', 'direct', 'via friends', 'members', 'times direct', 'times via friends'],
    style: PLAIN,
    colAligns: ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const row of report.data) {
    table.push([
      row.partner_id, row.agreement_id, row.storage_country ?? row.storage_location, row.period, row.field === ANY_FIELD ? 'any field' : row.field,
      n(row.members_direct), n(row.members_through_friends), n(row.members_total), n(row.times_direct), n(row.times_through_friends),
    ]);
  }
  return table.toString();
}

function groups(head: string, rows: ReadonlyArray<{ label: string; members_direct: number; members_through_friends: number; members_total: number }>): string {
  const table = new Table({ head: [head, 'direct', 'via friends', 'members'], style: PLAIN, colAligns: ['left', 'right', 'right', 'right'] });
  for (const row of rows) table.push([row.label, n(row.members_direct), n(row.members_through_friends), n(row.members_total)]);
  return table.toString();
}

export function exposureTable(report: ExposureReport): string {
  const period = report.from === report.to ? report.from : `${report.from} to ${report.to}`;
  const parts = [
    `Exposure: distinct members whose data was released, ${period} (UTC months), as of ${report.generated_at}`
      + `${report.partner_id === null ? '' : `, partner ${report.partner_id}`}`,
    report.data.length === 0 ? 'Nothing was released in this period.' : detail(report),
    groups('partner', report.by_partner.map((row) => ({ label: `${row.partner_legal_name} (${row.partner_id})`, ...row }))),
    groups('stored', report.by_storage.map((row) => ({ label: row.storage, ...row }))),
  ];
  return `${parts.join('\n\n')}\n`;
}

export function formatExposure(report: ExposureReport, format: InventoryFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return exposureCsv(report);
    case 'table':
      return exposureTable(report);
  }
}
