import { AccessHistoryRepository } from './access-history-repository.js';
import { AccessTokenRepository } from './access-token-repository.js';
import { AgreementRepository } from './agreement-repository.js';
import { AuditQueryRepository } from './audit-query-repository.js';
import { AuditRepository } from './audit-repository.js';
import { ClientTokenRepository } from './client-token-repository.js';
import { CosignatureRepository } from './cosignature-repository.js';
import { DeletionRequestRepository } from './deletion-request-repository.js';
import { closeSqliteReader, type Db } from './database.js';
import { FriendshipRepository } from './friendship-repository.js';
import { GrantRepository } from './grant-repository.js';
import { MemberCredentialRepository } from './member-credential-repository.js';
import { MemberRepository } from './member-repository.js';
import { NoticeRepository } from './notice-repository.js';
import { PartnerFilingRepository } from './partner-filing-repository.js';
import { PartnerRepository } from './partner-repository.js';
import { RateLimitCounterRepository } from './rate-limit-counter-repository.js';
import { RoleProposalRepository } from './role-proposal-repository.js';
import { StaffRepository } from './staff-repository.js';
import { StaffTwoFactorRepository } from './staff-two-factor-repository.js';

/** Every repository over one database: what callers use instead of SQL. */
export interface Store {
  readonly db: Db;
  /**
   * Where the staff's long reads run (the inventory, audit queries and daily counts): on a SQLite
   * file a worker thread's read-only connection, so that they never hold up the Graph API; else
   * `db` (database.ts, openReadDatabase). It sees what `db` has committed, not a transaction's own.
   */
  readonly readDb: Db;
  readonly members: MemberRepository;
  readonly friendships: FriendshipRepository;
  readonly partners: PartnerRepository;
  readonly agreements: AgreementRepository;
  readonly grants: GrantRepository;
  readonly tokens: AccessTokenRepository;
  readonly audit: AuditRepository;
  readonly credentials: MemberCredentialRepository;
  readonly clientTokens: ClientTokenRepository;
  readonly filings: PartnerFilingRepository;
  readonly staff: StaffRepository;
  /** Staff TOTP authenticators and recovery codes (migration 0019). */
  readonly staffTwoFactor: StaffTwoFactorRepository;
  /** Notices to partners' webhooks and their delivery attempts (migration 0006). */
  readonly notices: NoticeRepository;
  /** Members' access history: what was released about them (PRODUCT.md §6). */
  readonly accessHistory: AccessHistoryRepository;
  /** Staff queries over the whole audit log: filtered entries and daily counts (issue 5), through `readDb`. */
  readonly auditQueries: AuditQueryRepository;
  /** Login-attempt counters, shared by every instance on the database (migration 0013). */
  readonly rateLimits: RateLimitCounterRepository;
  /** Grants of privacy_officer or admin waiting for a second admin (migration 0016). */
  readonly roleProposals: RoleProposalRepository;
  /** Closes `readDb` (when it is its own) and `db`. */
  close(): Promise<void>;
  /** Witnesses' cosignatures of the audit log's checkpoints (migration 0015). */
  readonly cosignatures: CosignatureRepository;
  /** Members' requests that a partner delete their data (migration 0025). */
  readonly deletionRequests: DeletionRequestRepository;
}

/** `readDb` defaults to `db` (a transaction's store reads what the transaction wrote). */
export function createStore(db: Db, readDb: Db = db): Store {
  return {
    db,
    readDb,
    members: new MemberRepository(db),
    friendships: new FriendshipRepository(db),
    partners: new PartnerRepository(db),
    agreements: new AgreementRepository(db),
    grants: new GrantRepository(db),
    tokens: new AccessTokenRepository(db),
    audit: new AuditRepository(db),
    credentials: new MemberCredentialRepository(db),
    clientTokens: new ClientTokenRepository(db),
    filings: new PartnerFilingRepository(db),
    staff: new StaffRepository(db),
    staffTwoFactor: new StaffTwoFactorRepository(db),
    notices: new NoticeRepository(db),
    accessHistory: new AccessHistoryRepository(db),
    auditQueries: new AuditQueryRepository(readDb),
    rateLimits: new RateLimitCounterRepository(db),
    roleProposals: new RoleProposalRepository(db),
    async close() {
      if (readDb !== db) {
        closeSqliteReader(readDb);
        await readDb.destroy();
      }
      await db.destroy();
    },
    cosignatures: new CosignatureRepository(db),
    deletionRequests: new DeletionRequestRepository(db),
  };
}
