import type { App } from '../domain/app.js';
import type { Instant } from '../domain/time.js';
import { hashToken } from './access-token-repository.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import { appFromRow } from './partner-repository.js';

/** A partner server's token (client credentials): it speaks for an app, never for a member. */
export interface ClientTokenContext {
  readonly app: App;
  readonly expiresAt: Instant;
  readonly revokedAt: Instant | null;
}

/** Client-credentials tokens, recorded by the OAuth server and verified by the partner endpoints. */
export class ClientTokenRepository {
  constructor(private readonly db: Db) {}

  async record(token: string, appId: string, issuedAt: Instant, expiresAt: Instant): Promise<void> {
    await this.db
      .insertInto('client_tokens')
      .values({ token_hash: hashToken(token), app_id: appId, issued_at: toIso(issuedAt), expires_at: toIso(expiresAt), revoked_at: null })
      .execute();
  }

  async revoke(token: string, now: Instant): Promise<void> {
    await this.db
      .updateTable('client_tokens')
      .set({ revoked_at: toIso(now) })
      .where('token_hash', '=', hashToken(token))
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** The app behind a token, or undefined for a token never issued; expiry is the caller's to judge. */
  async verify(bearer: string): Promise<ClientTokenContext | undefined> {
    if (bearer.length < 16 || bearer.length > 200) return undefined;
    const row = await this.db
      .selectFrom('client_tokens as t')
      .innerJoin('apps as a', 'a.id', 't.app_id')
      .select(['a.id', 'a.partner_id', 'a.name', 'a.class', 'a.status', 't.expires_at', 't.revoked_at'])
      .where('t.token_hash', '=', hashToken(bearer))
      .executeTakeFirst();
    if (!row) return undefined;
    return { app: appFromRow(row), expiresAt: fromIso(row.expires_at), revokedAt: fromIsoOrNull(row.revoked_at) };
  }
}
