import { createHash } from 'node:crypto';
import { CheckpointFormatError, parseCheckpointText, type Checkpoint } from '../checkpoint.js';
import { noteVerifierFromKey } from '../cosignature.js';
import type { Cosigner } from '../cosignature.js';
import { EMPTY_TREE_HASH, HASH_SIZE } from '../merkle-hash.js';
import { verifyConsistency } from '../merkle-verify.js';
import { NoteError, openNote, type NoteVerifier } from '../signed-note.js';

/**
 * The witness side of C2SP `tlog-witness`: `add-checkpoint` cosigns a log's checkpoint only when it
 * is consistent with the latest one this witness cosigned for that log (by an RFC 9162 consistency
 * proof from it), so a log that rewrites or truncates its history cannot get it cosigned. An
 * auditor runs it on their own machine, with their own key and state (`datapact witness`).
 */

/** A log this witness follows: its origin (the checkpoint's first line) and the log's verifier key. */
export interface TrustedLog {
  readonly origin: string;
  readonly vkey: string;
}

/** What the witness remembers of a log: the latest checkpoint it cosigned. */
export interface LogState {
  readonly size: number;
  /** Base64 of the root hash. */
  readonly root: string;
  /** The checkpoint as cosigned: the log's verified signature and this witness's cosignature. */
  readonly note: string;
}

/** Where the witness keeps its state; `update` must be atomic per call, and the witness serializes its calls. */
export interface WitnessStateStore {
  get(origin: string): LogState | undefined;
  put(origin: string, state: LogState): Promise<void>;
}

export type AddCheckpointResult =
  | { readonly status: 200; readonly cosignature: string }
  | { readonly status: 409; readonly size: number }
  | { readonly status: 400 | 403 | 404 | 422; readonly reason: string };

/** The spec's limit on consistency proof lines. */
export const MAX_PROOF_LINES = 63;

interface Submission {
  readonly oldSize: number;
  readonly proof: readonly Buffer[];
  readonly note: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Malformed extends Error {}

/** `old <size>\n`, proof lines, a blank line, then the checkpoint note. */
export function parseSubmission(body: Uint8Array): Submission {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new Malformed('the body is not UTF-8');
  }
  const lines: string[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\n', at);
    if (end < 0) throw new Malformed('the body needs an `old` line, proof lines and a blank line before the checkpoint');
    const line = text.slice(at, end);
    at = end + 1;
    if (line === '') break;
    lines.push(line);
    if (lines.length > MAX_PROOF_LINES + 1) throw new Malformed(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  }
  const [oldLine = '', ...proofLines] = lines;
  const oldSize = oldLine.startsWith('old ') ? oldLine.slice(4) : '';
  if (!DECIMAL.test(oldSize) || !Number.isSafeInteger(Number(oldSize))) throw new Malformed('the first line must be `old <size>`');
  const proof = proofLines.map((line) => {
    const hash = Buffer.from(line, 'base64');
    if (!BASE64.test(line) || hash.length !== HASH_SIZE) throw new Malformed('each proof line is the base64 of a 32-byte hash');
    return hash;
  });
  return { oldSize: Number(oldSize), proof, note: text.slice(at) };
}

/** The SHA-256 of an origin in lowercase hex: the monitoring path `/<origin hash>/checkpoint`. */
export function originHash(origin: string): string {
  return createHash('sha256').update(origin, 'utf8').digest('hex');
}

export interface WitnessOptions {
  readonly cosigner: Cosigner;
  readonly logs: readonly TrustedLog[];
  readonly state: WitnessStateStore;
  /** Epoch milliseconds; cosignatures carry it in seconds. */
  readonly clock?: () => number;
}

export class Witness {
  private readonly verifiers = new Map<string, NoteVerifier>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WitnessOptions) {
    for (const log of options.logs) this.verifiers.set(log.origin, noteVerifierFromKey(log.vkey));
  }

  get cosigner(): Cosigner {
    return this.options.cosigner;
  }

  /** The latest cosigned checkpoint of a log, by the SHA-256 of its origin (tlog-witness monitoring). */
  latestByOriginHash(hash: string): string | undefined {
    for (const origin of this.verifiers.keys()) if (originHash(origin) === hash) return this.options.state.get(origin)?.note;
    return undefined;
  }

  /** `POST /add-checkpoint` with its body: the status, and the cosignature or the reason. */
  async addCheckpoint(body: Uint8Array): Promise<AddCheckpointResult> {
    let submission: Submission;
    try {
      submission = parseSubmission(body);
    } catch (error) {
      if (error instanceof Malformed) return { status: 400, reason: error.message };
      throw error;
    }
    const origin = submission.note.slice(0, Math.max(0, submission.note.indexOf('\n')));
    const verifier = this.verifiers.get(origin);
    if (verifier === undefined) return { status: 404, reason: `unknown log ${JSON.stringify(origin)}` };
    let checkpoint: Checkpoint;
    let logSignatures: string;
    try {
      const opened = openNote(submission.note, [verifier]);
      checkpoint = parseCheckpointText(opened.text);
      logSignatures = opened.verified.map((signature) => signature.line).join('');
    } catch (error) {
      if (error instanceof NoteError) return error.kind === 'malformed' ? { status: 400, reason: error.message } : { status: 403, reason: error.message };
      if (error instanceof CheckpointFormatError) return { status: 400, reason: error.message };
      throw error;
    }
    if (submission.oldSize > checkpoint.size) return { status: 400, reason: `old size ${submission.oldSize} is beyond the checkpoint's size ${checkpoint.size}` };
    if (checkpoint.size === 0 && !checkpoint.root.equals(EMPTY_TREE_HASH)) return { status: 422, reason: 'a checkpoint of size 0 must have the empty tree\'s root' };
    // Check against the stored state and store the new one as one step: a request seen between the
    // two would otherwise let a smaller checkpoint overwrite a larger one (the spec's race).
    return this.serialized(() => this.cosignIfConsistent(origin, checkpoint, logSignatures, submission));
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async cosignIfConsistent(origin: string, checkpoint: Checkpoint, logSignatures: string, submission: Submission): Promise<AddCheckpointResult> {
    const latest = this.options.state.get(origin);
    const latestSize = latest?.size ?? 0;
    if (submission.oldSize !== latestSize) return { status: 409, size: latestSize };
    if (checkpoint.size < latestSize) return { status: 400, reason: `the checkpoint's size ${checkpoint.size} is below the cosigned ${latestSize}` };
    const consistent = latestSize === 0
      ? submission.proof.length === 0
      : verifyConsistency(latestSize, checkpoint.size, Buffer.from(latest!.root, 'base64'), checkpoint.root, submission.proof);
    if (!consistent) {
      return {
        status: 422,
        reason: latestSize === checkpoint.size
          ? `the root differs from the one cosigned at size ${latestSize}`
          : `no valid consistency proof from the cosigned size ${latestSize} to ${checkpoint.size}`,
      };
    }
    const clock = this.options.clock ?? Date.now;
    const cosignature = this.options.cosigner.cosign(checkpoint.text, Math.floor(clock() / 1000));
    await this.options.state.put(origin, { size: checkpoint.size, root: checkpoint.root.toString('base64'), note: `${checkpoint.text}\n${logSignatures}${cosignature}` });
    return { status: 200, cosignature };
  }
}
