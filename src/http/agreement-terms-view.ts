import { Type, type Static } from 'typebox';
import type { Agreement } from '../domain/agreement.js';
import { agreementTerms } from '../domain/agreement-terms.js';
import type { Instant } from '../domain/time.js';
import { DateTime } from './routes/admin-schemas.js';

/** The terms of an agreement as both the partner and staff see them. */
export const AGREEMENT_TERMS_PROPERTIES = {
  id: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  in_effect: Type.Boolean(),
  not_in_effect_cause: Type.Union([Type.String(), Type.Null()]),
  purposes: Type.Array(Type.String()),
  member_fields: Type.Array(Type.String()),
  friend_fields: Type.Array(Type.String()),
  retention_days: Type.Integer(),
  storage: Type.Object({
    location: Type.String(),
    country: Type.Optional(Type.String()),
    safeguard: Type.Optional(Type.String({ description: 'What makes a transfer to the servers lawful, when stated' })),
  }, { additionalProperties: false }),
  starts_at: DateTime,
  ends_at: DateTime,
  certification_due_at: DateTime,
  wind_down: Type.Union([
    Type.Object({ phase: Type.String(), no_new_grants: DateTime, no_friend_data: DateTime, access_ended: DateTime }, { additionalProperties: false }),
    Type.Null(),
  ]),
};

const AgreementTerms = Type.Object(AGREEMENT_TERMS_PROPERTIES);

/** Whether it is in effect, and the wind-down phase, are judged at `now`. */
export function agreementTermsView(agreement: Agreement, now: Instant): Static<typeof AgreementTerms> {
  return agreementTerms(agreement, now);
}
