import { notInEffectCause, type Agreement } from '../domain/agreement.js';
import { addMonths, MAX_TERM_MONTHS, readableInstant } from '../domain/agreement-draft.js';
import { Conflict, NotFound } from '../domain/errors.js';
import { fieldsOf, maskOf, type Field, type FieldMask } from '../domain/field-catalog.js';
import { GRANT_IDLE_DAYS } from '../domain/grant.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import { hasReached } from '../domain/wind-down.js';
import type { DraftRequest } from '../lifecycle/agreement-service.js';
import { LeastPrivilegeQueries, type FieldUse, type GrantGroup, type ReviewedAgreement } from '../store/least-privilege-queries.js';
import type { Store } from '../store/store.js';

/**
 * The least-privilege report (PRODUCT.md §6; issue 15 point 2): per agreement, and per population
 * of its live grants (one app, one purpose), what is allowed and was never used in the 90 days
 * before `now`: member fields never released directly, friend fields never released through
 * friends (each way on its own: a field released directly but never through friends is still a
 * friend field to remove), and purposes no release was made for. Exact, from the first and last
 * release of each field kept on append (`audit_field_uses`), never a scan of the log.
 *
 * No suggestion where there is nothing to learn from: an agreement that was never in effect, one
 * whose access has ended, and one in effect for less than the 90 days (it says since when). Friend
 * fields that a wind-down has already cut (`no_friend_data`) are not suggested either.
 */

export const LEAST_PRIVILEGE_WINDOW_DAYS = 90;

/**
 * - `suggestions`: something allowed was never used; `suggested` holds the terms without it;
 * - `least_privilege`: everything allowed was used;
 * - `unused`: nothing at all was released under it in the window: winding it down, not a smaller draft;
 * - `too_young`: in effect for less than the window;
 * - `not_in_effect`: a draft, under review, terminated, or not started;
 * - `access_ended`: its end date or its wind-down's `access_ended` has passed.
 */
export const LEAST_PRIVILEGE_STATES = ['suggestions', 'least_privilege', 'unused', 'too_young', 'not_in_effect', 'access_ended'] as const;
export type LeastPrivilegeState = (typeof LEAST_PRIVILEGE_STATES)[number];

export interface SuggestedTerms {
  readonly purposes: readonly string[];
  readonly member_fields: readonly string[];
  readonly friend_fields: readonly string[];
}

/** The live grants of one app and purpose under the agreement, and what they consent to that was never used that way. */
export interface GrantPopulationRow {
  readonly app_id: string;
  readonly purpose: string;
  readonly grants: number;
  /** Consented fields the agreement still allows. */
  readonly member_fields: readonly string[];
  readonly friend_fields: readonly string[];
  readonly unused_member_fields: readonly string[];
  readonly unused_friend_fields: readonly string[];
}

export interface LeastPrivilegeRow {
  readonly agreement_id: string;
  readonly version: number;
  readonly partner_id: string;
  readonly partner_legal_name: string;
  readonly status: string;
  readonly state: LeastPrivilegeState;
  /** The state in words, for people. */
  readonly note: string;
  /** The later of the start and the first activation; null when never in effect. */
  readonly in_effect_since: string | null;
  readonly purposes: readonly string[];
  readonly member_fields: readonly string[];
  readonly friend_fields: readonly string[];
  readonly unused_purposes: readonly string[];
  readonly unused_member_fields: readonly string[];
  readonly unused_friend_fields: readonly string[];
  /** The wind-down reached `no_friend_data`: friend fields are no longer released, so none is suggested. */
  readonly friend_fields_cut: boolean;
  /** The terms without what was never used (state `suggestions` only). */
  readonly suggested: SuggestedTerms | null;
  readonly grant_populations: readonly GrantPopulationRow[];
}

export interface LeastPrivilegeReport {
  readonly generated_at: string;
  readonly window_days: number;
  /** The window, both ends included: `now` and the 90 days before it. */
  readonly window_from: string;
  readonly window_to: string;
  readonly agreement_id: string | null;
  readonly data: readonly LeastPrivilegeRow[];
}

/** Which (agreement, app, purpose, field, way) were used in the window, for quick look-ups. */
export class UseIndex {
  private readonly keys = new Set<string>();

  constructor(uses: readonly FieldUse[]) {
    for (const use of uses) {
      for (const app of [use.appId, '*']) {
        for (const purpose of [use.purpose, '*']) {
          this.keys.add(`${use.agreementId} ${app} ${purpose} ${use.field} ${use.how}`);
          this.keys.add(`${use.agreementId} ${app} ${purpose} * ${use.how}`);
        }
      }
    }
  }

  /** Released that way (`*`: any app, purpose or field). */
  has(agreementId: string, appId: string, purpose: string, field: string, how: 'd' | 'f'): boolean {
    return this.keys.has(`${agreementId} ${appId} ${purpose} ${field} ${how}`);
  }
}

const iso = (instant: Instant) => new Date(instant).toISOString();

/**
 * The fields of `mask` never used under the app and purpose given (`*` for any): a member field
 * released directly; `friends` (the friend list) by any friend released; a friend field released
 * through friends. `id` is always among the member fields, never a suggestion.
 */
function unusedFields(uses: UseIndex, agreementId: string, appId: string, purpose: string, mask: FieldMask, how: 'd' | 'f'): Field[] {
  return fieldsOf(mask).filter((field) => {
    if (how === 'd' && field === 'id') return false;
    if (how === 'd' && field === 'friends') return !uses.has(agreementId, appId, purpose, '*', 'f');
    return !uses.has(agreementId, appId, purpose, field, how);
  });
}

function populations(uses: UseIndex, agreement: Agreement, grants: readonly GrantGroup[], friendDataCut: boolean): GrantPopulationRow[] {
  const byPopulation = new Map<string, { appId: string; purpose: string; grants: number; member: FieldMask; friend: FieldMask }>();
  for (const group of grants) {
    const key = `${group.appId} ${group.purpose}`;
    const into = byPopulation.get(key) ?? { appId: group.appId, purpose: group.purpose, grants: 0, member: 0, friend: 0 };
    into.grants += group.grants;
    into.member |= group.memberFields & agreement.memberFields;
    into.friend |= group.friendFields & agreement.friendFields;
    byPopulation.set(key, into);
  }
  return [...byPopulation.values()]
    .sort((a, b) => (a.appId === b.appId ? (a.purpose < b.purpose ? -1 : 1) : a.appId < b.appId ? -1 : 1))
    .map((p) => ({
      app_id: p.appId, purpose: p.purpose, grants: p.grants,
      member_fields: fieldsOf(p.member), friend_fields: fieldsOf(p.friend),
      unused_member_fields: unusedFields(uses, agreement.id, p.appId, p.purpose, p.member, 'd'),
      unused_friend_fields: friendDataCut ? [] : unusedFields(uses, agreement.id, p.appId, p.purpose, p.friend, 'f'),
    }));
}

/** When its history begins: the later of its start and its first activation. */
function inEffectSince({ agreement, activatedAt }: ReviewedAgreement): Instant {
  return Math.max(agreement.startsAt, activatedAt ?? agreement.startsAt);
}

/** Why there is nothing to suggest before looking at the uses, or null when there is something to look at. */
function withoutHistory(reviewed: ReviewedAgreement, now: Instant, windowFrom: Instant): { state: LeastPrivilegeState; note: string } | null {
  const { agreement } = reviewed;
  const cause = notInEffectCause(agreement, now);
  if (cause === 'not_active' || cause === 'terminated' || cause === 'not_started') {
    return { state: 'not_in_effect', note: `not in effect (${cause}): no traffic to learn from` };
  }
  if (cause === 'expired' || cause === 'access_ended') {
    return { state: 'access_ended', note: `access has ended (${cause}): nothing is released under it any more` };
  }
  const since = inEffectSince(reviewed);
  if (since > windowFrom) {
    const days = Math.floor((now - since) / DAY_MS);
    return { state: 'too_young', note: `in effect since ${readableInstant(since)} (${days} days): less than ${LEAST_PRIVILEGE_WINDOW_DAYS} days of history, no suggestion yet` };
  }
  return null;
}

/** One agreement's line of the report, from the uses of the window and its live grants. Pure. */
export function assessAgreement(
  reviewed: ReviewedAgreement, uses: UseIndex, grants: readonly GrantGroup[], now: Instant,
): LeastPrivilegeRow {
  const { agreement } = reviewed;
  const windowFrom = now - LEAST_PRIVILEGE_WINDOW_DAYS * DAY_MS;
  const cause = notInEffectCause(agreement, now);
  const never = cause === 'not_active' || cause === 'not_started' || (cause === 'terminated' && reviewed.activatedAt === null);
  const base = {
    agreement_id: agreement.id, version: agreement.version, partner_id: agreement.partnerId, partner_legal_name: reviewed.partnerLegalName,
    status: agreement.status,
    in_effect_since: never ? null : iso(inEffectSince(reviewed)),
    purposes: [...agreement.purposes], member_fields: fieldsOf(agreement.memberFields), friend_fields: fieldsOf(agreement.friendFields),
  };
  const friendDataCut = hasReached(agreement.windDown, 'no_friend_data', now);
  const skipped = withoutHistory(reviewed, now, windowFrom);
  if (skipped !== null) {
    return {
      ...base, ...skipped, unused_purposes: [], unused_member_fields: [], unused_friend_fields: [],
      friend_fields_cut: friendDataCut, suggested: null, grant_populations: [],
    };
  }
  const id = agreement.id;
  const unusedPurposes = agreement.purposes.filter((purpose) => !uses.has(id, '*', purpose, '*', 'd') && !uses.has(id, '*', purpose, '*', 'f'));
  const unusedFriend = friendDataCut ? [] : unusedFields(uses, id, '*', '*', agreement.friendFields, 'f');
  const keptFriend = agreement.friendFields & ~maskOf(unusedFriend);
  // Friend fields kept need the friend list: `friends` stays with them (only a wind-down's cut leaves them unused).
  const unusedMember = unusedFields(uses, id, '*', '*', agreement.memberFields, 'd')
    .filter((field) => field !== 'friends' || keptFriend === 0);
  const row = {
    ...base, unused_purposes: unusedPurposes, unused_member_fields: unusedMember, unused_friend_fields: unusedFriend,
    friend_fields_cut: friendDataCut, grant_populations: populations(uses, agreement, grants, friendDataCut),
  };
  if (unusedPurposes.length === agreement.purposes.length) {
    const stopped = cause === null ? '' : ` (not in effect now: ${cause})`;
    return { ...row, state: 'unused', note: `nothing was released under it in the last ${LEAST_PRIVILEGE_WINDOW_DAYS} days${stopped}: wind it down rather than narrow it`, suggested: null };
  }
  if (unusedPurposes.length + unusedMember.length + unusedFriend.length === 0) {
    return { ...row, state: 'least_privilege', note: `every purpose and field it allows was used in the last ${LEAST_PRIVILEGE_WINDOW_DAYS} days`, suggested: null };
  }
  const removed = [
    ...unusedPurposes.map((p) => `purpose ${p}`), ...unusedMember.map((f) => `member field ${f}`), ...unusedFriend.map((f) => `friend field ${f}`),
  ];
  return {
    ...row,
    state: 'suggestions',
    note: `never used in the last ${LEAST_PRIVILEGE_WINDOW_DAYS} days: ${removed.join(', ')}`,
    suggested: {
      purposes: agreement.purposes.filter((p) => !unusedPurposes.includes(p)),
      member_fields: fieldsOf(agreement.memberFields & ~maskOf(unusedMember)),
      friend_fields: fieldsOf(keptFriend),
    },
  };
}

/** The report as of `now`, for every agreement or the one asked for (an unknown id finds nothing). */
export async function leastPrivilegeReport(store: Store, now: Instant, agreementId?: string): Promise<LeastPrivilegeReport> {
  const queries = new LeastPrivilegeQueries(store.readDb);
  const windowFrom = now - LEAST_PRIVILEGE_WINDOW_DAYS * DAY_MS;
  const agreements = await queries.agreements(agreementId);
  const [uses, grants] = await Promise.all([
    queries.usesBetween(windowFrom, now),
    queries.liveGrants(agreements.map((r) => r.agreement.id), now, GRANT_IDLE_DAYS),
  ]);
  const index = new UseIndex(uses);
  return {
    generated_at: iso(now),
    window_days: LEAST_PRIVILEGE_WINDOW_DAYS,
    window_from: iso(windowFrom),
    window_to: iso(now),
    agreement_id: agreementId ?? null,
    data: agreements.map((reviewed) => assessAgreement(reviewed, index, grants.filter((g) => g.agreementId === reviewed.agreement.id), now)),
  };
}

/** The term of a suggested draft: the renewal's, from the end of the agreement (an app has one agreement in force at a time). */
export function renewalTerm(agreement: Agreement): { startsAt: Instant; endsAt: Instant } {
  const startsAt = agreement.endsAt;
  return { startsAt, endsAt: Math.min(startsAt + (agreement.endsAt - agreement.startsAt), addMonths(startsAt, MAX_TERM_MONTHS)) };
}

/**
 * The draft that removes what the report suggests for one agreement, as of `now`: its other terms
 * unchanged, on the renewal's term unless one is given. 404 for an unknown agreement; 409
 * `no_suggestions` when the report has none (saying why).
 */
export async function leastPrivilegeDraft(
  store: Store, agreementId: string, now: Instant, term?: { startsAt: Instant; endsAt: Instant },
): Promise<{ request: DraftRequest; row: LeastPrivilegeRow }> {
  const report = await leastPrivilegeReport(store, now, agreementId);
  const row = report.data[0];
  const agreement = await store.agreements.get(agreementId);
  if (row === undefined || agreement === undefined) throw new NotFound(`No agreement ${agreementId}.`);
  if (row.suggested === null) throw new Conflict('no_suggestions', `Nothing to remove from ${agreementId}: ${row.note}.`);
  return {
    row,
    request: {
      partnerId: agreement.partnerId,
      appIds: agreement.appIds,
      purposes: row.suggested.purposes,
      memberFields: row.suggested.member_fields,
      friendFields: row.suggested.friend_fields,
      retentionDays: agreement.retentionDays,
      storage: agreement.storage,
      ...(term ?? renewalTerm(agreement)),
    },
  };
}
