import { AccessHistoryRepository } from './access-history-repository.js';
import { AccessTokenRepository } from './access-token-repository.js';
import { AgreementRepository } from './agreement-repository.js';
import { AuditQueryRepository } from './audit-query-repository.js';
import { AuditRepository } from './audit-repository.js';
import { ClientTokenRepository } from './client-token-repository.js';
import { CosignatureRepository } from './cosignature-repository.js';
import type { Db } from './database.js';
import { FriendshipRepository } from './friendship-repository.js';
import { GrantRepository } from './grant-repository.js';
import { MemberCredentialRepository } from './member-credential-repository.js';
import { MemberRepository } from './member-repository.js';
import { NoticeRepository } from './notice-repository.js';
import { PartnerFilingRepository } from './partner-filing-repository.js';
import { PartnerRepository } from './partner-repository.js';
import { RateLimitCounterRepository } from './rate-limit-counter-repository.js';
import { StaffRepository } from './staff-repository.js';

/** Every repository over one database: what callers use instead of SQL. */
export interface Store {
  readonly db: Db;
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
  /** Notices to partners' webhooks and their delivery attempts (migration 0006). */
  readonly notices: NoticeRepository;
  /** Members' access history: what was released about them (PRODUCT.md §6). */
  readonly accessHistory: AccessHistoryRepository;
  /** Staff queries over the whole audit log: filtered entries and daily counts (issue 5). */
  readonly auditQueries: AuditQueryRepository;
  /** Login-attempt counters, shared by every instance on the database (migration 0013). */
  readonly rateLimits: RateLimitCounterRepository;
  /** Witnesses' cosignatures of the audit log's checkpoints (migration 0015). */
  readonly cosignatures: CosignatureRepository;
}

export function createStore(db: Db): Store {
  return {
    db,
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
    notices: new NoticeRepository(db),
    accessHistory: new AccessHistoryRepository(db),
    auditQueries: new AuditQueryRepository(db),
    rateLimits: new RateLimitCounterRepository(db),
    cosignatures: new CosignatureRepository(db),
  };
}
