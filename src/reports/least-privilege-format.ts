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
const WRAPPED = { style: PLAIN, wordWrap: true, wrapOnWordBoundary: true };
const list = (values: readonly string[]) => (values.length === 0 ? '-' : values.join(', '));
/** Whether the row's lists were worked out (the other states have nothing to suggest). */
const assessed = (state: string) => state === 'suggestions' || state === 'least_privilege' || state === 'unused';
const friendCell = (cut: boolean, state: string, unused: readonly string[]) => (cut && assessed(state) ? '(cut by the wind-down)' : list(unused));

/** Each agreement in words: the suggested terms when there are some, else why there are none. */
function noteOf(row: LeastPrivilegeReport['data'][number]): string {
  if (row.suggested === null) return `${row.agreement_id}: ${row.note}`;
  const s = row.suggested;
  return `${row.agreement_id}: suggested draft: purposes ${list(s.purposes)}; member fields ${list(s.member_fields)}; `
    + `friend fields ${list(s.friend_fields)} (POST /admin/v1/agreements/${row.agreement_id}/least-privilege-draft)`;
}

export function leastPrivilegeTable(report: LeastPrivilegeReport): string {
  const agreements = new Table({
    head: ['partner', 'agreement', 'state', 'purposes never used', 'member fields never released', 'friend fields never released'],
    colWidths: [16, 22, 16, 20, 46, 34], ...WRAPPED,
  });
  const populations = new Table({
    head: ['agreement', 'app', 'purpose', 'grants', 'consented, never released', 'friend fields, never released'],
    colWidths: [18, 18, 19, 8, 56, 34], ...WRAPPED,
  });
  for (const row of report.data) {
    agreements.push([
      row.partner_id, `${row.agreement_id} v${row.version}`, row.state.replace('_', ' '),
      list(row.unused_purposes), list(row.unused_member_fields), friendCell(row.friend_fields_cut, row.state, row.unused_friend_fields),
    ]);
    for (const p of row.grant_populations) {
      populations.push([row.agreement_id, p.app_id, p.purpose, p.grants.toLocaleString('en'), list(p.unused_member_fields),
        friendCell(row.friend_fields_cut, row.state, p.unused_friend_fields)]);
    }
  }
  const parts = [
    `Least privilege: allowed and never used from ${report.window_from} to ${report.window_to} (${report.window_days} days)`,
    report.data.length === 0 ? 'No agreement.' : agreements.toString(),
    report.data.map(noteOf).join('\n'),
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
