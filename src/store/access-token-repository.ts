import { createHash, randomBytes } from 'node:crypto';
import type { RequestContext } from '../domain/access-plan.js';
import type { Instant } from '../domain/time.js';
import { agreementFromRow } from './agreement-repository.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import type { TokenOrigin } from './schema.js';
import { grantFromRow } from './grant-repository.js';
import { appFromRow } from './partner-repository.js';

/** A verified token's grant and the world the request-level rules read, plus who to audit. */
export interface GrantContext extends RequestContext {
  readonly partnerId: string;
  readonly tokenOrigin: TokenOrigin;
}

const TOKEN_PREFIX = 'dp_';

export function hashToken(bearer: string): string {
  return createHash('sha256').update(bearer).digest('hex');
}

/**
 * Bearer tokens bound to a grant. Only a token's SHA-256 is stored, so a copy of the database
 * holds no usable token. Every way of minting tokens (the CLI now, OAuth later) goes through
 * `issue`, and every request through `verify`.
 */
export class AccessTokenRepository {
  constructor(private readonly db: Db) {}

  /** Mints a development token (the CLI's): refused by the Graph API in production. */
  async issue(grantId: string, now: Instant, ttlMs: number): Promise<{ token: string; expiresAt: Instant }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = now + ttlMs;
    await this.record(token, grantId, now, expiresAt, 'development');
    return { token, expiresAt };
  }

  /** Records a token minted elsewhere (the OAuth server) so that `verify` knows it. */
  async record(token: string, grantId: string, issuedAt: Instant, expiresAt: Instant, origin: TokenOrigin): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ token_hash: hashToken(token), grant_id: grantId, issued_at: toIso(issuedAt), expires_at: toIso(expiresAt), revoked_at: null, origin })
      .execute();
  }

  /** Revokes every token of a grant: what revoking an app does. */
  async revokeAllOfGrant(grantId: string, now: Instant): Promise<void> {
    await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: toIso(now) })
      .where('grant_id', '=', grantId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revoke(bearer: string, now: Instant): Promise<void> {
    await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: toIso(now) })
      .where('token_hash', '=', hashToken(bearer))
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * The grant context of a bearer token, or undefined when no such token was ever issued.
   * Expiry and revocation are left to the rules, which judge them against `now`.
   */
  async verify(bearer: string): Promise<GrantContext | undefined> {
    if (bearer.length < 16 || bearer.length > 200) return undefined;
    const row = await this.db
      .selectFrom('access_tokens as t')
      .innerJoin('grants as g', 'g.id', 't.grant_id')
      .innerJoin('apps as p', 'p.id', 'g.app_id')
      .innerJoin('members as m', 'm.id', 'g.member_id')
      .select([
        't.expires_at', 't.revoked_at as token_revoked_at', 't.origin',
        'g.id', 'g.member_id', 'g.app_id', 'g.agreement_id', 'g.agreement_version', 'g.purpose', 'g.member_fields',
        'g.friend_fields', 'g.granted_at', 'g.last_used_at', 'g.revoked_at',
        'p.partner_id', 'p.name as app_name', 'p.class as app_class', 'p.status as app_status',
        'm.platform_enabled',
      ])
      .where('t.token_hash', '=', hashToken(bearer))
      .executeTakeFirst();
    if (!row) return undefined;
    const agreementRow = row.agreement_id === null
      ? undefined
      : await this.db.selectFrom('agreements').selectAll().where('id', '=', row.agreement_id).executeTakeFirst();
    return {
      token: { grantId: row.id, expiresAt: fromIso(row.expires_at), revokedAt: fromIsoOrNull(row.token_revoked_at) },
      grant: grantFromRow(row),
      app: appFromRow({ id: row.app_id, partner_id: row.partner_id, name: row.app_name, class: row.app_class, status: row.app_status }),
      agreement: agreementRow ? agreementFromRow(agreementRow, []) : null,
      member: { id: row.member_id, platformEnabled: row.platform_enabled === 1 },
      partnerId: row.partner_id,
      tokenOrigin: row.origin,
    };
  }
}
