import type { Db } from './database.js';

/** A witness's cosignature of the checkpoint of one tree size. */
export interface StoredCosignature {
  readonly treeSize: number;
  /** The witness's verifier key. */
  readonly witness: string;
  readonly rootHash: Buffer;
  readonly signatureLine: string;
  /** POSIX seconds. */
  readonly cosignedAt: number;
}

/** Witnesses' cosignatures of the audit log's checkpoints (migration 0015). Only ever inserted. */
export class CosignatureRepository {
  constructor(private readonly db: Db) {}

  /** Keeps the first cosignature of a size by a witness; a later one of the same size adds nothing. */
  async add(cosignature: StoredCosignature): Promise<void> {
    await this.db
      .insertInto('audit_cosignatures')
      .values({
        tree_size: cosignature.treeSize,
        witness: cosignature.witness,
        root_hash: cosignature.rootHash,
        signature_line: cosignature.signatureLine,
        cosigned_at: cosignature.cosignedAt,
      })
      .onConflict((conflict) => conflict.columns(['tree_size', 'witness']).doNothing())
      .execute();
  }

  /** The cosignatures of these sizes, by size. */
  async forSizes(sizes: readonly number[]): Promise<Map<number, StoredCosignature[]>> {
    const found = new Map<number, StoredCosignature[]>();
    if (sizes.length === 0) return found;
    const rows = await this.db.selectFrom('audit_cosignatures').selectAll().where('tree_size', 'in', [...sizes]).orderBy('tree_size').orderBy('witness').execute();
    for (const row of rows) {
      const size = Number(row.tree_size);
      const list = found.get(size) ?? [];
      list.push({ treeSize: size, witness: row.witness, rootHash: Buffer.from(row.root_hash), signatureLine: row.signature_line, cosignedAt: Number(row.cosigned_at) });
      found.set(size, list);
    }
    return found;
  }

  /** The largest size this witness has cosigned, if any. */
  async latestSizeBy(witness: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('audit_cosignatures').select((eb) => eb.fn.max('tree_size').as('size')).where('witness', '=', witness).executeTakeFirst();
    return row?.size == null ? undefined : Number(row.size);
  }
}
