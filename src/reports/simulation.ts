import { randomBytes } from 'node:crypto';
import type { Agreement, AgreementTerms } from '../domain/agreement.js';
import { BadRequest, NotFound } from '../domain/errors.js';
import { FIELDS, fieldsOf, type FieldMask } from '../domain/field-catalog.js';
import {
  audienceFieldsRead, compareOutcomes, compareServedColumns, KNOWN_RULES_VERSIONS, loggedOutcome, ReplayDecisions, replayRequest, type ChangedSubjects,
  type DecidedPair, type PlanPair, type RequestWorld, type RequestChange, type RequestOutcome, type SubjectColumns, type TermsInWorld,
} from '../domain/replay.js';
import {
  applyProposal, parseProposal, proposalBody, sensitiveUnder, type ProposalBody, type SimulationProposal,
} from '../domain/simulation-proposal.js';
import { addDays, type Instant } from '../domain/time.js';
import { AgreementLifecycleRepository } from '../store/agreement-lifecycle-repository.js';
import { ReplayLogRepository } from '../store/replay-log-repository.js';
import type { Store } from '../store/store.js';
import { LogReplayer, REPLAY_BATCH } from './log-replay.js';

/** The default period: the last 90 days before `now`. */
export const SIMULATION_DAYS = 90;

export const WORLD_NOTE = 'Each request is decided again at its own logged instant, but the world it reads is today\'s: '
  + 'member settings, audiences, friend exclusions, friendships and grants\' consent as they stand now.';

export interface SimulationRequest {
  readonly agreementId: string;
  /** The proposal; `draft: true` takes the fields and purposes of the agreement's pending draft. */
  readonly proposal: ProposalBody & { draft?: boolean };
  readonly from?: Instant;
  readonly to?: Instant;
  readonly now: Instant;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FieldLine {
  field: string;
  released_more: number;
  released_less: number;
  members_more_direct: number;
  members_more_through_friends: number;
  members_less_direct: number;
  members_less_through_friends: number;
  reason_changed: number;
}

export interface SimulationResult {
  id: string;
  agreement_id: string;
  generated_at: string;
  from: string;
  to: string;
  proposal: ProposalBody;
  /** The draft whose terms were simulated (`draft: true`), else null. */
  draft_agreement_id: string | null;
  world_note: string;
  requests: number;
  subject_decisions: number;
  requests_changed: number;
  fields: FieldLine[];
  members: { more_direct: number; more_through_friends: number; less_direct: number; less_through_friends: number };
  /** Requests served under the logged terms that the proposal would refuse, by code (and cause). */
  refused: Array<{ code: string; cause: string | null; requests: number }>;
  /** Requests refused under the logged terms that the proposal would serve: their subjects are unknown (the log lists none). */
  served_instead: number;
  /** Requests the logged terms, replayed today, already decide otherwise than the log (today's world): compare with care. */
  differ_from_log_today: number;
  skipped: Array<{ reason: string; requests: number }>;
}

/**
 * Distinct members: by number where the world read gives one (a bit each), else by id. A member
 * is counted by number in both of a simulation's paths whenever it has one, so never twice.
 */
class MemberMarks {
  bits = new Uint32Array(0);
  readonly ids = new Set<string>();

  add(member: number | string): void {
    if (typeof member === 'string') this.ids.add(member); else this.addNumber(member);
  }

  addNumber(member: number): void {
    const word = member >>> 5;
    if (word >= this.bits.length) {
      const bigger = new Uint32Array(Math.max(word + 1, this.bits.length * 2));
      bigger.set(this.bits);
      this.bits = bigger;
    }
    this.bits[word]! |= 1 << (member & 31);
  }

  /** How many members are in any of `marks`. */
  static unionSize(marks: readonly MemberMarks[]): number {
    const words = Math.max(0, ...marks.map((m) => m.bits.length));
    const union = new Uint32Array(words);
    const ids = new Set<string>();
    for (const { bits, ids: named } of marks) {
      for (let word = 0; word < bits.length; word++) union[word]! |= bits[word]!;
      for (const id of named) ids.add(id);
    }
    let size = ids.size;
    for (let word = 0; word < words; word++) size += bitCount(union[word]!);
    return size;
  }
}

function bitCount(word: number): number {
  let bits = word - ((word >>> 1) & 0x55555555);
  bits = (bits & 0x33333333) + ((bits >>> 2) & 0x33333333);
  return (Math.imul((bits + (bits >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

type Change = Pick<DecidedPair, 'more' | 'less' | 'reasonChanged'>;

/** Request worlds whose proposed world is kept, at most (shared ones: a few dozen). */
const KEPT_WORLDS = 10_000;
/** Pair objects kept by identity at most (a run meets a few hundred). */
const KEPT_PAIRS = 100_000;

/** The subjects whose release one way changed (their masks), how many times, and which members, by relation. */
interface ChangeClass {
  readonly change: Change;
  times: number;
  readonly direct: MemberMarks;
  readonly throughFriends: MemberMarks;
}

/**
 * Changed subjects by what changed (a few classes of more, less and reason masks): a subject costs
 * a count and a bit; the fields' figures are summed and their members' sets joined once, at the end.
 */
class ChangeTally {
  private readonly classes: ChangeClass[] = [];
  private readonly byMasks = new Map<string, ChangeClass>();
  /** By the pair object itself: a run's pairs are few objects, met again and again. */
  private readonly byObject = new Map<Change, ChangeClass>();
  private lastChange: Change | undefined;
  private lastClass: ChangeClass | undefined;

  /** `member`: the member's number, or its id when it has none. */
  add(change: Change, member: number | string, relation: 'self' | 'friend'): void {
    const changed = this.classOf(change, false);
    changed.times++;
    (relation === 'self' ? changed.direct : changed.throughFriends).add(member);
  }

  /**
   * The class of `change` (its masks'), found by the object itself when it is one met before and
   * `byObject` (the columns' pairs, a few objects met again and again; not the general path's).
   */
  classOf(change: Change, byObject = true): ChangeClass {
    let changed = this.lastChange === change ? this.lastClass! : this.byObject.get(change);
    if (changed === undefined) {
      const key = `${change.more}/${change.less}/${change.reasonChanged}`;
      changed = this.byMasks.get(key);
      if (changed === undefined) {
        changed = { change, times: 0, direct: new MemberMarks(), throughFriends: new MemberMarks() };
        this.byMasks.set(key, changed);
        this.classes.push(changed);
      }
      if (byObject && this.byObject.size < KEPT_PAIRS) this.byObject.set(change, changed);
    }
    this.lastChange = change;
    this.lastClass = changed;
    return changed;
  }

  fields(): FieldLine[] {
    return FIELDS.map((field, index) => {
      const bit = 1 << index;
      const where = (mask: keyof Change) => this.classes.filter((c) => (c.change[mask] & bit) !== 0);
      const [more, less, reason] = [where('more'), where('less'), where('reasonChanged')];
      const times = (classes: readonly ChangeClass[]) => classes.reduce((sum, c) => sum + c.times, 0);
      return {
        field,
        released_more: times(more),
        released_less: times(less),
        members_more_direct: MemberMarks.unionSize(more.map((c) => c.direct)),
        members_more_through_friends: MemberMarks.unionSize(more.map((c) => c.throughFriends)),
        members_less_direct: MemberMarks.unionSize(less.map((c) => c.direct)),
        members_less_through_friends: MemberMarks.unionSize(less.map((c) => c.throughFriends)),
        reason_changed: times(reason),
      };
    }).filter((line) => line.released_more + line.released_less + line.reason_changed > 0);
  }

  /** Members released more (or less) anything, by relation. */
  members(direction: 'more' | 'less', relation: 'self' | 'friend'): number {
    return MemberMarks.unionSize(this.classes.filter((c) => c.change[direction] !== 0).map((c) => relation === 'self' ? c.direct : c.throughFriends));
  }
}

/** Adds up what a proposal changes, request by request. */
class SimulationTally {
  requests = 0;
  decisions = 0;
  changed = 0;
  servedInstead = 0;
  differFromLog = 0;
  readonly changes = new ChangeTally();
  readonly refused = new Map<string, { code: string; cause: string | null; requests: number }>();
  readonly skipped = new Map<string, number>();

  /** `numberOf`: a member's number by id (-1: none). */
  constructor(private readonly numberOf: (id: string) => number) {}

  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  add(change: RequestChange | null): void {
    if (change === null) return;
    this.changed++;
    if (change.servedNow) this.servedInstead++;
    if (change.refusedNow !== null) {
      const key = `${change.refusedNow}/${change.refusedNowCause ?? ''}`;
      const line = this.refused.get(key) ?? { code: change.refusedNow, cause: change.refusedNowCause, requests: 0 };
      line.requests++;
      this.refused.set(key, line);
    }
    for (const subject of change.subjects) {
      const number = this.numberOf(subject.id);
      this.addSubject(subject, number < 0 ? subject.id : number, subject.relation);
    }
  }

  /** A request served under both terms whose changed subjects (none: unchanged) compareServedColumns found. */
  addColumns(subjects: SubjectColumns, changed: ChangedSubjects): void {
    const { indexes, pairs } = changed;
    if (indexes.length === 0) return;
    this.changed++;
    // Changed subjects mostly come in runs of one pair (one kind): its class found once a run, a bit set a subject.
    for (let at = 0; at < indexes.length;) {
      const pair = pairs[at]!;
      let end = at + 1;
      while (end < indexes.length && pairs[end] === pair) end++;
      const changes = this.changes.classOf(pair);
      changes.times += end - at;
      for (; at < end; at++) {
        const index = indexes[at]!;
        (subjects.logged(index).relation === 'self' ? changes.direct : changes.throughFriends).addNumber(subjects.member(index));
      }
    }
  }

  private addSubject(change: Change, member: number | string, relation: 'self' | 'friend'): void {
    if ((change.more | change.less | change.reasonChanged) !== 0) this.changes.add(change, member, relation);
  }
}

function allNumbered(subjects: SubjectColumns, changed: ChangedSubjects): boolean {
  for (const at of changed.indexes) if (subjects.member(at) < 0) return false;
  return true;
}

/** The code of the refusal a request's plans under both terms are alike (compareOutcomes: no change between them), if they are. */
function refusedAlike({ before, after }: PlanPair): string | undefined {
  return !('memberId' in before) && !('memberId' in after) && !before.served && !after.served && before.code === after.code ? before.code : undefined;
}

/** The newest draft (or review) for the agreement's apps: what "the pending changes" of an agreement are. */
async function pendingDraft(store: Store, agreement: Agreement): Promise<Agreement> {
  if (agreement.status === 'draft' || agreement.status === 'under_review') return agreement;
  const drafts = (await new AgreementLifecycleRepository(store.db).list({ partnerId: agreement.partnerId }))
    .map((loaded) => loaded.agreement)
    .filter((a) => (a.status === 'draft' || a.status === 'under_review') && a.appIds.some((app) => agreement.appIds.includes(app)));
  const draft = drafts[drafts.length - 1];
  if (draft === undefined) throw new NotFound(`Agreement ${agreement.id} has no pending draft for its apps.`);
  return draft;
}

/** What a request asks to simulate, checked: the proposal, and the draft it was taken from. */
async function resolveProposal(store: Store, agreement: Agreement, body: SimulationRequest['proposal']): Promise<{ proposal: SimulationProposal; draftId: string | null }> {
  const { draft, ...changes } = body;
  if (draft !== true) return { proposal: parseProposal(changes), draftId: null };
  const pending = await pendingDraft(store, agreement);
  // A renewal's own dates follow the agreement in force: its fields and purposes are the change.
  const fromDraft: ProposalBody = {
    member_fields: fieldsOf(pending.memberFields), friend_fields: fieldsOf(pending.friendFields), purposes: [...pending.purposes],
  };
  return { proposal: parseProposal({ ...fromDraft, ...changes }), draftId: pending.id };
}

function period(request: SimulationRequest): { from: Instant; to: Instant } {
  const to = request.to ?? request.now;
  const from = request.from ?? addDays(to, -SIMULATION_DAYS);
  if (from >= to) throw new BadRequest('invalid_period', '`from` must come before `to`.');
  return { from, to };
}

export function newSimulationId(): string {
  return `sim_${randomBytes(10).toString('base64url')}`;
}

/** A simulation checked and ready to run: its id, what it replays, and how many requests that is. */
export interface PreparedSimulation {
  readonly id: string;
  readonly store: Store;
  readonly agreementId: string;
  readonly proposal: SimulationProposal;
  readonly draftId: string | null;
  readonly from: Instant;
  readonly to: Instant;
  readonly now: Instant;
  readonly versions: ReadonlyMap<number, AgreementTerms>;
  readonly proposed: ReadonlyMap<number, AgreementTerms>;
  /** The Graph API requests the log holds for the agreement in [from, to): what progress counts up to. */
  readonly total: number;
  /** The log's reads, which the run goes on with (what was counted is not counted again). */
  readonly log: ReplayLogRepository;
}

/**
 * Checks a simulation before anything is replayed: the agreement, the proposal (a draft, a
 * wind-down every logged version can take: a 4xx otherwise), the period; and counts the requests.
 */
export async function prepareSimulation(store: Store, request: Omit<SimulationRequest, 'onProgress'>): Promise<PreparedSimulation> {
  const agreement = await store.agreements.get(request.agreementId);
  if (agreement === undefined) throw new NotFound(`No agreement ${request.agreementId}.`);
  const { proposal, draftId } = await resolveProposal(store, agreement, request.proposal);
  const { from, to } = period(request);
  const log = new ReplayLogRepository(store.readDb);
  const versions = await log.agreementVersions(agreement.id);
  const proposed = new Map<number, AgreementTerms>([...versions].map(([version, terms]) => [version, applyProposal(terms, proposal)]));
  const total = await log.count({ agreementId: agreement.id, from, to });
  return { id: newSimulationId(), store, agreementId: agreement.id, proposal, draftId, from, to, now: request.now, versions, proposed, total, log };
}

/**
 * Replays every request the log holds for one agreement in [from, to) under the proposal and says
 * what changes, field by field and member by member (PRODUCT.md §6). Nothing is changed. Each
 * request is decided twice at its own instant with the real engine: under the terms it was logged
 * with, and under those terms with the proposal in place; the difference between the two is the
 * proposal's. Where the logged terms replayed today already differ from the log (members changed
 * their settings since), the result says how many requests that is. `onProgress` is told after
 * each batch of `batchSize` requests (and awaited: a server gives other work its turn there).
 */
export async function runSimulation(prepared: PreparedSimulation, onProgress?: (done: number, total: number) => void | Promise<void>,
  batchSize = REPLAY_BATCH): Promise<SimulationResult> {
  const { agreementId, from, to, versions, proposed, proposal } = prepared;
  const replayer = new LogReplayer(prepared.log, audienceFieldsRead([...versions.values(), ...proposed.values()]));
  const sensitive = sensitiveUnder(proposal);
  const tally = new SimulationTally((id) => replayer.memberNumber(id));
  const decisions = new ReplayDecisions();
  const changed: ChangedSubjects = { indexes: [], pairs: [] };
  // The world under the proposal, made once per request world (shared by the replayer where it can).
  const proposedWorlds = new Map<RequestWorld, RequestWorld>();
  for await (const batch of replayer.batches({ agreementId, from, to }, batchSize)) {
    for (let index = 0; index < batch.length; index++) {
      // The fast path: a request served under both terms, read as columns, is compared in one pass with no object per subject.
      const columns = batch.columns(index);
      const terms = columns === undefined || !KNOWN_RULES_VERSIONS.includes(columns.request.rulesVersion) ? undefined
        : versions.get(columns.request.agreementVersion ?? -1);
      if (columns !== undefined && terms !== undefined) {
        const before: TermsInWorld = { terms, world: columns.world };
        let proposedWorld = proposedWorlds.get(columns.world);
        if (proposedWorld === undefined) {
          proposedWorld = { ...columns.world, sensitive };
          if (proposedWorlds.size < KEPT_WORLDS) proposedWorlds.set(columns.world, proposedWorld);
        }
        const after: TermsInWorld = { terms: proposed.get(terms.version)!, world: proposedWorld };
        const differs = compareServedColumns(columns.request, columns.subjects, before, after, decisions, changed);
        // A changed subject without a member's number is counted by id, which the general path reads.
        if (differs !== undefined && allNumbered(columns.subjects, changed)) {
          tally.requests++;
          tally.decisions += 2 * columns.subjects.length;
          if (differs) tally.differFromLog++;
          tally.addColumns(columns.subjects, changed);
          continue;
        }
        // Refused today under both terms alike (the token's member turned the platform off): no change, nothing to replay.
        const refusal = differs === undefined ? refusedAlike(decisions.plansFor(columns.request, before, after)) : undefined;
        if (refusal !== undefined) {
          tally.requests++;
          tally.decisions += 2 * columns.subjects.length;
          if (columns.request.outcome === 'served' || (columns.request.code ?? 'denied') !== refusal) tally.differFromLog++;
          continue;
        }
      }
      const step = batch.step(index);
      tally.requests++;
      if (!KNOWN_RULES_VERSIONS.includes(step.request.rulesVersion)) { tally.skip(`rules_version:${step.request.rulesVersion}`); continue; }
      const logged = versions.get(step.request.agreementVersion ?? -1);
      if (logged === undefined) { tally.skip('agreement_version_unknown'); continue; }
      if (step.world === undefined) { tally.skip(step.skipped); continue; }
      tally.decisions += 2 * step.request.subjects.length;
      const baseline: RequestOutcome = replayRequest(step.request, logged, step.world, decisions);
      const after = replayRequest(step.request, proposed.get(logged.version)!, { ...step.world, sensitive }, decisions);
      if (compareOutcomes(step.request, loggedOutcome(step.request), baseline) !== null) tally.differFromLog++;
      tally.add(compareOutcomes(step.request, baseline, after));
    }
    await onProgress?.(tally.requests, prepared.total);
  }
  return {
    id: prepared.id,
    agreement_id: agreementId,
    generated_at: new Date(prepared.now).toISOString(),
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    proposal: proposalBody(proposal),
    draft_agreement_id: prepared.draftId,
    world_note: WORLD_NOTE,
    requests: tally.requests,
    subject_decisions: tally.decisions,
    requests_changed: tally.changed,
    fields: tally.changes.fields(),
    members: {
      more_direct: tally.changes.members('more', 'self'),
      more_through_friends: tally.changes.members('more', 'friend'),
      less_direct: tally.changes.members('less', 'self'),
      less_through_friends: tally.changes.members('less', 'friend'),
    },
    refused: [...tally.refused.values()].sort((a, b) => b.requests - a.requests),
    served_instead: tally.servedInstead,
    differ_from_log_today: tally.differFromLog,
    skipped: [...tally.skipped].map(([reason, requests]) => ({ reason, requests })),
  };
}

/** A simulation checked and run in one go (the CLI, the benchmark). */
export async function simulate(store: Store, request: SimulationRequest): Promise<SimulationResult> {
  return runSimulation(await prepareSimulation(store, request), request.onProgress);
}
