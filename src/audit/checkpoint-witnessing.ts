import { checkpointBody } from './checkpoint.js';
import { noteVerifierFromKey, cosignatureTime, COSIGNATURE_V1_TYPE } from './cosignature.js';
import { NoteError, openNote, parseVerifierKey, type NoteVerifier } from './signed-note.js';

/**
 * The log's side of C2SP `tlog-witness`: each new checkpoint is sent to every configured witness
 * with a consistency proof from the last size that witness cosigned; the cosignatures that come
 * back are checked and kept, and published with the checkpoint. A head with fewer cosignatures
 * than the quorum is flagged (`underQuorum`). The submitter reads the log and keeps cosignatures
 * through the interfaces below, not through the storage layout.
 */

/** A witness the log asks: where (`<url>/add-checkpoint`), and its verifier key (cosignature/v1). */
export interface WitnessEndpoint {
  readonly url: string;
  readonly vkey: string;
}

/** `DATAPACT_WITNESSES`: entries `<url> <vkey>`, separated by commas or line feeds. */
export function parseWitnessList(value: string | undefined): WitnessEndpoint[] {
  if (value === undefined || value.trim() === '') return [];
  const witnesses = value.split(/[,\n]/).map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    const [url = '', vkey = '', ...rest] = entry.split(/\s+/);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`DATAPACT_WITNESSES: '${url}' is not a URL (each entry is '<witness URL> <witness verifier key>')`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || rest.length > 0) throw new Error(`DATAPACT_WITNESSES: '${entry}' is not '<http(s) URL> <verifier key>'`);
    try {
      if (parseVerifierKey(vkey).type !== COSIGNATURE_V1_TYPE) throw new Error('not a cosignature/v1 (type 0x04) key');
      noteVerifierFromKey(vkey);
    } catch (error) {
      throw new Error(`DATAPACT_WITNESSES: '${vkey}' is not a witness's verifier key: ${(error as Error).message}`);
    }
    return { url: url.replace(/\/+$/, ''), vkey };
  });
  const keys = new Set(witnesses.map((w) => w.vkey));
  if (keys.size !== witnesses.length) throw new Error('DATAPACT_WITNESSES names a witness key twice');
  return witnesses;
}

/** `DATAPACT_WITNESS_QUORUM`: how many cosignatures a head needs; default all the configured witnesses. */
export function parseWitnessQuorum(value: string | undefined, witnessCount: number): number {
  if (value === undefined || value === '') return witnessCount;
  const quorum = Number(value);
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnessCount) {
    throw new Error(`DATAPACT_WITNESS_QUORUM must be a whole number from 0 to the number of witnesses (${witnessCount}), got '${value}'.`);
  }
  return quorum;
}

/** A checkpoint the log signed: its size and root, and the note with the log's signature. */
export interface SignedCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  readonly note: string;
}

/** What the submitter needs of the log. */
export interface CheckpointLog {
  latest(): Promise<SignedCheckpoint | undefined>;
  /** RFC 9162 consistency proof from `from` to `to` leaves. */
  consistencyProof(from: number, to: number): Promise<Buffer[]>;
}

export interface Cosignature {
  readonly treeSize: number;
  readonly witness: string;
  readonly rootHash: Buffer;
  readonly signatureLine: string;
  readonly cosignedAt: number;
}

/** Where cosignatures are kept. */
export interface CosignatureStore {
  add(cosignature: Cosignature): Promise<void>;
  forSizes(sizes: readonly number[]): Promise<Map<number, Cosignature[]>>;
  latestSizeBy(witness: string): Promise<number | undefined>;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** POSTs a text body; injected so that tests can route to an in-process witness. */
export type PostText = (url: string, body: string) => Promise<HttpAnswer>;

export const fetchPost: PostText = async (url, body) => {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' }, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
};

/** What one step did with one witness. */
export type WitnessOutcome =
  | { readonly witness: string; readonly outcome: 'cosigned' | 'already_cosigned'; readonly size: number }
  | { readonly witness: string; readonly outcome: 'failed'; readonly size: number; readonly reason: string; readonly retryAt: number }
  | { readonly witness: string; readonly outcome: 'backing_off'; readonly size: number; readonly retryAt: number };

export interface SubmitterOptions {
  readonly log: CheckpointLog;
  readonly cosignatures: CosignatureStore;
  readonly witnesses: readonly WitnessEndpoint[];
  readonly post?: PostText;
  /** Epoch milliseconds (backoff). */
  readonly clock?: () => number;
  /** First wait after a failure; doubled after each further one, up to `maxBackoffMs`. Default 5 s, 10 min. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface WitnessTracking {
  readonly endpoint: WitnessEndpoint;
  readonly verifier: NoteVerifier;
  /** The witness's cosigned size as last learned (a cosignature, or its 409). */
  knownSize: number | undefined;
  failures: number;
  retryAt: number;
}

/** Tries on one witness per step: the first send, and a resend with the size a 409 named. */
const ATTEMPTS_PER_STEP = 2;

export class CheckpointSubmitter {
  private readonly tracking: WitnessTracking[];
  private running: Promise<WitnessOutcome[]> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SubmitterOptions) {
    this.tracking = options.witnesses.map((endpoint) => ({
      endpoint, verifier: noteVerifierFromKey(endpoint.vkey), knownSize: undefined, failures: 0, retryAt: 0,
    }));
  }

  /** Sends the latest checkpoint to every witness that has not cosigned it; one step at a time. */
  step(): Promise<WitnessOutcome[]> {
    this.running ??= this.stepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** For a server: a step every `intervalMs`, failures to `onError`. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    if (this.timer !== undefined || this.tracking.length === 0) return;
    this.timer = setInterval(() => {
      this.step().then((outcomes) => {
        for (const outcome of outcomes) if (outcome.outcome === 'failed') onError(new Error(`witness ${outcome.witness}: ${outcome.reason}`));
      }, onError);
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async stepOnce(): Promise<WitnessOutcome[]> {
    const checkpoint = await this.options.log.latest();
    if (checkpoint === undefined) return [];
    const have = (await this.options.cosignatures.forSizes([checkpoint.size])).get(checkpoint.size) ?? [];
    const outcomes: WitnessOutcome[] = [];
    for (const witness of this.tracking) {
      const name = witness.endpoint.vkey;
      if (have.some((c) => c.witness === name)) {
        outcomes.push({ witness: name, outcome: 'already_cosigned', size: checkpoint.size });
        continue;
      }
      const now = this.now();
      if (now < witness.retryAt) {
        outcomes.push({ witness: name, outcome: 'backing_off', size: checkpoint.size, retryAt: witness.retryAt });
        continue;
      }
      outcomes.push(await this.submit(witness, checkpoint));
    }
    return outcomes;
  }

  private async submit(witness: WitnessTracking, checkpoint: SignedCheckpoint): Promise<WitnessOutcome> {
    const name = witness.endpoint.vkey;
    let reason = '';
    try {
      witness.knownSize ??= (await this.options.cosignatures.latestSizeBy(name)) ?? 0;
      for (let attempt = 0; attempt < ATTEMPTS_PER_STEP; attempt++) {
        const old = witness.knownSize;
        if (old > checkpoint.size) {
          reason = `the witness has cosigned size ${old}, beyond the log's latest checkpoint (${checkpoint.size})`;
          break;
        }
        const proof = await this.options.log.consistencyProof(old, checkpoint.size);
        const body = `old ${old}\n${proof.map((hash) => `${hash.toString('base64')}\n`).join('')}\n${checkpoint.note}`;
        const answer = await (this.options.post ?? fetchPost)(`${witness.endpoint.url}/add-checkpoint`, body);
        if (answer.status === 200) {
          await this.keep(witness, checkpoint, answer.body);
          witness.knownSize = checkpoint.size;
          witness.failures = 0;
          witness.retryAt = 0;
          return { witness: name, outcome: 'cosigned', size: checkpoint.size };
        }
        if (answer.status === 409 && /^(?:0|[1-9][0-9]*)\n$/.test(answer.body)) {
          witness.knownSize = Number(answer.body.trim());
          reason = `409: the witness had cosigned size ${witness.knownSize}`;
          continue;
        }
        reason = `${answer.status}: ${answer.body.trim().slice(0, 200) || 'no reason given'}`;
        break;
      }
    } catch (error) {
      reason = (error as Error).message;
      if (error instanceof NoteError) witness.knownSize = undefined;
    }
    witness.failures += 1;
    const backoff = Math.min((this.options.backoffMs ?? 5000) * 2 ** (witness.failures - 1), this.options.maxBackoffMs ?? 600_000);
    witness.retryAt = this.now() + backoff;
    return { witness: name, outcome: 'failed', size: checkpoint.size, reason, retryAt: witness.retryAt };
  }

  /** Keeps the witness's cosignature after checking it over this checkpoint: the answer alone is not trusted. */
  private async keep(witness: WitnessTracking, checkpoint: SignedCheckpoint, answer: string): Promise<void> {
    const body = checkpoint.note.slice(0, checkpoint.note.indexOf('\n\n') + 1);
    const opened = openNote(`${body}\n${answer}`, [witness.verifier]);
    const line = opened.verified[0]!;
    await this.options.cosignatures.add({
      treeSize: checkpoint.size, witness: witness.endpoint.vkey, rootHash: checkpoint.root,
      signatureLine: line.line, cosignedAt: cosignatureTime(line.signature) ?? 0,
    });
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}

/** Cosignatures that verify over the checkpoint body with these witness keys, one per witness. */
export function validCosignatures(body: string, lines: readonly string[], witnessKeys: readonly string[]): string[] {
  const valid: string[] = [];
  for (const vkey of witnessKeys) {
    const verifier = noteVerifierFromKey(vkey);
    for (const line of lines) {
      try {
        if (openNote(`${body}\n${line}`, [verifier]).verified.length > 0) {
          valid.push(vkey);
          break;
        }
      } catch {
        // Another witness's line, or one that does not verify: not this witness's cosignature.
      }
    }
  }
  return valid;
}

/** A head as the cosignature check needs it. */
export interface HeadToWitness {
  readonly size: number;
  readonly root: Buffer;
}

export interface WitnessCheck {
  readonly latestSize: number | undefined;
  /** The witness keys whose valid cosignature the latest checkpoint carries. */
  readonly latestCosigners: readonly string[];
  readonly quorum: number;
  /** Heads (smallest first) with fewer valid cosignatures than the quorum. */
  readonly lacking: readonly number[];
}

/**
 * Counts each head's cosignatures that verify, with these witness keys, over that head's checkpoint
 * (origin, size, root): what `audit verify --witness-key` requires of the latest head.
 */
export async function checkCosignatures(
  origin: string, heads: readonly HeadToWitness[], cosignatures: Pick<CosignatureStore, 'forSizes'>, witnessKeys: readonly string[], quorum: number,
): Promise<WitnessCheck> {
  const lacking: number[] = [];
  let latestCosigners: string[] = [];
  for (let i = 0; i < heads.length; i += 500) {
    const batch = heads.slice(i, i + 500);
    const stored = await cosignatures.forSizes(batch.map((head) => head.size));
    for (const head of batch) {
      const lines = (stored.get(head.size) ?? []).map((c) => c.signatureLine);
      const valid = validCosignatures(checkpointBody(origin, head.size, head.root), lines, witnessKeys);
      if (valid.length < quorum) lacking.push(head.size);
      latestCosigners = valid;
    }
  }
  return { latestSize: heads.at(-1)?.size, latestCosigners, quorum, lacking };
}
