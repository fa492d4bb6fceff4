import type { TestContext } from 'node:test';
import { STAFF_ROLES, type StaffRole } from '../../src/domain/staff.js';
import type { Instant } from '../../src/domain/time.js';
import { ADMIN_NOW, adminWorld, type StaffAccount } from './admin.js';
import type { BuildOptions } from './build.js';
import { addPartner } from './fixtures.js';

/**
 * An admin world for the agreement lifecycle: partner `p_acme` (device-partner app `app_acme`) and
 * `p_games` (third-party `app_games`), both without an agreement, and staff whose credentials are
 * API keys without expiry (tests move the clock past a session's 12 hours), each used once.
 */
export async function agreementWorld(t: TestContext | undefined, now: Instant = ADMIN_NOW, options: BuildOptions = {}) {
  const w = await adminWorld(t, now, options);
  await addPartner(w.store, 'acme', { withoutAgreement: true }, now);
  await addPartner(w.store, 'games', { withoutAgreement: true, appClass: 'third_party' }, now);
  const longLived = async (account: StaffAccount): Promise<StaffAccount> => {
    const { secret } = await w.store.staff.issue(account.id, 'api_key', { label: 'test', expiresAt: null }, now);
    await w.call(secret, 'GET', '/admin/v1/agreements');
    return { ...account, token: secret };
  };
  const addStaff = async (email: string, roles: readonly StaffRole[]) => longLived(await w.addStaff(email, roles));
  const staff = {} as Record<StaffRole, StaffAccount>;
  for (const role of STAFF_ROLES) staff[role] = await longLived(w.staff[role]);
  const officerB = await addStaff('officer-b@staff.example', ['privacy_officer']);
  return { ...w, staff, addStaff, manager: staff.partnerships_manager, officerA: staff.privacy_officer, officerB };
}
