import Table from 'cli-table3';
import { toCsv, type CsvValue } from './csv.js';
import { day, type Inventory, type InventoryRow } from './inventory.js';

/** The inventory as JSON, CSV and a terminal table. */

export const INVENTORY_FORMATS = ['table', 'csv', 'json'] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];

export function isInventoryFormat(value: string): value is InventoryFormat {
  return (INVENTORY_FORMATS as readonly string[]).includes(value);
}

/** The CSV's columns: every column of a row, in the row's order (a stable contract for spreadsheets). */
export const INVENTORY_COLUMNS: readonly (keyof InventoryRow)[] = [
  'partner_id', 'partner_legal_name', 'partner_country', 'partner_kind', 'risk_flags',
  'agreement_id', 'version', 'status', 'status_reason', 'in_effect', 'not_in_effect_cause',
  'starts_at', 'age_days', 'ends_at', 'days_to_end',
  'purposes', 'member_fields', 'friend_fields', 'retention_days', 'storage_location', 'storage_country',
  'certification_due_at', 'certification_state', 'last_access_at', 'fields_released_30d', 'members_reached_30d',
  'wind_down_phase', 'wind_down_no_new_grants_at', 'wind_down_no_friend_data_at', 'wind_down_access_ended_at',
  'deletion_attested_at', 'wind_down', 'apps',
];

/** A cell as CSV holds it: lists space-separated, null empty, numbers as numbers, everything else as text. */
function csvCell(value: InventoryRow[keyof InventoryRow]): CsvValue {
  if (value === null) return '';
  if (Array.isArray(value)) return value.join(' ');
  return typeof value === 'number' ? value : String(value);
}

export function inventoryJson(inventory: Inventory): string {
  return `${JSON.stringify(inventory, null, 2)}\n`;
}

/** The inventory as CSV (see `toCsv`: text cells that a spreadsheet would run as a formula are neutralised). */
export function inventoryCsv(inventory: Inventory): string {
  return toCsv(INVENTORY_COLUMNS, inventory.data.map((row) => INVENTORY_COLUMNS.map((column) => csvCell(row[column]))));
}

/** Plain text (no colours), no rule between rows. */
const PLAIN = { head: [], border: [], compact: true };
const list = (values: readonly string[], none = '-') => (values.length === 0 ? none : values.join(', '));
const dayOrDash = (value: string | null) => (value === null ? '-' : day(Date.parse(value)));

function statusText(row: InventoryRow): string {
  if (row.status === null) return 'no agreement';
  return row.status_reason === null ? row.status : `${row.status} (${row.status_reason})`;
}

function effectText(row: InventoryRow): string {
  return row.in_effect ? 'yes' : `no: ${row.not_in_effect_cause}`;
}

function termText(row: InventoryRow): string {
  if (row.starts_at === null || row.ends_at === null) return '-';
  const age = row.age_days === null ? 'not started' : `age ${row.age_days} d`;
  const left = row.days_to_end! > 0 ? `${row.days_to_end} d left` : `ended ${-row.days_to_end!} d ago`;
  return `${day(Date.parse(row.starts_at))} to ${day(Date.parse(row.ends_at))} (${age}, ${left})`;
}

function storageText(row: InventoryRow): string {
  return row.storage_country === null ? row.storage_location : `${row.storage_location} (${row.storage_country})`;
}


/** The overview: one line per agreement, what a reader scans first. */
function overview(rows: readonly InventoryRow[]): string {
  const table = new Table({
    head: ['partner', 'agreement', 'status', 'in effect now', 'certification', 'last access', 'fields 30 d', 'members 30 d', 'wind-down'],
    style: PLAIN,
    colAligns: ['left', 'left', 'left', 'left', 'left', 'left', 'right', 'right', 'left'],
  });
  for (const row of rows) {
    table.push([
      row.partner_id, row.agreement_id === null ? '-' : `${row.agreement_id} v${row.version}`, row.status ?? 'no agreement',
      effectText(row), row.certification_state ?? '-', dayOrDash(row.last_access_at),
      row.fields_released_30d.toLocaleString('en'), row.members_reached_30d.toLocaleString('en'), row.wind_down_phase ?? '-',
    ]);
  }
  return table.toString();
}

/** Every column of one row, label and value, wrapped to a fixed width. */
function card(row: InventoryRow): string {
  const table = new Table({ style: PLAIN, colWidths: [24, 76], wordWrap: true, wrapOnWordBoundary: true });
  const lines: Array<[string, string]> = [
    ['partner', `${row.partner_legal_name} (${row.partner_id})`],
    ['country, kind', `${row.partner_country}, ${row.partner_kind}`],
    ['risk flags', list(row.risk_flags, 'none')],
    ['apps', list(row.apps)],
    ['agreement', row.agreement_id === null ? 'none: every request of its apps is refused' : `${row.agreement_id} version ${row.version}`],
    ['status', statusText(row)],
    ['in effect now', effectText(row)],
  ];
  if (row.agreement_id !== null) {
    lines.push(
      ['term', termText(row)],
      ['purposes', list(row.purposes)],
      ['member fields', list(row.member_fields)],
      ['friend fields', list(row.friend_fields, 'none')],
      ['retention', `${row.retention_days} days`],
    );
  }
  lines.push(['storage', storageText(row)]);
  if (row.agreement_id !== null) {
    lines.push(
      ['certification', `${row.certification_state} (due ${dayOrDash(row.certification_due_at)})`],
      ['last access', row.last_access_at ?? 'never'],
      ['released, last 30 days', `${row.fields_released_30d.toLocaleString('en')} fields about ${row.members_reached_30d.toLocaleString('en')} members`],
      ['wind-down', row.wind_down ?? 'none planned'],
    );
  }
  for (const [label, value] of lines) table.push({ [label]: value });
  return table.toString();
}

/** The terminal table: an overview, then every row in full. Plain text, no colours. */
export function inventoryTable(inventory: Inventory): string {
  const parts = [
    `Inventory of partners and agreements as of ${inventory.generated_at} (${inventory.data.length} rows)`,
    overview(inventory.data),
    ...inventory.data.map(card),
  ];
  return `${parts.join('\n\n')}\n`;
}

export function formatInventory(inventory: Inventory, format: InventoryFormat): string {
  switch (format) {
    case 'json':
      return inventoryJson(inventory);
    case 'csv':
      return inventoryCsv(inventory);
    case 'table':
      return inventoryTable(inventory);
  }
}
