import { DAY_MS, type Instant } from '../domain/time.js';

/** A window within one UTC day, [from, to). */
export interface DayPiece {
  readonly from: Instant;
  readonly to: Instant;
}

/**
 * A window [from, to) (either end open) as the whole UTC days in it, which the counts kept on append
 * answer, and the parts of a day at either end, which must be counted from the log. A window within
 * one day is a single piece; an empty window has neither.
 */
export function splitByDays(from: Instant | undefined, to: Instant | undefined): { whole: { from?: Instant; to?: Instant } | undefined; pieces: DayPiece[] } {
  if (from !== undefined && to !== undefined && from >= to) return { whole: undefined, pieces: [] };
  const firstWhole = from === undefined ? undefined : Math.ceil(from / DAY_MS) * DAY_MS;
  const lastWhole = to === undefined ? undefined : Math.floor(to / DAY_MS) * DAY_MS;
  if (firstWhole !== undefined && lastWhole !== undefined && firstWhole > lastWhole) return { whole: undefined, pieces: [{ from: from!, to: to! }] };
  const pieces: DayPiece[] = [];
  if (from !== undefined && from !== firstWhole) pieces.push({ from, to: firstWhole! });
  if (to !== undefined && to !== lastWhole) pieces.push({ from: lastWhole!, to });
  const empty = firstWhole !== undefined && lastWhole !== undefined && firstWhole === lastWhole;
  const whole = empty ? undefined : { ...(firstWhole === undefined ? {} : { from: firstWhole }), ...(lastWhole === undefined ? {} : { to: lastWhole }) };
  return { whole, pieces };
}
