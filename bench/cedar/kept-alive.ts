/**
 * A worker thread for bench/cedar/index.ts: Datapact timed as that benchmark timed it before
 * issue 15, in a V8 isolate of its own (its own heap, allocation sites and compiled code), so that
 * the artefact shows as it did and leaves the main benchmark alone.
 *
 * The old order: one pass decides every request and keeps every plan and decision alive, then the
 * timed passes build, use and drop a plan per request. V8 sees objects from planAccess's and
 * decideSubject's allocation sites outlive young-generation collections and pretenures them: the
 * timed passes then allocate their plans and decisions straight into the old generation, and pay
 * its collections, which a gateway, dropping each plan with its request, never does.
 *
 * workerData: { requests, seed, smoke }; posts the nanoseconds per field decision. The main thread
 * waits meanwhile, so the process's CPU time is this worker's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { planAccess } from '../../src/domain/access-plan.js';
import { decideSubject } from '../../src/domain/subject-decision.js';
import { passWithPlan, timeRounds } from './timing.js';
import { generateRequests } from './world.js';

const { requests: count, seed, smoke } = workerData as { requests: number; seed: number; smoke: boolean };
const requests = generateRequests(count, seed);
const kept = requests.map((r) => {
  const plan = planAccess(r.context, r.now);
  return { plan, decision: decideSubject(plan, r.subject, r.requested) };
});
const fieldDecisions = requests.reduce((n, r) => n + r.requestedFields.length, 0);
const nsPerDecision = timeRounds(() => passWithPlan(requests), fieldDecisions, smoke);
parentPort!.postMessage({ nsPerDecision, kept: kept.length });
