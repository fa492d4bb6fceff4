import type { Instant } from '../domain/time.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

/** Simulation results by id (migration 0031): what was answered once is answered again the same. */
export class SimulationRepository {
  constructor(private readonly db: Db) {}

  async insert(id: string, agreementId: string, createdBy: string, at: Instant, result: unknown): Promise<void> {
    await this.db.insertInto('simulations')
      .values({ id, agreement_id: agreementId, created_at: toIso(at), created_by: createdBy, result: JSON.stringify(result) })
      .execute();
  }

  /** The stored result of `id` for `agreementId`, or undefined. */
  async get(agreementId: string, id: string): Promise<unknown> {
    const row = await this.db.selectFrom('simulations').select('result').where('id', '=', id).where('agreement_id', '=', agreementId).executeTakeFirst();
    return row === undefined ? undefined : JSON.parse(row.result) as unknown;
  }

  /** The stored results of `agreementId`, newest first. */
  async newestFirst(agreementId: string): Promise<unknown[]> {
    const rows = await this.db.selectFrom('simulations').select('result').where('agreement_id', '=', agreementId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map((row) => JSON.parse(row.result) as unknown);
  }
}
