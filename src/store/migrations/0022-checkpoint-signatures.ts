import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Checkpoints signed when their heads are (issue 11): each head keeps the C2SP checkpoint
 * signature made with it, and the origin line it was signed under, so that serving a checkpoint
 * reads bytes and never signs. Heads signed before this migration have neither (NULL): only the
 * latest of them gets its checkpoint, from the signer at its next start (README, "Checkpoints and
 * witnesses").
 */
export const checkpointSignatures: Migration = {
  async up(db: Kysely<any>) {
    const { bytes } = columnTypes(db);
    await db.schema.alterTable('audit_heads').addColumn('checkpoint_origin', 'text').execute();
    await db.schema.alterTable('audit_heads').addColumn('checkpoint_signature', bytes).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('audit_heads').dropColumn('checkpoint_signature').execute();
    await db.schema.alterTable('audit_heads').dropColumn('checkpoint_origin').execute();
  },
};
