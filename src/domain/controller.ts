/**
 * The controller (GDPR Art. 4(7)): the platform that decides why and how members' data is shared,
 * named in the records of processing, and whose country decides which storage is a transfer abroad.
 */
export interface Controller {
  readonly name: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
}

/** The demo world's platform: an EU establishment, so that the demo partners' servers abroad are transfers. */
export const DEMO_CONTROLLER: Controller = { name: 'Demo Social Network Ltd', country: 'IE' };
