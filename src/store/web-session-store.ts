import type { Instant } from '../domain/time.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

/** What a web session holds: plain JSON (the member id, the cookie's options). Never a password. */
export type WebSessionData = Record<string, unknown>;

/**
 * Server-side web sessions (the members' privacy center): the cookie carries only the signed id,
 * the data stays here until `expires_at`. An expired session is treated as absent, whether or not
 * it has been purged yet.
 *
 * The clock is the wall clock by default, not the rules' clock: sessions expire with the cookie
 * that @fastify/session dates by `Date.now()`.
 */
export class WebSessionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Instant = Date.now,
  ) {}

  /** The session's data, or undefined when there is none, it has expired or it cannot be read. */
  async get(id: string): Promise<WebSessionData | undefined> {
    const row = await this.db.selectFrom('web_sessions').select(['data', 'expires_at']).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    if (Date.parse(row.expires_at) <= this.clock()) {
      await this.destroy(id);
      return undefined;
    }
    try {
      const data: unknown = JSON.parse(row.data);
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as WebSessionData) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Creates or replaces a session. */
  async set(id: string, data: WebSessionData, expiresAt: Instant): Promise<void> {
    const row = { id, data: JSON.stringify(data), expires_at: toIso(expiresAt) };
    await this.db
      .insertInto('web_sessions')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ data: row.data, expires_at: row.expires_at }))
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('web_sessions').where('id', '=', id).execute();
  }

  /** Deletes every expired session; returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.db.deleteFrom('web_sessions').where('expires_at', '<=', toIso(this.clock())).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
