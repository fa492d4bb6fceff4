import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Instant } from '../domain/time.js';
import { fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';

/**
 * oidc-provider's storage: every model (sessions, interactions, codes, grants, tokens...) in the
 * one table `oidc_payloads`, the payload as JSON and the keys the library looks things up by
 * (grant id, session uid, device user code, expiry) in their own indexed columns.
 *
 * Expiry is the library's own: `expiresIn` seconds from `now`, which is the wall clock unless a
 * test injects another. An expired row is never returned; `purgeExpired` deletes them.
 */
export class OidcAdapter implements Adapter {
  constructor(
    private readonly db: Db,
    /** The oidc-provider model this instance stores: `Session`, `AccessToken`, `Grant`... */
    readonly model: string,
    private readonly now: () => Instant = Date.now,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const row = {
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
      expires_at: typeof expiresIn === 'number' ? toIso(this.now() + expiresIn * 1000) : null,
      consumed_at: null,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values(row)
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({
        payload: row.payload,
        grant_id: row.grant_id,
        uid: row.uid,
        user_code: row.user_code,
        expires_at: row.expires_at,
        consumed_at: null,
      }))
      .execute();
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('id', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.db
      .updateTable('oidc_payloads')
      .set({ consumed_at: toIso(this.now()) })
      .where('model', '=', this.model)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('grant_id', '=', grantId).execute();
  }

  /** Deletes every expired row of every model; returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.db.deleteFrom('oidc_payloads').where('expires_at', '<=', toIso(this.now())).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const row = await this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'expires_at', 'consumed_at'])
      .where('model', '=', this.model)
      .where(column, '=', value)
      .executeTakeFirst();
    if (!row) return undefined;
    const expiresAt = fromIsoOrNull(row.expires_at);
    if (expiresAt !== null && expiresAt <= this.now()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    const consumedAt = fromIsoOrNull(row.consumed_at);
    // The library reads `consumed` as a truthy timestamp in seconds, as its own adapters keep it.
    return consumedAt === null ? payload : { ...payload, consumed: Math.floor(consumedAt / 1000) };
  }
}

/**
 * Deletes oidc-provider's grants of these ids: what ending a Datapact grant does to the
 * authorization server's records. Their codes and tokens stay until they expire, dead: every
 * endpoint that honours one loads its grant first.
 */
export async function forgetOidcGrants(db: Db, grantIds: readonly string[]): Promise<void> {
  if (grantIds.length === 0) return;
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', 'in', grantIds).execute();
}
