import type { Worker } from 'node:worker_threads';
import type { Instant } from '../domain/time.js';
import { startWorkerScript } from '../worker-script.js';
import type { MemberDirectory } from './member-directory.js';
import { createSeedFaker } from './member-profile.js';
import { generateMemberBatch, type MemberBatch, type MemberBatchRequest } from './member-rows.js';

/**
 * The members of a world in id order, batch by batch. Drawing a member (Faker) costs about ten
 * times what writing its rows does, and every member is drawn from (seed, index) alone, so with
 * `workers > 0` the batches are drawn by worker threads, several ahead, while the caller writes
 * the previous ones: the same rows in the same order, on every core.
 */
export async function* memberBatches(
  directory: MemberDirectory,
  options: { readonly seed: number; readonly now: Instant; readonly batchSize: number; readonly workers: number },
): AsyncGenerator<{ readonly start: number; readonly batch: MemberBatch }> {
  const { ids, order } = directory;
  const { seed, now, batchSize, workers } = options;
  const request = (start: number): MemberBatchRequest => {
    const indices = order.slice(start, Math.min(order.length, start + batchSize));
    return { seed, now, indices, ids: Array.from(indices, (index) => ids[index]!) };
  };
  if (workers === 0) {
    const faker = createSeedFaker(now);
    for (let start = 0; start < order.length; start += batchSize) yield { start, batch: generateMemberBatch(faker, request(start)) };
    return;
  }
  const pool = new WorkerPool(workers);
  try {
    const ahead: Array<Promise<MemberBatch>> = [];
    let next = 0;
    const submit = () => {
      const batch = pool.run(request(next));
      batch.catch(() => undefined); // awaited in turn below; a failure must not surface before then as unhandled
      ahead.push(batch);
      next += batchSize;
    };
    while (next < order.length && ahead.length < 2 * workers) submit();
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = await ahead.shift()!;
      if (next < order.length) submit();
      yield { start, batch };
    }
  } finally {
    await pool.close();
  }
}

/** Worker threads running member-worker.ts, jobs dealt round robin (each worker answers in order). */
class WorkerPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (batch: MemberBatch) => void; reject: (error: unknown) => void }>();
  private jobs = 0;

  constructor(count: number) {
    this.workers = Array.from({ length: count }, () => {
      const worker = startWorkerScript(import.meta.url, './member-worker');
      worker.on('message', ({ job, batch }: { job: number; batch: MemberBatch }) => {
        this.pending.get(job)?.resolve(batch);
        this.pending.delete(job);
      });
      worker.on('error', (error) => this.failAll(error));
      worker.on('exit', (code) => this.failAll(new Error(`a member generator thread exited (${code})`)));
      return worker;
    });
  }

  run(request: MemberBatchRequest): Promise<MemberBatch> {
    const job = this.jobs++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      this.workers[job % this.workers.length]!.postMessage({ ...request, job });
    });
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker.removeAllListeners('exit');
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private failAll(error: unknown): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}
