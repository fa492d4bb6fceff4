import type { AgreementTerms } from '../domain/agreement.js';
import { fieldsOf } from '../domain/field-catalog.js';
import {
  audienceFieldsRead, causedBySettings, compareOutcomes, KNOWN_RULES_VERSIONS, loggedOutcome, refusedAsLogged, ReplayDecisions, replayRequest, servedAsLogged, type LoggedHead,
  type RequestChange,
} from '../domain/replay.js';
import type { Instant } from '../domain/time.js';
import { ReplayLogRepository } from '../store/replay-log-repository.js';
import type { Store } from '../store/store.js';
import { LogReplayer } from './log-replay.js';
import { WORLD_NOTE } from './simulation.js';

/** Differences listed one by one (rule differences first); the rest are counted. */
const LISTED = 20;

export interface ReplayDifference {
  seq: number;
  at: string;
  agreement_id: string | null;
  agreement_version: number | null;
  rules_version: string;
  /** `rules`: the engine decides otherwise than it did; `member_settings`: explained by what members changed since. */
  kind: 'rules' | 'member_settings';
  difference: string;
}

export interface AuditReplayResult {
  generated_at: string;
  from: string;
  to: string;
  world_note: string;
  requests: number;
  subject_decisions: number;
  same: number;
  differences: { rules: number; member_settings: number };
  skipped: Array<{ reason: string; requests: number }>;
  listed: ReplayDifference[];
}

export interface AuditReplayRequest {
  readonly from: Instant;
  readonly to: Instant;
  readonly now: Instant;
  readonly onProgress?: (done: number, total: number) => void;
}

/** A request's difference in a line: `served → refused (not_consented)`, `m_x (friend): less birthday`. */
export function describeChange(change: RequestChange): string {
  if (change.refusedNow !== null) return `served → refused (${change.refusedNow}${change.refusedNowCause ? `: ${change.refusedNowCause}` : ''})`;
  if (change.servedNow) return 'refused → served';
  if (change.codeChanged !== null) return `refused ${change.codeChanged.from} → refused ${change.codeChanged.to}`;
  return change.subjects.map((s) => {
    const parts = [
      s.more ? `more ${fieldsOf(s.more).join(',')}` : '',
      s.less ? `less ${fieldsOf(s.less).join(',')}` : '',
      s.reasonChanged ? `other reason ${fieldsOf(s.reasonChanged).join(',')}` : '',
    ].filter(Boolean);
    return `${s.id} (${s.relation}): ${parts.join('; ')}`;
  }).join(' | ');
}

function firstBySeq(differences: readonly ReplayDifference[]): ReplayDifference[] {
  return [...differences].sort((a, b) => a.seq - b.seq).slice(0, LISTED);
}

/**
 * `datapact audit replay` (issue 15): every logged Graph API request in [from, to) decided again
 * with the agreement version it records, each at its own instant, and compared with what the log
 * says was decided: a regression detector for the rules. An entry logged under a rules version this
 * engine does not know is skipped with that version named. The world read is today's, so a
 * difference a member's change since explains is counted apart from one the rules alone make.
 */
export async function auditReplay(store: Store, request: AuditReplayRequest): Promise<AuditReplayResult> {
  const log = new ReplayLogRepository(store.readDb);
  const filter = { from: request.from, to: request.to };
  const total = request.onProgress ? await log.count(filter) : 0;
  const versions = new Map<string, Map<number, AgreementTerms>>();
  const result: AuditReplayResult = {
    generated_at: new Date(request.now).toISOString(), from: new Date(request.from).toISOString(), to: new Date(request.to).toISOString(),
    world_note: WORLD_NOTE, requests: 0, subject_decisions: 0, same: 0, differences: { rules: 0, member_settings: 0 }, skipped: [], listed: [],
  };
  const skipped = new Map<string, number>();
  const skip = (reason: string) => skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  const listed = { rules: [] as ReplayDifference[], member_settings: [] as ReplayDifference[] };
  const decisions = new ReplayDecisions();
  const termsOf = async (logged: LoggedHead): Promise<AgreementTerms | null | undefined> => {
    if (logged.agreementId === null) return null;
    let known = versions.get(logged.agreementId);
    if (known === undefined) versions.set(logged.agreementId, known = await log.agreementVersions(logged.agreementId));
    return known.get(logged.agreementVersion ?? -1);
  };
  const replayer = new LogReplayer(log, audienceFieldsRead(await log.allAgreementVersions()));
  for await (const batch of replayer.batches(filter)) {
    for (let index = 0; index < batch.length; index++) {
      result.requests++;
      // The fast path: a request the replay decides as logged, read as columns, counts as the same (served, or refused alike).
      const columns = batch.columns(index);
      if (columns !== undefined && KNOWN_RULES_VERSIONS.includes(columns.request.rulesVersion)) {
        const terms = await termsOf(columns.request);
        if (terms !== undefined && (servedAsLogged(columns.request, columns.subjects, terms, columns.world, decisions)
          || refusedAsLogged(columns.request, terms, columns.world, decisions))) {
          result.subject_decisions += columns.subjects.length;
          result.same++;
          continue;
        }
      }
      const step = batch.step(index);
      const { request: logged } = step;
      if (!KNOWN_RULES_VERSIONS.includes(logged.rulesVersion)) { skip(`rules_version:${logged.rulesVersion}`); continue; }
      if (step.world === undefined) { skip(step.skipped); continue; }
      const terms = await termsOf(logged);
      if (terms === undefined) { skip('agreement_version_unknown'); continue; }
      result.subject_decisions += logged.subjects.length;
      const before = loggedOutcome(logged);
      const replayed = replayRequest(logged, terms, step.world, decisions);
      const change = compareOutcomes(logged, before, replayed);
      if (change === null) { result.same++; continue; }
      const kind = causedBySettings(logged, change, before, replayed) ? 'member_settings' : 'rules';
      result.differences[kind]++;
      // The first by seq are listed: a whole log may be read agreement by agreement (LogReplayer), not in seq order.
      if (listed[kind].length >= 2 * LISTED) listed[kind] = firstBySeq(listed[kind]);
      if (listed[kind].length < LISTED || logged.seq < listed[kind][LISTED - 1]!.seq) {
        listed[kind].push({
          seq: logged.seq, at: new Date(logged.at).toISOString(), agreement_id: logged.agreementId, agreement_version: logged.agreementVersion,
          rules_version: logged.rulesVersion, kind, difference: describeChange(change),
        });
      }
    }
    request.onProgress?.(result.requests, total);
  }
  result.skipped = [...skipped].map(([reason, requests]) => ({ reason, requests }));
  result.listed = [...firstBySeq(listed.rules), ...firstBySeq(listed.member_settings)].slice(0, LISTED);
  return result;
}
