import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import { findReach, REACH_KINDS } from './reach.js';
import { lowerThreadPriority } from './thread-priority.js';
import type { FoundReachMessage, ReachWorkerReply } from './reach-indexing.js';

/**
 * The thread of ReachIndexing (reach-indexing.ts): on a read-only connection of its own, finds what
 * the token members not indexed yet add to the counterfactual's reach (findReach), posts it as
 * serialized sets and ends. Reading friend lists and building the sets happen here, never on the
 * thread or connection that appends partners' entries.
 */
lowerThreadPriority();
const db = openDatabase((workerData as { location: string }).location, { readOnly: true });
let reply: ReachWorkerReply;
try {
  const found: FoundReachMessage[] = (await findReach(db)).map(({ month, partner, added }) => ({
    month, partner, parts: REACH_KINDS.map(([, part]) => new Uint8Array(added[part].serialize('portable'))),
  }));
  reply = { found };
} catch (error) {
  reply = { error: error instanceof Error ? error.message : String(error) };
} finally {
  await db.destroy();
}
parentPort!.postMessage(reply!, 'found' in reply! ? reply.found.flatMap((one) => one.parts.map((part) => part.buffer as ArrayBuffer)) : []);
