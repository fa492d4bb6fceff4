/**
 * What every benchmark hands back to bench/run-all.ts, besides the lines it prints itself.
 *
 * A benchmark module exports `run(options: BenchOptions): Promise<BenchResult>`; run alone
 * (`npm run bench:<name>`) it prints its lines and exits non-zero when `ok` is false. The runner
 * calls the same `run` in a child process (bench/lib/child.ts), so benchmarks never share a heap,
 * a JIT or an event loop.
 */
import { pathToFileURL } from 'node:url';

export interface BenchOptions {
  /** Tiny sizes, a few seconds in all: checks that the benchmark works, measures nothing useful. */
  readonly smoke?: boolean;
}

export type Comparison = '>=' | '<=' | '<' | '>' | '==';

export interface Target {
  readonly op: Comparison;
  readonly value: number;
}

export interface Figure {
  /** What is measured, e.g. `field decisions/s`. */
  readonly name: string;
  /** null: not measured (the benchmark is missing, or the figure could not be read). */
  readonly value: number | null;
  /** e.g. `/s`, `µs`, `ms`, `x`, `count`. */
  readonly unit: string;
  readonly target?: Target;
  /**
   * `correctness` figures (e.g. Cedar disagreements, audit entries missing) fail the run whatever
   * the machine; `performance` figures depend on the machine and its load.
   */
  readonly kind: 'performance' | 'correctness' | 'info';
}

export interface BenchResult {
  readonly benchmark: string;
  /** False when a correctness check failed or the benchmark could not run. */
  readonly ok: boolean;
  readonly figures: readonly Figure[];
  /** Free-form lines worth keeping with the figures (what one decision is, sizes, …). */
  readonly notes?: readonly string[];
}

export function passes(figure: Figure): boolean | null {
  if (figure.target === undefined) return null;
  if (figure.value === null) return false;
  const { op, value } = figure.target;
  switch (op) {
    case '>=':
      return figure.value >= value;
    case '<=':
      return figure.value <= value;
    case '<':
      return figure.value < value;
    case '>':
      return figure.value > value;
    case '==':
      return figure.value === value;
  }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function verdict(ok: boolean | null): string {
  return ok === null ? '' : ok ? 'PASS' : 'FAIL';
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(script).href === moduleUrl;
}

/** Runs a benchmark as a script: its own lines, then an exit code from its result. */
export async function runAsScript(run: (options: BenchOptions) => Promise<BenchResult>): Promise<void> {
  const smoke = process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';
  const result = await run({ smoke });
  if (!result.ok) process.exitCode = 1;
}
