import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Witnesses' cosignatures of the audit log's checkpoints (C2SP tlog-cosignature; README,
 * "Checkpoints and witnesses"): one row per tree size and witness, the signature line as the
 * witness returned it (checked before it is stored), the root it covers and the time it carries.
 * `witness` is the witness's verifier key (name, key id and key), so a row names exactly the key
 * that verifies it. The index answers "the largest size this witness cosigned".
 */
export const auditCosignatures: Migration = {
  async up(db: Kysely<any>) {
    const { bytes, bigInteger } = columnTypes(db);
    await db.schema
      .createTable('audit_cosignatures')
      .addColumn('tree_size', bigInteger, (c) => c.notNull())
      .addColumn('witness', 'text', (c) => c.notNull())
      .addColumn('root_hash', bytes, (c) => c.notNull())
      .addColumn('signature_line', 'text', (c) => c.notNull())
      .addColumn('cosigned_at', bigInteger, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_cosignatures_pk', ['tree_size', 'witness'])
      .execute();
    await db.schema.createIndex('audit_cosignatures_witness').on('audit_cosignatures').columns(['witness', 'tree_size']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_cosignatures').execute();
  },
};
