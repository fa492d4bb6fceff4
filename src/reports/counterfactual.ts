import type { Store } from '../store/store.js';
import { exposureSpan, type ExposureRequest } from './exposure.js';

/**
 * What the 2018 rules would have reached (PRODUCT.md §6, issue 14 point 2): for the requests the
 * log holds in a period (the same token members, the same partners), the members a 2018
 * device-integrated API would have exposed: the token's own member, every friend regardless of
 * their settings and audiences, and every friend of a friend as an identifier; beside the members
 * Datapact actually released data on. Periods are whole UTC months, as for the exposure report.
 * The friend graph is read as it stands at the time of writing, not as it stood at each request.
 */

export interface CounterfactualRow {
  readonly partner_id: string;
  readonly partner_legal_name: string;
  /** Distinct members whose tokens the partner's apps used in the period. */
  readonly token_members: number;
  /** Distinct members Datapact released any data on to the partner in the period (the exposure report's total). */
  readonly released_members: number;
  /** Distinct members the 2018 rules would have exposed: the token members, their friends and their friends' friends. */
  readonly reach_2018: number;
  /** Of `reach_2018`, those reached only as friends of friends (neither a token member nor a token member's friend). */
  readonly reach_2018_friends_of_friends_only: number;
}

export interface CounterfactualReport {
  readonly generated_at: string;
  readonly from: string;
  readonly to: string;
  readonly partner_id: string | null;
  /** Says that the reach is computed on today's friend graph. */
  readonly graph_note: string;
  readonly data: readonly CounterfactualRow[];
}

/** The report for the period asked, as of `now`: one row per partner with traffic in the period. */
export async function counterfactualReport(store: Store, request: ExposureRequest): Promise<CounterfactualReport> {
  exposureSpan(request);
  void store;
  throw new Error('counterfactualReport: being written (issue 14 point 2)');
}
