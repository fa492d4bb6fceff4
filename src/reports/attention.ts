import { attention, type Attention } from '../domain/attention.js';
import type { Notice } from '../domain/notice.js';
import type { Instant } from '../domain/time.js';
import { AgreementLifecycleRepository } from '../store/agreement-lifecycle-repository.js';
import type { Store } from '../store/store.js';

/** At most this many abandoned notices are listed on the home (the notices page has them all). */
export const ABANDONED_NOTICES_SHOWN = 50;

export interface AttentionReport extends Attention {
  readonly abandonedNotices: readonly Notice[];
}

/** The staff console's home: the agreements that need someone (domain/attention.ts) and the notices given up on. */
export async function attentionReport(store: Store, now: Instant): Promise<AttentionReport> {
  const loaded = await new AgreementLifecycleRepository(store.db).list();
  const agreements = attention(loaded.map((l) => ({
    agreement: l.agreement,
    approvalsNeeded: l.columns.needsTwoApprovals ? 2 : 1,
    approvalsGiven: l.columns.approvals.length,
    deletionUnconfirmed: l.columns.deletionUnconfirmed,
    updatedAt: l.updatedAt,
  })), now);
  const abandonedNotices = await store.notices.list({ status: 'abandoned', limit: ABANDONED_NOTICES_SHOWN });
  return { ...agreements, abandonedNotices };
}
