import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/project-root.js';

/** The suite as this test runs: compiled beside it (.build/bench/run-all.js) or from source through tsx. */
const RUN_ALL = import.meta.url.endsWith('.js') ? [join(import.meta.dirname, '..', '..', 'bench', 'run-all.js')] : ['--import', 'tsx', 'bench/run-all.ts'];

const BENCHMARKS = ['decisions', 'merkle', 'audit', 'cedar', 'http', 'scale', 'reads', 'reports', 'simulate', 'hidden-timing'];

interface Report {
  readonly smoke: boolean;
  readonly ok: boolean;
  readonly benchmarks: ReadonlyArray<{
    readonly benchmark: string;
    readonly status: string;
    readonly figures: ReadonlyArray<{ readonly name: string; readonly value: number | null; readonly kind: string; readonly pass: boolean | null }>;
  }>;
}

test('the benchmark suite runs on smoke sizes: one table, every benchmark with its figures, Cedar and casbin agree with Datapact', { timeout: 1_200_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'datapact-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'smoke.json');
  // A failed run exits 1: its printed table and figures are what says why, so they go into the failure.
  const { stdout } = await promisify(execFile)(process.execPath, [...RUN_ALL, '--smoke', '--out', out], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, FORCE_COLOR: '0', DATAPACT_BENCH_CACHE: join(dirname(out), 'cache') },
  }).catch((error: { code?: number; stdout?: string }) => {
    if (!existsSync(out)) assert.fail(`bench/run-all.ts exited ${error.code} without results:\n${error.stdout}`);
    return { stdout: error.stdout ?? '' };
  });

  const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  assert.equal(report.smoke, true);
  assert.equal(report.ok, true, stdout);
  assert.deepEqual(report.benchmarks.map((b) => b.benchmark), BENCHMARKS);
  const scaleWritten = existsSync(join(PROJECT_ROOT, 'bench', 'scale.ts'));
  for (const benchmark of report.benchmarks) {
    if (benchmark.benchmark === 'scale' && !scaleWritten) {
      assert.equal(benchmark.status, 'not_measured');
      continue;
    }
    assert.equal(benchmark.status, 'ok', `${benchmark.benchmark}: ${stdout}`);
    assert.ok(benchmark.figures.length > 0, `${benchmark.benchmark} has figures`);
    for (const figure of benchmark.figures) {
      assert.ok(typeof figure.value === 'number' && Number.isFinite(figure.value), `${benchmark.benchmark}: ${figure.name} = ${figure.value}`);
      if (figure.kind === 'correctness') assert.equal(figure.pass, true, `${benchmark.benchmark}: ${figure.name}`);
    }
  }

  const cedar = report.benchmarks.find((b) => b.benchmark === 'cedar')!;
  const figure = (name: string) => cedar.figures.find((f) => f.name === name)?.value;
  assert.equal(figure('disagreements'), 0);
  assert.equal(figure('branches not covered'), 0);
  assert.ok((figure('field decisions compared') ?? 0) > 1000);
  assert.match(stdout, /cedar: agreement: [\d,]+ of [\d,]+ field decisions agree .*disagreements: 0/);
  // The casbin peers: every field decision compared, the `reasons` model's first failing reason too.
  for (const model of ['abac', 'reasons']) {
    assert.equal(figure(`casbin ${model} disagreements`), 0);
    assert.equal(typeof figure(`casbin ${model} slower than Datapact`), 'number');
    assert.match(stdout, new RegExp(`cedar: agreement, casbin ${model} .*: ([\\d,]+) of \\1 field decisions agree .*disagreements: 0`));
  }

  // The one table: a row for every benchmark, the scale slot named even before it exists.
  const tableStart = stdout.lastIndexOf('=== results');
  assert.ok(tableStart >= 0, stdout);
  const tableText = stdout.slice(tableStart);
  for (const name of BENCHMARKS) assert.match(tableText, new RegExp(`│ ${name} +│`), `${name} in the table`);
  if (!scaleWritten) assert.match(tableText, /scale +│ +│ not measured yet/);
});
