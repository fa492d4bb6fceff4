import type { StaffRole } from '../domain/staff.js';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';

/**
 * The demo world's staff, so that the admin API can be tried at once (README, "Admin API for
 * staff"). Every one has the demo password; two privacy officers, so that the two-person rule can
 * be shown.
 */
export const DEMO_STAFF: ReadonlyArray<{ readonly email: string; readonly name: string; readonly roles: readonly StaffRole[] }> = [
  { email: 'admin@datapact.example', name: 'Ada Admin', roles: ['admin'] },
  { email: 'admin2@datapact.example', name: 'Alan Admin', roles: ['admin'] },
  { email: 'partnerships@datapact.example', name: 'Parker Partnerships', roles: ['partnerships_manager'] },
  { email: 'privacy1@datapact.example', name: 'Priya Privacy', roles: ['privacy_officer'] },
  { email: 'privacy2@datapact.example', name: 'Pavel Privacy', roles: ['privacy_officer'] },
  { email: 'viewer@datapact.example', name: 'Vera Viewer', roles: ['viewer'] },
];

/** Creates the demo staff with one precomputed password hash (the demo password's). */
export async function seedDemoStaff(store: Store, passwordHash: string, now: Instant): Promise<number> {
  for (const staff of DEMO_STAFF) await store.staff.create({ ...staff, passwordHash }, now);
  return DEMO_STAFF.length;
}
