import { DAY_MS, type Instant } from '../domain/time.js';

/**
 * `new Date(ms).toISOString()` for the seed's hot loop. A million-member world writes 150 million
 * friendship rows, each with its date, and `toISOString` costs about 2 µs, minutes in all; here the
 * date part comes from a cache (a world spans a few thousand days) and the time part from lookup
 * tables. The text is identical to `toISOString` (and so to the store's `toIso`).
 */

const PAD2 = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
const dayPrefixes = new Map<number, string>();

function dayPrefix(day: number): string {
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11); // "YYYY-MM-DDT"
    dayPrefixes.set(day, prefix);
  }
  return prefix;
}

/** The ISO-8601 text of a whole-millisecond instant, as `Date.prototype.toISOString` writes it. */
export function isoInstant(instant: Instant): string {
  const day = Math.floor(instant / DAY_MS);
  let rest = instant - day * DAY_MS;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  const minute = rest % 60;
  const hour = (rest - minute) / 60;
  return `${dayPrefix(day)}${PAD2[hour]}:${PAD2[minute]}:${PAD2[second]}.${PAD3[milli]}Z`;
}
