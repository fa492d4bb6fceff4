import type { TestContext } from 'node:test';
import { sql } from 'kysely';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { STAFF_ROLES, type StaffRole } from '../../src/domain/staff.js';
import type { Instant } from '../../src/domain/time.js';
import { dialectOf, type Db } from '../../src/store/database.js';
import { hashPassword } from '../../src/store/member-credential-repository.js';
import { build, type Built, type BuildOptions } from './build.js';

export const ADMIN_NOW = Date.parse('2026-06-01T00:00:00Z');
export const STAFF_PASSWORD = 'a long staff password';

/** scrypt is slow on purpose: one hash per test process, shared by every staff account. */
let passwordHash: Promise<string> | undefined;
export function staffPasswordHash(): Promise<string> {
  passwordHash ??= hashPassword(STAFF_PASSWORD);
  return passwordHash;
}

export interface StaffAccount {
  readonly id: string;
  readonly email: string;
  readonly roles: readonly StaffRole[];
  /** A live session token. */
  readonly token: string;
}

export type Call = (
  bearer: string | null,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  headers?: Record<string, string>,
) => Promise<LightMyRequestResponse>;

export interface AdminWorld extends Built {
  /** One account per role, `<role>@staff.example`, each with a session token. */
  readonly staff: Readonly<Record<StaffRole, StaffAccount>>;
  readonly call: Call;
  /** Another account with the given roles and a session token. */
  addStaff(email: string, roles: readonly StaffRole[]): Promise<StaffAccount>;
}

/** An app with a staff account (and session token) for every role. */
export async function adminWorld(t: TestContext | undefined, now: Instant = ADMIN_NOW, options: BuildOptions = {}): Promise<AdminWorld> {
  const built = await build(t, now, options);
  const hash = await staffPasswordHash();
  const addStaff = async (email: string, roles: readonly StaffRole[]): Promise<StaffAccount> => {
    const member = await built.store.staff.create({ email, name: `Staff ${email}`, roles, passwordHash: hash }, now);
    const { secret } = await built.store.staff.issue(member.id, 'session', { expiresAt: now + 12 * 3_600_000 }, now);
    // Used once now, so that requests at this instant write nothing (last use is noted once a minute).
    await built.store.staff.authenticate(secret, now);
    return { id: member.id, email: member.email, roles, token: secret };
  };
  const staff = {} as Record<StaffRole, StaffAccount>;
  for (const role of STAFF_ROLES) staff[role] = await addStaff(`${role}@staff.example`, [role]);
  const call: Call = (bearer, method, url, payload, headers = {}) => built.app.inject({
    method,
    url,
    headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...headers },
    ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as object }),
  });
  return { ...built, staff, call, addStaff };
}

/**
 * Tables whose rows come and go by themselves: the audit log signs a tree head over entries already
 * written whenever its background timer fires (about a second after a staff action, later on a loaded
 * machine), so a head may land between two snapshots of an unchanged database. The entries it signs
 * are compared (`audit_requests`, `audit_leaves`): a request that wrote one is still caught. The log writes the nodes
 * of entries appended in other transactions (staff actions) when it signs, so those go too.
 */
const CHANGING_BY_THEMSELVES: ReadonlySet<string> = new Set(['audit_heads', 'audit_nodes']);

/** Every row of every table, in a stable order: to show that a refused request changed nothing. */
export async function snapshot(db: Db): Promise<Record<string, unknown[]>> {
  const tables = await sql<{ name: string }>`${tableNames(db)}`.execute(db);
  const result: Record<string, unknown[]> = {};
  for (const { name } of tables.rows) {
    if (CHANGING_BY_THEMSELVES.has(name)) continue;
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    result[name] = rows.rows.map((row) => JSON.stringify(row)).sort();
  }
  return result;
}

function tableNames(db: Db) {
  return dialectOf(db) === 'postgres'
    ? sql`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by name`
    : sql`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`;
}

/** A valid partner body. */
export const PARTNER_BODY = {
  legal_name: 'Acme Devices Ltd',
  country: 'GB',
  kind: 'device_maker',
  risk_flags: ['prior_violation'],
  storage: { location: 'partner_servers', country: 'DE' },
  contacts: ['privacy@acme.example'],
  webhook_url: 'https://acme.example/datapact/notices',
  privacy_policy_url: 'https://acme.example/privacy',
} as const;
