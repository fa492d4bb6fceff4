import { attention, type Attention } from '../domain/attention.js';
import type { CheckpointView } from '../audit/log-checkpoints.js';
import { DELETION_CONFIRMATION_DAYS } from '../domain/deletion-request.js';
import { NotFound } from '../domain/errors.js';
import type { Notice } from '../domain/notice.js';
import { addDays, type Instant } from '../domain/time.js';
import { AgreementLifecycleRepository } from '../store/agreement-lifecycle-repository.js';
import type { DeletionRequest } from '../store/deletion-request-repository.js';
import type { Store } from '../store/store.js';

/** At most this many abandoned notices are listed on the home (the notices page has them all). */
export const ABANDONED_NOTICES_SHOWN = 50;

export interface AttentionReport extends Attention {
  readonly abandonedNotices: readonly Notice[];
  /** Members' deletion requests a partner left unconfirmed past its 30 days, oldest first. */
  readonly memberDeletionsUnconfirmed: readonly DeletionRequest[];
  /** The latest signed head's cosignatures against the witnesses' quorum; null without witnesses or a head. */
  readonly witnesses: { readonly size: number; readonly cosignatures: number; readonly quorum: number; readonly behind: boolean } | null;
}

/** What the home asks of the log's checkpoints (audit/log-checkpoints.ts). */
export interface LatestCheckpoint {
  latestView(): Promise<Pick<CheckpointView, 'head' | 'cosignatures' | 'quorum' | 'underQuorum'>>;
}

/**
 * The staff console's home: the agreements that need someone (domain/attention.ts), the notices
 * given up on, members' deletion requests left unconfirmed, and witnesses behind the latest head.
 */
export async function attentionReport(store: Store, now: Instant, checkpoints?: LatestCheckpoint): Promise<AttentionReport> {
  const loaded = await new AgreementLifecycleRepository(store.db).list();
  const agreements = attention(loaded.map((l) => ({
    agreement: l.agreement,
    approvalsNeeded: l.columns.needsTwoApprovals ? 2 : 1,
    approvalsGiven: l.columns.approvals.length,
    deletionUnconfirmed: l.columns.deletionUnconfirmed,
    updatedAt: l.updatedAt,
  })), now);
  const abandonedNotices = await store.notices.list({ status: 'abandoned', limit: ABANDONED_NOTICES_SHOWN });
  const memberDeletionsUnconfirmed = await store.deletionRequests.unconfirmedSince(addDays(now, -DELETION_CONFIRMATION_DAYS), ABANDONED_NOTICES_SHOWN);
  return { ...agreements, abandonedNotices, memberDeletionsUnconfirmed, witnesses: await witnessesOf(checkpoints) };
}

async function witnessesOf(checkpoints: LatestCheckpoint | undefined): Promise<AttentionReport['witnesses']> {
  if (checkpoints === undefined) return null;
  try {
    const view = await checkpoints.latestView();
    if (view.quorum === 0) return null;
    return { size: view.head.size, cosignatures: view.cosignatures.length, quorum: view.quorum, behind: view.underQuorum };
  } catch (error) {
    if (error instanceof NotFound) return null; // no head signed yet, or one from before checkpoints
    throw error;
  }
}
