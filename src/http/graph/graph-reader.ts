import type { AuditEntry } from '../../audit/audit-entry.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { planAccess, type AccessPlan } from '../../domain/access-plan.js';
import { audienceIsEditable } from '../../domain/audience.js';
import { DatapactError, FriendsOfFriendsForbidden, InvalidToken, NotConsented, NotFound } from '../../domain/errors.js';
import { fieldBit, fieldsOf, ID_MASK, type FieldMask, type ObjectField } from '../../domain/field-catalog.js';
import type { FieldReason } from '../../domain/reason-codes.js';
import {
  decideSubject, NO_EXCLUSIONS, selfFacts, subjectVisibility, type FriendExclusions, type SubjectDecision, type SubjectFacts, type Visibility, type VisibilityFacts,
} from '../../domain/subject-decision.js';
import type { Instant } from '../../domain/time.js';
import type { GrantContext } from '../../store/access-token-repository.js';
import { GrantRepository } from '../../store/grant-repository.js';
import type { MemberSettings, Profile } from '../../store/member-repository.js';
import type { Store } from '../../store/store.js';
import { decodeCursor, encodeCursor } from '../owner-cursor.js';
import { RequestEntries } from './request-entries.js';

/** A request whose token passed the request-level rules. */
export interface Caller {
  readonly requestId: string;
  readonly context: GrantContext;
  readonly plan: AccessPlan;
  /** Builds this request's audit entries. */
  readonly entries: RequestEntries;
}

export type MemberView = { id: string; withheld: Partial<Record<ObjectField, FieldReason>> } & Omit<Profile, 'id'>;

export interface FriendsPage {
  readonly data: MemberView[];
  readonly after?: string;
}

type VisibleDecision = Extract<SubjectDecision, { visible: true }>;

/**
 * The Graph API's reads: gathers the facts the rules need from the store, lets the pure rules
 * decide, writes the audit entries and only then hands back what may leave.
 */
export class GraphReader {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: () => Instant,
    /** False in production: only tokens minted through OAuth consent are accepted. */
    private readonly acceptDevelopmentTokens: boolean,
  ) {}

  /** Rule 1 to 6 of §4. A refusal of a known token is audited before it is thrown. */
  async authorize(bearer: string | undefined, requestId: string): Promise<Caller> {
    if (bearer === undefined) throw new InvalidToken('Send the access token as `Authorization: Bearer <token>`.');
    const context = await this.store.tokens.verify(bearer);
    if (context === undefined) throw new InvalidToken('The access token is not valid.');
    if (context.tokenOrigin === 'development' && !this.acceptDevelopmentTokens) {
      throw new InvalidToken('Development tokens are not accepted in production; obtain a token through OAuth.');
    }
    const now = this.clock();
    try {
      const plan = planAccess(context, now);
      return { requestId, context, plan, entries: new RequestEntries(context, requestId, now) };
    } catch (error) {
      if (error instanceof DatapactError) await this.audit.append([new RequestEntries(context, requestId, now).denial(error.code, null)]);
      throw error;
    }
  }

  async me(caller: Caller, requested: FieldMask): Promise<MemberView> {
    const self = caller.plan.memberId;
    const decision = decideSubject(caller.plan, selfFacts(self), requested) as VisibleDecision;
    const profiles = await this.store.members.profiles([self], objectFields(decision.released));
    const withheld = withheldMap(decision);
    const profile = profiles.get(self);
    await this.commit(caller, [caller.entries.served(0), caller.entries.released(self, decision.relation, carried(decision, profile), withheld, caller.context.member.number)]);
    return view(self, decision, withheld, profile);
  }

  async member(caller: Caller, id: string, requested: FieldMask): Promise<MemberView> {
    if (id === caller.plan.memberId) return this.me(caller, requested);
    // The same reads whoever `id` is (a friend, hidden or not, a stranger, no one): a lookup that read a
    // friend's exclusions and app use only would take longer for a hidden friend than for a stranger.
    const [isFriend, settings, users, exclusions] = await Promise.all([
      this.store.friendships.areFriends(caller.plan.memberId, id),
      this.store.members.settings([id]),
      this.appUsers(caller, [{ id }]),
      this.store.members.friendExclusions([id]),
    ]);
    const memberSettings = settings.get(id);
    const decision = memberSettings
      ? decideSubject(caller.plan, facts(memberSettings, isFriend, users, exclusions.get(id) ?? NO_EXCLUSIONS), requested)
      : ({ visible: false, reason: 'stranger' } as const);
    if (!decision.visible) {
      // A friend left out by their own settings looks exactly like a stranger: same 404, no hint,
      // and one request entry either way; only inside it (blinded) is the friend counted.
      await this.commit(caller, [caller.entries.denial('not_found', id, decision.reason === 'friend_opted_out' ? 1 : 0)]);
      throw new NotFound(`No member ${id} is visible to this app.`);
    }
    const profiles = await this.store.members.profiles([id], objectFields(decision.released));
    const withheld = withheldMap(decision);
    const profile = profiles.get(id);
    await this.commit(caller, [caller.entries.served(0), caller.entries.released(id, decision.relation, carried(decision, profile), withheld, memberSettings?.number)]);
    return view(id, decision, withheld, profile);
  }

  /** A page of the caller's visible friends, in id order. */
  async friends(caller: Caller, ownerId: string, requested: FieldMask, limit: number, cursor?: string): Promise<FriendsPage> {
    const { plan, entries } = caller;
    if (ownerId !== plan.memberId) {
      await this.commit(caller, [entries.denial('friends_of_friends_forbidden', ownerId)]);
      throw new FriendsOfFriendsForbidden();
    }
    if (!plan.friendsVisible) {
      await this.commit(caller, [entries.denial('not_consented', null)]);
      throw new NotConsented('The agreement or the member\'s grant does not include the friend list (`friends`).');
    }
    const after = cursor === undefined ? null : decodeCursor(cursor, ownerId, 'string');
    const { shown, numbers, hidden, hasMore } = await this.scanFriends(caller, limit, after);
    const decisions = await this.decideShown(caller, shown, requested);
    const ids = shown.map((friend) => friend.id);
    const union = decisions.reduce((mask, decision) => mask | decision.released, 0);
    const profiles = await this.store.members.profiles(ids, objectFields(union));
    const withheld = decisions.map(withheldMap);
    // One entry for the request, counting the friends passed over, and one per friend shown.
    await this.commit(caller, [
      entries.served(hidden),
      ...decisions.map((decision, i) => entries.released(ids[i]!, decision.relation, carried(decision, profiles.get(ids[i]!)), withheld[i]!, numbers[i])),
    ]);
    const data = decisions.map((decision, i) => view(ids[i]!, decision, withheld[i]!, profiles.get(ids[i]!)));
    const last = ids[ids.length - 1];
    return hasMore && last !== undefined ? { data, after: encodeCursor(ownerId, last) } : { data };
  }

  /**
   * Reads friends in id order until `limit` are visible, then one more visible friend, so that a
   * next cursor is given only when a next page has something in it (an empty last page would hint
   * that hidden friends exist). The store reads only friends an app of the caller's class could see
   * at all, so the work grows with what the page shows, not with the hidden friends around it; the
   * rules decide each one read. The friends passed over (the page's range less what it shows; up to
   * the end on the last page) are counted for the audit entry. Audiences are read afterwards, for
   * the friends shown only. The numbers of the friends shown go with their audit entries.
   */
  private async scanFriends(caller: Caller, limit: number, after: string | null) {
    const shown: VisibilityFacts[] = [];
    const numbers: Array<number | undefined> = [];
    const chunk = limit + 1;
    const passedOver = async (hasMore: boolean) => {
      const inRange = await this.store.friendships.countInRange(caller.plan.memberId, after, hasMore ? shown[shown.length - 1]!.id : null);
      return { shown, numbers, hidden: Math.max(0, inRange - shown.length), hasMore };
    };
    let position = after;
    for (;;) {
      const friends = await this.store.friendships.visiblePage(caller.plan.memberId, position, chunk, caller.plan);
      const users = await this.appUsers(caller, friends);
      for (const { id, settings, exclusions, number } of friends) {
        if (settings === undefined) continue;
        const friend: VisibilityFacts = { id, isFriend: true, ...settings, usesApp: users.has(id), exclusions };
        if (!isVisible(subjectVisibility(caller.plan, friend))) continue;
        if (shown.length === limit) return passedOver(true);
        shown.push(friend);
        numbers.push(number);
      }
      if (friends.length < chunk) return passedOver(false);
      position = friends[friends.length - 1]!.id;
    }
  }

  /**
   * The full decision for each friend the scan found visible, with the audiences it needs: those of
   * the requested fields a member can change (no other field's audience enters a decision).
   */
  private async decideShown(caller: Caller, shown: readonly VisibilityFacts[], requested: FieldMask): Promise<VisibleDecision[]> {
    const audiences = caller.plan.friend.readsAudience
      ? await this.store.members.friendsAudiences(shown.map((friend) => friend.id), objectFields(requested).filter(audienceIsEditable))
      : EMPTY_AUDIENCES;
    return shown.map((friend) => {
      const decision = decideSubject(caller.plan, { ...friend, friendsAudience: audiences.get(friend.id) ?? 0 }, requested);
      if (!decision.visible) throw new Error(`friend ${friend.id} was visible to the scan but not to the decision`);
      return decision;
    });
  }

  /** Which of these friends use the app themselves: read for third-party apps only, where it decides visibility. */
  private async appUsers(caller: Caller, friends: ReadonlyArray<{ readonly id: string }>): Promise<ReadonlySet<string>> {
    if (caller.plan.appClass !== 'third_party' || friends.length === 0) return EMPTY;
    return this.store.grants.activeUsersOf(caller.plan.appId, friends.map((friend) => friend.id), caller.plan.now);
  }

  /** The audit entries are committed, and the grant's use recorded, before anything is returned. */
  private async commit(caller: Caller, entries: AuditEntry[]): Promise<void> {
    const grantId = caller.context.grant.id;
    await this.audit.append(entries, (db) => new GrantRepository(db).touch(grantId, caller.plan.now));
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const EMPTY_AUDIENCES: ReadonlyMap<string, FieldMask> = new Map();

function isVisible(visibility: Visibility): boolean {
  return visibility === 'self' || visibility === 'friend';
}

function facts(settings: MemberSettings, isFriend: boolean, appUsers: ReadonlySet<string>, exclusions: FriendExclusions): SubjectFacts {
  return { ...settings, isFriend, exclusions, usesApp: appUsers.has(settings.id) };
}

/**
 * The object fields of a mask, as a shared frozen list: a page asks this of each friend's released
 * mask twice (what it carries, what it shows), and friends mostly share one mask.
 */
function objectFields(mask: FieldMask): readonly ObjectField[] {
  let fields = OBJECT_FIELDS.get(mask);
  if (fields === undefined) {
    fields = Object.freeze(fieldsOf(mask).filter((field): field is ObjectField => field !== 'id' && field !== 'friends'));
    if (OBJECT_FIELDS.size >= 4096) OBJECT_FIELDS.clear();
    OBJECT_FIELDS.set(mask, fields);
  }
  return fields;
}

const OBJECT_FIELDS = new Map<FieldMask, readonly ObjectField[]>();

/** Why each withheld field was withheld: the response's `withheld` and the audit entry's are the same map. */
function withheldMap(decision: VisibleDecision): Partial<Record<ObjectField, FieldReason>> {
  const map: Partial<Record<ObjectField, FieldReason>> = {};
  for (const { reason, fields } of decision.withheld) {
    for (const field of fieldsOf(fields)) if (field !== 'friends') map[field] = reason;
  }
  return map;
}

/** The fields the response carries for this subject: its id, and the released fields that have a value. */
function carried(decision: VisibleDecision, profile: Profile | undefined): FieldMask {
  let mask = ID_MASK;
  for (const field of objectFields(decision.released)) if (profile?.[field] !== undefined) mask |= fieldBit(field);
  return mask;
}

/** Copies only the fields released for this subject: a page's profiles hold the union of all. */
function view(id: string, decision: VisibleDecision, withheld: MemberView['withheld'], profile: Profile | undefined): MemberView {
  const values: Omit<Profile, 'id'> = {};
  for (const field of objectFields(decision.released)) {
    const value = profile?.[field];
    if (value !== undefined && field !== 'id') values[field] = value;
  }
  return { id, ...values, withheld };
}
