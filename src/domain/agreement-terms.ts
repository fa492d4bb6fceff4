import { notInEffectCause, type Agreement } from './agreement.js';
import { fieldsOf } from './field-catalog.js';
import type { DataStorage } from './partner.js';
import type { Instant } from './time.js';
import { windDownPhase } from './wind-down.js';

const iso = (instant: Instant): string => new Date(instant).toISOString();

/**
 * The terms of an agreement as the partner sees them (its own agreement endpoint, its notices) and
 * staff too; whether it is in effect, and the wind-down phase, are judged at `now`. Nothing about
 * how it was drafted: no author, no approvers.
 */
export function agreementTerms(agreement: Agreement, now: Instant) {
  const cause = notInEffectCause(agreement, now);
  return {
    id: agreement.id,
    version: agreement.version,
    status: agreement.status as string,
    status_reason: agreement.statusReason,
    in_effect: cause === null,
    not_in_effect_cause: cause as string | null,
    purposes: [...agreement.purposes] as string[],
    member_fields: fieldsOf(agreement.memberFields) as string[],
    friend_fields: fieldsOf(agreement.friendFields) as string[],
    retention_days: agreement.retentionDays,
    storage: storageTerms(agreement.storage),
    starts_at: iso(agreement.startsAt),
    ends_at: iso(agreement.endsAt),
    certification_due_at: iso(agreement.certificationDueAt),
    wind_down: agreement.windDown && {
      phase: windDownPhase(agreement.windDown, now) as string,
      no_new_grants: iso(agreement.windDown.noNewGrants),
      no_friend_data: iso(agreement.windDown.noFriendData),
      access_ended: iso(agreement.windDown.accessEnded),
    },
  };
}

export type AgreementTerms = ReturnType<typeof agreementTerms>;

function storageTerms(storage: DataStorage): { location: string; country?: string; safeguard?: string } {
  if (storage.location === 'on_device') return { location: 'on_device' };
  const { country, safeguard } = storage;
  return safeguard === undefined ? { location: 'partner_servers', country } : { location: 'partner_servers', country, safeguard };
}
