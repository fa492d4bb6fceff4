import { parentPort } from 'node:worker_threads';
import type { Faker } from '@faker-js/faker';
import { createSeedFaker } from './member-profile.js';
import { generateMemberBatch, type MemberBatchRequest } from './member-rows.js';

/** A worker thread of MemberBatches: generates the batches it is sent and posts them back. */
let faker: Faker | undefined;
let fakerNow: number | undefined;
parentPort?.on('message', (request: MemberBatchRequest & { readonly job: number }) => {
  if (faker === undefined || fakerNow !== request.now) {
    faker = createSeedFaker(request.now);
    fakerNow = request.now;
  }
  const batch = generateMemberBatch(faker, request);
  parentPort!.postMessage({ job: request.job, batch }, [batch.createdAt.buffer as ArrayBuffer]);
});
