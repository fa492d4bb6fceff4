import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * On Linux a thread has a nice value of its own: a worker thread calls this so that it yields to the
 * server's request thread when the cores are busy, and long work takes longer rather than the Graph
 * API. Elsewhere (or if refused) it runs at the server's priority.
 */
export function lowerThreadPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId)) setPriority(threadId, 10);
  } catch {
    // Not Linux: no per-thread priority to lower.
  }
}
