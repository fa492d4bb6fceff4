import type { Instant } from './time.js';

/**
 * Staff of the platform who run Datapact through the admin API (/admin/v1), and what each
 * role may do. Pure rules: the HTTP layer asks `can(roles, permission)` before a handler runs.
 */
export const STAFF_ROLES = ['viewer', 'partnerships_manager', 'privacy_officer', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const PERMISSIONS = [
  /** Read partners, apps, agreements and the audit log. Every role. */
  'read',
  /** Create and edit partners and their apps. */
  'manage_partners',
  /** Draft, edit and submit agreements; start amendments, suspensions and terminations. */
  'manage_agreements',
  /** Approve (or reject) an agreement as a privacy officer. */
  'approve_agreements',
  /** Create staff accounts, change their roles, issue and revoke API keys. */
  'manage_staff',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Which roles grant each permission. A staff member holds the union of their roles' rights. */
export const PERMISSION_ROLES: Readonly<Record<Permission, readonly StaffRole[]>> = {
  read: ['viewer', 'partnerships_manager', 'privacy_officer', 'admin'],
  manage_partners: ['partnerships_manager', 'admin'],
  manage_agreements: ['partnerships_manager', 'admin'],
  approve_agreements: ['privacy_officer'],
  manage_staff: ['admin'],
};

export function can(roles: readonly StaffRole[], permission: Permission): boolean {
  const granting = PERMISSION_ROLES[permission];
  return roles.some((role) => granting.includes(role));
}

/** Every permission the given roles hold, in catalog order. */
export function permissionsOf(roles: readonly StaffRole[]): Permission[] {
  return PERMISSIONS.filter((permission) => can(roles, permission));
}

/** Staff passwords: at least this long (and at most 200 characters). */
export const MIN_PASSWORD_LENGTH = 12;

export function isStaffRole(value: string): value is StaffRole {
  return (STAFF_ROLES as readonly string[]).includes(value);
}

export interface StaffMember {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly StaffRole[];
  readonly createdAt: Instant;
  /** A disabled account can neither log in nor use its tokens and keys. */
  readonly disabledAt: Instant | null;
  /** When an admin reset the password; until it is changed, sessions can do nothing else (staff-login.ts). */
  readonly passwordResetAt: Instant | null;
}
