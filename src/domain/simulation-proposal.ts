import type { AgreementTerms } from './agreement.js';
import { BadRequest } from './errors.js';
import { fieldsOf, ID_MASK, isField, maskOf, SENSITIVE_MASK, type Field, type FieldMask } from './field-catalog.js';
import { isPurpose, type Purpose } from './purposes.js';
import type { Instant } from './time.js';
import type { WindDownPlan } from './wind-down.js';

/**
 * A what-if for an agreement (issue 15): changes to its terms, each optional, applied to every
 * version of the agreement a logged request was decided under; and one rules change (more fields
 * in the sensitive class). Pure: parsing checks names and dates, applying is plain data.
 */
export interface SimulationProposal {
  readonly memberFields?: FieldMask;
  readonly friendFields?: FieldMask;
  readonly purposes?: readonly Purpose[];
  readonly startsAt?: Instant;
  readonly endsAt?: Instant;
  /** Phases to move (each optional); null removes the wind-down. */
  readonly windDown?: Partial<WindDownPlan> | null;
  /** Fields added to the sensitive class: never released about a friend. */
  readonly sensitiveFields?: FieldMask;
}

/** The proposal as the API and the CLI take it (names and ISO 8601 instants). */
export interface ProposalBody {
  member_fields?: string[];
  friend_fields?: string[];
  purposes?: string[];
  starts_at?: string;
  ends_at?: string;
  wind_down?: { no_new_grants?: string; no_friend_data?: string; access_ended?: string } | null;
  sensitive_fields?: string[];
}

export const PROPOSAL_KEYS = ['member_fields', 'friend_fields', 'purposes', 'starts_at', 'ends_at', 'wind_down', 'sensitive_fields'] as const;

function fieldMask(names: readonly string[], key: string): FieldMask {
  const unknown = names.filter((name) => !isField(name));
  if (unknown.length > 0) throw new BadRequest('unknown_field', `${key}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a field' : 'are not fields'} of the catalog.`);
  return maskOf(names as Field[]);
}

function instant(text: string, key: string): Instant {
  const parsed = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(parsed)) throw new BadRequest('invalid_dates', `${key}: expected an ISO 8601 instant, got ${JSON.stringify(text)}.`);
  return parsed;
}

/** Checks a proposal's names and dates (400 `unknown_field`, `unknown_purpose`, `invalid_dates`, `empty_proposal`). */
export function parseProposal(body: ProposalBody): SimulationProposal {
  const proposal: { -readonly [K in keyof SimulationProposal]: SimulationProposal[K] } = {};
  // `id` is always among the member fields (agreements are validated the same way).
  if (body.member_fields !== undefined) proposal.memberFields = fieldMask(body.member_fields, 'member_fields') | ID_MASK;
  if (body.friend_fields !== undefined) proposal.friendFields = fieldMask(body.friend_fields, 'friend_fields');
  if (body.sensitive_fields !== undefined) proposal.sensitiveFields = fieldMask(body.sensitive_fields, 'sensitive_fields');
  if (body.purposes !== undefined) {
    const unknown = body.purposes.filter((p) => !isPurpose(p));
    if (unknown.length > 0) throw new BadRequest('unknown_purpose', `purposes: ${unknown.join(', ')} is not a purpose.`);
    proposal.purposes = body.purposes as Purpose[];
  }
  if (body.starts_at !== undefined) proposal.startsAt = instant(body.starts_at, 'starts_at');
  if (body.ends_at !== undefined) proposal.endsAt = instant(body.ends_at, 'ends_at');
  if (body.wind_down === null) proposal.windDown = null;
  else if (body.wind_down !== undefined) {
    const phases: { -readonly [K in keyof WindDownPlan]?: Instant } = {};
    if (body.wind_down.no_new_grants !== undefined) phases.noNewGrants = instant(body.wind_down.no_new_grants, 'wind_down.no_new_grants');
    if (body.wind_down.no_friend_data !== undefined) phases.noFriendData = instant(body.wind_down.no_friend_data, 'wind_down.no_friend_data');
    if (body.wind_down.access_ended !== undefined) phases.accessEnded = instant(body.wind_down.access_ended, 'wind_down.access_ended');
    proposal.windDown = phases;
  }
  if (Object.keys(proposal).length === 0) throw new BadRequest('empty_proposal', `The proposal changes nothing: give one of ${PROPOSAL_KEYS.join(', ')}, or draft.`);
  return proposal;
}

/** The proposal back in the API's words (what a result echoes). */
export function proposalBody(proposal: SimulationProposal): ProposalBody {
  const iso = (at: Instant) => new Date(at).toISOString();
  const body: ProposalBody = {};
  if (proposal.memberFields !== undefined) body.member_fields = fieldsOf(proposal.memberFields);
  if (proposal.friendFields !== undefined) body.friend_fields = fieldsOf(proposal.friendFields);
  if (proposal.purposes !== undefined) body.purposes = [...proposal.purposes];
  if (proposal.startsAt !== undefined) body.starts_at = iso(proposal.startsAt);
  if (proposal.endsAt !== undefined) body.ends_at = iso(proposal.endsAt);
  if (proposal.windDown === null) body.wind_down = null;
  else if (proposal.windDown !== undefined) {
    const { noNewGrants, noFriendData, accessEnded } = proposal.windDown;
    body.wind_down = {
      ...(noNewGrants === undefined ? {} : { no_new_grants: iso(noNewGrants) }),
      ...(noFriendData === undefined ? {} : { no_friend_data: iso(noFriendData) }),
      ...(accessEnded === undefined ? {} : { access_ended: iso(accessEnded) }),
    };
  }
  if (proposal.sensitiveFields !== undefined) body.sensitive_fields = fieldsOf(proposal.sensitiveFields);
  return body;
}

/** The sensitive class under the proposal. */
export function sensitiveUnder(proposal: SimulationProposal): FieldMask {
  return SENSITIVE_MASK | (proposal.sensitiveFields ?? 0);
}

/**
 * A version's terms with the proposal in place. Moved phases replace the version's; a version
 * without a wind-down takes one only when all three phases are given (else 400
 * `incomplete_wind_down`). Phases out of order are 400 `invalid_wind_down`.
 */
export function applyProposal<T extends AgreementTerms>(terms: T, proposal: SimulationProposal): T {
  let windDown = terms.windDown;
  if (proposal.windDown === null) windDown = null;
  else if (proposal.windDown !== undefined) {
    const merged = { ...terms.windDown, ...proposal.windDown };
    if (merged.noNewGrants === undefined || merged.noFriendData === undefined || merged.accessEnded === undefined) {
      throw new BadRequest('incomplete_wind_down', `Agreement ${terms.id} version ${terms.version} has no wind-down: give all three phases.`);
    }
    windDown = merged as WindDownPlan;
    // Two phases may meet here (no_friend_data moved back to no_new_grants): the rules read them in order all the same.
    if (!(windDown.noNewGrants <= windDown.noFriendData && windDown.noFriendData <= windDown.accessEnded)) {
      throw new BadRequest('invalid_wind_down', 'The proposed wind-down phases must come in order: no_new_grants <= no_friend_data <= access_ended.');
    }
  }
  return {
    ...terms,
    memberFields: proposal.memberFields ?? terms.memberFields,
    friendFields: proposal.friendFields ?? terms.friendFields,
    purposes: proposal.purposes ?? terms.purposes,
    startsAt: proposal.startsAt ?? terms.startsAt,
    endsAt: proposal.endsAt ?? terms.endsAt,
    windDown,
  };
}
