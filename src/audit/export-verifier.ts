import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeBlindedLeaf, isBlindedText } from './canonical-entry-v2.js';
import { decodeEntry } from './canonical-entry.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_V1 } from './log-export.js';
import {
  CompactRange,
  HeadChecker,
  MerkleHasher,
  collectResult,
  fail,
  popcount,
  seqRange,
  type KeyedTreeHead,
  type VerifyKey,
  type VerifyProgress,
  type VerifyResult,
} from './log-verifier.js';
import { HASH_SIZE } from './merkle-hash.js';
import { treeHeadFromJson } from './tree-head.js';

/**
 * `datapact audit verify --file`: an export (log-export.ts) checked with nothing but the file and
 * the public key the auditor trusts; no database, no data directory. Each line must be a canonical
 * entry; leaves are recomputed from the line's bytes; at each head's tree size the root recomputed
 * from the header's prefix and the lines must be the signed one. Heads past the export's last
 * entry have their signatures checked, and one past the log's size at export (`log_size`) means
 * the log was truncated after signing it: that fails too. The first problem is named by line,
 * leaf index and seq.
 */
export interface ExportVerifyOptions {
  /** The key the auditor trusts: the header's public_key must be this key. */
  readonly key: VerifyKey;
  readonly onProgress?: VerifyProgress;
}

interface ParsedHeader {
  readonly from: number;
  readonly to: number;
  /** The log's size at export; none in a version 1 export. */
  readonly logSize: number | undefined;
  readonly prefix: readonly Buffer[];
  /** Heads with from ≤ tree_size ≤ to: checked against the entries. */
  readonly heads: readonly KeyedTreeHead[];
  /** Heads past `to`: their signatures only. */
  readonly later: readonly KeyedTreeHead[];
}

export function verifyExport(input: AsyncIterable<Buffer | string>, options: ExportVerifyOptions): Promise<VerifyResult> {
  let run: ExportRun | undefined;
  const body = async (): Promise<void> => {
    let lineNumber = 0;
    for await (const lines of readLines(input)) {
      for (const line of lines) {
        lineNumber++;
        if (run === undefined) run = new ExportRun(parseExportHeader(line, options.key.publicKey), options);
        else run.entry(line, lineNumber);
      }
    }
    if (run === undefined) fail({ kind: 'bad-export', line: 1, message: 'the export is empty: line 1 should be its header' });
    run.finish();
  };
  return collectResult(performance.now(), body, () => run?.stats() ?? { from: 0, entries: 0, heads: 0, lastGoodHead: undefined });
}

class ExportRun {
  private readonly hasher = new MerkleHasher();
  private readonly range: CompactRange;
  private readonly heads: HeadChecker;
  private next = 0;
  private laterChecked = false;

  constructor(
    private readonly header: ParsedHeader,
    private readonly options: ExportVerifyOptions,
  ) {
    const { from } = header;
    this.range = new CompactRange(this.hasher, from, header.prefix);
    this.heads = new HeadChecker(options.key, from, {
      source: 'the export',
      range: (start, end) => `lines ${start - from + 2}..${end - from + 1} (leaf indices ${start}..${end - 1}, ${seqRange(start, end)})`,
      ...(from > 0 ? { prefix: "the header's prefix" } : {}),
    });
    this.checkHeads();
  }

  stats() {
    const { from } = this.header;
    return {
      from, entries: this.range.size - from, heads: this.heads.count, lastGoodHead: this.heads.lastGood?.size,
      ...(this.laterChecked ? { signedBeyond: this.header.later.at(-1)?.size } : {}),
    };
  }

  /** One entry line: canonical, then hashed as it is (its bytes are what was signed). */
  entry(line: Buffer, lineNumber: number): void {
    const leafIndex = this.range.size;
    const { to } = this.header;
    if (leafIndex >= to) {
      fail({ kind: 'bad-export', line: lineNumber, message: `line ${lineNumber}: the header says the export ends with seq ${to}, but the file goes on` });
    }
    try {
      if (isBlindedText(line)) decodeBlindedLeaf(line);
      else decodeEntry(line);
    } catch (error) {
      // A file that went through a Windows editor or transfer is the likely cause: say so.
      const crlf = line.at(-1) === 0x0d ? ' (the line ends with a carriage return: were its line ends converted to CRLF?)' : '';
      fail({
        kind: 'not-canonical', line: lineNumber, leafIndex, seq: leafIndex + 1,
        message: `line ${lineNumber} (leaf index ${leafIndex}, seq ${leafIndex + 1}) is not a canonical entry: ${(error as Error).message}${crlf}`,
      });
    }
    this.range.append(this.hasher.leaf(line));
    this.checkHeads();
    if ((this.range.size - this.header.from) % 16_384 === 0) this.progress();
  }

  private progress(): void {
    const { from, to } = this.header;
    this.options.onProgress?.(this.range.size - from, to - from);
  }

  /** After the last line: every head reached, every entry the header promised present, something signed. */
  finish(): void {
    const { from, to, heads } = this.header;
    const size = this.range.size;
    const head = heads[this.next];
    const ends = `the export ends at seq ${size} (line ${size - from + 1})`;
    const missing = `entries from seq ${size + 1} are missing`;
    if (head !== undefined) {
      fail({ kind: 'truncated', treeSize: head.size, seq: size + 1, leafRange: [size, head.size], message: `${ends} but a head signed ${head.size}: ${missing}` });
    }
    if (size < to) {
      fail({ kind: 'truncated', seq: size + 1, leafRange: [size, to], message: `${ends} but its header says it holds seq ${from + 1}..${to}: ${missing}` });
    }
    this.checkLaterHeads();
    if (this.heads.count === 0) {
      const none = `none with ${from} ≤ tree_size ≤ ${to}`;
      fail({ kind: 'bad-export', message: `the export holds no signed head (${none}): nothing in it can be checked against the public key` });
    }
    this.progress();
  }

  /** Signed, and within the log as it was exported: a head past its size is history removed after it was signed. */
  private checkLaterHeads(): void {
    const { later, logSize } = this.header;
    for (const head of later) this.heads.checkSignature(head);
    this.laterChecked = true;
    const past = later.find((head) => logSize !== undefined && head.size > logSize);
    if (past !== undefined && logSize !== undefined) {
      fail({
        kind: 'truncated', treeSize: past.size, seq: logSize + 1, leafRange: [logSize, past.size],
        message: `the log held ${logSize} entries when it was exported (log_size), but a head signed tree_size ${past.size}: `
          + `entries from seq ${logSize + 1} were removed after they were signed (the log was truncated)`,
      });
    }
  }

  private checkHeads(): void {
    const { heads } = this.header;
    while (heads[this.next]?.size === this.range.size) this.heads.check(heads[this.next++]!, this.range);
  }
}

// ---------------------------------------------------------------------------------------------
// The header

function headerProblem(message: string): never {
  fail({ kind: 'bad-export', line: 1, message: `line 1 (the header): ${message}` });
}

const HEADER_KEYS = ['format', 'from', 'to', 'log_size', 'prefix', 'heads', 'public_key'];
const HEADER_KEYS_V1 = HEADER_KEYS.filter((key) => key !== 'log_size');

/** Line 1, strictly: exactly the format's fields, with a public key that is the trusted one. */
export function parseExportHeader(line: Buffer, trusted: KeyObject): ParsedHeader {
  let json: unknown;
  try {
    json = JSON.parse(line.toString('utf8'));
  } catch {
    headerProblem(`not JSON; is this a ${EXPORT_FORMAT} file?`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) headerProblem('not a JSON object');
  const header = json as Record<string, unknown>;
  const v1 = header.format === EXPORT_FORMAT_V1;
  if (header.format !== EXPORT_FORMAT && !v1) headerProblem(`format is ${JSON.stringify(header.format)}, expected "${EXPORT_FORMAT}"`);
  const extra = Object.keys(header).filter((key) => !(v1 ? HEADER_KEYS_V1 : HEADER_KEYS).includes(key));
  if (extra.length > 0) headerProblem(`unknown field(s) ${extra.join(', ')}`);
  const { from, to, log_size: logSize } = header;
  if (!isCount(from) || !isCount(to) || from > to) headerProblem('from and to must be leaf indices with from ≤ to');
  if (!v1 && (!isCount(logSize) || logSize < to)) headerProblem('log_size must be the log\'s size at export, at least to');
  checkPublicKey(header.public_key, trusted);
  // A version 1 export carried no head past `to`: one there is out of place, as it was then.
  const heads = parseHeads(header.heads, from, v1 ? to : Number.MAX_SAFE_INTEGER);
  return {
    from, to, logSize: v1 ? undefined : logSize as number, prefix: parsePrefix(header.prefix, from),
    heads: heads.filter((head) => head.size <= to), later: heads.filter((head) => head.size > to),
  };
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function checkPublicKey(pem: unknown, trusted: KeyObject): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem as string, format: 'pem' });
  } catch {
    headerProblem('public_key is not a PEM public key');
  }
  if (!key.export({ format: 'der', type: 'spki' }).equals(trusted.export({ format: 'der', type: 'spki' }))) {
    fail({ kind: 'wrong-key', line: 1, message: "line 1 (the header): its public_key is not the given public key: the export was made for another key, or the key is not the server's" });
  }
}

function parsePrefix(prefix: unknown, from: number): Buffer[] {
  const expected = popcount(from);
  if (!Array.isArray(prefix) || prefix.length !== expected) {
    headerProblem(`prefix must list ${expected} hash(es) for from = ${from} (the complete subtrees of leaves 0..${from - 1})`);
  }
  return prefix.map((hash: unknown, i) => {
    const bytes = typeof hash === 'string' ? Buffer.from(hash, 'base64') : Buffer.alloc(0);
    if (bytes.length !== HASH_SIZE || bytes.toString('base64') !== hash) headerProblem(`prefix[${i}] is not the base64 of ${HASH_SIZE} bytes`);
    return bytes;
  });
}

function parseHeads(heads: unknown, from: number, to: number): KeyedTreeHead[] {
  if (!Array.isArray(heads)) headerProblem('heads must be an array');
  let previous = -1;
  return heads.map((json: unknown, i) => {
    if (typeof json !== 'object' || json === null || typeof (json as { key_id?: unknown }).key_id !== 'string') {
      headerProblem(`heads[${i}] must be a tree head with a key_id`);
    }
    const { key_id: keyId, ...fields } = json as { key_id: string };
    let head: KeyedTreeHead;
    try {
      head = { ...treeHeadFromJson(fields), keyId };
    } catch (error) {
      headerProblem(`heads[${i}]: ${(error as Error).message}`);
    }
    if (head.size < from || head.size > to || head.size <= previous) {
      const range = to === Number.MAX_SAFE_INTEGER ? `at least ${from}` : `from ${from} to ${to}`;
      headerProblem(`heads[${i}] has tree_size ${head.size}: heads must be in increasing order, ${range}`);
    }
    previous = head.size;
    return head;
  });
}

// ---------------------------------------------------------------------------------------------
// Lines

/**
 * The input split at line feeds into exact byte strings (no decoding: the bytes are what is
 * hashed), a chunk's worth at a time. A last line without a line feed still counts.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer[]> {
  let pending: Buffer[] = [];
  for await (const data of input) {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end);
      // Pieces of a long line (the header) are joined once, when its end arrives.
      lines.push(pending.length === 0 ? piece : Buffer.concat([...pending, piece]));
      pending = [];
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
    if (lines.length > 0) yield lines;
  }
  if (pending.length > 0) yield [Buffer.concat(pending)];
}
