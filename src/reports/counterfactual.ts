import type { Store } from '../store/store.js';
import { ExposureQueries } from '../store/exposure-queries.js';
import { reachOf } from '../store/reach.js';
import { exposureSpan, type ExposureRequest } from './exposure.js';

/**
 * What the 2018 rules would have reached (PRODUCT.md §6, issue 14 point 2): for the requests the
 * log holds in a period (the same token members, the same partners), the members a 2018
 * device-integrated API would have exposed: the token's own member, every friend regardless of
 * their settings and audiences, and every friend of a friend as an identifier; beside the members
 * Datapact actually released data on. Periods are whole UTC months, as for the exposure report.
 * The friend graph is read as it stands at the time of writing, not as it stood at each request.
 * From the member sets kept current (src/store/reach.ts), never a scan of the log.
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

export const GRAPH_NOTE = 'The 2018 reach is computed on the friend graph as it stands when the report is written, not as it stood at each request.';

/** The report for the period asked, as of `now`: one row per partner whose apps made requests in the period. */
export async function counterfactualReport(store: Store, request: ExposureRequest): Promise<CounterfactualReport> {
  const span = exposureSpan(request);
  const queries = new ExposureQueries(store.readDb);
  const lines = await queries.agreements(span.partnerId);
  const names = new Map(lines.map((line) => [line.partnerId, line.partnerLegalName]));
  const [sets, reach] = await Promise.all([
    queries.sets(span, new Set(lines.map((line) => line.agreementId))),
    reachOf(store.readDb, span.from, span.to),
  ]);
  const released = new Map(queries.byGroup(sets, new Map(lines.map((line) => [line.agreementId, line.partnerId])))
    .map((group) => [group.key, group.members.total]));
  const data: CounterfactualRow[] = [];
  for (const [partnerId, partnerReach] of reach) {
    if (span.partnerId !== undefined && partnerId !== span.partnerId) continue;
    const direct = partnerReach.tokens.clone();
    direct.orInPlace(partnerReach.friends);
    const fofOnly = partnerReach.friendsOfFriends.clone();
    fofOnly.andNotInPlace(direct);
    data.push({
      partner_id: partnerId,
      partner_legal_name: names.get(partnerId) ?? partnerId,
      token_members: partnerReach.tokens.size,
      released_members: released.get(partnerId) ?? 0,
      reach_2018: direct.size + fofOnly.size,
      reach_2018_friends_of_friends_only: fofOnly.size,
    });
  }
  data.sort((a, b) => a.partner_legal_name.localeCompare(b.partner_legal_name) || a.partner_id.localeCompare(b.partner_id));
  return {
    generated_at: new Date(request.now).toISOString(),
    from: span.from,
    to: span.to,
    partner_id: span.partnerId ?? null,
    graph_note: GRAPH_NOTE,
    data,
  };
}
