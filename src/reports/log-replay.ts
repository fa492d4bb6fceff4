import type { AppClass } from '../domain/app.js';
import type { LoggedRequest, ReplayWorld } from '../domain/replay.js';
import type { SubjectFacts } from '../domain/subject-decision.js';
import type { Instant } from '../domain/time.js';
import type { LoggedConsent, LoggedRequestRead, ReplayFilter, ReplayLogRepository } from '../store/replay-log-repository.js';

/** Requests read per batch: enough to amortise each query, few enough that memory stays flat. */
export const REPLAY_BATCH = 500;
/** Past this many cached members the caches start again (a whole-log replay of a large world). */
const CACHE_LIMIT = 200_000;

/** A logged request ready for the rules: today's world around it, or why it cannot be replayed. */
export type ReplayStep =
  | { readonly request: LoggedRequest; readonly world: ReplayWorld; readonly skipped?: undefined }
  | { readonly request: LoggedRequest; readonly skipped: 'grant_not_found'; readonly world?: undefined };

/** The grant the request was made under: the newest of the member's consents to the app, agreement and purpose given by then. */
function consentAt(consents: readonly LoggedConsent[], request: LoggedRequest): LoggedConsent | undefined {
  let found: LoggedConsent | undefined;
  for (const consent of consents) {
    if (consent.appId !== request.appId || consent.agreementId !== request.agreementId || consent.purpose !== request.purpose) continue;
    if (consent.grantedAt > request.at) continue;
    if (found === undefined || consent.grantedAt > found.grantedAt) found = consent;
  }
  return found;
}

function usesAppAt(consents: readonly LoggedConsent[] | undefined, appId: string, at: Instant): boolean {
  return consents?.some((c) => c.appId === appId && c.grantedAt <= at && (c.revokedAt === null || c.revokedAt > at)) ?? false;
}

/**
 * Streams logged Graph API requests in seq order, a batch at a time, each with the world the rules
 * read around it: today's member facts and consents, each loaded once per member (cached across
 * batches), and today's friendships read with the leaves; never a query per entry.
 */
export class LogReplayer {
  private appClasses: Map<string, AppClass> | undefined;
  /** A member's facts as a subject who uses no app, as a friend and as not one: shared, not built per subject decided. */
  private readonly facts = new Map<string, { readonly friend: SubjectFacts; readonly other: SubjectFacts } | null>();
  private readonly consents = new Map<string, readonly LoggedConsent[]>();
  private readonly platform = new Map<string, boolean>();

  constructor(private readonly log: ReplayLogRepository) {}

  async *steps(filter: ReplayFilter, batchSize = REPLAY_BATCH): AsyncGenerator<ReplayStep[]> {
    this.appClasses ??= await this.log.appClasses();
    let afterSeq = 0;
    for (;;) {
      const read = await this.log.requests(filter, afterSeq, batchSize);
      if (read.length === 0) return;
      afterSeq = read[read.length - 1]!.request.seq;
      await this.load(read.map((r) => r.request));
      yield read.map((r) => this.step(r));
    }
  }

  private async load(requests: readonly LoggedRequest[]): Promise<void> {
    if (this.facts.size > CACHE_LIMIT) for (const cache of [this.facts, this.consents, this.platform]) cache.clear();
    const tokens = new Set<string>();
    const subjects = new Set<string>();
    const appUsers = new Set<string>();
    const gather = (id: string, thirdParty: boolean) => {
      if (!this.facts.has(id)) subjects.add(id);
      if (thirdParty && !this.consents.has(id)) appUsers.add(id);
    };
    for (const request of requests) {
      if (!this.platform.has(request.tokenMemberId)) tokens.add(request.tokenMemberId);
      const thirdParty = this.appClasses!.get(request.appId) === 'third_party';
      for (const subject of request.subjects) gather(subject.id, thirdParty);
      if (request.deniedSubject !== null) gather(request.deniedSubject, thirdParty);
    }
    for (const id of tokens) if (!this.consents.has(id)) appUsers.add(id);
    const [platform, facts, consents] = await Promise.all([
      this.log.platformEnabled([...tokens]), this.log.memberFacts([...subjects]), this.log.consents([...appUsers]),
    ]);
    for (const id of tokens) this.platform.set(id, platform.get(id) ?? false);
    for (const id of subjects) {
      const member = facts.get(id);
      if (member === undefined) { this.facts.set(id, null); continue; }
      const { platformEnabled, shareViaFriends, exclusions, friendsAudience } = member;
      const other: SubjectFacts = { id, platformEnabled, shareViaFriends, exclusions, friendsAudience, isFriend: false, usesApp: false };
      this.facts.set(id, { friend: { ...other, isFriend: true }, other });
    }
    for (const [id, list] of consents) this.consents.set(id, list);
  }

  private step({ request, friendsToday, deniedSubjectIsFriend }: LoggedRequestRead): ReplayStep {
    const consent = consentAt(this.consents.get(request.tokenMemberId) ?? [], request);
    if (consent === undefined) return { request, skipped: 'grant_not_found' };
    const appClass = this.appClasses!.get(request.appId) ?? 'device_partner';
    const facts = (id: string, isFriend: boolean): SubjectFacts | undefined => {
      const member = this.facts.get(id);
      if (member === undefined || member === null) return undefined;
      // A member is a friend of themself in no list, as the route sees it.
      const shared = isFriend && id !== request.tokenMemberId ? member.friend : member.other;
      const usesApp = appClass === 'third_party' && usesAppAt(this.consents.get(id), request.appId, request.at);
      return usesApp ? { ...shared, usesApp } : shared;
    };
    const world: ReplayWorld = {
      appClass,
      consented: consent,
      tokenMemberPlatformEnabled: this.platform.get(request.tokenMemberId) ?? false,
      subject: (index) => facts(request.subjects[index]!.id, friendsToday[index]!),
      deniedSubject: () => request.deniedSubject === null ? undefined : facts(request.deniedSubject, deniedSubjectIsFriend),
    };
    return { request, world };
  }
}
