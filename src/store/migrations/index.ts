import type { Migration, MigrationProvider } from 'kysely';
import { foundation } from './0001-foundation.js';

/** Migrations live in code, not found on disk, so they work the same from src/ under tsx and from dist/. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
