export const PARTNER_KINDS = ['device_maker', 'app_developer'] as const;
export type PartnerKind = (typeof PARTNER_KINDS)[number];

export const RISK_FLAGS = ['state_influence', 'sanctions', 'prior_violation'] as const;
export type RiskFlag = (typeof RISK_FLAGS)[number];

/** Where a partner keeps what it receives: on the member's device, or on its servers in a country. */
export type DataStorage =
  | { readonly location: 'on_device' }
  | { readonly location: 'partner_servers'; readonly country: string };

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
