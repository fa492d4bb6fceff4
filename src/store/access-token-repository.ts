import { createHash, randomBytes } from 'node:crypto';
import { CompiledQuery, type InferResult } from 'kysely';
import type { RequestContext } from '../domain/access-plan.js';
import type { TokenScope } from '../domain/access-token.js';
import type { Instant } from '../domain/time.js';
import { agreementFromRow, type AgreementTermsRow } from './agreement-repository.js';
import { fromIso, fromIsoOrNull, maskFromJson, maskToJson, numberOf, toIso } from './columns.js';
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
  private verifyText: string | undefined;

  constructor(private readonly db: Db) {}

  /** Mints a development token (the CLI's): refused by the Graph API in production. */
  async issue(grantId: string, now: Instant, ttlMs: number): Promise<{ token: string; expiresAt: Instant }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = now + ttlMs;
    await this.record(token, grantId, now, expiresAt, 'development');
    return { token, expiresAt };
  }

  /**
   * Records a token minted elsewhere (the OAuth server) so that `verify` knows it; `scope`, the
   * fields it was issued for, when it may read less than its grant.
   */
  async record(token: string, grantId: string, issuedAt: Instant, expiresAt: Instant, origin: TokenOrigin, scope: TokenScope | null = null): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({
        token_hash: hashToken(token), grant_id: grantId, issued_at: toIso(issuedAt), expires_at: toIso(expiresAt), revoked_at: null, origin,
        member_fields: scope === null ? null : maskToJson(scope.memberFields),
        friend_fields: scope === null ? null : maskToJson(scope.friendFields),
      })
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
    const { rows } = await this.db.executeQuery(CompiledQuery.raw(this.verifySql(), [hashToken(bearer)]) as CompiledQuery<VerifyRow>);
    const row = rows[0];
    if (!row) return undefined;
    return {
      token: { grantId: row.id, expiresAt: fromIso(row.expires_at), revokedAt: fromIsoOrNull(row.token_revoked_at), scope: scopeOf(row) },
      grant: grantFromRow(row),
      app: appFromRow({ id: row.app_id, partner_id: row.partner_id, name: row.app_name, class: row.app_class, status: row.app_status }),
      agreement: agreementOf(row),
      member: { id: row.member_id, platformEnabled: row.platform_enabled === 1, number: numberOf(row.member_number) },
      partnerId: row.partner_id,
      tokenOrigin: row.origin,
    };
  }

  /**
   * Every request starts with verify's query; its 38 columns cost Kysely more to build and compile
   * than the database takes to run it. It is the same query for every token (only the hash, its
   * one parameter, differs), so it is compiled once per repository.
   */
  private verifySql(): string {
    if (this.verifyText === undefined) {
      const compiled = verifyQuery(this.db, VERIFY_PLACEHOLDER).compile();
      if (compiled.parameters.length !== 1 || compiled.parameters[0] !== VERIFY_PLACEHOLDER) {
        throw new Error('the token query must have the token hash as its one parameter');
      }
      this.verifyText = compiled.sql;
    }
    return this.verifyText;
  }
}

const VERIFY_PLACEHOLDER = 'token-hash';

/** A token's row joined to its grant, app, member and agreement: one query for all the request-level rules read. */
function verifyQuery(db: Db, tokenHash: string) {
  return db
    .selectFrom('access_tokens as t')
    .innerJoin('grants as g', 'g.id', 't.grant_id')
    .innerJoin('apps as p', 'p.id', 'g.app_id')
    .innerJoin('members as m', 'm.id', 'g.member_id')
    .leftJoin('agreements as a', 'a.id', 'g.agreement_id')
    .select([
      't.expires_at', 't.revoked_at as token_revoked_at', 't.origin', 't.member_fields as t_member_fields',
      't.friend_fields as t_friend_fields',
      'g.id', 'g.member_id', 'g.app_id', 'g.agreement_id', 'g.agreement_version', 'g.purpose', 'g.member_fields',
      'g.friend_fields', 'g.granted_at', 'g.last_used_at', 'g.revoked_at', 'g.end_reason',
      'p.partner_id', 'p.name as app_name', 'p.class as app_class', 'p.status as app_status',
      'm.platform_enabled', 'm.number as member_number',
      'a.id as a_id', 'a.version as a_version', 'a.partner_id as a_partner_id', 'a.status as a_status',
      'a.status_reason as a_status_reason', 'a.purposes as a_purposes', 'a.member_fields as a_member_fields',
      'a.friend_fields as a_friend_fields', 'a.retention_days as a_retention_days', 'a.storage_location as a_storage_location',
      'a.storage_country as a_storage_country', 'a.storage_safeguard as a_storage_safeguard', 'a.starts_at as a_starts_at', 'a.ends_at as a_ends_at',
      'a.certification_due_at as a_certification_due_at', 'a.wind_down as a_wind_down',
    ])
    .where('t.token_hash', '=', tokenHash);
}

type VerifyRow = InferResult<ReturnType<typeof verifyQuery>>[number];

function scopeOf(row: { t_member_fields: string | null; t_friend_fields: string | null }): TokenScope | null {
  if (row.t_member_fields === null || row.t_friend_fields === null) return null;
  return { memberFields: maskFromJson(row.t_member_fields), friendFields: maskFromJson(row.t_friend_fields) };
}

type JoinedAgreement = { [K in keyof AgreementTermsRow as `a_${K}`]: AgreementTermsRow[K] | null };

/** The agreement joined to the grant, or null when the grant names none (or names one that is gone). */
function agreementOf(row: JoinedAgreement) {
  if (row.a_id === null) return null;
  return agreementFromRow({
    id: row.a_id, version: row.a_version!, partner_id: row.a_partner_id!, status: row.a_status!, status_reason: row.a_status_reason,
    purposes: row.a_purposes!, member_fields: row.a_member_fields!, friend_fields: row.a_friend_fields!,
    retention_days: row.a_retention_days!, storage_location: row.a_storage_location!, storage_country: row.a_storage_country, storage_safeguard: row.a_storage_safeguard,
    starts_at: row.a_starts_at!, ends_at: row.a_ends_at!, certification_due_at: row.a_certification_due_at!, wind_down: row.a_wind_down,
  }, []);
}
