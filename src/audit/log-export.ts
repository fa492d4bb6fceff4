import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { AuditRepository } from '../store/audit-repository.js';
import { entryFromColumnsJson } from '../store/audit-rows.js';
import type { AuditBlinding } from './blinding.js';
import { canonicalTextAt } from './entry-leaf.js';
import { completeSubtrees } from './merkle-tree.js';
import { treeHeadToJson, type TreeHeadJson } from './tree-head.js';

/**
 * `datapact audit export`: a slice of the log that anyone can verify without the database (issue 5).
 * NDJSON: line 1 is the header below; then one line per entry, each EXACTLY the entry's canonical
 * bytes (canonical-entry.ts), so that SHA-256(0x00 || line) is its leaf hash with any tool.
 *
 *   {"format":"datapact-audit-export-v2","from":F,"to":T,"log_size":N,"prefix":[…],"heads":[…],"public_key":"<PEM>"}
 *
 * - `from`, `to`: the entries are leaf indices [F, T) (seq F+1..T), in order;
 * - `log_size`: how many entries the log held when it was exported (≥ T);
 * - `prefix`: base64 hashes of the complete subtrees of leaves [0, F), largest first, so that roots
 *   of sizes ≥ F can be recomputed from the export alone (empty when F = 0);
 * - `heads`: smallest first, in tree-head.ts's JSON form plus `key_id`: every kept head with
 *   F ≤ tree_size ≤ T, the latest head when it is past T, and every head past N. A sound log has
 *   none past N: one there means entries it signed were removed (issue 11, point 6), which the
 *   verifier reports instead of checking the entries left as if they were the whole log;
 * - `public_key`: the SubjectPublicKeyInfo PEM of the key that signs heads.
 *
 * Version 1 (before `log_size`) carried only the heads with F ≤ tree_size ≤ T: an export of a
 * truncated log verified clean. The verifier still reads it.
 */
export const EXPORT_FORMAT = 'datapact-audit-export-v2';
export const EXPORT_FORMAT_V1 = 'datapact-audit-export-v1';

export interface ExportedHead extends TreeHeadJson {
  readonly key_id: string;
}

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly from: number;
  readonly to: number;
  readonly log_size: number;
  readonly prefix: readonly string[];
  readonly heads: readonly ExportedHead[];
  readonly public_key: string;
}

export interface ExportOptions {
  /** First leaf index (inclusive). */
  readonly from: number;
  /** Last leaf index (exclusive). */
  readonly to: number;
  readonly publicKeyPem: string;
  /** Blinded entries are exported with their blinding (for auditors): it takes the blinding key. */
  readonly blinding?: AuditBlinding;
  readonly out: Writable;
  /** Entries read per query. Default 10,000. */
  readonly pageSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The log cannot be exported as it stands (an entry missing or unreadable): `audit verify` says more. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** Writes the export, streaming: the entries are never all in memory. Returns what it wrote. */
export async function writeExport(audit: AuditRepository, options: ExportOptions): Promise<{ entries: number; heads: number }> {
  const size = await audit.treeSize();
  const { from, to } = options;
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to && to <= size)) {
    throw new RangeError(`the range [${from}, ${to}) is not within the log's ${size} entries`);
  }
  // The prefix's lowest subtrees are folded from their (blinded) leaves: they are not stored.
  const header = await exportHeader(options.blinding === undefined ? audit : audit.withBlinding(options.blinding), from, to, options.publicKeyPem);
  await write(options.out, `${JSON.stringify(header)}\n`);
  const pageSize = options.pageSize ?? 10_000;
  for (let done = from; done < to; ) {
    const page = await audit.entriesAsJson(done, Math.min(pageSize, to - done));
    if (page.length === 0) throw new ExportError(`entry seq ${done + 1} is missing: run \`datapact audit verify\``);
    const chunk = new PageBuffer();
    for (const json of page) chunk.line(canonicalLine(json, ++done, options.blinding));
    await write(options.out, chunk.bytes());
    options.onProgress?.(done - from, to - from);
  }
  return { entries: to - from, heads: header.heads.length };
}

async function exportHeader(audit: AuditRepository, from: number, to: number, publicKeyPem: string): Promise<ExportHeader> {
  const refs = completeSubtrees(0, from);
  const prefix = await audit.run({ reads: refs, assemble: (nodes) => nodes.map((hash) => hash.toString('base64')) });
  // Heads before the size: a head signed while this runs is then within the size read after it,
  // never taken for a head past the end (heads are signed in increasing size, after their entries).
  const latest = await audit.latestHead();
  const inRange = await audit.heads(from, to);
  const logSize = await audit.treeSize();
  const later = latest === undefined || latest.size <= to ? []
    : latest.size <= logSize ? [latest]
    : await audit.heads(logSize + 1, latest.size);
  const heads = [...inRange, ...later].map((head) => ({ ...treeHeadToJson(head), key_id: head.keyId }));
  return { format: EXPORT_FORMAT, from, to, log_size: logSize, prefix, heads, public_key: publicKeyPem };
}

/** The canonical text of the entry with this seq (a gap or an unreadable row stops the export). */
function canonicalLine(json: string, seq: number, blinding: AuditBlinding | undefined): string {
  let entry: ReturnType<typeof entryFromColumnsJson>['entry'];
  try {
    entry = entryFromColumnsJson(json).entry;
  } catch (error) {
    throw new ExportError(`entry seq ${seq} cannot be read (${(error as Error).message}): run \`datapact audit verify\``);
  }
  if (entry.seq !== seq) throw new ExportError(`entry seq ${seq} is missing: run \`datapact audit verify\``);
  try {
    return canonicalTextAt(entry, seq - 1, blinding);
  } catch (error) {
    throw new ExportError(`entry seq ${seq} cannot be encoded canonically (${(error as Error).message}): run \`datapact audit verify\``);
  }
}

/**
 * A page of lines as UTF-8 in one buffer: building one string of 10,000 lines and writing that
 * spent 40% of the export in the garbage collector.
 */
class PageBuffer {
  private buffer = Buffer.allocUnsafe(1 << 22);
  private length = 0;

  line(text: string): void {
    const most = 3 * text.length + 1; // UTF-8 takes at most 3 bytes per UTF-16 code unit
    if (this.length + most > this.buffer.length) {
      const grown = Buffer.allocUnsafe(2 * (this.length + most));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'utf8');
    this.buffer[this.length++] = 0x0a;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Writes with backpressure, so a slow reader (a pipe) holds the export back instead of memory. */
async function write(out: Writable, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}
