/**
 * Runs one benchmark module in its own process for bench/run-all.ts:
 *
 *   node --import tsx bench/lib/child.ts <module.ts> <result.json> [--smoke]
 *
 * The module's `run` prints its lines as when run alone; its BenchResult is written to
 * <result.json>. The exit code is 1 when the result is not ok, 2 when `run` threw.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchOptions, BenchResult } from './figures.js';

const [modulePath, resultPath] = process.argv.slice(2);
if (modulePath === undefined || resultPath === undefined) {
  console.error('usage: node --import tsx bench/lib/child.ts <module.ts> <result.json> [--smoke]');
  process.exit(2);
}
const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { run?: (options: BenchOptions) => Promise<BenchResult> };
if (typeof module.run !== 'function') {
  console.error(`${modulePath} exports no run(options) function`);
  process.exit(2);
}
const result = await module.run({ smoke: process.argv.includes('--smoke') });
writeFileSync(resultPath, JSON.stringify(result, null, 2));
if (!result.ok) process.exitCode = 1;
