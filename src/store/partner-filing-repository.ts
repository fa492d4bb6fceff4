import { randomUUID } from 'node:crypto';
import type { Instant } from '../domain/time.js';
import { fromIso, toIso } from './columns.js';
import type { Db } from './database.js';

export type FilingKind = 'certification' | 'deletion_attestation';

const TABLE = { certification: 'agreement_certifications', deletion_attestation: 'deletion_attestations' } as const;

export interface PartnerFiling {
  readonly id: string;
  readonly kind: FilingKind;
  readonly agreementId: string;
  readonly agreementVersion: number;
  readonly appId: string;
  readonly signedBy: string;
  readonly statement: string;
  readonly filedAt: Instant;
}

/** Certifications and deletion attestations partners file; the lifecycle acts on them. */
export class PartnerFilingRepository {
  constructor(private readonly db: Db) {}

  async file(filing: Omit<PartnerFiling, 'id'>): Promise<PartnerFiling> {
    const id = `${filing.kind === 'certification' ? 'cert' : 'att'}_${randomUUID()}`;
    await this.db
      .insertInto(TABLE[filing.kind])
      .values({
        id,
        agreement_id: filing.agreementId,
        agreement_version: filing.agreementVersion,
        app_id: filing.appId,
        signed_by: filing.signedBy,
        statement: filing.statement,
        filed_at: toIso(filing.filedAt),
      })
      .execute();
    return { ...filing, id };
  }

  async ofAgreement(kind: FilingKind, agreementId: string): Promise<PartnerFiling[]> {
    return this.ofAgreements(kind, [agreementId]);
  }

  /** Filings of one kind for any of the agreements, oldest first. */
  async ofAgreements(kind: FilingKind, agreementIds: readonly string[]): Promise<PartnerFiling[]> {
    if (agreementIds.length === 0) return [];
    const rows = await this.db.selectFrom(TABLE[kind]).selectAll().where('agreement_id', 'in', [...agreementIds])
      .orderBy('filed_at').orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      kind,
      agreementId: row.agreement_id,
      agreementVersion: Number(row.agreement_version),
      appId: row.app_id,
      signedBy: row.signed_by,
      statement: row.statement,
      filedAt: fromIso(row.filed_at),
    }));
  }
}
