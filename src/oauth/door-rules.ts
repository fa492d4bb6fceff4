import { notInEffectCause, type Agreement, type AgreementStatus } from '../domain/agreement.js';
import type { App } from '../domain/app.js';
import { SENSITIVE_MASK, fieldsOf, type Field, type FieldMask } from '../domain/field-catalog.js';
import type { Partner } from '../domain/partner.js';
import { isPurpose, type Purpose } from '../domain/purposes.js';
import type { Instant } from '../domain/time.js';
import { hasReached } from '../domain/wind-down.js';
import type { Store } from '../store/store.js';
import { friendScope, parseScope, type RequestedScopes } from './scopes.js';

/**
 * The rules at the door (issue 3): what an authorization request may ask for, judged against the
 * app's agreement at `now` before the member is even asked to log in. Pure; the OAuth server turns
 * a refusal into the OAuth error it names, sent back to the client's redirect URI.
 */

/** Everything the door rules read about the client. */
export interface DoorFacts {
  readonly app: App;
  readonly partner: Partner;
  /** The agreement the app works under now, if any. */
  readonly agreement: Agreement | null;
}

export type DoorRefusal =
  | { readonly error: 'unauthorized_client'; readonly description: string }
  | { readonly error: 'invalid_request'; readonly description: string }
  | { readonly error: 'invalid_scope'; readonly description: string; readonly scope: string };

/** What a request that passed the door asks the member to consent to. */
export interface ConsentRequest {
  readonly agreement: Agreement;
  readonly purpose: Purpose;
  readonly openid: boolean;
  /** Fields about the member, `id` excluded (it is always released). */
  readonly memberFields: FieldMask;
  /** Fields about friends that may ever leave: sensitive ones are left out (they never do). */
  readonly friendFields: FieldMask;
  /** Fields about friends that were asked for and are within the agreement but never leave. */
  readonly neverSharedFriendFields: FieldMask;
}

export type DoorDecision = { readonly ok: true; readonly request: ConsentRequest } | { readonly ok: false; readonly refusal: DoorRefusal };

function refuse(refusal: DoorRefusal): DoorDecision {
  return { ok: false, refusal };
}

function outside(kind: string, mask: FieldMask, asScope: (field: Field) => string): DoorRefusal {
  const scopes = fieldsOf(mask).map(asScope);
  return {
    error: 'invalid_scope',
    description: `${scopes.join(', ')} ${scopes.length === 1 ? 'is' : 'are'} outside the agreement's ${kind}`,
    scope: scopes.join(' '),
  };
}

/** The app's agreement when it is in effect at `now`; else the refusal of its client. */
function agreementInForce({ app, agreement }: DoorFacts, now: Instant): { agreement: Agreement } | { refusal: DoorRefusal } {
  const cause = notInEffectCause(agreement, now);
  if (cause !== null || agreement === null) {
    return { refusal: { error: 'unauthorized_client', description: `${app.id} has no agreement in effect (${cause ?? 'no_agreement'})` } };
  }
  return { agreement };
}

/**
 * Refuses scopes that fall outside the agreement, in this order: an unknown scope; a member field
 * not among the agreement's member fields; a friend field asked by a third-party app; a friend
 * field not among the agreement's friend fields. Null when every scope is within it.
 */
function outsideAgreement(app: App, agreement: Agreement, requested: RequestedScopes): DoorRefusal | null {
  if (requested.unknown.length > 0) {
    return { error: 'invalid_scope', description: `unknown scope ${requested.unknown.join(', ')}`, scope: requested.unknown.join(' ') };
  }
  const memberOutside = requested.memberFields & ~agreement.memberFields;
  if (memberOutside !== 0) return outside('member fields', memberOutside, (field) => field);
  if (requested.friendFields !== 0 && app.class === 'third_party') {
    const scopes = fieldsOf(requested.friendFields).map(friendScope);
    return {
      error: 'invalid_scope',
      description: `a third-party app cannot ask for fields about friends (${scopes.join(', ')})`,
      scope: scopes.join(' '),
    };
  }
  const friendOutside = requested.friendFields & ~agreement.friendFields;
  if (friendOutside !== 0) return outside('friend fields', friendOutside, friendScope);
  return null;
}

/**
 * Judges an authorization request, in this order: the app's agreement is in effect at `now`;
 * the purpose is one of the agreement's; at least one scope is asked, and every scope is within
 * the agreement (see `outsideAgreement`).
 */
export function judgeAuthorizationRequest(
  facts: DoorFacts,
  params: { readonly purpose: string | undefined; readonly scope: string | undefined },
  now: Instant,
): DoorDecision {
  const inForce = agreementInForce(facts, now);
  if ('refusal' in inForce) return refuse(inForce.refusal);
  const { agreement } = inForce;

  const { purpose } = params;
  const allowed = agreement.purposes.join(', ');
  if (purpose === undefined || purpose === '') {
    return refuse({ error: 'invalid_request', description: `missing required parameter 'purpose': one of the agreement's purposes (${allowed})` });
  }
  if (!isPurpose(purpose) || !agreement.purposes.includes(purpose)) {
    return refuse({ error: 'invalid_request', description: `purpose '${purpose}' is not one of the agreement's purposes (${allowed})` });
  }

  const requested: RequestedScopes = parseScope(params.scope);
  if (requested.unknown.length === 0 && !requested.openid && requested.memberFields === 0 && requested.friendFields === 0) {
    return refuse({ error: 'invalid_scope', description: 'ask for at least one scope: openid or the fields to read', scope: '' });
  }
  const outsideScope = outsideAgreement(facts.app, agreement, requested);
  if (outsideScope !== null) return refuse(outsideScope);

  return {
    ok: true,
    request: {
      agreement,
      purpose,
      openid: requested.openid,
      memberFields: requested.memberFields,
      friendFields: requested.friendFields & ~SENSITIVE_MASK,
      neverSharedFriendFields: requested.friendFields & SENSITIVE_MASK,
    },
  };
}

/**
 * The statuses under which an app's partner server may get a client-credentials token: the
 * agreement was approved and still binds the partner, through its wind-down and after its access
 * ended (the partner files its deletion attestation with such a token). Not for an app with no
 * agreement, only a draft or one under review, or a terminated one.
 */
const CLIENT_CREDENTIALS_STATUSES: ReadonlySet<AgreementStatus> = new Set(['active', 'suspended', 'winding_down']);

/**
 * Judges a client-credentials request (a partner server's token for the partner endpoints, never
 * member data; PRODUCT.md §7): only while the app has an agreement in force (see above), and only
 * for field scopes within it. Null when the token may be issued.
 */
export function judgeClientCredentials(facts: DoorFacts, scope: string | undefined): DoorRefusal | null {
  const { app, agreement } = facts;
  if (agreement === null || !CLIENT_CREDENTIALS_STATUSES.has(agreement.status)) {
    return { error: 'unauthorized_client', description: `${app.id} has no agreement in force (${agreement?.status ?? 'no_agreement'})` };
  }
  return outsideAgreement(app, agreement, parseScope(scope));
}

/** When the agreement no longer takes new consents at `now` (wind-down `no_new_grants` or later): since when. */
export function newGrantsEndedAt(agreement: Agreement, now: Instant): Instant | null {
  const plan = agreement.windDown;
  return plan !== null && hasReached(plan, 'no_new_grants', now) ? plan.noNewGrants : null;
}

/** The facts for a client id at `now` (the agreement in force then), or undefined when no such app or partner exists. */
export async function loadDoorFacts(store: Store, appId: string, now: Instant): Promise<DoorFacts | undefined> {
  const app = await store.partners.app(appId);
  if (!app) return undefined;
  const [partner, agreement] = await Promise.all([store.partners.partner(app.partnerId), store.agreements.currentForApp(app.id, now)]);
  if (!partner) return undefined;
  return { app, partner, agreement: agreement ?? null };
}
