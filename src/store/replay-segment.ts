/**
 * A replay segment (migration 0043): a run of one agreement's logged requests as the replay reads
 * them, packed in one value as columns of numbers. A simulation reads a segment where it read a
 * row per request and parsed a string per request (issue 15: 4 µs a request, and a character or
 * so per subject, most of a busy agreement's 90 days). Derived from the log's rows, never hashed
 * nor exported: it can always be dropped and sealed again (ReplaySealer).
 */

/** What a request's head shares with many others: all but its seq, instant, token, leaf count and passed over. */
export type HeadClass = readonly [
  appId: string, partnerId: string | null, agreementVersion: number | null, rulesVersion: string, purpose: string | null,
  outcome: 'served' | 'denied', code: string | null,
];

/** A request as a segment holds it: its head, and its subjects' packed codes and member numbers as logged. */
export interface SealedRequest {
  readonly seq: number;
  readonly leafCount: number;
  readonly at: number;
  readonly head: HeadClass;
  readonly tokenMemberId: string;
  /** The member a refusal named (a lookup's 404), or null. */
  readonly namedMemberId: string | null;
  /** -1: none logged. */
  readonly passedOver: number;
  /** Packed with the request at append (migration 0042): today's friendships read from what ended since. */
  readonly appended: boolean;
  readonly codes: readonly number[];
  readonly numbers: readonly number[];
}

/** A segment read back: per request (its index) and per subject (request i's at starts[i] .. starts[i + 1] - 1). */
export interface ReplaySegment {
  readonly length: number;
  readonly seqs: Float64Array;
  readonly ats: Float64Array;
  readonly leafCounts: Int32Array;
  readonly passedOver: Int32Array;
  /** Index into headClasses. */
  readonly heads: Int32Array;
  readonly appended: Uint8Array;
  readonly starts: Int32Array;
  readonly numbers: Int32Array;
  /** Index into codes. */
  readonly codeIndexes: Int32Array;
  readonly headClasses: readonly HeadClass[];
  readonly codes: readonly number[];
  readonly tokens: readonly string[];
  /** Per request, the member its refusal named (SealedRequest.namedMemberId). */
  readonly named: ReadonlyArray<string | null>;
}

const FORMAT = 1;

interface Header {
  readonly format: number;
  readonly length: number;
  readonly subjects: number;
  readonly headClasses: HeadClass[];
  readonly codes: number[];
  readonly tokens: string[];
  readonly named: Array<string | null>;
}

/** The columns in the order they follow the header, each 8-byte aligned: [name, per request or subject, element size]. */
const COLUMNS = [
  ['seqs', 'request', 8], ['ats', 'request', 8], ['leafCounts', 'request', 4], ['passedOver', 'request', 4], ['heads', 'request', 4],
  ['appended', 'request', 1], ['starts', 'starts', 4], ['numbers', 'subject', 4], ['codeIndexes', 'subject', 4],
] as const;

type ColumnName = (typeof COLUMNS)[number][0];

function aligned(offset: number): number {
  return (offset + 7) & ~7;
}

function columnLength(per: (typeof COLUMNS)[number][1], requests: number, subjects: number): number {
  return per === 'request' ? requests : per === 'starts' ? requests + 1 : subjects;
}

/** The body of a segment of `requests` (in seq order). */
export function encodeSegment(requests: readonly SealedRequest[]): Buffer {
  const headIndex = new Map<string, number>();
  const codeIndex = new Map<number, number>();
  const header: Header = { format: FORMAT, length: requests.length, subjects: 0, headClasses: [], codes: [], tokens: [], named: [] };
  let subjects = 0;
  for (const request of requests) subjects += request.codes.length;
  const columns = {
    seqs: new Float64Array(requests.length), ats: new Float64Array(requests.length), leafCounts: new Int32Array(requests.length),
    passedOver: new Int32Array(requests.length), heads: new Int32Array(requests.length), appended: new Uint8Array(requests.length),
    starts: new Int32Array(requests.length + 1), numbers: new Int32Array(subjects), codeIndexes: new Int32Array(subjects),
  } satisfies Record<ColumnName, ArrayBufferView>;
  let at = 0;
  requests.forEach((request, index) => {
    const key = JSON.stringify(request.head);
    let head = headIndex.get(key);
    if (head === undefined) { headIndex.set(key, head = header.headClasses.length); header.headClasses.push(request.head); }
    columns.seqs[index] = request.seq;
    columns.ats[index] = request.at;
    columns.leafCounts[index] = request.leafCount;
    columns.passedOver[index] = request.passedOver;
    columns.heads[index] = head;
    columns.appended[index] = request.appended ? 1 : 0;
    columns.starts[index] = at;
    header.tokens.push(request.tokenMemberId);
    header.named.push(request.namedMemberId);
    for (let subject = 0; subject < request.codes.length; subject++, at++) {
      const code = request.codes[subject]!;
      let coded = codeIndex.get(code);
      if (coded === undefined) { codeIndex.set(code, coded = header.codes.length); header.codes.push(code); }
      columns.codeIndexes[at] = coded;
      columns.numbers[at] = request.numbers[subject]!;
    }
  });
  columns.starts[requests.length] = at;
  const json = Buffer.from(JSON.stringify({ ...header, subjects }), 'utf8');
  let size = aligned(4 + json.length);
  for (const [name] of COLUMNS) size = aligned(size + columns[name].byteLength);
  const body = Buffer.alloc(size);
  body.writeUInt32LE(json.length, 0);
  json.copy(body, 4);
  let offset = aligned(4 + json.length);
  for (const [name] of COLUMNS) {
    const column = columns[name];
    Buffer.from(column.buffer, column.byteOffset, column.byteLength).copy(body, offset);
    offset = aligned(offset + column.byteLength);
  }
  return body;
}

/** A segment's body read back (copied once into memory of its own, so that its columns are aligned). */
export function decodeSegment(body: Uint8Array): ReplaySegment {
  const bytes = new Uint8Array(body.byteLength);
  bytes.set(body);
  const view = new DataView(bytes.buffer);
  const jsonLength = view.getUint32(0, true);
  const header = JSON.parse(Buffer.from(bytes.buffer, 4, jsonLength).toString('utf8')) as Header;
  if (header.format !== FORMAT) throw new Error(`Replay segment format ${header.format} is not ${FORMAT}.`);
  const columns: Partial<Record<ColumnName, ArrayBufferView>> = {};
  let offset = aligned(4 + jsonLength);
  for (const [name, per, size] of COLUMNS) {
    const length = columnLength(per, header.length, header.subjects);
    columns[name] = size === 8 ? new Float64Array(bytes.buffer, offset, length)
      : size === 4 ? new Int32Array(bytes.buffer, offset, length) : new Uint8Array(bytes.buffer, offset, length);
    offset = aligned(offset + length * size);
  }
  return {
    ...(columns as Omit<ReplaySegment, 'length' | 'headClasses' | 'codes' | 'tokens' | 'named'>),
    length: header.length, headClasses: header.headClasses, codes: header.codes, tokens: header.tokens, named: header.named,
  };
}
