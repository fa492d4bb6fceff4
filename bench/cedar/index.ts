/**
 * Decisions against Cedar (issue 6): the field rules of PRODUCT.md §4 written a second time, as
 * Cedar policies (bench/cedar/policies.cedar), and both engines asked the same questions.
 *
 * 1. Agreement: 100,000 random requests (bench/cedar/world.ts: random worlds, agreements, grants,
 *    wind-down phases, subjects and requested fields), each decided by Datapact (`planAccess`, then
 *    `decideSubject`) and, field by field, by Cedar. Every requested field must get the same
 *    allow/deny from both: every disagreement is printed (the first 20 in full) and fails the run.
 *    The run also fails when a branch of the rules was never exercised, when a Cedar policy
 *    errored, or when a Cedar request does not conform to the schema.
 * 2. Speed: the same requests timed on both sides, time per field decision and the ratio
 *    (target: Datapact at least 50× faster).
 *
 * Run: npm run bench:cedar   (--smoke: 2,000 requests)
 */
import { readFileSync } from 'node:fs';
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
import { decideSubject, excludesCaller, type SubjectDecision } from '../../src/domain/subject-decision.js';
import { windDownPhase } from '../../src/domain/wind-down.js';
import { fmt, isMain, passes, runAsScript, verdict, type BenchOptions, type BenchResult, type Figure } from '../lib/figures.js';
import { audienceOf, generateRequests, type GeneratedRequest } from './world.js';

const REQUESTS = 100_000;
const SMOKE_REQUESTS = 2_000;
const SEED = 0xced0_2026;
const TARGET_RATIO = 50;
const SHOWN_IN_FULL = 20;
const POLICY_SET_ID = 'datapact-field-rules';
const SCHEMA_ID = 'datapact-field-rules-schema';
const ACTION: EntityUid = { type: 'Action', id: 'read' };
const NO_ENTITIES: never[] = [];

const here = import.meta.dirname;
export const CEDAR_POLICIES = readFileSync(join(here, 'policies.cedar'), 'utf8');
export const CEDAR_SCHEMA = readFileSync(join(here, 'schema.cedarschema'), 'utf8');

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

function describeDecision(decision: SubjectDecision, field: ObjectField): string {
  if (!decision.visible) return `deny (subject not visible: ${decision.reason})`;
  const bit = fieldBit(field);
  if (decision.released & bit) return `allow (${decision.relation})`;
  return `deny (${decision.relation}, withheld: ${decision.withheld.find((w) => w.fields & bit)?.reason ?? '?'})`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = (line: string) => console.log(`cedar: ${line}`);
  const count = options.smoke ? SMOKE_REQUESTS : REQUESTS;
  const problems: string[] = [];

  // The policies must type-check against the schema: a misspelt attribute would otherwise make a
  // policy error at run time, which Cedar treats as "does not apply".
  const policies = { staticPolicies: policiesById(CEDAR_POLICIES) };
  const validation = validate({ schema: CEDAR_SCHEMA, policies, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new Error(`Cedar could not validate the policies: ${JSON.stringify(validation.errors)}`);
  if (validation.validationErrors.length > 0) {
    throw new Error(`The Cedar policies do not fit the schema: ${JSON.stringify(validation.validationErrors, null, 2)}`);
  }
  for (const answer of [preparsePolicySet(POLICY_SET_ID, policies), preparseSchema(SCHEMA_ID, CEDAR_SCHEMA)]) {
    if (answer.type !== 'success') throw new Error(`Cedar could not parse: ${JSON.stringify(answer.errors)}`);
  }

  const requests = generateRequests(count, SEED);

  // Datapact: one pass that keeps every decision, and the coverage of the rules' branches.
  const plans: AccessPlan[] = [];
  const decisions: SubjectDecision[] = [];
  const branches = new Map<string, number>();
  const phases = new Map<string, number>();
  let atFriendDataInstant = 0;
  for (const r of requests) {
    const plan = planAccess(r.context, r.now); // the generator only makes requests that pass
    const decision = decideSubject(plan, r.subject, r.requested);
    plans.push(plan);
    decisions.push(decision);
    for (const field of r.requestedFields) {
      const branch = branchOf(r, plan, decision, field);
      branches.set(branch, (branches.get(branch) ?? 0) + 1);
    }
    const windDown = r.context.agreement!.windDown;
    const phase = windDown === null ? 'no plan' : windDownPhase(windDown, r.now);
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
    if (windDown !== null && windDown.noFriendData === r.now) atFriendDataInstant++;
  }
  const uncovered = EXPECTED_BRANCHES.filter((b) => !branches.has(b));
  const unexpected = [...branches.keys()].filter((b) => !EXPECTED_BRANCHES.includes(b));
  if (unexpected.length > 0) problems.push(`branches not in the list: ${unexpected.join(', ')}`);

  // Cedar: every request conforms to the schema (checked on a sample, untimed).
  const { calls, requestOf, fieldOf } = cedarCalls(requests);
  const fieldDecisions = calls.length;
  let invalidRequests = 0;
  for (let i = 0; i < calls.length; i += Math.max(1, Math.floor(calls.length / 2000))) {
    const answer = statefulIsAuthorized({ ...calls[i]!, preparsedSchemaName: SCHEMA_ID, validateRequest: true });
    if (answer.type !== 'success') {
      if (invalidRequests++ === 0) problems.push(`a Cedar request does not fit the schema: ${JSON.stringify(answer.errors)}`);
    }
  }

  // Cedar: a warm-up, then one timed pass over every field decision.
  for (let i = 0; i < Math.min(2_000, calls.length); i++) statefulIsAuthorized(calls[i]!);
  const allowed = new Uint8Array(fieldDecisions);
  let cedarFailures = 0;
  let cedarPolicyErrors = 0;
  const progress = process.stderr.isTTY && !options.smoke;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < fieldDecisions; i++) {
    if (progress && (i & 0x3fff) === 0) process.stderr.write(`\r  Cedar: ${fmt(i)} of ${fmt(fieldDecisions)} field decisions `);
    const answer = statefulIsAuthorized(calls[i]!);
    if (answer.type !== 'success') {
      cedarFailures++;
      continue;
    }
    if (answer.response.decision === 'allow') allowed[i] = 1;
    if (answer.response.diagnostics.errors.length > 0) cedarPolicyErrors++;
  }
  const cedarNs = Number(process.hrtime.bigint() - t0);
  if (progress) process.stderr.write('\r\x1b[K');

  // Agreement, field by field.
  const disagreements: number[] = [];
  let allows = 0;
  for (let i = 0; i < fieldDecisions; i++) {
    const decision = decisions[requestOf[i]!]!;
    const datapact = decision.visible && (decision.released & fieldBit(fieldOf[i]!)) !== 0;
    if (datapact) allows++;
    if (datapact !== (allowed[i] === 1)) disagreements.push(i);
  }

  // Datapact timed: the same requests, planAccess + decideSubject for each; and decideSubject alone.
  let sink = 0;
  const passWithPlan = (): number => {
    let s = 0;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const d = decideSubject(planAccess(r.context, r.now), r.subject, r.requested);
      s = (s + (d.visible ? d.released : 1)) | 0;
    }
    return s;
  };
  const passDecideOnly = (): number => {
    let s = 0;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const d = decideSubject(plans[i]!, r.subject, r.requested);
      s = (s + (d.visible ? d.released : 1)) | 0;
    }
    return s;
  };
  const timeRounds = (pass: () => number): number => {
    for (let w = 0; w < 3; w++) sink ^= pass();
    const t = process.hrtime.bigint();
    sink ^= pass();
    const oneNs = Math.max(1, Number(process.hrtime.bigint() - t));
    const passesPerRound = Math.max(1, Math.round((options.smoke ? 5e7 : 4e8) / oneNs));
    const perDecision: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      for (let p = 0; p < passesPerRound; p++) sink ^= pass();
      perDecision.push(Number(process.hrtime.bigint() - start) / (passesPerRound * fieldDecisions));
    }
    return median(perDecision);
  };
  const datapactNs = timeRounds(passWithPlan);
  const decideOnlyNs = timeRounds(passDecideOnly);
  const cedarPerDecisionNs = cedarNs / fieldDecisions;
  const ratio = cedarPerDecisionNs / datapactNs;

  // ---- Output ----
  log(`Cedar ${getCedarVersion()} (@cedar-policy/cedar-wasm), ${fmt(requests.length)} random requests, ${fmt(fieldDecisions)} field decisions (seed ${SEED.toString(16)})`);
  log(
    `coverage: ${[...phases.entries()].map(([p, n]) => `${p} ${fmt(n)}`).join(', ')} requests by wind-down phase ` +
      `(${fmt(atFriendDataInstant)} at the no_friend_data instant itself)`,
  );
  const branchList = EXPECTED_BRANCHES.map((b) => `${b} ${fmt(branches.get(b) ?? 0)}`);
  for (let i = 0; i < branchList.length; i += 4) log(`  ${branchList.slice(i, i + 4).join('; ')}`);
  if (uncovered.length > 0) log(`NOT COVERED: ${uncovered.join(', ')}`);
  for (const problem of problems) log(`PROBLEM: ${problem}`);
  if (cedarFailures + cedarPolicyErrors > 0) log(`Cedar failed on ${fmt(cedarFailures)} requests; a policy errored on ${fmt(cedarPolicyErrors)}`);

  for (const i of disagreements.slice(0, SHOWN_IN_FULL)) {
    const r = requests[requestOf[i]!]!;
    const field = fieldOf[i]!;
    const answer = statefulIsAuthorized(calls[i]!);
    const cedar = answer.type === 'success'
      ? `${answer.response.decision} (policies: ${answer.response.diagnostics.reason.join(', ') || 'none'})`
      : `failure ${JSON.stringify(answer.errors)}`;
    log(`DISAGREEMENT on request ${requestOf[i]} field ${field}: Datapact ${describeDecision(decisions[requestOf[i]!]!, field)}; Cedar ${cedar}`);
    log(`  relation ${r.relation}; Cedar request: ${JSON.stringify({ principal: calls[i]!.principal, resource: calls[i]!.resource, context: calls[i]!.context })}`);
  }
  if (disagreements.length > SHOWN_IN_FULL) log(`... and ${fmt(disagreements.length - SHOWN_IN_FULL)} more disagreements`);
  log(
    `agreement: ${fmt(fieldDecisions - disagreements.length)} of ${fmt(fieldDecisions)} field decisions agree ` +
      `(${fmt(allows)} allow, ${fmt(fieldDecisions - allows)} deny); disagreements: ${fmt(disagreements.length)}`,
  );
  log('one decision, Datapact: one (subject, field) pair; planAccess + decideSubject per request, timed over all its requested fields, divided by their number');
  log('one decision, Cedar: one statefulIsAuthorized call (principal, action, resource, context naming one field); policies pre-parsed once, empty entity list, every request object pre-built');
  const figures: Figure[] = [
    { name: 'field decisions compared', value: fieldDecisions, unit: 'count', kind: 'info' },
    { name: 'disagreements', value: disagreements.length, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    { name: 'branches not covered', value: uncovered.length, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    { name: 'Cedar errors and invalid requests', value: cedarFailures + cedarPolicyErrors + invalidRequests, unit: 'count', target: { op: '==', value: 0 }, kind: 'correctness' },
    { name: 'Datapact per field decision', value: datapactNs, unit: 'ns', kind: 'info' },
    { name: 'Cedar per field decision', value: cedarPerDecisionNs / 1000, unit: 'µs', kind: 'info' },
    { name: 'Datapact faster than Cedar', value: ratio, unit: 'x', target: { op: '>=', value: TARGET_RATIO }, kind: 'performance' },
  ];
  log(`Datapact: ${datapactNs.toFixed(1)} ns per field decision (median of 5 rounds; decideSubject alone, plan given: ${decideOnlyNs.toFixed(1)} ns)`);
  log(`Cedar:    ${(cedarPerDecisionNs / 1000).toFixed(1)} µs per field decision (one pass, ${(cedarNs / 1e9).toFixed(1)} s)`);
  log(`ratio: Datapact ${fmt(ratio)}x faster (decideSubject alone: ${fmt(cedarPerDecisionNs / decideOnlyNs)}x); target >= ${TARGET_RATIO}x: ${verdict(passes(figures[6]!))}`);
  if (sink === 0x7fff_ffff) log('(sink)');

  const ok = disagreements.length === 0 && uncovered.length === 0 && problems.length === 0 && cedarFailures + cedarPolicyErrors + invalidRequests === 0;
  if (!ok) log('FAIL: Datapact and Cedar must agree on every field, over every branch of the rules');
  return {
    benchmark: 'cedar',
    ok,
    figures,
    notes: [`${fmt(requests.length)} requests, ${fmt(fieldDecisions)} field decisions`],
  };
}

if (isMain(import.meta.url)) await runAsScript(run);
