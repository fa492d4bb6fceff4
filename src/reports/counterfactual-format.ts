import Table from 'cli-table3';
import { GRAPH_NOTE, type CounterfactualReport, type CounterfactualRow } from './counterfactual.js';
import { toCsv } from './csv.js';
import type { InventoryFormat } from './inventory-format.js';

/** The counterfactual report as JSON, CSV (its rows) and a terminal table, the other reports' formats. */

export const COUNTERFACTUAL_COLUMNS: readonly (keyof CounterfactualRow)[] = [
  'partner_id', 'partner_legal_name', 'token_members', 'released_members', 'reach_2018', 'reach_2018_friends_of_friends_only',
];

export function counterfactualCsv(report: CounterfactualReport): string {
  return toCsv(COUNTERFACTUAL_COLUMNS, report.data.map((row) => COUNTERFACTUAL_COLUMNS.map((column) => row[column])));
}

const n = (value: number) => value.toLocaleString('en');

/** "Datapact released data on N members; the 2018 rules would have exposed M, of which K only as friends-of-friends." */
export function counterfactualSentence(row: CounterfactualRow): string {
  return `Datapact released data on ${n(row.released_members)} members; the 2018 rules would have exposed `
    + `${n(row.reach_2018)}, of which ${n(row.reach_2018_friends_of_friends_only)} only as friends-of-friends.`;
}

export function counterfactualTable(report: CounterfactualReport): string {
  const period = report.from === report.to ? report.from : `${report.from} to ${report.to}`;
  const head = `What the 2018 rules would have reached, ${period} (UTC months), as of ${report.generated_at}`
    + `${report.partner_id === null ? '' : `, partner ${report.partner_id}`}`;
  if (report.data.length === 0) return `${head}\n\nNo partner made a request in this period.\n`;
  const table = new Table({
    head: ['partner', 'token members', 'released', '2018 reach', 'friends of friends only'],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  for (const row of report.data) {
    table.push([`${row.partner_legal_name} (${row.partner_id})`, n(row.token_members), n(row.released_members), n(row.reach_2018), n(row.reach_2018_friends_of_friends_only)]);
  }
  const sentences = report.data.map((row) => `${row.partner_legal_name}: ${counterfactualSentence(row)}`);
  return `${[head, table.toString(), sentences.join('\n'), GRAPH_NOTE].join('\n\n')}\n`;
}

export function formatCounterfactual(report: CounterfactualReport, format: InventoryFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return counterfactualCsv(report);
    case 'table':
      return counterfactualTable(report);
  }
}
