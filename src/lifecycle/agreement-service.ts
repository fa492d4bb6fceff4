import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '../audit/audit-entry.js';
import type { AuditRepository } from '../store/audit-repository.js';
import type { Agreement, AgreementStatus } from '../domain/agreement.js';
import {
  addMonths, CERTIFICATION_MONTHS, describeChanges, readableInstant, validateDraft, type DraftInput,
} from '../domain/agreement-draft.js';
import {
  ATTESTATION_GRACE_DAYS, dueActions, needsTwoApprovals, SYSTEM, transition,
  type Actor, type LifecycleAction, type LifecycleState, type StaffAction, type TimedAction,
} from '../domain/agreement-lifecycle.js';
import { checkNoOverlap, effectSpan } from '../domain/agreement-in-force.js';
import { BadRequest, Conflict, DatapactError, NotFound } from '../domain/errors.js';
import { twoPersonReasons, type Standing, type TwoPersonReason } from '../domain/separation-of-duties.js';
import { fieldsOf, isField, maskOf, SENSITIVE_MASK } from '../domain/field-catalog.js';
import { CERTIFICATION_GRACE_DAYS } from '../domain/agreement.js';
import type { StaffRole } from '../domain/staff.js';
import { RULES_VERSION } from '../domain/reason-codes.js';
import { DAY_MS, type Instant } from '../domain/time.js';
import type { WindDownPhase } from '../domain/wind-down.js';
import { agreementNoticeData } from '../domain/notice.js';
import { enqueueNotice } from '../notices/notice-outbox.js';
import {
  AgreementLifecycleRepository, applyState, type LoadedAgreement,
} from '../store/agreement-lifecycle-repository.js';
import type { LifecycleColumns } from '../store/agreement-repository.js';
import type { Db } from '../store/database.js';
import type { PartnerFiling } from '../store/partner-filing-repository.js';
import { createStore, type Store } from '../store/store.js';

/**
 * The agreement lifecycle as the application runs it (PRODUCT.md §5): load an agreement, ask the
 * pure state machine (`transition`) for the next state, save it as a new version with its history
 * row, append the audit entry and put the partner's notice in the outbox, all in ONE database
 * transaction, so that a failure anywhere leaves nothing half-written. The admin routes, the
 * partner filings and the scheduler all go through here.
 */

/** A staff member acting through the admin API. */
export interface StaffActor {
  readonly id: string;
  readonly roles: readonly StaffRole[];
}

/** Who made a change, as the history and the audit log name them. */
type ChangeActor = { readonly kind: 'staff'; readonly staff: StaffActor } | { readonly kind: 'system' } | { readonly kind: 'partner'; readonly partnerId: string };

function actorName(actor: ChangeActor): string {
  return actor.kind === 'staff' ? actor.staff.id : actor.kind === 'system' ? 'system' : `partner:${actor.partnerId}`;
}

function machineActor(actor: ChangeActor): Actor {
  return actor.kind === 'staff' ? { kind: 'staff', id: actor.staff.id, roles: actor.staff.roles } : SYSTEM;
}

/** Where a change came from: the request (or tick) id that the audit log files it under, and `now`. */
export interface ChangeContext {
  readonly requestId: string;
  readonly now: Instant;
}

/** A change applied by the service (what `datapact tick` prints). */
export interface AppliedChange {
  readonly agreementId: string;
  readonly partnerId: string;
  /** The version the change made; null for an announcement that made no version (an upcoming phase). */
  readonly version: number | null;
  /** A lifecycle action (`expire`, `lapse_certification`, …), `phase_reached:<phase>` or `phase_upcoming:<phase>:<days>d`. */
  readonly action: string;
  readonly from: AgreementStatus;
  readonly to: AgreementStatus;
  readonly reason: string;
  readonly at: Instant;
}

/** What the rules say of a draft before it is saved (`consequences`). */
export interface DraftConsequences {
  /** The first refusal saving it would meet; null when it would be accepted. */
  readonly problem: { readonly code: string; readonly message: string } | null;
  readonly approvalsNeeded: 1 | 2;
  readonly twoPersonReasons: readonly TwoPersonReason[];
  readonly sensitiveMemberFields: readonly string[];
  readonly friendFields: readonly string[];
  readonly partnerRiskFlags: readonly string[];
}

/** A draft as the admin API takes it. */
export interface DraftRequest extends DraftInput {
  readonly partnerId: string;
}

export type DraftPatch = Partial<DraftInput>;

/** The notice type each lifecycle action sends to the partner's webhook. */
const NOTICE_TYPE: Readonly<Record<LifecycleAction['type'] | 'draft', string>> = {
  draft: 'agreement.drafted',
  edit: 'agreement.edited',
  submit: 'agreement.submitted',
  return_to_draft: 'agreement.returned_to_draft',
  approve: 'agreement.approved',
  activate: 'agreement.activated',
  suspend: 'agreement.suspended',
  resume: 'agreement.reinstated',
  schedule_wind_down: 'agreement.wind_down_started',
  record_deletion_attestation: 'agreement.terminated',
  attest_deletion: 'agreement.terminated',
  terminate: 'agreement.terminated',
  expire: 'agreement.expired',
  lapse_certification: 'agreement.suspended',
  flag_deletion_unconfirmed: 'agreement.deletion_unconfirmed',
  certify: 'agreement.certified',
};

const PHASES: ReadonlyArray<{ phase: Exclude<WindDownPhase, 'none'>; date: (plan: NonNullable<Agreement['windDown']>) => Instant }> = [
  { phase: 'no_new_grants', date: (plan) => plan.noNewGrants },
  { phase: 'no_friend_data', date: (plan) => plan.noFriendData },
  { phase: 'access_ended', date: (plan) => plan.accessEnded },
];

/** Notice keys of an agreement activated ahead of its start: its takeover is announced once, at the start. */
const SCHEDULED = 'scheduled';
const STARTED = 'started';

/** Days before a wind-down phase at which the partner is told it is coming (once each). */
export const UPCOMING_NOTICE_DAYS = [30, 7] as const;

function newAgreementId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'agr_';
  for (const byte of randomBytes(16)) id += alphabet[byte % alphabet.length];
  return id;
}

/** Every field a diff compares, of one version. */
function described(agreement: Agreement, columns: LifecycleColumns) {
  return {
    status: agreement.status, statusReason: agreement.statusReason, appIds: agreement.appIds, purposes: agreement.purposes,
    memberFields: agreement.memberFields, friendFields: agreement.friendFields, retentionDays: agreement.retentionDays,
    storage: agreement.storage, startsAt: agreement.startsAt, endsAt: agreement.endsAt,
    certificationDueAt: agreement.certificationDueAt, windDown: agreement.windDown, approvals: columns.approvals,
    deletionAttestedAt: columns.deletionAttestedAt, deletionUnconfirmed: columns.deletionUnconfirmed,
  };
}

function timedReason(action: TimedAction, state: LifecycleState): string {
  switch (action.type) {
    case 'expire':
      return `the end date ${readableInstant(state.endsAt)} has passed`;
    case 'lapse_certification':
      return `certification was due ${readableInstant(state.certificationDueAt)}; ${CERTIFICATION_GRACE_DAYS} days overdue`;
    case 'flag_deletion_unconfirmed': {
      const ended = Math.min(state.windDown?.accessEnded ?? state.endsAt, state.endsAt);
      return `no deletion attestation within ${ATTESTATION_GRACE_DAYS} days after access ended on ${readableInstant(ended)}`;
    }
  }
}

/** What the audit entry's detail says of a change (the partner's notice takes part of it). */
type ChangeDetail = {
  readonly from?: AgreementStatus | null;
  readonly to?: AgreementStatus;
  readonly reason: string | null;
  readonly diff?: string;
  readonly phase?: string;
  readonly phase_at?: string;
  readonly days_before?: number;
};

/** One transaction's working set: repositories over it and the change context. */
interface Tx {
  readonly store: Store;
  readonly lifecycle: AgreementLifecycleRepository;
  readonly audit: AuditRepository;
  readonly db: Db;
  readonly context: ChangeContext;
}

export class AgreementService {
  constructor(private readonly db: Db) {}

  private inTransaction<T>(context: ChangeContext, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      const store = createStore(trx);
      return work({ store, lifecycle: new AgreementLifecycleRepository(trx), audit: store.audit, db: trx, context });
    });
  }

  private async loadOrThrow(tx: Tx, id: string): Promise<LoadedAgreement> {
    const loaded = await tx.lifecycle.load(id);
    if (!loaded) throw new NotFound(`No agreement ${id}.`);
    return loaded;
  }

  /** The audit entry and the partner's notice of a change, written in its transaction. */
  private async announce(
    tx: Tx,
    agreement: Agreement,
    actor: ChangeActor,
    action: string,
    noticeType: string,
    detail: ChangeDetail,
    dedupeKey: string,
  ): Promise<void> {
    const { now, requestId } = tx.context;
    const entry: AuditEntry = {
      at: now, requestId, appId: null, partnerId: agreement.partnerId, agreementId: agreement.id,
      agreementVersion: agreement.version, rulesVersion: RULES_VERSION, tokenMemberId: null, subjectMemberId: null,
      purpose: null, outcome: 'staff_action', code: `agreement.${action}`, released: [], withheld: {},
      actor: actorName(actor), action: `agreement.${action}`, detail,
    };
    await tx.audit.append([entry]);
    // The audit entry names the staff member and the diff; the partner's notice neither (PRODUCT.md §5).
    const payload = agreementNoticeData({
      type: noticeType, agreement, by: actor.kind, at: now, reason: detail.reason, from: detail.from, phase: detail.phase,
      phaseAt: detail.phase_at === undefined ? undefined : Date.parse(detail.phase_at), daysBefore: detail.days_before,
    });
    if (payload === null) return;
    await enqueueNotice(tx.db, { partnerId: agreement.partnerId, agreementId: agreement.id, type: noticeType, payload, at: now, dedupeKey });
  }

  /** Saves a new version made by `action` and writes its history row, audit entry and notice. */
  private async record(
    tx: Tx,
    loaded: LoadedAgreement,
    next: { agreement: Agreement; columns: LifecycleColumns },
    actor: ChangeActor,
    action: string,
    noticeType: string,
    reason: string | null,
  ): Promise<LoadedAgreement> {
    const diff = describeChanges(described(loaded.agreement, loaded.columns), described(next.agreement, next.columns));
    const agreement = await tx.lifecycle.saveVersion(loaded, next, { actor: actorName(actor), action, reason, at: tx.context.now, diff });
    await this.announce(tx, agreement, actor, action, noticeType,
      { from: loaded.agreement.status, to: agreement.status, reason, diff }, `agreement:${agreement.id}:v${agreement.version}`);
    return (await tx.lifecycle.load(agreement.id))!;
  }

  /** Applies one lifecycle action through the state machine and records it. */
  private async apply(tx: Tx, loaded: LoadedAgreement, action: LifecycleAction, actor: ChangeActor, reason: string | null, state = loaded.state) {
    const next = transition(state, action, machineActor(actor), tx.context.now);
    return this.record(tx, loaded, applyState(loaded, next), actor, action.type, NOTICE_TYPE[action.type], reason);
  }

  /**
   * What time has brought about and is not recorded yet, applied as the actor `system` in `tx`:
   * the end date, a lapsed certification, each wind-down phase reached (once), the notices of
   * phases 30 and 7 days ahead (once each), and `deletion_unconfirmed`.
   */
  private async catchUp(tx: Tx, start: LoadedAgreement, applied: AppliedChange[]): Promise<LoadedAgreement> {
    const { now } = tx.context;
    let loaded = start;
    const note = (before: LoadedAgreement, after: LoadedAgreement, action: string, reason: string, version: number | null) =>
      applied.push({
        agreementId: after.agreement.id, partnerId: after.agreement.partnerId, version, action,
        from: before.agreement.status, to: after.agreement.status, reason, at: now,
      });
    const applyTimed = async (action: TimedAction) => {
      const reason = timedReason(action, loaded.state);
      const after = await this.apply(tx, loaded, action, { kind: 'system' }, reason);
      note(loaded, after, action.type, reason, after.agreement.version);
      loaded = after;
    };

    const takenOver = await this.announceTakeover(tx, loaded);
    if (takenOver) {
      note(loaded, takenOver.loaded, 'started', takenOver.reason, null);
      loaded = takenOver.loaded;
    }

    for (let round = 0; round < 3; round++) {
      const due = dueActions(loaded.state, now).filter((a) => a.type !== 'flag_deletion_unconfirmed');
      if (due.length === 0) break;
      await applyTimed(due[0]!);
    }

    const plan = loaded.agreement.windDown;
    if (loaded.agreement.status === 'winding_down' && plan !== null) {
      const upcoming: string[] = [];
      for (const { phase, date } of PHASES) {
        const at = date(plan);
        const key = `reached:${phase}`;
        if (now >= at) {
          if (loaded.columns.windDownNotices.includes(key)) continue;
          const reason = `wind-down phase ${phase} reached on ${readableInstant(at)}`;
          const action = `phase_reached:${phase}`;
          const next = { agreement: loaded.agreement, columns: { ...loaded.columns, windDownNotices: [...loaded.columns.windDownNotices, key] } };
          const version = loaded.agreement.version + 1;
          const saved = await tx.lifecycle.saveVersion(loaded, next, { actor: 'system', action, reason, at: now, diff: `wind-down: ${phase} in force` });
          await this.announce(tx, saved, { kind: 'system' }, action, 'wind_down.phase_started',
            { phase, phase_at: new Date(at).toISOString(), reason }, `agreement:${saved.id}:phase_started:${phase}:${at}`);
          const after = (await tx.lifecycle.load(saved.id))!;
          note(loaded, after, action, reason, version);
          loaded = after;
          continue;
        }
        // Only the nearest window not yet announced: a scheduler that starts 5 days before a phase sends the 7-day notice alone.
        const days = [...UPCOMING_NOTICE_DAYS].sort((a, b) => a - b).find((d) => now >= at - d * DAY_MS);
        if (days === undefined) continue;
        const keys = UPCOMING_NOTICE_DAYS.filter((d) => d >= days).map((d) => `upcoming:${phase}:${d}`);
        if (loaded.columns.windDownNotices.includes(`upcoming:${phase}:${days}`)) continue;
        upcoming.push(...keys.filter((k) => !loaded.columns.windDownNotices.includes(k)));
        const reason = `wind-down phase ${phase} begins on ${readableInstant(at)} (in ${Math.ceil((at - now) / DAY_MS)} days)`;
        await this.announce(tx, loaded.agreement, { kind: 'system' }, `phase_upcoming`, 'wind_down.phase_upcoming',
          { phase, phase_at: new Date(at).toISOString(), days_before: days, reason }, `agreement:${loaded.agreement.id}:phase_upcoming:${phase}:${days}:${at}`);
        note(loaded, loaded, `phase_upcoming:${phase}:${days}d`, reason, null);
      }
      if (upcoming.length > 0) {
        await tx.lifecycle.markNotices(loaded, [...loaded.columns.windDownNotices, ...upcoming]);
        loaded = (await tx.lifecycle.load(loaded.agreement.id))!;
      }
    }

    for (const action of dueActions(loaded.state, now)) await applyTimed(action);
    return loaded;
  }

  /**
   * A renewal activated ahead of its term (marked `scheduled`) takes over at its start by the
   * dates alone; this tells the partner once (`agreement.started`), while it is in effect.
   */
  private async announceTakeover(tx: Tx, loaded: LoadedAgreement): Promise<{ loaded: LoadedAgreement; reason: string } | null> {
    const { now } = tx.context;
    const sent = loaded.columns.windDownNotices;
    const span = effectSpan(loaded.agreement);
    if (!sent.includes(SCHEDULED) || sent.includes(STARTED) || span === null || now < span.from || now >= span.until) return null;
    const reason = `the term began on ${readableInstant(loaded.agreement.startsAt)}: this agreement is now the one in force`;
    await this.announce(tx, loaded.agreement, { kind: 'system' }, 'started', 'agreement.started',
      { reason }, // the notice's agreement terms carry the dates
      `agreement:${loaded.agreement.id}:started`);
    await tx.lifecycle.markNotices(loaded, [...sent, STARTED]);
    return { loaded: (await tx.lifecycle.load(loaded.agreement.id))!, reason };
  }

  /** Applies what has come due for one agreement, in its own transaction (the scheduler's unit of work). */
  async applyDue(agreementId: string, context: ChangeContext): Promise<AppliedChange[]> {
    return this.inTransaction(context, async (tx) => {
      const applied: AppliedChange[] = [];
      const loaded = await tx.lifecycle.load(agreementId);
      if (!loaded || loaded.agreement.status === 'terminated') return applied;
      await this.catchUp(tx, loaded, applied);
      return applied;
    });
  }

  private async checkTerms(store: Store, partnerId: string, input: DraftInput) {
    const partner = await store.partners.partner(partnerId);
    if (!partner) throw new NotFound(`No partner ${partnerId}.`);
    if (partner.privacyPolicyUrl === null) {
      // Members read it on the consent page before they share anything under the agreement.
      throw new Conflict('privacy_policy_missing', `The partner ${partnerId} has no privacy_policy_url; set it (PATCH /admin/v1/partners/${partnerId}) first.`);
    }
    const appClasses: Record<string, 'device_partner' | 'third_party'> = {};
    for (const appId of new Set(input.appIds)) {
      const app = await store.partners.app(appId);
      if (!app) throw new NotFound(`No app ${appId}.`);
      if (app.partnerId !== partnerId) throw new BadRequest('app_of_another_partner', `The app ${appId} belongs to another partner (${app.partnerId}).`);
      appClasses[appId] = app.class;
    }
    const terms = validateDraft(input, { appClasses });
    return { terms, needsTwo: needsTwoApprovals(terms.memberFields, terms.friendFields, partner.riskFlags) };
  }

  /**
   * What the rules say of terms being drafted, without saving anything: the first refusal the draft
   * would meet (null when it would be accepted) and why it needs two approvals. The staff console
   * asks this as fields are picked, so that the browser never re-implements a rule.
   */
  async consequences(request: DraftRequest): Promise<DraftConsequences> {
    const store = createStore(this.db);
    const partner = await store.partners.partner(request.partnerId);
    if (!partner) throw new NotFound(`No partner ${request.partnerId}.`);
    let problem: DraftConsequences['problem'] = null;
    try {
      await this.checkTerms(store, request.partnerId, request);
    } catch (error) {
      if (!(error instanceof DatapactError) || error.status >= 500) throw error;
      problem = { code: error.code, message: error.message };
    }
    const known = (names: readonly string[]) => maskOf(names.filter(isField));
    const memberFields = known(request.memberFields);
    const friendFields = known(request.friendFields);
    const reasons = twoPersonReasons(memberFields, friendFields, partner.riskFlags);
    return {
      problem,
      approvalsNeeded: reasons.length > 0 ? 2 : 1,
      twoPersonReasons: reasons,
      sensitiveMemberFields: fieldsOf(memberFields & SENSITIVE_MASK),
      friendFields: fieldsOf(friendFields),
      partnerRiskFlags: [...partner.riskFlags],
    };
  }

  /**
   * A new draft (version 1), authored by `staff`; certification is due 12 months after the start.
   * `reason` (e.g. the least-privilege report it follows) is kept in the history and the audit entry.
   */
  async draft(request: DraftRequest, staff: StaffActor, context: ChangeContext, reason: string | null = null): Promise<LoadedAgreement> {
    return this.inTransaction(context, async (tx) => {
      const { terms, needsTwo } = await this.checkTerms(tx.store, request.partnerId, request);
      const agreement: Agreement = {
        id: newAgreementId(), version: 1, partnerId: request.partnerId, status: 'draft', statusReason: null,
        ...terms, certificationDueAt: addMonths(terms.startsAt, CERTIFICATION_MONTHS), windDown: null,
      };
      const columns: LifecycleColumns = {
        authorId: staff.id, approvals: [], approvedBy: [], needsTwoApprovals: needsTwo, deletionAttestedAt: null, deletionUnconfirmed: false, windDownNotices: [],
      };
      const actor: ChangeActor = { kind: 'staff', staff };
      const diff = describeChanges({}, described(agreement, columns));
      await tx.lifecycle.create(agreement, columns, { actor: staff.id, action: 'draft', reason, at: context.now, diff });
      await this.announce(tx, agreement, actor, 'draft', NOTICE_TYPE.draft, { from: null, to: 'draft', reason, diff },
        `agreement:${agreement.id}:v1`);
      return (await tx.lifecycle.load(agreement.id))!;
    });
  }

  /** Edits a draft: a new version with the readable diff; the editor becomes its author. No change, no version. */
  async edit(id: string, patch: DraftPatch, staff: StaffActor, context: ChangeContext): Promise<LoadedAgreement> {
    return this.inTransaction(context, async (tx) => {
      const loaded = await this.loadOrThrow(tx, id);
      const current = loaded.agreement;
      const input: DraftInput = {
        appIds: patch.appIds ?? current.appIds,
        purposes: patch.purposes ?? current.purposes,
        memberFields: patch.memberFields ?? fieldsOfMask(current.memberFields),
        friendFields: patch.friendFields ?? fieldsOfMask(current.friendFields),
        retentionDays: patch.retentionDays ?? current.retentionDays,
        storage: patch.storage ?? current.storage,
        startsAt: patch.startsAt ?? current.startsAt,
        endsAt: patch.endsAt ?? current.endsAt,
      };
      const actor: ChangeActor = { kind: 'staff', staff };
      // The state machine first: editing anything but a draft is a 409 whatever the body says.
      const state = transition(loaded.state, { type: 'edit' }, machineActor(actor), context.now);
      const { terms, needsTwo } = await this.checkTerms(tx.store, current.partnerId, input);
      const agreement: Agreement = {
        ...current, ...terms,
        certificationDueAt: terms.startsAt === current.startsAt ? current.certificationDueAt : addMonths(terms.startsAt, CERTIFICATION_MONTHS),
      };
      const columns: LifecycleColumns = { ...loaded.columns, approvals: state.approvals, authorId: staff.id, needsTwoApprovals: needsTwo };
      const diff = describeChanges(described(current, loaded.columns), described(agreement, columns));
      if (diff === '' && loaded.columns.authorId === staff.id) return loaded;
      return this.record(tx, loaded, { agreement, columns }, actor, 'edit', NOTICE_TYPE.edit, null);
    });
  }

  /**
   * A staff action other than an edit. What time has already brought about is recorded first (as
   * `system`), so that the action meets the agreement as it stands now. The two-person rule is
   * judged on the partner's risk flags at submission and again at activation.
   */
  async act(id: string, action: StaffAction, staff: StaffActor, context: ChangeContext, reason: string | null = null): Promise<LoadedAgreement> {
    return this.inTransaction(context, async (tx) => {
      let loaded = await this.loadOrThrow(tx, id);
      loaded = await this.catchUp(tx, loaded, []);
      let state = loaded.state;
      let next: LifecycleAction = action;
      if ((action.type === 'submit' && state.status === 'draft') || (action.type === 'activate' && state.status === 'under_review')) {
        const partner = await tx.store.partners.partner(loaded.agreement.partnerId);
        const now = needsTwoApprovals(loaded.agreement.memberFields, loaded.agreement.friendFields, partner?.riskFlags ?? []);
        // A risk flag raised during the review counts; one lifted during it does not lower the bar set at submission.
        state = { ...state, needsTwoApprovals: now || (action.type === 'activate' && state.needsTwoApprovals) };
      }
      if (action.type === 'activate' && state.status === 'under_review') {
        next = { type: 'activate', standing: await this.standingOf(tx, state.approvals) };
        checkNoOverlap(loaded.agreement, await tx.store.agreements.ofApps(loaded.agreement.appIds));
      }
      const why = reason ?? ('reason' in action ? action.reason : null);
      const after = await this.apply(tx, loaded, next, { kind: 'staff', staff }, why, state);
      if (action.type === 'activate' && context.now < after.agreement.startsAt) {
        // Activated ahead of its term (a renewal): the partner is told again when it takes over.
        await tx.lifecycle.markNotices(after, [...after.columns.windDownNotices, SCHEDULED]);
        return (await tx.lifecycle.load(id))!;
      }
      return after;
    });
  }

  /** Each approver's roles and account state now: an approval counts only while its approver still qualifies. */
  private async standingOf(tx: Tx, approvers: readonly string[]): Promise<Map<string, Standing>> {
    const standing = new Map<string, Standing>();
    for (const id of new Set(approvers)) {
      const account = await tx.store.staff.byId(id);
      if (account) standing.set(id, { roles: account.roles, disabled: account.disabledAt !== null });
    }
    return standing;
  }

  /** A deletion attestation staff record on the partner's behalf (filed for the agreement's first app), which terminates. */
  async recordDeletionAttestation(
    id: string,
    filing: { signedBy: string; statement: string },
    staff: StaffActor,
    context: ChangeContext,
  ): Promise<{ loaded: LoadedAgreement; filing: PartnerFiling }> {
    return this.inTransaction(context, async (tx) => {
      let loaded = await this.loadOrThrow(tx, id);
      loaded = await this.catchUp(tx, loaded, []);
      const after = await this.apply(tx, loaded, { type: 'record_deletion_attestation' }, { kind: 'staff', staff },
        `deletion attested by ${filing.signedBy} (recorded by staff)`);
      const filed = await tx.store.filings.file({
        kind: 'deletion_attestation', agreementId: id, agreementVersion: loaded.agreement.version,
        appId: loaded.agreement.appIds[0]!, signedBy: filing.signedBy, statement: filing.statement, filedAt: context.now,
      });
      return { loaded: after, filing: filed };
    });
  }

  /**
   * A partner's filing through /v1/partner: a certification (moves the due date a year on) or a
   * deletion attestation (terminates). The filing and the transition are written together, or not at all.
   */
  async partnerFiling(
    kind: 'certification' | 'deletion_attestation',
    agreementId: string,
    appId: string,
    filing: { signedBy: string; statement: string },
    context: ChangeContext,
  ): Promise<PartnerFiling> {
    return this.inTransaction(context, async (tx) => {
      let loaded = await this.loadOrThrow(tx, agreementId);
      loaded = await this.catchUp(tx, loaded, []);
      const actor: ChangeActor = { kind: 'partner', partnerId: loaded.agreement.partnerId };
      const action: LifecycleAction = kind === 'certification' ? { type: 'certify' } : { type: 'attest_deletion' };
      const reason = kind === 'certification' ? `certified by ${filing.signedBy}` : `deletion attested by ${filing.signedBy}`;
      await this.apply(tx, loaded, action, actor, reason);
      return tx.store.filings.file({
        // The filing names the version the partner signed for, not the one its filing made.
        kind, agreementId, agreementVersion: loaded.agreement.version, appId,
        signedBy: filing.signedBy, statement: filing.statement, filedAt: context.now,
      });
    });
  }

  async get(id: string): Promise<LoadedAgreement> {
    const loaded = await new AgreementLifecycleRepository(this.db).load(id);
    if (!loaded) throw new NotFound(`No agreement ${id}.`);
    return loaded;
  }
}

function fieldsOfMask(mask: number): string[] {
  return fieldsOf(mask);
}
