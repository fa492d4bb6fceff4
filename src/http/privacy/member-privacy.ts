import { notInEffectCause, type NotInEffectCause } from '../../domain/agreement.js';
import { audienceIsEditable, defaultAudience, type Audience } from '../../domain/audience.js';
import { BadRequest, Conflict, LoginRequired, NotFound, UnknownField } from '../../domain/errors.js';
import { OBJECT_FIELDS, fieldBit, fieldsOf, isField, type Field, type ObjectField } from '../../domain/field-catalog.js';
import { grantEnd, grantStatus } from '../../domain/grant.js';
import type { Instant } from '../../domain/time.js';
import { MAX_EXCLUSIONS, type ExclusionKind, type PrivacyChange } from '../../store/member-repository.js';
import { forgetOidcGrants } from '../../store/oidc-adapter.js';
import { createStore, type Store } from '../../store/store.js';
import type { MemberApp } from './privacy-schemas.js';

/**
 * What the privacy center does for the logged-in member, shared by its pages and its JSON API:
 * read and change their settings, list the apps they consented to, revoke one.
 */

/** A member's settings with every object field's audience (defaults filled in): the body of GET /v1/me/privacy. */
export interface PrivacyView {
  readonly platform_enabled: boolean;
  readonly share_via_friends: boolean;
  readonly audiences: Readonly<Record<ObjectField, Audience>>;
}

export async function readPrivacy(store: Store, memberId: string): Promise<PrivacyView> {
  const privacy = await store.members.privacy(memberId);
  if (privacy === undefined) throw new LoginRequired('The member of this session no longer exists; log in again.');
  const audiences = Object.fromEntries(
    OBJECT_FIELDS.map((field) => [field, audienceIsEditable(field) ? privacy.audiences[field] ?? defaultAudience(field) : 'public']),
  ) as Record<ObjectField, Audience>;
  return { platform_enabled: privacy.platformEnabled, share_via_friends: privacy.shareViaFriends, audiences };
}

/** Applies a change that has been checked for shape; refuses a basic field with 400 `field_not_editable`. */
export async function changePrivacy(store: Store, memberId: string, change: PrivacyChange): Promise<void> {
  const fixed = Object.keys(change.audiences ?? {}).filter((field) => !audienceIsEditable(field as ObjectField));
  if (fixed.length > 0) {
    throw new BadRequest('field_not_editable', `${fixed.join(', ')}: id, name and picture are always public; their audience cannot be changed.`);
  }
  await store.members.updatePrivacy(memberId, change);
}

/** A grant as the apps page shows it: what the JSON API says of it, and its agreement's standing. */
export interface MemberAppStanding {
  readonly grant: MemberApp;
  /** Why the agreement the grant was given under is not in effect at `now` (the app then receives nothing), or null. */
  readonly agreementNotInEffect: NotInEffectCause | null;
}

/** Every grant the member gave, newest first, each with how it ended (if it has) and its agreement's standing at `now`. */
export async function memberAppStandings(store: Store, memberId: string, now: Instant): Promise<MemberAppStanding[]> {
  const grants = await store.grants.ofMember(memberId);
  const iso = (instant: Instant | undefined) => (instant === undefined ? null : new Date(instant).toISOString());
  return grants.map(({ grant, appName, partnerName, partnerCountry, agreement }) => {
    const end = grantEnd(grant, agreement, now);
    const status = grantStatus(end);
    return {
      grant: {
        grant_id: grant.id,
        app: { id: grant.appId, name: appName },
        partner: { name: partnerName, country: partnerCountry },
        purpose: grant.purpose,
        member_fields: fieldsOf(grant.memberFields),
        friend_fields: fieldsOf(grant.friendFields),
        granted_at: new Date(grant.grantedAt).toISOString(),
        last_used_at: iso(grant.lastUsedAt ?? undefined),
        revoked_at: status === 'revoked' ? iso(end?.at) : null,
        status,
        ended_at: iso(end?.at),
        end_reason: end?.reason ?? null,
      },
      agreementNotInEffect: notInEffectCause(agreement, now),
    };
  });
}

/** The body of GET /v1/me/apps. */
export async function memberApps(store: Store, memberId: string, now: Instant): Promise<MemberApp[]> {
  return (await memberAppStandings(store, memberId, now)).map(({ grant }) => grant);
}

/**
 * Revokes every grant the member gave `appId`, and every token of those grants, in one
 * transaction at `now`: the app's next request with any of them fails, and the authorization
 * server forgets the grants (introspection inactive, refresh refused). 404 when the member never
 * gave the app a grant; revoking again is harmless.
 */
export async function revokeApp(store: Store, memberId: string, appId: string, now: Instant): Promise<void> {
  const grantIds = await store.grants.idsOfMemberApp(memberId, appId);
  if (grantIds.length === 0) throw new NotFound('You have not given this app access to your data.');
  await store.db.transaction().execute(async (trx) => {
    const tx = createStore(trx);
    for (const grantId of grantIds) {
      await tx.tokens.revokeAllOfGrant(grantId, now);
      await tx.grants.revoke(grantId, now, 'member_revoked');
    }
    await forgetOidcGrants(trx, grantIds);
  });
}


/** An app or partner as the privacy center names it. */
export interface NamedTarget {
  readonly id: string;
  readonly name: string;
}

/** What a member keeps from seeing them through friends, named; and every app and partner they could keep out. */
export interface FriendExclusionsView {
  readonly apps: NamedTarget[];
  readonly partners: NamedTarget[];
}

export interface ExclusionChoices extends FriendExclusionsView {
  /** Every app, with its partner's name in its label, and every partner: what the member may keep out. */
  readonly choices: FriendExclusionsView;
}

export async function friendExclusions(store: Store, memberId: string): Promise<ExclusionChoices> {
  const [kept, apps, partners] = await Promise.all([store.members.friendExclusionsOf(memberId), store.partners.apps(), store.partners.partners()]);
  const partnerName = new Map(partners.map((partner) => [partner.id, partner.legalName]));
  const appChoices = apps
    .map((app) => ({ id: app.id, name: `${app.name} (${partnerName.get(app.partnerId) ?? app.partnerId})` }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const partnerChoices = partners.map((partner) => ({ id: partner.id, name: partner.legalName }));
  const named = (choices: NamedTarget[], ids: readonly string[]) => {
    const byId = new Map(choices.map((choice) => [choice.id, choice]));
    // An app or partner removed since keeps its id as its name: the member can still let it back in.
    return ids.map((id) => byId.get(id) ?? { id, name: id });
  };
  return {
    apps: named(appChoices, kept.apps),
    partners: named(partnerChoices, kept.partners),
    choices: { apps: appChoices, partners: partnerChoices },
  };
}

/**
 * Keeps an app, or every app of a partner, from seeing the member through friends (PRODUCT.md §4),
 * from the next request on. 404 for an app or partner that does not exist.
 */
export async function keepOut(store: Store, memberId: string, kind: ExclusionKind, targetId: string, now: Instant): Promise<void> {
  const exists = kind === 'app' ? await store.partners.app(targetId) : await store.partners.partner(targetId);
  if (exists === undefined) throw new NotFound(`No ${kind} ${targetId}.`);
  if (!(await store.members.exclude(memberId, kind, targetId, now))) {
    throw new Conflict('too_many_exclusions', `You already keep ${MAX_EXCLUSIONS} apps and partners out; let one back in first.`);
  }
}

export async function letBackIn(store: Store, memberId: string, kind: ExclusionKind, targetId: string): Promise<void> {
  await store.members.unexclude(memberId, kind, targetId);
}

/** A permission as the privacy center names it: a field about the member (`email`) or about friends (`friends.birthday`). */
export function parsePermission(permission: string): { about: 'member' | 'friends'; field: Field } {
  const friend = permission.startsWith('friends.');
  const name = friend ? permission.slice('friends.'.length) : permission;
  if (!isField(name) || (friend && name === 'friends')) throw new UnknownField(`Unknown permission '${permission.slice(0, 100)}'.`);
  if (name === 'id') throw new BadRequest('permission_not_removable', 'Your member id is part of every consent: revoke the app instead.');
  return { about: friend ? 'friends' : 'member', field: name };
}

/**
 * Takes one permission away from an app, in every grant of the member's that is still active, at
 * once: its tokens stop reaching the field on their next request (the rules read grant ∩ token).
 * 404 when no active grant gives the app that permission.
 */
export async function removePermission(store: Store, memberId: string, appId: string, permission: string, now: Instant): Promise<void> {
  const { about, field } = parsePermission(permission);
  const bit = fieldBit(field);
  const grants = (await store.grants.ofMember(memberId))
    .filter(({ grant, agreement }) => grant.appId === appId && grantStatus(grantEnd(grant, agreement, now)) === 'active')
    .map(({ grant }) => grant)
    .filter((grant) => ((about === 'member' ? grant.memberFields : grant.friendFields) & bit) !== 0);
  if (grants.length === 0) throw new NotFound('This app has no such permission from you.');
  await store.db.transaction().execute(async (trx) => {
    const tx = createStore(trx);
    for (const grant of grants) await tx.grants.narrow(grant.id, about === 'member' ? bit : 0, about === 'friends' ? bit : 0);
  });
}
