import type { AppClass } from '../domain/app.js';
import { ALL_FIELDS_MASK, type FieldMask } from '../domain/field-catalog.js';
import type { LoggedHead, LoggedRequest, ReplayWorld, RequestWorld, SubjectColumns } from '../domain/replay.js';
import { selfFacts, type SubjectFacts } from '../domain/subject-decision.js';
import { ConsentTable } from './consent-table.js';
import type { Instant } from '../domain/time.js';
import type {
  LoggedConsent, LoggedRequestRead, MemberFacts, PackedRequests, ReplayFilter, ReplayLogRepository,
} from '../store/replay-log-repository.js';
import { sharedFacts, type SharedFacts } from '../store/replay-members.js';
import { ANOTHER_MEMBER, REFRESH_SHARE, type FactsView, type KeptWithWorld, type ReplayNumbers, type WorldChange } from '../store/replay-numbers.js';

/** Requests read per batch: enough to amortise each query, few enough that memory stays flat. */
export const REPLAY_BATCH = 500;
/** Where a world keeps its consent table of every agreement (ReplayNumbers.derived); one agreement's under its id after it. */
const CONSENT_TABLE = 'consents';
/** Past this many cached members the caches start again (a whole-log replay of a large world). */
const CACHE_LIMIT = 200_000;

/** A logged request ready for the rules: today's world around it, or why it cannot be replayed. */
export type ReplayStep =
  | { readonly request: LoggedRequest; readonly world: ReplayWorld; readonly skipped?: undefined }
  | { readonly request: LoggedRequest; readonly skipped: 'grant_not_found'; readonly world?: undefined };

/** The grant the request was made under: the newest of the member's consents to the app, agreement and purpose given by then. */
function consentAt(consents: readonly LoggedConsent[], request: LoggedHead): LoggedConsent | undefined {
  let found: LoggedConsent | undefined;
  for (const consent of consents) {
    if (consent.appId !== request.appId || consent.agreementId !== request.agreementId || consent.purpose !== request.purpose) continue;
    if (consent.grantedAt > request.at) continue;
    if (found === undefined || consent.grantedAt > found.grantedAt) found = consent;
  }
  return found;
}

/** What the rules read of a grant, as the consent table gives it. */
function consentedOf(consent: LoggedConsent | undefined): RequestWorld['consented'] | undefined {
  return consent === undefined ? undefined : { memberFields: consent.memberFields, friendFields: consent.friendFields };
}

function usesAppAt(consents: readonly LoggedConsent[] | undefined, appId: string, at: Instant): boolean {
  return consents?.some((c) => c.appId === appId && c.grantedAt <= at && (c.revokedAt === null || c.revokedAt > at)) ?? false;
}

/**
 * Streams logged Graph API requests in seq order (a whole log with sealed segments: agreement by
 * agreement, each in seq order), a batch at a time, each with the world the rules
 * read around it: today's member facts, friendships and consents, each loaded once per member
 * (cached across batches; on SQLite by member number, ReplayNumbers: the facts of the members a
 * batch names, the friend lists of its token members; on PostgreSQL the friendships with the
 * leaves); never a query per entry.
 */
export class LogReplayer {
  private appClasses: Map<string, AppClass> | undefined;
  /** A member's facts as a subject who uses no app, as a friend and as not one: shared, not built per subject decided. */
  private readonly facts = new Map<string, SharedFacts | null>();
  /** Today's members by number as the store reads them a batch at a time (SQLite), instead of `facts`. */
  private members: ReplayNumbers | undefined;
  /** Their facts as this run reads them (audiences within `audienceFields`), with `members`. */
  factsView: FactsView | undefined;
  private readonly consents = new Map<string, readonly LoggedConsent[]>();
  /** A replay that meets most members: every member's consents by number, read at once and kept with the world (start). */
  private consentTable: ConsentTable | undefined;
  private readonly platform = new Map<string, boolean>();
  /** Request worlds made of the consent table's consents, by consent, app class and platform setting (requestWorld). */
  private readonly worlds = new Map<RequestWorld['consented'], RequestWorld[]>();

  /**
   * `audienceFields`: the fields of friends' audiences the rules can read under every terms the run
   * decides by (audienceFieldsRead); the world by number shares facts among members who differ only
   * outside them. All fields unless told.
   */
  constructor(private readonly log: ReplayLogRepository, private readonly audienceFields: FieldMask = ALL_FIELDS_MASK) {}

  async *steps(filter: ReplayFilter, batchSize = REPLAY_BATCH): AsyncGenerator<ReplayStep[]> {
    for await (const batch of this.batches(filter, batchSize)) {
      const steps: ReplayStep[] = [];
      for (let index = 0; index < batch.length; index++) steps.push(batch.step(index));
      yield steps;
    }
  }

  /**
   * The same requests a batch at a time, each readable two ways: as columns (`columns`: the
   * request's head, world and subjects, no object per subject; SQLite) for a replay's fast path, or
   * as a step.
   */
  async *batches(filter: ReplayFilter, batchSize = REPLAY_BATCH): AsyncGenerator<ReplayBatch> {
    await this.start(filter);
    // A whole log holding sealed segments is read agreement by agreement (ReplayLogRepository.parts), each in seq order.
    for (const part of await this.log.parts(filter) ?? [filter]) yield* this.batchesOf(part, batchSize);
  }

  private async *batchesOf(filter: ReplayFilter, batchSize: number): AsyncGenerator<ReplayBatch> {
    let afterSeq = 0;
    for (;;) {
      const packed = await this.log.packedRequests(filter, afterSeq, batchSize);
      if (packed !== undefined) {
        // Nothing read past afterSeq: the period is done (a segment, or rows before one, move it on even when none is kept).
        if (packed.lastSeq <= afterSeq) return;
        afterSeq = packed.lastSeq;
        const heads = Array.from({ length: packed.length }, (_, index) => packed.head(index));
        // Only a third-party app's request reads its subjects' consents (whether they use the app): only its ids are split.
        // Nothing else is read for a batch whose token members all have numbers and whose consents are all read already.
        if (!this.readsNothingFor(packed, heads)) {
          await this.load(heads.map((head, index) => ({ head, subjectIds: this.appClassOf(head) === 'third_party' ? packed.ids(index) : [] })));
        }
        yield new PackedBatch(this, packed, heads);
        continue;
      }
      const read = await this.log.requests(filter, afterSeq, batchSize);
      if (read.length === 0) return;
      afterSeq = read[read.length - 1]!.request.seq;
      const requests = read.map(({ request }) => ({ head: request, subjectIds: request.subjects.map((subject) => subject.id) }));
      // Read the general way (ids that do not pack): the members it names are read here.
      const members = this.members;
      if (members !== undefined) {
        const named = requests.flatMap(({ head, subjectIds }) => [...subjectIds, head.tokenMemberId, head.deniedSubject ?? head.tokenMemberId]);
        members.load(named.map((id) => members.numberOf(id)), []);
      }
      await this.load(requests);
      yield new ReadBatch(this, read);
    }
  }

  private async start(filter: ReplayFilter): Promise<void> {
    this.appClasses ??= await this.log.appClasses();
    if (this.members !== undefined) return;
    this.members = await this.log.replayNumbers(filter);
    this.factsView = this.members?.within(this.audienceFields);
    // A run that meets most members reads every consent at once, by member number (a member without one has none): every
    // agreement's for a whole log, the agreement's for one agreement's requests (a request's grant is found by its agreement
    // among them; at a million members, most of the cost of reading the world), kept with the world for the runs that
    // follow while it is unchanged (grants' consents are part of it, world_version): a simulation after a replay, or of the
    // same agreement, reads none again. Consents by id are still read a batch at a time for what the table does not answer:
    // a token member without a number, whether a third-party app's subject uses it.
    const members = this.members;
    if (members === undefined || !this.log.meetsMostMembers) return;
    this.consentTable = this.consentTableOf(members, typeof filter.agreementId === 'string' ? filter.agreementId : undefined);
  }

  /** The world's consent table of every agreement, or of this one: the one kept with it, else read now and kept. */
  private consentTableOf(members: ReplayNumbers, agreementId: string | undefined): ConsentTable | undefined {
    const key = agreementId === undefined ? CONSENT_TABLE : `${CONSENT_TABLE}:${agreementId}`;
    const kept = (members.derived.get(CONSENT_TABLE) ?? members.derived.get(key)) as KeptConsents | undefined;
    if (kept !== undefined) return kept.table;
    const read = this.log.consentColumns(members, agreementId);
    const consents = read === undefined ? this.log.numberedConsents((id) => members.numberOf(id), agreementId) : undefined;
    const table = read !== undefined ? ConsentTable.fromColumns(members.maxNumber, read.kinds, read.columns)
      : consents !== undefined ? ConsentTable.of(members.maxNumber, consents) : undefined;
    if (table !== undefined) members.derived.set(key, new KeptConsents(table, this.log, agreementId));
    return table;
  }

  private async load(requests: ReadonlyArray<{ readonly head: LoggedHead; readonly subjectIds: readonly string[] }>): Promise<void> {
    if (this.consents.size + this.facts.size > CACHE_LIMIT) for (const cache of [this.facts, this.platform, this.consents]) cache.clear();
    const all = this.members !== undefined;
    const tokens = new Set<string>();
    const subjects = new Set<string>();
    const appUsers = new Set<string>();
    const gather = (id: string, thirdParty: boolean) => {
      if (!all && !this.facts.has(id)) subjects.add(id);
      if (thirdParty && !this.consents.has(id)) appUsers.add(id);
    };
    for (const { head, subjectIds } of requests) {
      if (!this.platform.has(head.tokenMemberId)) tokens.add(head.tokenMemberId);
      const thirdParty = this.appClassOf(head) === 'third_party';
      for (const id of subjectIds) gather(id, thirdParty);
      if (head.deniedSubject !== null) gather(head.deniedSubject, thirdParty);
    }
    // A token member's grants are in the table when they have a number (requestWorld).
    for (const id of tokens) if (!this.consents.has(id) && (this.consentTable === undefined || this.memberNumber(id) < 0)) appUsers.add(id);
    const [platform, facts, consents] = await Promise.all([
      all ? undefined : this.log.platformEnabled([...tokens]), this.log.memberFacts([...subjects]), this.log.consents([...appUsers]),
    ]);
    for (const id of tokens) this.platform.set(id, all ? this.members!.platformEnabled(this.members!.numberOf(id)) : platform!.get(id) ?? false);
    for (const id of subjects) {
      const member = facts.get(id);
      this.facts.set(id, member === undefined ? null : sharedFacts(member));
    }
    for (const [id, list] of consents) this.consents.set(id, list);
  }

  /**
   * Whether `load` would read nothing for a packed batch: every consent is read (the table), every
   * request is a device app's and its token member has a number (its grant and platform setting then
   * read by number, requestWorld).
   */
  private readsNothingFor(packed: PackedRequests, heads: readonly LoggedHead[]): boolean {
    if (this.consentTable === undefined) return false;
    for (let index = 0; index < heads.length; index++) {
      if (packed.tokenNumber(index) < 0 || this.appClassOf(heads[index]!) === 'third_party') return false;
    }
    return true;
  }

  /** A member's number in today's world as read by number (SQLite); -1 when it has none, or the world is not read so. */
  memberNumber(id: string): number {
    return this.members === undefined ? -1 : this.members.numberOf(id);
  }

  appClassOf(head: LoggedHead): AppClass {
    return this.appClasses!.get(head.appId) ?? 'device_partner';
  }

  /** What the request-level rules read of the world, or undefined when the grant the request was made under is not found. */
  requestWorld(head: LoggedHead, tokenNumber = -1): RequestWorld | undefined {
    const table = this.consentTable;
    const number = tokenNumber >= 0 || table === undefined ? tokenNumber : this.memberNumber(head.tokenMemberId);
    const consent = table !== undefined && number >= 0 ? table.consentAt(number, head) : consentedOf(consentAt(this.consents.get(head.tokenMemberId) ?? [], head));
    if (consent === undefined) return undefined;
    // By number where the batch gives one (its platform setting read with the world), else as `load` read it.
    const platform = tokenNumber >= 0 && this.members !== undefined ? this.members.platformEnabled(tokenNumber) : this.platform.get(head.tokenMemberId) ?? false;
    const appClass = this.appClassOf(head);
    // A table's consents are a few shared objects: the worlds made of them are too (not an object per request).
    if (table === undefined || number < 0) return { appClass, consented: consent, tokenMemberPlatformEnabled: platform };
    let worlds = this.worlds.get(consent);
    if (worlds === undefined) this.worlds.set(consent, worlds = []);
    const slot = (appClass === 'third_party' ? 2 : 0) + (platform ? 1 : 0);
    return worlds[slot] ??= { appClass, consented: consent, tokenMemberPlatformEnabled: platform };
  }

  /** A member's facts as a subject of the request: undefined when no such member exists. */
  subjectFacts(head: LoggedHead, appClass: AppClass, id: string, isFriend: boolean): SubjectFacts | undefined {
    // A member is a friend of themself in no list, as the route sees it.
    const own = id === head.tokenMemberId;
    const shared = this.members === undefined ? this.sharedFacts(id, isFriend && !own) : this.members.facts(this.members.numberOf(id), isFriend && !own, this.factsView);
    if (shared === undefined) return undefined;
    const usesApp = appClass === 'third_party' && usesAppAt(this.consents.get(id), head.appId, head.at);
    // Facts by number carry no id (ANOTHER_MEMBER): the token's own member is given theirs.
    return usesApp || (own && shared.id !== id) ? { ...shared, id, usesApp } : shared;
  }

  private sharedFacts(id: string, asFriend: boolean): SubjectFacts | undefined {
    const member = this.facts.get(id);
    if (member === undefined || member === null) return undefined;
    return asFriend ? member.friend : member.other;
  }

  /** `tokenNumber`: the token member's number where the batch read one (-1: none). */
  step({ request, friendsToday, deniedSubjectIsFriend }: LoggedRequestRead, tokenNumber = -1): ReplayStep {
    const world = this.requestWorld(request, tokenNumber);
    if (world === undefined) return { request, skipped: 'grant_not_found' };
    const facts = (id: string, isFriend: boolean) => this.subjectFacts(request, world.appClass, id, isFriend);
    return {
      request,
      world: {
        ...world,
        subject: (index) => facts(request.subjects[index]!.id, friendsToday[index]!),
        deniedSubject: () => request.deniedSubject === null ? undefined : facts(request.deniedSubject, deniedSubjectIsFriend),
      },
    };
  }
}

/**
 * A consent table kept with a world: refreshed with it after a few members changed (their consents
 * read again), made again after many.
 */
class KeptConsents implements KeptWithWorld {
  constructor(readonly table: ConsentTable, private readonly log: ReplayLogRepository, private readonly agreementId: string | undefined) {}

  refreshed(change: WorldChange): KeptConsents | undefined {
    const consents = this.log.consentsByNumber(change.numbers, this.agreementId);
    const table = consents === undefined ? undefined : this.table.withMembers(change.numbers, consents);
    return table === undefined || table.changedMembers > (change.maxNumber + 1) / REFRESH_SHARE ? undefined : new KeptConsents(table, this.log, this.agreementId);
  }
}

/** A request of a batch ready for a replay's fast path: its head, the world the request-level rules read, its subjects as columns. */
export interface ColumnsStep {
  readonly request: LoggedHead;
  readonly world: RequestWorld;
  readonly subjects: SubjectColumns;
}

/** A batch of logged requests: each as a step, and, read packed, as columns. */
export interface ReplayBatch {
  readonly length: number;
  step(index: number): ReplayStep;
  /** The request as columns; undefined when it is not read so, or its grant is not found (`step` says). */
  columns(index: number): ColumnsStep | undefined;
}

class ReadBatch implements ReplayBatch {
  readonly length: number;

  constructor(private readonly replayer: LogReplayer, private readonly read: readonly LoggedRequestRead[]) {
    this.length = read.length;
  }

  step(index: number): ReplayStep {
    return this.replayer.step(this.read[index]!);
  }

  columns(): undefined {
    return undefined;
  }
}

/**
 * A subject's kind is its facts' index times KIND_ENTRIES plus its entry's, kept below 2^30: a small
 * integer to V8 (a fast key). Members' settings and audiences make many more distinct facts than
 * a log has distinct entries (28,401 against 25 at a million members), hence the split.
 */
const KIND_ENTRIES = 1 << 11;
const KIND_FACTS = 1 << 19;

/** A `self` entry naming another member than the token's: a stranger to the rules, as selfFacts of its id is. */
const ANOTHER_SELF = selfFacts(ANOTHER_MEMBER);

class PackedBatch implements ReplayBatch {
  readonly length: number;
  /** Its subjects' kinds (PackedRequests.kinds), on first use. */
  private kinds: Int32Array | undefined;

  constructor(private readonly replayer: LogReplayer, private readonly packed: PackedRequests, private readonly heads: readonly LoggedHead[]) {
    this.length = packed.length;
  }

  step(index: number): ReplayStep {
    return this.replayer.step(this.packed.read(index), this.packed.tokenNumber(index));
  }

  /**
   * The request as columns, its subjects' facts by member number: undefined (read it as a step) for
   * a third-party app's request (whether a subject uses the app is read by id) and for a token
   * member without a number.
   */
  columns(index: number): ColumnsStep | undefined {
    const request = this.heads[index]!;
    const { packed } = this;
    const token = packed.tokenNumber(index);
    const world = this.replayer.requestWorld(request, token);
    if (world === undefined || world.appClass === 'third_party' || token < 0 || request.tokenMemberId === ANOTHER_MEMBER) return undefined;
    const view = this.replayer.factsView!;
    this.kinds ??= packed.kinds(view, KIND_ENTRIES, KIND_FACTS);
    const subjects = new PackedSubjects(packed, view, this.kinds, index, token, request.tokenMemberId);
    return { request, world, subjects };
  }
}

/** A packed request's subjects as columns (SubjectColumns), by their place in the batch: no object per subject. */
class PackedSubjects implements SubjectColumns {
  readonly length: number;
  private readonly first: number;

  /** The token's member's facts as themself, made when first asked for. */
  private own: SubjectFacts | undefined;

  constructor(private readonly packed: PackedRequests, private readonly view: FactsView, private readonly kinds: Int32Array, private readonly index: number,
    private readonly token: number, private readonly tokenMemberId: string) {
    this.first = packed.first(index);
    this.length = packed.first(index + 1) - this.first;
  }

  logged(at: number): ReturnType<PackedRequests['entry']> {
    return this.packed.entry(this.first + at);
  }

  facts(at: number): SubjectFacts | undefined {
    const { packed, token } = this;
    const number = packed.number(this.first + at);
    // The token's own member, as themself or among their friends: seen as themself (if still a member, for a friend's entry).
    const self = packed.entry(this.first + at).relation === 'self';
    if (number === token) return self || packed.members.facts(number, false, this.view) !== undefined ? this.own ??= selfFacts(this.tokenMemberId) : undefined;
    if (self) return ANOTHER_SELF;
    return packed.members.facts(number, packed.friendToday(this.index, this.first + at), this.view);
  }

  member(at: number): number {
    return this.packed.number(this.first + at);
  }

  kind(at: number): number {
    return this.kinds[this.first + at]!;
  }
}
