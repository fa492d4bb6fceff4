import type { DataStorage } from '../domain/partner.js';
import type { Instant } from '../domain/time.js';

/** The words the OAuth pages use for codes: countries, dates, storage (fields and purposes: src/web/field-labels.ts). */

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** `China (CN)`; an unknown code is shown as itself. */
export function countryName(code: string): string {
  let name = code;
  try {
    name = REGIONS.of(code.toUpperCase()) ?? code;
  } catch {
    // Not a well-formed region code: show it as given.
  }
  return name === code ? code : `${name} (${code})`;
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** `31 March 2028` (UTC). */
export function longDate(instant: Instant): string {
  return DATE.format(new Date(instant));
}


/** How long the partner may keep what it receives, as the agreement states it. */
export function retentionWording(days: number): string {
  return `Deleted at most ${days} ${days === 1 ? 'day' : 'days'} after it is received`;
}

/** Where the data will be kept, as the agreement states it. */
export function storageWording(storage: DataStorage, partnerName: string): string {
  return storage.location === 'on_device'
    ? 'On your device only'
    : `On ${partnerName}’s servers in ${countryName(storage.country)}`;
}
