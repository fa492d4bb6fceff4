import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` (without its extension) beside the module at
 * `besideUrl` (the caller's `import.meta.url`): `name.js` when Datapact runs compiled (dist/,
 * `npm start`, bin/datapact.js), `name.ts` under tsx (tests, npm scripts). Node 20 does not hand
 * `--import tsx` on to worker threads, so there the worker registers tsx itself before loading it.
 */
export function startWorkerScript(besideUrl: string, name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!besideUrl.endsWith('.ts')) return new Worker(new URL(`${name}.js`, besideUrl), options);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const script = JSON.stringify(new URL(`${name}.ts`, besideUrl).href);
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${script}); })`, { ...options, eval: true });
}
