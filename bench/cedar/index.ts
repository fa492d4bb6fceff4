/**
 * Decisions against Cedar and node-casbin (issues 6 and 15): the field rules of PRODUCT.md §4 written
 * a second time, as Cedar policies (bench/cedar/policies.cedar), and a third, as node-casbin models
 * (bench/cedar/casbin.ts), and every engine asked the same questions.
 *
 * 1. Agreement: 100,000 random requests (bench/cedar/world.ts: random worlds, agreements, grants,
 *    wind-down phases, subjects and requested fields), each decided by Datapact (`planAccess`, then
 *    `decideSubject`) and, field by field, by Cedar and by both casbin models. Every requested field
 *    must get the same allow/deny from all of them, and the same first failing reason from casbin's
 *    `reasons` model: every disagreement is printed (the first 20 in full) and fails the run. The
 *    run also fails when a branch of the rules was never exercised, when a Cedar policy errored, or
 *    when a Cedar request does not conform to the schema.
 * 2. Speed: the same requests timed on every side, time per field decision and the ratios
 *    (target: Datapact at least 50× faster than Cedar). Time is the process's CPU time, not the
 *    wall clock's: on a machine others share, waiting for a core is no engine's cost. casbin is
 *    timed in alternation with Datapact, so that both see the same machine.
 *
 * Datapact is timed as the gateway runs it: each request's plan built, used and dropped. Before
 * issue 15 it was timed after a pass that kept every request's plan and decision alive; V8 then
 * sees them outlive young-generation collections and allocates those of the timed passes straight
 * into the old generation (allocation-site pretenuring), which a gateway never does. That figure is
 * still measured, in a worker thread of its own (bench/cedar/kept-alive.ts), and printed beside.
 *
 * Run: npm run bench:cedar   (--smoke: 2,000 requests)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  getCedarVersion,
  policySetTextToParts,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
  type CedarValueJson,
  type Context,
  type EntityUid,
  type StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';
import { planAccess, type AccessPlan } from '../../src/domain/access-plan.js';
import type { AgreementTerms } from '../../src/domain/agreement.js';
import { fieldBit, type ObjectField } from '../../src/domain/field-catalog.js';
import type { FieldReason } from '../../src/domain/reason-codes.js';
import { decideSubject, excludesCaller, type SubjectDecision } from '../../src/domain/subject-decision.js';
import { windDownPhase } from '../../src/domain/wind-down.js';
import { startWorkerScript } from '../../src/worker-script.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from '../lib/figures.js';
import {
  CASBIN_MODEL_FILES,
  CASBIN_MODELS,
  casbinAnswers,
  casbinDecide,
  casbinEnforcer,
  casbinRequests,
  describeCasbinRequest,
  type CasbinAnswers,
  type CasbinModel,
  type CasbinRequests,
} from './casbin.js';
import { cpuNs, median, passDecideOnly, passWithPlan, sinkValue, timeRounds } from './timing.js';
import { audienceOf, generateRequests, type GeneratedRequest } from './world.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

const REQUESTS = 100_000;
const SMOKE_REQUESTS = 2_000;
const SEED = 0xced0_2026;
const TARGET_RATIO = 50;
const SHOWN_IN_FULL = 20;
const CASBIN_PASSES = 2;
const CASBIN_SLICES = 20;
/** Few enough plans to stay in the processor's cache. */
const DECIDE_ONLY_REQUESTS = 2_000;
const POLICY_SET_ID = 'datapact-field-rules';
const SCHEMA_ID = 'datapact-field-rules-schema';
const ACTION: EntityUid = { type: 'Action', id: 'read' };
const NO_ENTITIES: never[] = [];

/** The policy and model files stay in bench/cedar/ when this module runs compiled from .build/. */
const here = join(PROJECT_ROOT, 'bench', 'cedar');
export const CEDAR_POLICIES = readFileSync(join(here, 'policies.cedar'), 'utf8');
export const CEDAR_SCHEMA = readFileSync(join(here, 'schema.cedarschema'), 'utf8');
const CASBIN_VERSION = (createRequire(import.meta.url)('casbin/package.json') as { version: string }).version;

/** The policies by their `@id` annotation, so that a decision names the policies that made it. */
function policiesById(text: string): Record<string, string> {
  const parts = policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(`Cedar could not parse the policies: ${JSON.stringify(parts.errors)}`);
  const byId: Record<string, string> = {};
  for (const policy of parts.policies) {
    const id = /@id\("([^"]+)"\)/.exec(policy)?.[1];
    if (id === undefined || id in byId) throw new Error(`Every policy needs its own @id annotation: ${policy}`);
    byId[id] = policy;
  }
  return byId;
}

/** The policies must type-check against the schema: a misspelt attribute would otherwise make a
 * policy error at run time, which Cedar treats as "does not apply". */
function prepareCedar(): void {
  const policies = { staticPolicies: policiesById(CEDAR_POLICIES) };
  const validation = validate({ schema: CEDAR_SCHEMA, policies, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new Error(`Cedar could not validate the policies: ${JSON.stringify(validation.errors)}`);
  if (validation.validationErrors.length > 0) {
    throw new Error(`The Cedar policies do not fit the schema: ${JSON.stringify(validation.validationErrors, null, 2)}`);
  }
  for (const answer of [preparsePolicySet(POLICY_SET_ID, policies), preparseSchema(SCHEMA_ID, CEDAR_SCHEMA)]) {
    if (answer.type !== 'success') throw new Error(`Cedar could not parse: ${JSON.stringify(answer.errors)}`);
  }
}

/** The Cedar request for one (request, field): built once, before anything is timed. */
function cedarCalls(requests: readonly GeneratedRequest[]) {
  const calls: StatefulAuthorizationCall[] = [];
  const requestOf: number[] = [];
  const fieldOf: ObjectField[] = [];
  const agreements = new Map<AgreementTerms, Record<string, CedarValueJson>>();
  requests.forEach((r, index) => {
    const terms = r.context.agreement!;
    let agreement = agreements.get(terms);
    if (agreement === undefined) {
      agreement = { memberFields: [...r.agreementMemberFields], friendFields: [...r.agreementFriendFields] };
      if (terms.windDown !== null) agreement.windDown = { ...terms.windDown };
      agreements.set(terms, agreement);
    }
    const grant = { memberFields: [...r.grantMemberFields], friendFields: [...r.grantFriendFields] };
    const principal: EntityUid = { type: 'Member', id: r.context.member.id };
    const resource: EntityUid = { type: 'Member', id: r.subject.id };
    for (const field of r.requestedFields) {
      const context: Context = {
        field,
        now: r.now,
        appId: r.context.app.id,
        partnerId: terms.partnerId,
        appClass: r.context.app.class,
        agreement,
        grant,
        subject: {
          isFriend: r.subject.isFriend,
          platformEnabled: r.subject.platformEnabled,
          shareViaFriends: r.subject.shareViaFriends,
          excludedApps: [...r.subject.exclusions.apps],
          excludedPartners: [...r.subject.exclusions.partners],
          usesApp: r.subject.usesApp,
          audience: audienceOf(r.audiences, field),
        },
      };
      calls.push({ principal, action: ACTION, resource, context, preparsedPolicySetId: POLICY_SET_ID, entities: NO_ENTITIES });
      requestOf.push(index);
      fieldOf.push(field);
    }
  });
  return { calls, requestOf, fieldOf };
}

/** Which branch of the rules decided one requested field, for the coverage check. */
function branchOf(r: GeneratedRequest, plan: AccessPlan, decision: SubjectDecision, field: ObjectField): string {
  if (!decision.visible) {
    if (r.relation !== 'friend') return `hidden: ${r.relation.replaceAll('_', ' ')}`;
    if (!plan.friendsVisible) return 'hidden: friend, friends not in agreement or grant';
    if (!r.subject.platformEnabled) return 'hidden: friend with platform off';
    if (excludesCaller(plan, r.subject.exclusions)) return 'hidden: friend keeps this app or partner out';
    return plan.appClass === 'third_party' ? 'hidden: friend not using the app' : 'hidden: friend with share_via_friends off';
  }
  const who = decision.relation === 'self' ? 'self' : `friend via ${plan.appClass}`;
  const bit = fieldBit(field);
  if (decision.released & bit) return `${who}: released`;
  const reason = decision.withheld.find((w) => w.fields & bit)?.reason ?? '?';
  return `${who}: ${reason}`;
}

const EXPECTED_BRANCHES = [
  'self: released',
  'self: not_in_agreement',
  'self: not_consented',
  'friend via device_partner: released',
  'friend via device_partner: not_in_agreement',
  'friend via device_partner: not_consented',
  'friend via device_partner: audience_restricted',
  'friend via device_partner: wind_down',
  'friend via device_partner: sensitive_field',
  'friend via third_party: released',
  'friend via third_party: third_party_friend_data',
  'friend via third_party: not_in_agreement',
  'friend via third_party: not_consented',
  'friend via third_party: wind_down',
  'hidden: stranger',
  'hidden: friend of friend',
  'hidden: friend, friends not in agreement or grant',
  'hidden: friend with platform off',
  'hidden: friend keeps this app or partner out',
  'hidden: friend with share_via_friends off',
  'hidden: friend not using the app',
];

/** What Datapact answers for one requested field: released, or why not. */
type Outcome = 'released' | FieldReason | 'stranger' | 'friend_opted_out';

function outcomeOf(decision: SubjectDecision, field: ObjectField): Outcome {
  if (!decision.visible) return decision.reason;
  const bit = fieldBit(field);
  if (decision.released & bit) return 'released';
  const reason = decision.withheld.find((w) => w.fields & bit)?.reason;
  if (reason === undefined) throw new Error(`Datapact neither released nor withheld ${field}`);
  return reason;
}

/**
 * Datapact's answer for every field decision (in the order cedarCalls and casbinRequests list
 * them) and the coverage of the rules' branches. Only the answers are kept: no plan or decision
 * outlives its request (see the header).
 */
function decideWithDatapact(requests: readonly GeneratedRequest[]) {
  const outcomes: Outcome[] = [];
  const branches = new Map<string, number>();
  const phases = new Map<string, number>();
  let atFriendDataInstant = 0;
  for (const r of requests) {
    const plan = planAccess(r.context, r.now); // the generator only makes requests that pass
    const decision = decideSubject(plan, r.subject, r.requested);
    for (const field of r.requestedFields) {
      outcomes.push(outcomeOf(decision, field));
      const branch = branchOf(r, plan, decision, field);
      branches.set(branch, (branches.get(branch) ?? 0) + 1);
    }
    const windDown = r.context.agreement!.windDown;
    const phase = windDown === null ? 'no plan' : windDownPhase(windDown, r.now);
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
    if (windDown !== null && windDown.noFriendData === r.now) atFriendDataInstant++;
  }
  return { outcomes, branches, phases, atFriendDataInstant };
}

/** Cedar: every request checked against the schema on a sample (untimed), a warm-up, then one timed pass. */
function runCedar(calls: readonly StatefulAuthorizationCall[], options: BenchOptions) {
  let invalidRequests = 0;
  let firstInvalid: string | null = null;
  for (let i = 0; i < calls.length; i += Math.max(1, Math.floor(calls.length / 2000))) {
    const answer = statefulIsAuthorized({ ...calls[i]!, preparsedSchemaName: SCHEMA_ID, validateRequest: true });
    if (answer.type !== 'success' && invalidRequests++ === 0) firstInvalid = JSON.stringify(answer.errors);
  }
  for (let i = 0; i < Math.min(2_000, calls.length); i++) statefulIsAuthorized(calls[i]!);
  const allowed = new Uint8Array(calls.length);
  let failures = 0;
  let policyErrors = 0;
  const progress = process.stderr.isTTY && !options.smoke;
  const t0 = cpuNs();
  for (let i = 0; i < calls.length; i++) {
    if (progress && (i & 0x3fff) === 0) process.stderr.write(`\r  Cedar: ${fmt(i)} of ${fmt(calls.length)} field decisions `);
    const answer = statefulIsAuthorized(calls[i]!);
    if (answer.type !== 'success') {
      failures++;
      continue;
    }
    if (answer.response.decision === 'allow') allowed[i] = 1;
    if (answer.response.diagnostics.errors.length > 0) policyErrors++;
  }
  const ns = cpuNs() - t0;
  if (progress) process.stderr.write('\r\x1b[K');
  return { allowed, ns, failures, policyErrors, invalidRequests, firstInvalid };
}

interface CasbinRun {
  readonly model: CasbinModel;
  /** casbin's time per field decision, and Datapact's timed in alternation with it. */
  readonly nsPerDecision: number;
  readonly datapactNsPerDecision: number;
  /** Field decisions where casbin's answer (and for `reasons`, the reason) is not Datapact's. */
  readonly disagreements: number[];
  readonly answers: CasbinAnswers;
}

/**
 * Each casbin model over every field decision, CASBIN_PASSES times after a warm-up, in alternation
 * with Datapact: the requests are cut into CASBIN_SLICES slices, and after casbin has decided a
 * slice's fields, Datapact decides the same requests, again and again, for as long as casbin took.
 * On a machine others share, both then run under the same load, so the ratio holds while the
 * absolute figures move. The answers of the last pass are compared with Datapact's, every one.
 */
async function runCasbin(requests: readonly GeneratedRequest[], asked: CasbinRequests, outcomes: readonly Outcome[]): Promise<CasbinRun[]> {
  const slices: { requests: readonly GeneratedRequest[]; from: number; to: number }[] = [];
  const perSlice = Math.ceil(requests.length / CASBIN_SLICES);
  for (let start = 0, from = 0; start < requests.length; start += perSlice) {
    const sliced = requests.slice(start, start + perSlice);
    const to = from + sliced.reduce((n, r) => n + r.requestedFields.length, 0);
    slices.push({ requests: sliced, from, to });
    from = to;
  }
  const runs: CasbinRun[] = [];
  for (const model of CASBIN_MODELS) {
    const enforcer = await casbinEnforcer(model);
    const answers = casbinAnswers(model, asked);
    casbinDecide(model, enforcer, asked, 0, Math.min(2_000, outcomes.length), answers);
    let casbinNs = 0;
    let datapactNs = 0;
    let datapactDecisions = 0;
    for (let pass = 0; pass < CASBIN_PASSES; pass++) {
      for (const slice of slices) {
        const t0 = cpuNs();
        casbinDecide(model, enforcer, asked, slice.from, slice.to, answers);
        const t1 = cpuNs();
        const until = t1 + (t1 - t0);
        let t2 = t1;
        do {
          passWithPlan(slice.requests);
          datapactDecisions += slice.to - slice.from;
          t2 = cpuNs();
        } while (t2 < until);
        casbinNs += t1 - t0;
        datapactNs += t2 - t1;
      }
    }
    const disagreements: number[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const allowed = answers.allowed[i] === 1;
      const reasonDiffers = model === 'reasons' && answers.reasons[i] !== outcomes[i];
      if (allowed !== (outcomes[i] === 'released') || reasonDiffers) disagreements.push(i);
    }
    runs.push({
      model,
      nsPerDecision: casbinNs / (CASBIN_PASSES * outcomes.length),
      datapactNsPerDecision: datapactNs / datapactDecisions,
      disagreements,
      answers,
    });
  }
  return runs;
}

type Log = (line: string) => void;

/** Every field decision, in the order cedarCalls and casbinRequests list them, and Datapact's answer. */
interface FieldDecisions {
  readonly requests: readonly GeneratedRequest[];
  readonly requestOf: readonly number[];
  readonly fieldOf: readonly ObjectField[];
  readonly outcomes: readonly Outcome[];
}

function logCoverage(log: Log, { branches, phases, atFriendDataInstant }: ReturnType<typeof decideWithDatapact>): void {
  log(
    `coverage: ${[...phases.entries()].map(([p, n]) => `${p} ${fmt(n)}`).join(', ')} requests by wind-down phase ` +
      `(${fmt(atFriendDataInstant)} at the no_friend_data instant itself)`,
  );
  const branchList = EXPECTED_BRANCHES.map((b) => `${b} ${fmt(branches.get(b) ?? 0)}`);
  for (let i = 0; i < branchList.length; i += 4) log(`  ${branchList.slice(i, i + 4).join('; ')}`);
}

/** Cedar's answers against Datapact's, field by field; returns the disagreements. */
function logCedarAgreement(log: Log, index: FieldDecisions, calls: readonly StatefulAuthorizationCall[], allowed: Uint8Array): number[] {
  const { requests, requestOf, fieldOf, outcomes } = index;
  const disagreements: number[] = [];
  let allows = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const datapact = outcomes[i] === 'released';
    if (datapact) allows++;
    if (datapact !== (allowed[i] === 1)) disagreements.push(i);
  }
  for (const i of disagreements.slice(0, SHOWN_IN_FULL)) {
    const answer = statefulIsAuthorized(calls[i]!);
    const said = answer.type === 'success'
      ? `${answer.response.decision} (policies: ${answer.response.diagnostics.reason.join(', ') || 'none'})`
      : `failure ${JSON.stringify(answer.errors)}`;
    log(`DISAGREEMENT on request ${requestOf[i]} field ${fieldOf[i]}: Datapact ${outcomes[i]}; Cedar ${said}`);
    log(`  relation ${requests[requestOf[i]!]!.relation}; Cedar request: ${JSON.stringify({ principal: calls[i]!.principal, resource: calls[i]!.resource, context: calls[i]!.context })}`);
  }
  if (disagreements.length > SHOWN_IN_FULL) log(`... and ${fmt(disagreements.length - SHOWN_IN_FULL)} more disagreements`);
  log(
    `agreement: ${fmt(outcomes.length - disagreements.length)} of ${fmt(outcomes.length)} field decisions agree ` +
      `(${fmt(allows)} allow, ${fmt(outcomes.length - allows)} deny); disagreements: ${fmt(disagreements.length)}`,
  );
  return disagreements;
}

function logCasbinAgreement(log: Log, index: FieldDecisions, asked: CasbinRequests, { model, disagreements, answers }: CasbinRun): void {
  const { requests, requestOf, fieldOf, outcomes } = index;
  for (const i of disagreements.slice(0, SHOWN_IN_FULL)) {
    const said = `${answers.allowed[i] === 1 ? 'allow' : 'deny'}${model === 'reasons' ? ` (row: ${answers.reasons[i]})` : ''}`;
    log(`casbin ${model} DISAGREEMENT on request ${requestOf[i]} field ${fieldOf[i]}: Datapact ${outcomes[i]}; casbin ${said}`);
    log(`  relation ${requests[requestOf[i]!]!.relation}; casbin request: ${describeCasbinRequest(asked, i)}`);
  }
  if (disagreements.length > SHOWN_IN_FULL) log(`... and ${fmt(disagreements.length - SHOWN_IN_FULL)} more disagreements`);
  const what = model === 'reasons' ? 'on the decision and, when withheld, the first failing reason' : 'on the decision';
  log(
    `agreement, casbin ${model} (${CASBIN_MODEL_FILES[model].join(' + ')}): ${fmt(outcomes.length - disagreements.length)} of ` +
      `${fmt(outcomes.length)} field decisions agree with Datapact ${what}; disagreements: ${fmt(disagreements.length)}`,
  );
}

/**
 * decideSubject alone, plans given: over the first requests only, whose plans stay in the
 * processor's cache as a request's one plan does (over 100,000 plans built beforehand the figure
 * would mostly be memory reads no gateway makes).
 */
function timeDecideOnly(requests: readonly GeneratedRequest[], smoke: boolean) {
  const hot = requests.slice(0, DECIDE_ONLY_REQUESTS);
  const hotPlans = hot.map((r) => planAccess(r.context, r.now));
  const hotFieldDecisions = hot.reduce((n, r) => n + r.requestedFields.length, 0);
  return { decideOnly: timeRounds(() => passDecideOnly(hot, hotPlans), hotFieldDecisions, smoke), decideOnlyRequests: hot.length };
}

/** Datapact timed as before issue 15, in a worker thread (bench/cedar/kept-alive.ts). */
function timeAsBeforeIssue15(requests: number, smoke: boolean): Promise<number> {
  const worker = startWorkerScript(import.meta.url, 'kept-alive', { workerData: { requests, seed: SEED, smoke } });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { nsPerDecision: number }) => resolve(message.nsPerDecision));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the kept-alive worker stopped (exit code ${code})`)));
  });
}

/** Nanoseconds per field decision, each engine as the header describes it. */
interface Timings extends ReturnType<typeof timeDecideOnly> {
  readonly datapact: number;
  readonly everyPlanKept: number;
  readonly cedar: number;
  readonly cedarPassSeconds: number;
  readonly casbin: readonly CasbinRun[];
}

/** The timing lines, and their figures (the first is the target). */
function logTimings(log: Log, t: Timings): Figure[] {
  log('one decision, Datapact: one (subject, field) pair; planAccess + decideSubject per request, timed over all its requested fields, divided by their number');
  log('one decision, Cedar: one statefulIsAuthorized call (principal, action, resource, context naming one field); policies pre-parsed once, empty entity list, every request object pre-built');
  log('one decision, casbin: one enforceSync (abac) or enforceExSync (reasons) call (sub: the token, obj: one field of one member, act: read); enforcer built once, every request object pre-built');
  log(
    `Datapact: ${t.datapact.toFixed(1)} ns per field decision (median of 5 rounds; each plan built, used and dropped, as the gateway does; ` +
      `decideSubject alone, plan given: ${t.decideOnly.toFixed(1)} ns over the first ${fmt(t.decideOnlyRequests)} requests)`,
  );
  log(
    `Datapact as timed before issue 15 (in a worker thread), after a pass that kept every plan and decision alive: ${t.everyPlanKept.toFixed(1)} ns (${(t.everyPlanKept / t.datapact).toFixed(1)}x). ` +
      'With plans and decisions that outlive young-generation collections, V8 pretenures those of the timed passes (allocates them ' +
      'straight into the old generation); a gateway, dropping them with their request, never does. At smoke sizes too few are kept for it.',
  );
  log(`Cedar:    ${(t.cedar / 1000).toFixed(1)} µs per field decision (one pass, ${t.cedarPassSeconds.toFixed(1)} s of CPU)`);
  for (const { model, nsPerDecision, datapactNsPerDecision } of t.casbin) {
    log(
      `casbin ${model}: ${(nsPerDecision / 1000).toFixed(2)} µs per field decision (${CASBIN_PASSES} passes), ` +
        `${fmt(nsPerDecision / datapactNsPerDecision)}x Datapact's ${datapactNsPerDecision.toFixed(1)} ns timed in alternation with it`,
    );
  }
  const ratio = t.cedar / t.datapact;
  const target: Figure = { name: 'Datapact faster than Cedar', value: ratio, unit: 'x', target: { op: '>=', value: TARGET_RATIO }, kind: 'performance' };
  log(`ratio: Datapact ${fmt(ratio)}x faster than Cedar (decideSubject alone: ${fmt(t.cedar / t.decideOnly)}x); target >= ${TARGET_RATIO}x: ${verdict(passes(target))}`);
  log(
    `ratio, time per field decision over Datapact's: Cedar ${fmt(ratio)}x; ` +
      t.casbin.map(({ model, nsPerDecision, datapactNsPerDecision }) => `casbin ${model} ${fmt(nsPerDecision / datapactNsPerDecision)}x`).join('; '),
  );
  return [
    target,
    { name: 'Datapact per field decision', value: t.datapact, unit: 'ns', kind: 'info' },
    { name: 'Datapact, every plan kept alive (before issue 15)', value: t.everyPlanKept, unit: 'ns', kind: 'info' },
    { name: 'Cedar per field decision', value: t.cedar / 1000, unit: 'µs', kind: 'info' },
    ...t.casbin.flatMap(({ model, nsPerDecision, datapactNsPerDecision }): Figure[] => [
      { name: `casbin ${model} per field decision`, value: nsPerDecision / 1000, unit: 'µs', kind: 'info' },
      { name: `casbin ${model} slower than Datapact`, value: nsPerDecision / datapactNsPerDecision, unit: 'x', kind: 'info' },
    ]),
  ];
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log: Log = (line) => console.log(`cedar: ${line}`);
  const smoke = options.smoke ?? false;
  prepareCedar();
  const requests = generateRequests(smoke ? SMOKE_REQUESTS : REQUESTS, SEED);
  const datapact = decideWithDatapact(requests);
  const { outcomes } = datapact;
  const fieldDecisions = outcomes.length;

  // Datapact first, before anything of the peers' exists, as the gateway runs it.
  const datapactNs = timeRounds(() => passWithPlan(requests), fieldDecisions, smoke);
  const { calls, requestOf, fieldOf } = cedarCalls(requests);
  const cedar = runCedar(calls, options);
  const asked = casbinRequests(requests);
  const casbin = await runCasbin(requests, asked, outcomes);
  const decideOnly = timeDecideOnly(requests, smoke);
  const everyPlanKept = await timeAsBeforeIssue15(requests.length, smoke);

  log(
    `Cedar ${getCedarVersion()} (@cedar-policy/cedar-wasm) and casbin ${CASBIN_VERSION} (node-casbin), ${fmt(requests.length)} random requests, ` +
      `${fmt(fieldDecisions)} field decisions (seed ${SEED.toString(16)})`,
  );
  logCoverage(log, datapact);
  const uncovered = EXPECTED_BRANCHES.filter((b) => !datapact.branches.has(b));
  const unexpected = [...datapact.branches.keys()].filter((b) => !EXPECTED_BRANCHES.includes(b));
  const problems: string[] = [];
  if (uncovered.length > 0) log(`NOT COVERED: ${uncovered.join(', ')}`);
  if (unexpected.length > 0) problems.push(`branches not in the list: ${unexpected.join(', ')}`);
  if (cedar.firstInvalid !== null) problems.push(`a Cedar request does not fit the schema: ${cedar.firstInvalid}`);
  for (const problem of problems) log(`PROBLEM: ${problem}`);
  const cedarErrors = cedar.failures + cedar.policyErrors + cedar.invalidRequests;
  if (cedar.failures + cedar.policyErrors > 0) log(`Cedar failed on ${fmt(cedar.failures)} requests; a policy errored on ${fmt(cedar.policyErrors)}`);

  const index: FieldDecisions = { requests, requestOf, fieldOf, outcomes };
  const disagreements = logCedarAgreement(log, index, calls, cedar.allowed);
  for (const c of casbin) logCasbinAgreement(log, index, asked, c);
  const timings = logTimings(log, {
    datapact: datapactNs,
    ...decideOnly,
    everyPlanKept,
    cedar: cedar.ns / fieldDecisions,
    cedarPassSeconds: cedar.ns / 1e9,
    casbin,
  });
  if (sinkValue() === 0x7fff_ffff) log('(sink)');

  const figures: Figure[] = [
    { name: 'field decisions compared', value: fieldDecisions, unit: 'count', kind: 'info' },
    { name: 'disagreements', value: disagreements.length, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    ...casbin.map(({ model, disagreements: missed }): Figure => (
      { name: `casbin ${model} disagreements`, value: missed.length, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' }
    )),
    { name: 'branches not covered', value: uncovered.length, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    { name: 'Cedar errors and invalid requests', value: cedarErrors, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    ...timings,
  ];
  const ok = figures.every((figure) => figure.kind !== 'correctness' || passes(figure)) && problems.length === 0;
  if (!ok) log('FAIL: Datapact, Cedar and casbin must agree on every field, over every branch of the rules');
  return { benchmark: 'cedar', ok, figures, notes: [`${fmt(requests.length)} requests, ${fmt(fieldDecisions)} field decisions`] };
}

if (isMain(import.meta.url)) await runAsScript(run);
