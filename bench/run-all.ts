/**
 * The benchmark suite (issue 6): every benchmark in turn, each in its own process, then one table
 * of their figures and bench/results/latest.json.
 *
 *   npm run bench                       everything, full sizes (several minutes)
 *   npm run bench -- --smoke            tiny sizes, to check that everything runs (under a minute)
 *   npm run bench -- --only cedar,http  some benchmarks only
 *   npm run bench -- --out <file.json>  write the results elsewhere (default bench/results/latest.json,
 *                                       bench/results/smoke.json with --smoke)
 *   npm run bench -- --strict           a missed performance target fails the run too
 *
 * Exit code: 1 when a benchmark could not run or a correctness check failed (Cedar disagreed, audit
 * entries missing, …); performance targets only with --strict, as they depend on the machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import Table from 'cli-table3';
import { auditFiguresFromLines } from './lib/audit-lines.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { fmt, passes, type BenchResult, type Figure, type Target } from './lib/figures.js';

/** Where the scripts are: bench/ from source, through tsx; .build/bench/ compiled, as the smoke test runs them. */
const BENCH_DIR = import.meta.dirname;
const COMPILED = import.meta.url.endsWith('.js');

interface Benchmark {
  readonly name: string;
  /** The script, relative to bench/. */
  readonly script: string;
  /** How its figures come back: its exported `run` (through bench/lib/child.ts), or its printed lines. */
  readonly via: 'run' | 'lines';
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: 'decisions', script: 'decisions.ts', via: 'run' },
  { name: 'merkle', script: 'merkle.ts', via: 'run' },
  { name: 'audit', script: 'audit.ts', via: 'lines' },
  { name: 'cedar', script: 'cedar/index.ts', via: 'run' },
  { name: 'http', script: 'http.ts', via: 'run' },
  // The scale benchmark is another piece of issue 6: until bench/scale.ts exists (exporting
  // `run(options): Promise<BenchResult>` like the others), its slot says "not measured yet".
  { name: 'scale', script: 'scale.ts', via: 'run' },
  { name: 'reads', script: 'reads.ts', via: 'run' },
  { name: 'reports', script: 'reports.ts', via: 'run' },
  { name: 'simulate', script: 'simulate.ts', via: 'run' },
  { name: 'hidden-timing', script: 'hidden-timing.ts', via: 'run' },
];

/** bench/audit.ts on tiny sizes: a small proof log (kept in bench/.cache like the big one). */
const AUDIT_SMOKE_ENV = { AUDIT_BENCH_ENTRIES: '2000', AUDIT_BENCH_APPEND_SECONDS: '1', AUDIT_BENCH_PROOFS: '500' };

type Status = 'ok' | 'failed' | 'error' | 'not_measured';

interface FigureReport extends Figure {
  readonly pass: boolean | null;
}

interface BenchmarkReport {
  readonly benchmark: string;
  readonly status: Status;
  readonly exitCode: number | null;
  readonly seconds: number;
  readonly figures: readonly FigureReport[];
  readonly notes: readonly string[];
}

function parseArgs(argv: readonly string[]) {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';
  const only = value('--only')?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  return {
    smoke,
    strict: argv.includes('--strict'),
    only,
    out: value('--out') ?? join(PROJECT_ROOT, 'bench', 'results', smoke ? 'smoke.json' : 'latest.json'),
  };
}

function scriptPath(source: string): string {
  return join(BENCH_DIR, COMPILED ? source.replace(/\.ts$/, '.js') : source);
}

function nodeArgs(script: string): string[] {
  return COMPILED ? [script] : ['--import', 'tsx', script];
}

/** Runs a command, its output passed through as it comes and also kept. */
function runCommand(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

async function runBenchmark(benchmark: Benchmark, smoke: boolean, scratch: string): Promise<BenchmarkReport> {
  const script = scriptPath(benchmark.script);
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  if (!existsSync(script)) {
    console.log(`${benchmark.name}: not measured yet (bench/${benchmark.script} is missing)`);
    return { benchmark: benchmark.name, status: 'not_measured', exitCode: null, seconds: 0, figures: [], notes: [`bench/${benchmark.script} is missing`] };
  }
  const env = { ...process.env, ...(smoke && benchmark.name === 'audit' ? AUDIT_SMOKE_ENV : {}) };
  if (benchmark.via === 'lines') {
    const { code, stdout } = await runCommand([...nodeArgs(script), ...(smoke ? ['--smoke'] : [])], env);
    const figures = auditFiguresFromLines(stdout).map(withVerdict);
    const readable = figures.every((f) => f.value !== null);
    const status: Status = code !== 0 ? 'error' : readable ? 'ok' : 'failed';
    return { benchmark: benchmark.name, status, exitCode: code, seconds: seconds(), figures, notes: readable ? [] : ['some figures could not be read from its output'] };
  }
  const resultFile = join(scratch, `${benchmark.name}.json`);
  const { code } = await runCommand([...nodeArgs(scriptPath('lib/child.ts')), script, resultFile, ...(smoke ? ['--smoke'] : [])], env);
  if (!existsSync(resultFile)) {
    return { benchmark: benchmark.name, status: 'error', exitCode: code, seconds: seconds(), figures: [], notes: ['it stopped before returning its figures'] };
  }
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult;
  return {
    benchmark: benchmark.name,
    status: code === 0 && result.ok ? 'ok' : 'failed',
    exitCode: code,
    seconds: seconds(),
    figures: result.figures.map(withVerdict),
    notes: result.notes ?? [],
  };
}

function withVerdict(figure: Figure): FigureReport {
  return { ...figure, pass: passes(figure) };
}

function formatValue(value: number, unit: string): string {
  switch (unit) {
    case 'x':
      return `${value >= 100 ? fmt(value) : value.toFixed(2)}x`;
    case 'count':
      return fmt(value);
    case 'µs':
    case 'ns':
    case 'ms':
      return `${value >= 1000 ? fmt(value) : value.toFixed(1)} ${unit}`;
    case '/s':
      return `${fmt(value)}/s`;
    default:
      return `${fmt(value)} ${unit}`;
  }
}

function formatTarget(target: Target | undefined, unit: string): string {
  if (target === undefined) return '';
  return `${target.op} ${unit === 'x' ? `${target.value}x` : formatValue(target.value, unit)}`;
}

function resultCell(figure: FigureReport, smoke: boolean): string {
  if (figure.pass === null) return '';
  if (smoke && figure.kind === 'performance') return `${figure.pass ? 'pass' : 'fail'} (smoke)`;
  return figure.pass ? 'PASS' : 'FAIL';
}

function table(reports: readonly BenchmarkReport[], smoke: boolean): string {
  const t = new Table({
    head: ['benchmark', 'figure', 'value', 'target', 'result'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const report of reports) {
    if (report.status === 'not_measured') {
      t.push([report.benchmark, '', 'not measured yet', '', '']);
      continue;
    }
    if (report.figures.length === 0) t.push([report.benchmark, '(no figures)', '', '', `FAIL (${report.status})`]);
    for (const figure of report.figures) {
      t.push([
        report.benchmark,
        figure.name,
        figure.value === null ? 'not read' : formatValue(figure.value, figure.unit),
        formatTarget(figure.target, figure.unit),
        resultCell(figure, smoke),
      ]);
    }
    if (report.status === 'error') t.push([report.benchmark, `exit code ${report.exitCode}`, '', '', 'FAIL']);
  }
  return t.toString();
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const selected = BENCHMARKS.filter((b) => options.only === undefined || options.only.includes(b.name));
  const scratch = mkdtempSync(join(tmpdir(), 'datapact-bench-'));
  const startedAt = new Date();
  const loadBefore = loadavg();
  const reports: BenchmarkReport[] = [];
  try {
    for (const benchmark of selected) {
      console.log(`\n=== ${benchmark.name}${options.smoke ? ' (smoke)' : ''} ===`);
      reports.push(await runBenchmark(benchmark, options.smoke, scratch));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const failedToRun = reports.filter((r) => r.status === 'error' || r.status === 'failed');
  const correctnessFailures = reports.flatMap((r) => r.figures.filter((f) => f.kind === 'correctness' && f.pass === false));
  const performanceMisses = reports.flatMap((r) => r.figures.filter((f) => f.kind === 'performance' && f.pass === false));
  const ok = failedToRun.length === 0 && correctnessFailures.length === 0 && (!options.strict || performanceMisses.length === 0);

  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform, loadavgBefore: loadBefore, loadavgAfter: loadavg() };
  console.log(`\n=== results${options.smoke ? ' (smoke sizes: the figures only show that everything runs)' : ''} ===`);
  console.log(table(reports, options.smoke));
  console.log(
    `${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}; load average ${machine.loadavgBefore.map((l) => l.toFixed(1)).join(' ')} ` +
      `before, ${machine.loadavgAfter.map((l) => l.toFixed(1)).join(' ')} after: absolute figures move with the machine's load, ratios much less.`,
  );
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), smoke: options.smoke, ok, machine, benchmarks: reports }, null, 2)}\n`);
  const shown = relative(process.cwd(), options.out);
  console.log(`results written to ${shown.startsWith('..') ? options.out : shown}`);
  if (failedToRun.length > 0) console.log(`FAILED: ${failedToRun.map((r) => `${r.benchmark} (${r.status})`).join(', ')}`);
  if (options.strict && performanceMisses.length > 0) console.log(`missed targets (--strict): ${performanceMisses.map((f) => f.name).join(', ')}`);
  if (!ok) process.exitCode = 1;
}

await main();
