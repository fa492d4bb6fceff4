import { sql } from 'kysely';
import type { AgreementTerms } from '../domain/agreement.js';
import type { FieldMask } from '../domain/field-catalog.js';
import { GRANT_END_REASONS, grantIsActive, type Grant, type GrantEndReason } from '../domain/grant.js';
import type { Purpose } from '../domain/purposes.js';
import type { Instant } from '../domain/time.js';
import { agreementFromRow } from './agreement-repository.js';
import { chunks } from './batches.js';
import { fromIso, fromIsoOrNull, maskFromJson, maskToJson, toIso } from './columns.js';
import type { Db } from './database.js';
import { QueryText } from './query-text.js';
import type { GrantsTable } from './schema.js';
import { refreshAppFriends } from './visible-friends.js';

export function grantFromRow(row: GrantsTable): Grant {
  return {
    id: row.id,
    memberId: row.member_id,
    appId: row.app_id,
    agreementId: row.agreement_id,
    agreementVersion: row.agreement_version === null ? null : Number(row.agreement_version),
    purpose: row.purpose as Purpose,
    memberFields: maskFromJson(row.member_fields),
    friendFields: maskFromJson(row.friend_fields),
    grantedAt: fromIso(row.granted_at),
    lastUsedAt: fromIsoOrNull(row.last_used_at),
    revokedAt: fromIsoOrNull(row.revoked_at),
    endReason: endReasonOf(row.end_reason),
  };
}

function endReasonOf(text: string | null): GrantEndReason | null {
  return GRANT_END_REASONS.find((reason) => reason === text) ?? null;
}

function grantToRow(grant: Grant): GrantsTable {
  return {
    id: grant.id,
    member_id: grant.memberId,
    app_id: grant.appId,
    agreement_id: grant.agreementId,
    agreement_version: grant.agreementVersion,
    purpose: grant.purpose,
    member_fields: maskToJson(grant.memberFields),
    friend_fields: maskToJson(grant.friendFields),
    granted_at: toIso(grant.grantedAt),
    last_used_at: grant.lastUsedAt === null ? null : toIso(grant.lastUsedAt),
    revoked_at: grant.revokedAt === null ? null : toIso(grant.revokedAt),
    end_reason: grant.endReason ?? null,
  };
}

/** A member's grant with the names a member recognises it by. */
export interface MemberGrant {
  readonly grant: Grant;
  readonly appName: string;
  readonly partnerName: string;
  /** ISO 3166-1 alpha-2. */
  readonly partnerCountry: string;
  /** The agreement the grant was given under, as it stands now; null when there is none. */
  readonly agreement: AgreementTerms | null;
}

/** Members' consents to apps. */
export class GrantRepository {
  constructor(private readonly db: Db) {}

  async insertMany(grants: readonly Grant[]): Promise<void> {
    for (const batch of chunks(grants, 300)) await this.db.insertInto('grants').values(batch.map(grantToRow)).execute();
    for (const memberId of new Set(grants.map((grant) => grant.memberId))) await refreshAppFriends(this.db, memberId);
  }

  async get(id: string): Promise<Grant | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && grantFromRow(row);
  }

  /** Records a use: the 90-day idle window restarts from `now`. */
  async touch(id: string, now: Instant): Promise<void> {
    await TOUCH.run(this.db, 'touch', [toIso(now), id]);
  }

  /** Records a grant's end (by default, its member's revocation), once: a grant already ended keeps its first end. */
  async revoke(id: string, at: Instant, reason: GrantEndReason = 'member_revoked'): Promise<void> {
    const ended = await this.db
      .updateTable('grants')
      .set({ revoked_at: toIso(at), end_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('member_id')
      .executeTakeFirst();
    // A friend whose grant ended no longer uses the app: third-party apps' friend lists stop reading them.
    if (ended !== undefined) await refreshAppFriends(this.db, ended.member_id);
  }

  /** Takes fields out of an unrevoked grant: what its tokens reach narrows with it (the rules read grant ∩ token). */
  async narrow(id: string, removeMemberFields: FieldMask, removeFriendFields: FieldMask): Promise<void> {
    const grant = await this.get(id);
    if (grant === undefined || grant.revokedAt !== null) return;
    await this.db
      .updateTable('grants')
      .set({
        member_fields: maskToJson(grant.memberFields & ~removeMemberFields),
        friend_fields: maskToJson(grant.friendFields & ~removeFriendFields),
      })
      .where('id', '=', id)
      .execute();
  }

  /** A grant with the agreement it was given under (null when it names none), as the rules read them. */
  async withAgreement(id: string): Promise<{ grant: Grant; agreement: AgreementTerms | null } | undefined> {
    const grant = await this.get(id);
    if (grant === undefined) return undefined;
    const row = grant.agreementId === null
      ? undefined
      : await this.db.selectFrom('agreements').selectAll().where('id', '=', grant.agreementId).executeTakeFirst();
    return { grant, agreement: row === undefined ? null : agreementFromRow(row, []) };
  }

  /** Every agreement with a wind-down plan, reached or not (there are few). */
  async agreementsWindingDown(): Promise<AgreementTerms[]> {
    const rows = await this.db.selectFrom('agreements').selectAll().where('wind_down', 'is not', null).execute();
    return rows.map((row) => agreementFromRow(row, []));
  }

  /**
   * Up to `limit` grants with no end recorded, last used (or given) at `idleSince` or before, and
   * as many given under one of `agreementIds`: the candidates the scheduler checks for an end.
   * Both lookups read the partial indexes of unended grants.
   */
  async unrecorded(idleSince: Instant, agreementIds: readonly string[], limit: number): Promise<Grant[]> {
    const activity = sql<string>`coalesce(last_used_at, granted_at)`;
    const idle = await this.db.selectFrom('grants').selectAll()
      .where('revoked_at', 'is', null).where(activity, '<=', toIso(idleSince))
      .limit(limit).execute();
    const underAgreements = agreementIds.length === 0 ? [] : await this.db.selectFrom('grants').selectAll()
      .where('revoked_at', 'is', null).where('agreement_id', 'in', agreementIds)
      .limit(limit).execute();
    const rows = new Map([...idle, ...underAgreements].map((row) => [row.id, row]));
    return [...rows.values()].map(grantFromRow);
  }

  /** Which of `memberIds` have an active grant with `appId` at `now`: they use the app themselves. */
  async activeUsersOf(appId: string, memberIds: readonly string[], now: Instant): Promise<Set<string>> {
    const users = new Set<string>();
    if (memberIds.length === 0) return users;
    const rows = await this.db
      .selectFrom('grants')
      .selectAll()
      .where('app_id', '=', appId)
      .where('member_id', 'in', memberIds)
      .where('revoked_at', 'is', null)
      .execute();
    for (const row of rows) if (grantIsActive(grantFromRow(row), now)) users.add(row.member_id);
    return users;
  }

  /**
   * Every grant a member ever gave (revoked and expired included), newest first, with app and
   * partner names and the agreement each was given under.
   */
  async ofMember(memberId: string): Promise<MemberGrant[]> {
    const rows = await this.db
      .selectFrom('grants as g')
      .innerJoin('apps as a', 'a.id', 'g.app_id')
      .innerJoin('partners as p', 'p.id', 'a.partner_id')
      .selectAll('g')
      .select(['a.name as app_name', 'p.legal_name as partner_name', 'p.country as partner_country'])
      .where('g.member_id', '=', memberId)
      .orderBy('g.granted_at', 'desc')
      .orderBy('g.id')
      .execute();
    const agreementIds = [...new Set(rows.flatMap((row) => (row.agreement_id === null ? [] : [row.agreement_id])))];
    const agreementRows = agreementIds.length === 0
      ? []
      : await this.db.selectFrom('agreements').selectAll().where('id', 'in', agreementIds).execute();
    const agreements = new Map(agreementRows.map((row) => [row.id, agreementFromRow(row, [])]));
    return rows.map((row) => ({
      grant: grantFromRow(row),
      appName: row.app_name,
      partnerName: row.partner_name,
      partnerCountry: row.partner_country,
      agreement: (row.agreement_id === null ? undefined : agreements.get(row.agreement_id)) ?? null,
    }));
  }

  /** The ids of every grant a member gave one app. */
  async idsOfMemberApp(memberId: string, appId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('grants').select('id').where('member_id', '=', memberId).where('app_id', '=', appId).execute();
    return rows.map((row) => row.id);
  }
}

/** Every Graph API request records its grant's use: the statement is compiled once. */
const TOUCH = new QueryText((db, [lastUsedAt, id]) =>
  db.updateTable('grants').set({ last_used_at: lastUsedAt as string }).where('id', '=', id as string));
