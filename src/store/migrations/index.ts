import type { Migration, MigrationProvider } from 'kysely';
import { foundation } from './0001-foundation.js';
import { memberLogins } from './0002-member-logins.js';
import { oauth } from './0003-oauth.js';
import { partnerRecords } from './0004-partner-records.js';
import { staff } from './0005-staff.js';
import { notices } from './0006-notices.js';
import { agreementLifecycle } from './0007-agreement-lifecycle.js';
import { accessHistoryIndex } from './0008-access-history-index.js';
import { auditTree } from './0009-audit-tree.js';
import { auditQueryIndexes } from './0010-audit-query-indexes.js';
import { leanAuditIndexes } from './0011-lean-audit-indexes.js';
import { clusteredFriendships } from './0012-clustered-friendships.js';
import { rateLimitCounters } from './0013-rate-limit-counters.js';
import { separationOfDuties } from './0016-separation-of-duties.js';
import { staffCredentials } from './0019-staff-credentials.js';
import { grantEndings } from './0017-grant-endings.js';
import { auditCosignatures } from './0015-audit-cosignatures.js';
import { blindedAuditEntries } from './0014-blinded-audit-entries.js';
import { transferSafeguards } from './0027-transfer-safeguards.js';
import { checkpointSignatures } from './0022-checkpoint-signatures.js';
import { readinessProbes } from './0023-readiness-probes.js';
import { auditAggregates } from './0021-audit-aggregates.js';
import { leanAuditLog } from './0020-lean-audit-log.js';
import { memberPrivacyCenter } from './0025-member-privacy-center.js';
import { memberSets } from './0028-member-sets.js';
import { auditMemberIndex } from './0030-audit-member-index.js';
import { auditFieldUses } from './0032-audit-field-uses.js';
import { simulations } from './0031-simulations.js';
import { countJournals } from './0034-count-journals.js';
import { partitionedSubjectIndex } from './0035-partitioned-subject-index.js';
import { memberSetDeltas } from './0036-member-set-deltas.js';
import { memberNumbersOnMembers } from './0037-member-numbers-on-members.js';
import { visibleFriends } from './0038-visible-friends.js';
import { leafSubjectNumbers } from './0039-leaf-subject-numbers.js';
import { friendNumberLists } from './0040-friend-number-lists.js';
import { requestTimePartitions } from './0041-request-time-partitions.js';
import { requestReplaySubjects } from './0042-request-replay-subjects.js';
import { replaySegments } from './0043-replay-segments.js';
import { worldVersion } from './0044-world-version.js';
import { worldChanges } from './0045-world-changes.js';

/** Migrations live in code, not found on disk, so they work the same from src/ under tsx and from dist/. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-member-logins': memberLogins,
  '0003-oauth': oauth,
  '0004-partner-records': partnerRecords,
  '0005-staff': staff,
  '0006-notices': notices,
  '0007-agreement-lifecycle': agreementLifecycle,
  '0008-access-history-index': accessHistoryIndex,
  '0009-audit-tree': auditTree,
  '0010-audit-query-indexes': auditQueryIndexes,
  '0011-lean-audit-indexes': leanAuditIndexes,
  '0012-clustered-friendships': clusteredFriendships,
  '0013-rate-limit-counters': rateLimitCounters,
  '0016-separation-of-duties': separationOfDuties,
  '0019-staff-credentials': staffCredentials,
  '0017-grant-endings': grantEndings,
  '0015-audit-cosignatures': auditCosignatures,
  '0014-blinded-audit-entries': blindedAuditEntries,
  '0027-transfer-safeguards': transferSafeguards,
  '0022-checkpoint-signatures': checkpointSignatures,
  '0023-readiness-probes': readinessProbes,
  '0021-audit-aggregates': auditAggregates,
  '0020-lean-audit-log': leanAuditLog,
  '0025-member-privacy-center': memberPrivacyCenter,
  '0028-member-sets': memberSets,
  '0030-audit-member-index': auditMemberIndex,
  '0031-simulations': simulations,
  '0032-audit-field-uses': auditFieldUses,
  '0034-count-journals': countJournals,
  '0035-partitioned-subject-index': partitionedSubjectIndex,
  '0036-member-set-deltas': memberSetDeltas,
  '0037-member-numbers-on-members': memberNumbersOnMembers,
  '0038-visible-friends': visibleFriends,
  '0039-leaf-subject-numbers': leafSubjectNumbers,
  '0040-friend-number-lists': friendNumberLists,
  '0041-request-time-partitions': requestTimePartitions,
  '0042-request-replay-subjects': requestReplaySubjects,
  '0043-replay-segments': replaySegments,
  '0044-world-version': worldVersion,
  '0045-world-changes': worldChanges,
};

/** The migrations this version knows, by name: a database that has had others is from a newer version. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
