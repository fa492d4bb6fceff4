import Table from 'cli-table3';
import { toCsv, type CsvValue } from './csv.js';
import type { ProcessingRecord, RecordsOfProcessing } from './records-of-processing.js';

/** The records of processing as JSON, CSV (one line per agreement) and a terminal table. */

export const RECORDS_FORMATS = ['table', 'csv', 'json'] as const;
export type RecordsFormat = (typeof RECORDS_FORMATS)[number];

export function isRecordsFormat(value: string): value is RecordsFormat {
  return (RECORDS_FORMATS as readonly string[]).includes(value);
}

/** `members: basic (id, name); friends: profile (birthday)` */
function categoriesText(record: ProcessingRecord): string {
  return record.data_categories.map((c) => `${c.about}: ${c.class} (${c.fields.join(', ')})`).join('; ');
}

function transferText(record: ProcessingRecord): string {
  const { transfer } = record;
  if (transfer.destination_country === null) return 'none (kept on the member\'s device)';
  if (!transfer.outside_controller_country) return `none (kept in ${transfer.destination_country})`;
  return `to ${transfer.destination_country}, safeguard: ${transfer.safeguard ?? 'NONE STATED'}`;
}

/** The CSV's columns, a stable contract for spreadsheets; lists are joined with `; `. */
const COLUMNS: readonly [string, (record: ProcessingRecord) => CsvValue][] = [
  ['agreement_id', (r) => r.agreement_id],
  ['version', (r) => r.version],
  ['status', (r) => r.status],
  ['in_effect', (r) => String(r.in_effect)],
  ['controller', (r) => `${r.controller.name} (${r.controller.country})`],
  ['recipient', (r) => r.recipient.legal_name],
  ['recipient_country', (r) => r.recipient.country],
  ['recipient_apps', (r) => r.recipient.apps.join('; ')],
  ['purposes', (r) => r.purposes.map((p) => `${p.purpose}: ${p.description}`).join('; ')],
  ['member_categories', (r) => r.member_categories.join('; ')],
  ['data_categories', categoriesText],
  ['storage_location', (r) => r.storage.location],
  ['storage_country', (r) => r.storage.country ?? ''],
  ['transfer_outside_controller_country', (r) => String(r.transfer.outside_controller_country)],
  ['transfer_safeguard', (r) => r.transfer.safeguard ?? ''],
  ['retention_days', (r) => r.retention_days],
  ['security_measures', (r) => r.security_measures.join(' ')],
  ['starts_at', (r) => r.dates.starts_at],
  ['ends_at', (r) => r.dates.ends_at],
  ['certification_due_at', (r) => r.dates.certification_due_at],
  ['access_ended_at', (r) => r.dates.access_ended_at ?? ''],
  ['deletion_attested_at', (r) => r.dates.deletion_attested_at ?? ''],
  ['last_transfer_at', (r) => r.dates.last_transfer_at ?? ''],
  ['findings', (r) => r.findings.join('; ')],
];

export function recordsCsv(records: RecordsOfProcessing): string {
  return toCsv(COLUMNS.map(([name]) => name), records.data.map((record) => COLUMNS.map(([, cell]) => cell(record))));
}

const NO_RULES_BETWEEN_ROWS = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** One block per agreement, a row per heading: the records are read, not scanned across. */
function recordsTable(records: RecordsOfProcessing): string {
  const blocks = records.data.map((r) => {
    const table = new Table({ head: [], style: { head: [], border: [] }, wordWrap: true, colWidths: [20, 92], chars: NO_RULES_BETWEEN_ROWS });
    table.push(
      ['Agreement', `${r.agreement_id} v${r.version} (${r.status}${r.in_effect ? ', in effect' : ', not in effect'})`],
      ['Controller', `${r.controller.name} (${r.controller.country})`],
      ['Recipient', `${r.recipient.legal_name} (${r.recipient.country}), apps ${r.recipient.apps.join(', ') || '-'}`],
      ['Purposes', r.purposes.map((p) => p.description).join('; ')],
      ['Members concerned', r.member_categories.join('; ')],
      ['Data', categoriesText(r)],
      ['Transfer', transferText(r)],
      ['Retention', `${r.retention_days} days`],
      ['Security measures', r.security_measures.join(' ')],
      ['Dates', `from ${r.dates.starts_at.slice(0, 10)} to ${r.dates.ends_at.slice(0, 10)}, certification due ${r.dates.certification_due_at.slice(0, 10)}`],
      ['Findings', r.findings.join(', ') || 'none'],
    );
    return table.toString();
  });
  return `Records of processing (GDPR Art. 30), ${records.controller.name}, as of ${records.generated_at}\n\n${blocks.join('\n\n')}\n`;
}

export function formatRecords(records: RecordsOfProcessing, format: RecordsFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(records, null, 2)}\n`;
    case 'csv':
      return recordsCsv(records);
    case 'table':
      return recordsTable(records);
  }
}
