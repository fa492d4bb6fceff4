import { stringify } from 'csv-stringify/sync';

/** A cell's value: text, or a number the report computed. */
export type CsvValue = string | number;

/** The first characters a spreadsheet reads as the start of a formula (or that hide one: tab, carriage return). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Text a spreadsheet shows as text, never runs (OWASP, "CSV Injection"): a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in front. A partner's legal name,
 * an app's name or a suspension reason is typed by people, and `=HYPERLINK(…)` in one would otherwise
 * run in whoever opens the download. Numbers the report computed (a negative day count) are left as
 * they are: they are numbers, not text.
 */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/**
 * Every CSV the platform writes goes through here: RFC 4180 (quoting is csv-stringify's), a header
 * line, `\n` between records, and every text cell neutralised (`neutraliseFormula`).
 */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<readonly CsvValue[]>, { header = true } = {}): string {
  return stringify(rows.map((row) => [...row]), {
    // A streamed CSV writes its header line with the first chunk only.
    header,
    columns: [...columns],
    record_delimiter: 'unix',
    cast: { string: neutraliseFormula, number: String },
  });
}
