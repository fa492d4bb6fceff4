/** A point in time as milliseconds since the Unix epoch: immutable and cheap to compare. */
export type Instant = number;

export const DAY_MS = 24 * 60 * 60 * 1000;

export function addDays(instant: Instant, days: number): Instant {
  return instant + days * DAY_MS;
}
