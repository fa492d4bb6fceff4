import { randomBytes } from 'node:crypto';
import type { Instant } from '../domain/time.js';
import { fromIso, fromIsoOrNull, toIso } from './columns.js';
import type { Db } from './database.js';
import type { DeletionRequestsTable } from './schema.js';

/** A member's request that a partner delete their data (migration 0025). */
export interface DeletionRequest {
  readonly id: string;
  readonly memberId: string;
  readonly partnerId: string;
  readonly requestedAt: Instant;
  readonly confirmedAt: Instant | null;
}

function fromRow(row: DeletionRequestsTable): DeletionRequest {
  return {
    id: row.id, memberId: row.member_id, partnerId: row.partner_id,
    requestedAt: fromIso(row.requested_at), confirmedAt: fromIsoOrNull(row.confirmed_at),
  };
}

export function newDeletionRequestId(): string {
  return `del_${randomBytes(12).toString('base64url')}`;
}

export class DeletionRequestRepository {
  constructor(private readonly db: Db) {}

  async insert(request: DeletionRequest): Promise<void> {
    await this.db.insertInto('deletion_requests').values({
      id: request.id, member_id: request.memberId, partner_id: request.partnerId,
      requested_at: toIso(request.requestedAt), confirmed_at: request.confirmedAt === null ? null : toIso(request.confirmedAt),
    }).execute();
  }

  async get(id: string): Promise<DeletionRequest | undefined> {
    const row = await this.db.selectFrom('deletion_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  /** A member's requests, newest first. */
  async ofMember(memberId: string): Promise<DeletionRequest[]> {
    const rows = await this.db.selectFrom('deletion_requests').selectAll().where('member_id', '=', memberId)
      .orderBy('requested_at', 'desc').orderBy('id').execute();
    return rows.map(fromRow);
  }

  /** A partner's requests still unconfirmed, oldest first. */
  async openOfPartner(partnerId: string): Promise<DeletionRequest[]> {
    const rows = await this.db.selectFrom('deletion_requests').selectAll().where('partner_id', '=', partnerId)
      .where('confirmed_at', 'is', null).orderBy('requested_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  /** Requests made at or before `cutoff` and still unconfirmed, oldest first. */
  async unconfirmedSince(cutoff: Instant, limit: number): Promise<DeletionRequest[]> {
    const rows = await this.db.selectFrom('deletion_requests').selectAll().where('confirmed_at', 'is', null)
      .where('requested_at', '<=', toIso(cutoff)).orderBy('requested_at').orderBy('id').limit(limit).execute();
    return rows.map(fromRow);
  }

  /** Records the partner's confirmation once; a second confirmation keeps the first instant. */
  async confirm(id: string, at: Instant): Promise<void> {
    await this.db.updateTable('deletion_requests').set({ confirmed_at: toIso(at) })
      .where('id', '=', id).where('confirmed_at', 'is', null).execute();
  }
}
