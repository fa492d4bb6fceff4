import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { isStaffRole, MIN_PASSWORD_LENGTH, STAFF_ROLES, type StaffRole } from '../../domain/staff.js';
import { RULES_VERSION } from '../../domain/reason-codes.js';
import { hashPassword } from '../../store/member-credential-repository.js';
import { generatePassword, normalizeEmail } from '../../store/staff-repository.js';
import { createStore } from '../../store/store.js';
import { DATABASE_OPTION, openStore, openStoreToRead } from '../open-store.js';

function roles(value: string, previous: StaffRole[] = []): StaffRole[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !isStaffRole(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`not a staff role: ${unknown.join(', ') || value} (one of ${STAFF_ROLES.join(', ')})`);
  }
  return [...new Set([...previous, ...(names as StaffRole[])])];
}

function email(value: string): string {
  const normalized = normalizeEmail(value);
  if (normalized.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalized)) throw new InvalidArgumentError('not an email address');
  return normalized;
}

function password(value: string): string {
  if (value.length < MIN_PASSWORD_LENGTH || value.length > 200) throw new InvalidArgumentError(`at least ${MIN_PASSWORD_LENGTH} characters (and at most 200)`);
  return value;
}

function name(value: string): string {
  if (value.trim() === '' || value.length > 200) throw new InvalidArgumentError('a name of 1 to 200 characters');
  return value.trim();
}

/**
 * `datapact staff`: staff accounts from the command line, where the first admin comes from (the
 * admin API needs an admin to make more accounts). Each change is audited with the actor `system`.
 */
export function staffCommand(): Command {
  const staff = new Command('staff').description('Staff accounts for the admin API (/admin/v1)');
  staff
    .command('add')
    .description('Create a staff account. Without --password, a password is generated and printed once (stdout); '
      + 'a password given on the command line may stay in the shell history.')
    .requiredOption('--email <email>', 'the login email')
    .requiredOption('--name <name>', 'the person\'s name')
    .requiredOption('--role <role>', `a role (repeat, or comma-separate, for several): ${STAFF_ROLES.join(', ')}`, roles)
    .option('--password <password>', `the password (at least ${MIN_PASSWORD_LENGTH} characters); default: generated and printed once`)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options) => {
      const address = email(options.email);
      const fullName = name(options.name);
      const given = options.password === undefined ? undefined : password(options.password);
      const secret = given ?? generatePassword();
      const passwordHash = await hashPassword(secret);
      const store = await openStore(options.database ?? loadConfig().database);
      try {
        const now = Date.now();
        const created = await store.db.transaction().execute(async (trx) => {
          const tx = createStore(trx);
          if (await tx.staff.byEmail(address)) throw new Error(`there is already a staff account for ${address}`);
          const member = await tx.staff.create({ email: address, name: fullName, roles: options.role, passwordHash }, now);
          await tx.audit.append([{
            at: now, requestId: `cli-${randomUUID()}`, appId: null, partnerId: null, agreementId: null, agreementVersion: null,
            rulesVersion: RULES_VERSION, tokenMemberId: null, subjectMemberId: null, purpose: null, outcome: 'staff_action',
            code: 'staff.create', released: [], withheld: {}, actor: 'system', action: 'staff.create',
            detail: { staff_id: member.id, email: member.email, roles: member.roles, via: 'cli' },
          }]);
          return member;
        });
        console.error(`Created staff account ${created.id} for ${created.email} (${created.roles.join(', ')}).`);
        if (given === undefined) {
          console.error('Generated password (shown this once; log in at POST /admin/v1/login):');
          console.log(secret);
        }
      } finally {
        await store.close();
      }
    });
  staff
    .command('list')
    .description('List staff accounts: email, name, roles, id, whether disabled')
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options) => {
      const store = await openStoreToRead(options.database ?? loadConfig().database);
      try {
        const accounts = await store.staff.list();
        if (accounts.length === 0) {
          console.error('No staff accounts yet: create the first admin with `datapact staff add --email … --name … --role admin`.');
          return;
        }
        const rows = accounts.map((s) => [s.email, s.name, s.roles.join(','), s.id, s.disabledAt === null ? 'active' : `disabled ${new Date(s.disabledAt).toISOString()}`]);
        const header = ['EMAIL', 'NAME', 'ROLES', 'ID', 'STATUS'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
      } finally {
        await store.close();
      }
    });
  return staff;
}
