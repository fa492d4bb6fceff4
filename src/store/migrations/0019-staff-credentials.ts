import type { Kysely, Migration } from 'kysely';

/**
 * Staff credentials beyond a password (issue 12): an admin's reset that forces a change at the next
 * login, and TOTP two-factor with recovery codes.
 *
 * - `staff.password_reset_at`: set by an admin's reset (the password is then a one-time one); while
 *   set, the account's sessions can only change the password. Cleared by the change.
 * - `staff_totp`: one authenticator per account. `secret_sealed` is the TOTP secret encrypted with
 *   a key kept in the data directory, never in the database. `confirmed_at` is null until a first
 *   code proves the enrolment; `last_used_step` is the time step of the last code accepted, so that
 *   a code is never accepted twice.
 * - `staff_recovery_codes`: SHA-256 of each recovery code (random, high entropy), and when it was used.
 */
export const staffCredentials: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('staff').addColumn('password_reset_at', 'text').execute();
    await db.schema
      .createTable('staff_totp')
      .addColumn('staff_id', 'text', (c) => c.primaryKey().references('staff.id'))
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('confirmed_at', 'text')
      .addColumn('last_used_step', 'integer')
      .execute();
    await db.schema
      .createTable('staff_recovery_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
    await db.schema.createIndex('staff_recovery_codes_staff').on('staff_recovery_codes').column('staff_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('staff_recovery_codes').execute();
    await db.schema.dropTable('staff_totp').execute();
    await db.schema.alterTable('staff').dropColumn('password_reset_at').execute();
  },
};
