/** Splits rows so that one INSERT stays under SQLite's bound-parameter limit. */
export function* chunks<T>(rows: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
}
