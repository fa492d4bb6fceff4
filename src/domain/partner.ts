export const PARTNER_KINDS = ['device_maker', 'app_developer'] as const;
export type PartnerKind = (typeof PARTNER_KINDS)[number];

export const RISK_FLAGS = ['state_influence', 'sanctions', 'prior_violation'] as const;
export type RiskFlag = (typeof RISK_FLAGS)[number];

/**
 * What makes a transfer to servers outside the platform's country lawful (GDPR Chapter V): an
 * adequacy decision (Art. 45), standard contractual clauses (Art. 46(2)(c)), binding corporate
 * rules (Art. 47), or a derogation for a specific situation (Art. 49).
 */
export const TRANSFER_SAFEGUARDS = ['adequacy_decision', 'standard_contractual_clauses', 'binding_corporate_rules', 'derogation'] as const;
export type TransferSafeguard = (typeof TRANSFER_SAFEGUARDS)[number];

export function isTransferSafeguard(value: string): value is TransferSafeguard {
  return (TRANSFER_SAFEGUARDS as readonly string[]).includes(value);
}

/**
 * Where a partner keeps what it receives: on the member's device, or on its servers in a country.
 * An agreement also states the safeguard of a transfer there, when there is one to state.
 */
export type DataStorage =
  | { readonly location: 'on_device' }
  | { readonly location: 'partner_servers'; readonly country: string; readonly safeguard?: TransferSafeguard };

export interface Partner {
  readonly id: string;
  readonly legalName: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly kind: PartnerKind;
  readonly riskFlags: readonly RiskFlag[];
  readonly storage: DataStorage;
  readonly contacts: readonly string[];
  readonly webhookUrl: string | null;
  /** The partner's privacy policy, linked from the consent page; a new agreement needs one. */
  readonly privacyPolicyUrl: string | null;
}
