/**
 * How bench/cedar times Datapact (and, with cpuNs, every engine): shared by bench/cedar/index.ts
 * and the worker that times Datapact as it was timed before issue 15 (bench/cedar/kept-alive.ts).
 */
import { planAccess, type AccessPlan } from '../../src/domain/access-plan.js';
import { decideSubject } from '../../src/domain/subject-decision.js';
import type { GeneratedRequest } from './world.js';

/** Every answer timed is folded in here, so that none can be skipped. */
let sink = 0;

export function sinkValue(): number {
  return sink;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The CPU time of this process so far, in nanoseconds (user and system, every thread), which every
 * engine is timed by: on a machine others share, time spent waiting for a core is nobody's.
 */
export function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** One pass over every request as the gateway decides one: its plan built, used for the subject, dropped. */
export function passWithPlan(requests: readonly GeneratedRequest[]): number {
  let s = 0;
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const d = decideSubject(planAccess(r.context, r.now), r.subject, r.requested);
    s = (s + (d.visible ? d.released : 1)) | 0;
  }
  sink ^= s;
  return s;
}

export function passDecideOnly(requests: readonly GeneratedRequest[], plans: readonly AccessPlan[]): number {
  let s = 0;
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const d = decideSubject(plans[i]!, r.subject, r.requested);
    s = (s + (d.visible ? d.released : 1)) | 0;
  }
  sink ^= s;
  return s;
}

/**
 * Nanoseconds per field decision: the median of 5 rounds of about 0.4 s of CPU (0.05 s in a smoke
 * run), after a warm-up long enough for V8's optimizing compiler, which runs on another thread, to
 * deliver on a busy machine too.
 */
export function timeRounds(pass: () => number, fieldDecisions: number, smoke: boolean): number {
  const warmUntil = performance.now() + (smoke ? 200 : 1_000);
  do pass();
  while (performance.now() < warmUntil);
  const t = cpuNs();
  pass();
  const oneNs = Math.max(1, cpuNs() - t);
  const passesPerRound = Math.max(1, Math.round((smoke ? 5e7 : 4e8) / oneNs));
  const perDecision: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = cpuNs();
    for (let p = 0; p < passesPerRound; p++) pass();
    perDecision.push((cpuNs() - start) / (passesPerRound * fieldDecisions));
  }
  return median(perDecision);
}
