import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import { findReach, reachPieces } from './reach.js';
import { lowerThreadPriority } from './thread-priority.js';
import type { ReachWorkerData, ReachWorkerReply } from './reach-indexing.js';

/**
 * The thread of ReachIndexing (reach-indexing.ts): on a read-only connection of its own, finds what
 * the token members not indexed yet add to the counterfactual's reach (findReach), cuts it into the
 * pieces the scheduler stores one per step (reachPieces), posts them and ends. Reading friend lists,
 * building the sets and cutting them happen here, never on the thread or connection that appends
 * partners' entries.
 */
lowerThreadPriority();
const { location } = workerData as ReachWorkerData;
const db = openDatabase(location, { readOnly: true });
let reply: ReachWorkerReply;
try {
  reply = { pieces: reachPieces(await findReach(db)) };
} catch (error) {
  reply = { error: error instanceof Error ? error.message : String(error) };
} finally {
  await db.destroy();
}
parentPort!.postMessage(reply!, 'pieces' in reply! ? reply.pieces.map((piece) => piece.members.buffer as ArrayBuffer) : []);
