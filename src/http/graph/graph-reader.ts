import type { AuditEntry } from '../../audit/audit-entry.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { planAccess, type AccessPlan } from '../../domain/access-plan.js';
import { DatapactError, FriendsOfFriendsForbidden, InvalidToken, NotConsented, NotFound } from '../../domain/errors.js';
import { fieldsOf, type Field, type FieldMask, type ObjectField } from '../../domain/field-catalog.js';
import { RULES_VERSION, type FieldReason, type WithheldReason } from '../../domain/reason-codes.js';
import { decideSubject, type SubjectDecision, type SubjectFacts } from '../../domain/subject-decision.js';
import type { Instant } from '../../domain/time.js';
import type { GrantContext } from '../../store/access-token-repository.js';
import { GrantRepository } from '../../store/grant-repository.js';
import type { MemberSettings, Profile } from '../../store/member-repository.js';
import type { Store } from '../../store/store.js';
import { decodeCursor, encodeCursor } from '../owner-cursor.js';

/** A request whose token passed the request-level rules. */
export interface Caller {
  readonly requestId: string;
  readonly context: GrantContext;
  readonly plan: AccessPlan;
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
      return { requestId, context, plan: planAccess(context, now) };
    } catch (error) {
      if (error instanceof DatapactError) await this.audit.append([denial(context, requestId, now, error.code, null)]);
      throw error;
    }
  }

  async me(caller: Caller, requested: FieldMask): Promise<MemberView> {
    const self = caller.plan.memberId;
    const decision = decideSubject(caller.plan, selfFacts(self), requested) as VisibleDecision;
    const profiles = await this.store.members.profiles([self], objectFields(decision.released));
    await this.commit(caller, [released(caller, self, decision)]);
    return view(self, decision, profiles.get(self));
  }

  async member(caller: Caller, id: string, requested: FieldMask): Promise<MemberView> {
    if (id === caller.plan.memberId) return this.me(caller, requested);
    const [isFriend, settings] = await Promise.all([
      this.store.friendships.areFriends(caller.plan.memberId, id),
      this.store.members.settings([id]),
    ]);
    const users = await this.appUsers(caller, isFriend ? [id] : []);
    const memberSettings = settings.get(id);
    const decision = memberSettings
      ? decideSubject(caller.plan, facts(memberSettings, isFriend, users), requested)
      : ({ visible: false, reason: 'stranger' } as const);
    if (!decision.visible) {
      // A friend left out by their own settings looks exactly like a stranger: same 404, no hint.
      const entry = decision.reason === 'friend_opted_out'
        ? withheldSubject(caller, id)
        : denial(caller.context, caller.requestId, caller.plan.now, 'not_found', id);
      await this.commit(caller, [entry]);
      throw new NotFound(`No member ${id} is visible to this app.`);
    }
    const profiles = await this.store.members.profiles([id], objectFields(decision.released));
    await this.commit(caller, [released(caller, id, decision)]);
    return view(id, decision, profiles.get(id));
  }

  /** A page of the caller's visible friends, in id order. */
  async friends(caller: Caller, ownerId: string, requested: FieldMask, limit: number, cursor?: string): Promise<FriendsPage> {
    const { plan, context, requestId } = caller;
    if (ownerId !== plan.memberId) {
      await this.commit(caller, [denial(context, requestId, plan.now, 'friends_of_friends_forbidden', ownerId)]);
      throw new FriendsOfFriendsForbidden();
    }
    if (!plan.friendsVisible) {
      await this.commit(caller, [denial(context, requestId, plan.now, 'not_consented', null)]);
      throw new NotConsented('The agreement or the member\'s grant does not include the friend list (`friends`).');
    }
    const after = cursor === undefined ? null : decodeCursor(cursor, ownerId, 'string');
    const { shown, hidden, hasMore } = await this.scanFriends(caller, requested, limit, after);
    const ids = shown.map(([id]) => id);
    const union = shown.reduce((mask, [, decision]) => mask | decision.released, 0);
    const profiles = await this.store.members.profiles(ids, objectFields(union));
    await this.commit(caller, [
      ...shown.map(([id, decision]) => released(caller, id, decision)),
      ...hidden.map((id) => withheldSubject(caller, id)),
    ]);
    const data = shown.map(([id, decision]) => view(id, decision, profiles.get(id)));
    const last = ids[ids.length - 1];
    return hasMore && last !== undefined ? { data, after: encodeCursor(ownerId, last) } : { data };
  }

  /**
   * Reads friends in id order until `limit` are visible, then looks ahead for one more visible
   * friend so that a next cursor is given only when a next page has something in it: an empty
   * last page would hint that opted-out friends exist. Hidden friends met in the look-ahead are
   * audited with the page that shows the friends after them.
   */
  private async scanFriends(caller: Caller, requested: FieldMask, limit: number, after: string | null) {
    const shown: Array<[string, VisibleDecision]> = [];
    const hidden: string[] = [];
    const chunk = Math.min(Math.max(limit * 3, 30), 300);
    let position = after;
    for (;;) {
      const ids = await this.store.friendships.page(caller.plan.memberId, position, chunk);
      const [settings, users] = await Promise.all([this.store.members.settings(ids), this.appUsers(caller, ids)]);
      for (const id of ids) {
        const memberSettings = settings.get(id);
        if (!memberSettings) continue;
        const decision = decideSubject(caller.plan, facts(memberSettings, true, users), requested);
        if (shown.length === limit) {
          if (decision.visible) return { shown, hidden, hasMore: true };
          continue;
        }
        if (decision.visible) shown.push([id, decision]);
        else hidden.push(id);
      }
      if (ids.length < chunk) return { shown, hidden, hasMore: false };
      position = ids[ids.length - 1]!;
    }
  }

  private async appUsers(caller: Caller, ids: readonly string[]): Promise<ReadonlySet<string>> {
    if (caller.plan.appClass !== 'third_party' || ids.length === 0) return EMPTY;
    return this.store.grants.activeUsersOf(caller.plan.appId, ids, caller.plan.now);
  }

  /** The audit entries are committed, and the grant's use recorded, before anything is returned. */
  private async commit(caller: Caller, entries: AuditEntry[]): Promise<void> {
    const grantId = caller.context.grant.id;
    await this.audit.append(entries, (db) => new GrantRepository(db).touch(grantId, caller.plan.now));
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function selfFacts(id: string): SubjectFacts {
  return { id, isFriend: false, platformEnabled: true, shareViaFriends: false, usesApp: false, friendsAudience: 0 };
}

function facts(settings: MemberSettings, isFriend: boolean, appUsers: ReadonlySet<string>): SubjectFacts {
  return { ...settings, isFriend, usesApp: appUsers.has(settings.id) };
}

function objectFields(mask: FieldMask): ObjectField[] {
  return fieldsOf(mask).filter((field): field is ObjectField => field !== 'id' && field !== 'friends');
}

function withheldMap(decision: VisibleDecision): Partial<Record<ObjectField, FieldReason>> {
  const map: Partial<Record<ObjectField, FieldReason>> = {};
  for (const { reason, fields } of decision.withheld) {
    for (const field of fieldsOf(fields)) if (field !== 'friends') map[field] = reason;
  }
  return map;
}

/** Copies only the fields released for this subject: a page's profiles hold the union of all. */
function view(id: string, decision: VisibleDecision, profile: Profile | undefined): MemberView {
  const values: Omit<Profile, 'id'> = {};
  for (const field of objectFields(decision.released)) {
    const value = profile?.[field];
    if (value !== undefined && field !== 'id') values[field] = value;
  }
  return { id, ...values, withheld: withheldMap(decision) };
}

function entryBase(context: GrantContext, requestId: string, now: Instant) {
  return {
    at: now,
    requestId,
    appId: context.app.id,
    partnerId: context.partnerId,
    agreementId: context.agreement?.id ?? null,
    agreementVersion: context.agreement?.version ?? null,
    rulesVersion: RULES_VERSION,
    tokenMemberId: context.member.id,
    purpose: context.grant.purpose,
  };
}

function denial(context: GrantContext, requestId: string, now: Instant, code: string, subject: string | null): AuditEntry {
  return { ...entryBase(context, requestId, now), subjectMemberId: subject, outcome: 'denied', code, released: [], withheld: {} };
}

function released(caller: Caller, subject: string, decision: VisibleDecision): AuditEntry {
  return {
    ...entryBase(caller.context, caller.requestId, caller.plan.now),
    subjectMemberId: subject,
    outcome: 'released',
    code: decision.relation === 'self' ? null : 'through_friend',
    released: fieldsOf(decision.released),
    withheld: withheldMap(decision) as Partial<Record<Field, WithheldReason>>,
  };
}

function withheldSubject(caller: Caller, subject: string): AuditEntry {
  return {
    ...entryBase(caller.context, caller.requestId, caller.plan.now),
    subjectMemberId: subject,
    outcome: 'withheld',
    code: 'friend_opted_out',
    released: [],
    withheld: {},
  };
}
