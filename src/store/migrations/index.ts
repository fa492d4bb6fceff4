import type { Migration, MigrationProvider } from 'kysely';
import { foundation } from './0001-foundation.js';
import { memberLogins } from './0002-member-logins.js';
import { oauth } from './0003-oauth.js';
import { partnerRecords } from './0004-partner-records.js';

/** Migrations live in code, not found on disk, so they work the same from src/ under tsx and from dist/. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-member-logins': memberLogins,
  '0003-oauth': oauth,
  '0004-partner-records': partnerRecords,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
