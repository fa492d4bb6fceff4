import Table from 'cli-table3';
import { toCsv, type CsvValue } from './csv.js';
import type { InventoryFormat } from './inventory-format.js';
import type { LeastPrivilegeReport } from './least-privilege.js';

/** The least-privilege report as JSON, CSV and a terminal table, the inventory's formats. */

/**
 * The CSV's columns: a line per agreement (`scope` `agreement`), then one per population of its
 * live grants (`scope` `grants`, with `app_id`, `purpose` and `grants`). Lists are space-separated.
 */
export const LEAST_PRIVILEGE_COLUMNS = [
  'agreement_id', 'version', 'partner_id', 'partner_legal_name', 'status', 'state', 'scope', 'app_id', 'purpose', 'grants',
  'unused_purposes', 'unused_member_fields', 'unused_friend_fields', 'friend_fields_cut',
  'suggested_purposes', 'suggested_member_fields', 'suggested_friend_fields', 'in_effect_since', 'note',
] as const;

const words = (values: readonly string[] | undefined) => (values ?? []).join(' ');

export function leastPrivilegeCsv(report: LeastPrivilegeReport): string {
  const rows: CsvValue[][] = [];
  for (const row of report.data) {
    const agreement = [row.agreement_id, row.version, row.partner_id, row.partner_legal_name, row.status, row.state];
    rows.push([
      ...agreement, 'agreement', '', '', '',
      words(row.unused_purposes), words(row.unused_member_fields), words(row.unused_friend_fields), String(row.friend_fields_cut),
      words(row.suggested?.purposes), words(row.suggested?.member_fields), words(row.suggested?.friend_fields), row.in_effect_since ?? '', row.note,
    ]);
    for (const p of row.grant_populations) {
      rows.push([
        ...agreement, 'grants', p.app_id, p.purpose, p.grants,
        '', words(p.unused_member_fields), words(p.unused_friend_fields), String(row.friend_fields_cut), '', '', '', row.in_effect_since ?? '', '',
      ]);
    }
  }
  return toCsv(LEAST_PRIVILEGE_COLUMNS, rows);
}

const PLAIN = { head: [], border: [], compact: true };
const list = (values: readonly string[]) => (values.length === 0 ? '-' : values.join(', '));

export function leastPrivilegeTable(report: LeastPrivilegeReport): string {
  const agreements = new Table({
    head: ['partner', 'agreement', 'state', 'purposes never used', 'member fields never released', 'friend fields never released'],
    style: PLAIN,
  });
  const populations = new Table({ head: ['agreement', 'app', 'purpose', 'live grants', 'consented, never released', 'friend fields, never released'], style: PLAIN });
  const notes: string[] = [];
  for (const row of report.data) {
    agreements.push([
      row.partner_id, `${row.agreement_id} v${row.version}`, row.state,
      list(row.unused_purposes), list(row.unused_member_fields), row.friend_fields_cut ? '(cut by the wind-down)' : list(row.unused_friend_fields),
    ]);
    notes.push(`${row.agreement_id}: ${row.note}`);
    for (const p of row.grant_populations) {
      populations.push([row.agreement_id, p.app_id, p.purpose, p.grants.toLocaleString('en'), list(p.unused_member_fields),
        row.friend_fields_cut ? '(cut by the wind-down)' : list(p.unused_friend_fields)]);
    }
  }
  const parts = [
    `Least privilege: allowed and never used from ${report.window_from} to ${report.window_to} (${report.window_days} days)`,
    report.data.length === 0 ? 'No agreement.' : agreements.toString(),
    notes.join('\n'),
  ];
  if (populations.length > 0) parts.push(`Live grants per app and purpose:\n${populations.toString()}`);
  return `${parts.join('\n\n')}\n`;
}

export function formatLeastPrivilege(report: LeastPrivilegeReport, format: InventoryFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return leastPrivilegeCsv(report);
    case 'table':
      return leastPrivilegeTable(report);
  }
}
