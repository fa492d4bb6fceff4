import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import type { AuditEntry, PassedOver } from './audit-entry.js';
import { BLIND_SIZE, tokenMemberCommitment } from './blinding.js';
import { CanonicalEncodingError, canonicalJson, canonicalNumber, instantToIso } from './canonical-entry.js';

/**
 * The canonical byte form of a blinded audit entry (issue 11): what its leaf hash,
 * SHA-256(0x00 || bytes) as in RFC 9162, covers. Compact JSON, UTF-8, the keys of LEAF_KEYS always
 * present in that order, `at` as ISO-8601 UTC with milliseconds, absent values as `null`, object
 * keys sorted at every depth (as canonical-entry.ts), and two differences from the legacy form:
 *
 * - `blind`: the entry's blinding (blinding.ts), 16 bytes base64url: without it nobody can test a
 *   guess of the entry's content against its leaf hash;
 * - `tokenMember`: a commitment to the id of the member whose token was used, not the id, so a
 *   member shown an entry released through a friend learns nothing of which friend.
 *
 * The first key, `v`, is 2: an export mixes legacy and blinded lines, and each says which it is.
 */
export const LEAF_KEYS = [
  'v', 'at', 'requestId', 'appId', 'partnerId', 'agreementId', 'agreementVersion', 'rulesVersion', 'tokenMember',
  'subjectMemberId', 'purpose', 'outcome', 'code', 'released', 'withheld', 'passedOver', 'actor', 'action', 'detail', 'blind',
] as const;

/** A blinded entry as its canonical form carries it. */
export interface BlindedLeaf {
  readonly at: number;
  readonly requestId: string;
  readonly appId: string | null;
  readonly partnerId: string | null;
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  readonly rulesVersion: string;
  readonly tokenMember: string | null;
  readonly subjectMemberId: string | null;
  readonly purpose: string | null;
  readonly outcome: AuditEntry['outcome'];
  readonly code: string | null;
  readonly released: readonly string[];
  readonly withheld: Readonly<Record<string, string>>;
  readonly passedOver: PassedOver | null;
  readonly actor: string | null;
  readonly action: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
  readonly blind: string;
}

const OUTCOMES: readonly string[] = ['released', 'withheld', 'denied', 'staff_action', 'served'];
const BLIND = /^[A-Za-z0-9_-]{22}$/;

/** The blinded form of `entry` with blinding `blind` (its leaf index's, AuditBlinding.blind). */
export function blindedLeaf(entry: AuditEntry, blind: string): BlindedLeaf {
  return {
    at: entry.at,
    requestId: entry.requestId,
    appId: entry.appId,
    partnerId: entry.partnerId,
    agreementId: entry.agreementId,
    agreementVersion: entry.agreementVersion,
    rulesVersion: entry.rulesVersion,
    tokenMember: entry.tokenMemberId === null ? null : tokenMemberCommitment(blind, entry.tokenMemberId),
    subjectMemberId: entry.subjectMemberId,
    purpose: entry.purpose,
    outcome: entry.outcome,
    code: entry.code,
    released: entry.released,
    withheld: entry.withheld as Record<string, string>,
    passedOver: entry.passedOver ?? null,
    actor: entry.actor ?? null,
    action: entry.action ?? null,
    detail: entry.detail ?? null,
    blind,
  };
}

/** The canonical text of `entry` blinded with `blind`. Throws CanonicalEncodingError on a value JSON cannot carry exactly. */
export function encodeBlindedEntryText(entry: AuditEntry, blind: string): string {
  return encodeLeafText(blindedLeaf(entry, blind));
}

export function encodeLeafText(leaf: BlindedLeaf): string {
  if (!BLIND.test(leaf.blind)) throw new CanonicalEncodingError(`blind: expected ${BLIND_SIZE} bytes, base64url`);
  return requestText(leaf)
    + `,"tokenMember":${strOrNull(leaf.tokenMember, 'tokenMember')}`
    + `,"subjectMemberId":${strOrNull(leaf.subjectMemberId, 'subjectMemberId')}`
    + `,"purpose":${strOrNull(leaf.purpose, 'purpose')}`
    + `,"outcome":${str(leaf.outcome, 'outcome')}`
    + `,"code":${strOrNull(leaf.code, 'code')}`
    + `,"released":${releasedText(leaf.released)}`
    + `,"withheld":${canonicalJson(leaf.withheld, 'withheld')}`
    + `,"passedOver":${passedOverText(leaf.passedOver)}`
    + `,"actor":${strOrNull(leaf.actor, 'actor')}`
    + `,"action":${strOrNull(leaf.action, 'action')}`
    + `,"detail":${leaf.detail === null ? 'null' : canonicalJson(leaf.detail, 'detail')}`
    + `,"blind":"${leaf.blind}"}`;
}

/**
 * The text from `{"v":2` to `rulesVersion`: what every entry of one request shares. The appender
 * encodes a request's entries one after another, so the last one's text is kept and reused while
 * those values stay the same (the same values always give the same text).
 */
function requestText(leaf: RequestKeys): string {
  const last = lastRequest;
  if (
    last !== undefined && last.at === leaf.at && last.requestId === leaf.requestId && last.appId === leaf.appId
    && last.partnerId === leaf.partnerId && last.agreementId === leaf.agreementId && last.agreementVersion === leaf.agreementVersion
    && last.rulesVersion === leaf.rulesVersion
  ) return last.text;
  const text = '{"v":2'
    + `,"at":${JSON.stringify(instantToIso(leaf.at))}`
    + `,"requestId":${str(leaf.requestId, 'requestId')}`
    + `,"appId":${strOrNull(leaf.appId, 'appId')}`
    + `,"partnerId":${strOrNull(leaf.partnerId, 'partnerId')}`
    + `,"agreementId":${strOrNull(leaf.agreementId, 'agreementId')}`
    + `,"agreementVersion":${leaf.agreementVersion === null ? 'null' : canonicalNumber(leaf.agreementVersion, 'agreementVersion')}`
    + `,"rulesVersion":${str(leaf.rulesVersion, 'rulesVersion')}`;
  lastRequest = {
    at: leaf.at, requestId: leaf.requestId, appId: leaf.appId, partnerId: leaf.partnerId, agreementId: leaf.agreementId,
    agreementVersion: leaf.agreementVersion, rulesVersion: leaf.rulesVersion, text,
  };
  return text;
}

type RequestKeys = Pick<BlindedLeaf, 'at' | 'requestId' | 'appId' | 'partnerId' | 'agreementId' | 'agreementVersion' | 'rulesVersion'>;
let lastRequest: (RequestKeys & { readonly text: string }) | undefined;

/**
 * What the entries of one request share (the store's audit_requests row), as LeafWriter writes it: its
 * bytes between the entries' own values, each with the keys around it.
 */
export interface RequestBytes {
  /** 0x00 (the leaf hash's prefix), then `{"v":2` to the value of `rulesVersion` and `,"tokenMember":`. */
  readonly head: Buffer;
  /** `,"purpose":` and its value, then `,"outcome":`. */
  readonly purpose: Buffer;
  readonly tokenMemberId: string | null;
}

/** A request's shared part of its entries' canonical bytes, made once for all of them. */
export function requestBytes(request: RequestKeys & Pick<AuditEntry, 'purpose' | 'tokenMemberId'>): RequestBytes {
  return {
    head: Buffer.from(`\0${requestText(request)},"tokenMember":`, 'utf8'),
    purpose: Buffer.from(`,"purpose":${strOrNull(request.purpose, 'purpose')},"outcome":`, 'utf8'),
    tokenMemberId: request.tokenMemberId,
  };
}

/** `,"released":` and the value for this list, as bytes (a log's entries share a few lists). */
export function releasedBytes(released: readonly unknown[]): Buffer {
  return Buffer.from(`,"released":${releasedText(released)}`, 'utf8');
}

/** `,"withheld":` and the value for this map, as bytes. */
export function withheldBytes(withheld: unknown): Buffer {
  return Buffer.from(`,"withheld":${canonicalJson(withheld, 'withheld')}`, 'utf8');
}

/** What differs between the entries of a request, their lists already in bytes (releasedBytes, withheldBytes). */
export interface LeafParts {
  readonly subjectMemberId: string | null;
  readonly outcome: string;
  readonly code: string | null;
  readonly released: Buffer;
  readonly withheld: Buffer;
  readonly passedOver: PassedOver | null;
  readonly actor: string | null;
  readonly action: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

const ascii = (text: string) => Buffer.from(text, 'latin1');
const KEY = {
  subjectMemberId: ascii(',"subjectMemberId":'), code: ascii(',"code":'), passedOver: ascii(',"passedOver":'), actor: ascii(',"actor":'),
  action: ascii(',"action":'), detail: ascii(',"detail":'), blind: ascii(',"blind":"'), end: ascii('"}'), null: ascii('null'),
  /** From `passedOver` to the blinding's opening quote when the four between are null, as in most entries. */
  nullsToBlind: ascii(',"passedOver":null,"actor":null,"action":null,"detail":null,"blind":"'),
};

/**
 * Writes the bytes a blinded leaf's hash covers, 0x00 || encodeLeafText's UTF-8, from a request's
 * shared bytes and an entry's own parts into one reused Buffer: reading a proof's block of 16 stored
 * entries this way makes no string per entry (encodeLeafText's text and its pieces were most of a
 * proof's allocations), and copies the keys with the shared values around them. The same bytes as
 * encodeLeafText (test/audit/canonical-entry.test.ts).
 */
export class LeafWriter {
  private bytes = Buffer.allocUnsafeSlow(1024);
  private at = 0;

  /** 0x00 || the canonical bytes of the entry; a view of this writer's Buffer, valid until the next call. */
  leafHashInput(request: RequestBytes, leaf: LeafParts, blind: string): Buffer {
    if (!BLIND.test(blind)) throw new CanonicalEncodingError(`blind: expected ${BLIND_SIZE} bytes, base64url`);
    this.at = 0;
    this.raw(request.head);
    this.stringOrNull(request.tokenMemberId === null ? null : tokenMemberCommitment(blind, request.tokenMemberId), 'tokenMember');
    this.raw(KEY.subjectMemberId);
    this.stringOrNull(leaf.subjectMemberId, 'subjectMemberId');
    this.raw(request.purpose);
    this.string(leaf.outcome, 'outcome');
    this.raw(KEY.code);
    this.stringOrNull(leaf.code, 'code');
    this.raw(leaf.released);
    this.raw(leaf.withheld);
    if (leaf.passedOver === null && leaf.actor === null && leaf.action === null && leaf.detail === null) {
      this.raw(KEY.nullsToBlind);
    } else {
      this.raw(KEY.passedOver);
      this.textOrNull(leaf.passedOver === null ? null : passedOverText(leaf.passedOver));
      this.raw(KEY.actor);
      this.stringOrNull(leaf.actor, 'actor');
      this.raw(KEY.action);
      this.stringOrNull(leaf.action, 'action');
      this.raw(KEY.detail);
      this.textOrNull(leaf.detail === null ? null : canonicalJson(leaf.detail, 'detail'));
      this.raw(KEY.blind);
    }
    this.text(blind);
    this.raw(KEY.end);
    return this.bytes.subarray(0, this.at);
  }

  private reserve(more: number): void {
    if (this.at + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.at + more));
    this.bytes.copy(grown, 0, 0, this.at);
    this.bytes = grown;
  }

  private raw(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.at);
    this.at += bytes.length;
  }

  private text(text: string): void {
    this.reserve(3 * text.length);
    this.at += this.bytes.write(text, this.at, 'utf8');
  }

  private textOrNull(text: string | null): void {
    if (text === null) this.raw(KEY.null);
    else this.text(text);
  }

  private stringOrNull(value: unknown, key: string): void {
    if (value === null || value === undefined) this.raw(KEY.null);
    else this.string(value, key);
  }

  /** JSON.stringify(value) in UTF-8: printable ASCII byte by byte, anything to escape or encode through JSON.stringify. */
  private string(value: unknown, key: string): void {
    if (typeof value !== 'string') throw new CanonicalEncodingError(`${key}: expected a string`);
    this.reserve(6 * value.length + 2); // the longest escape, \uXXXX, for a code unit
    const bytes = this.bytes;
    let at = this.at;
    bytes[at++] = 0x22;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        this.at += bytes.write(JSON.stringify(value), this.at, 'utf8');
        return;
      }
      bytes[at++] = c;
    }
    bytes[at++] = 0x22;
    this.at = at;
  }
}

/** Whether canonical bytes are of this form (else the legacy one): they begin `{"v":2,`. */
export function isBlindedText(bytes: Uint8Array): boolean {
  return bytes.length > 7 && Buffer.from(bytes.subarray(0, 7)).toString('latin1') === '{"v":2,';
}

/** The leaf these canonical bytes are. Throws CanonicalEncodingError on anything else. */
export function decodeBlindedLeaf(bytes: Uint8Array): BlindedLeaf {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CanonicalEncodingError(`not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CanonicalEncodingError('expected an object');
  const record = json as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== LEAF_KEYS.length || keys.some((k, i) => k !== LEAF_KEYS[i])) throw new CanonicalEncodingError('keys differ from the canonical list');
  const at = typeof record.at === 'string' ? Date.parse(record.at) : Number.NaN;
  if (!Number.isInteger(at)) throw new CanonicalEncodingError('at: expected an ISO-8601 instant');
  if (typeof record.outcome !== 'string' || !OUTCOMES.includes(record.outcome)) throw new CanonicalEncodingError('outcome: unknown value');
  const released = record.released;
  if (!Array.isArray(released) || !released.every((f) => typeof f === 'string')) throw new CanonicalEncodingError('released: expected an array of strings');
  const withheld = record.withheld;
  if (!isRecord(withheld) || !Object.values(withheld).every((r) => typeof r === 'string')) throw new CanonicalEncodingError('withheld: expected a map of strings');
  const detail = record.detail;
  if (detail !== null && !isRecord(detail)) throw new CanonicalEncodingError('detail: expected an object or null');
  const version = record.agreementVersion;
  if (version !== null && typeof version !== 'number') throw new CanonicalEncodingError('agreementVersion: expected a number or null');
  const leaf: BlindedLeaf = {
    at,
    requestId: field(record, 'requestId', false)!,
    appId: field(record, 'appId', true),
    partnerId: field(record, 'partnerId', true),
    agreementId: field(record, 'agreementId', true),
    agreementVersion: version,
    rulesVersion: field(record, 'rulesVersion', false)!,
    tokenMember: field(record, 'tokenMember', true),
    subjectMemberId: field(record, 'subjectMemberId', true),
    purpose: field(record, 'purpose', true),
    outcome: record.outcome as AuditEntry['outcome'],
    code: field(record, 'code', true),
    released: released as Field[],
    withheld: withheld as Partial<Record<Field, WithheldReason>>,
    passedOver: passedOverOf(record.passedOver),
    actor: field(record, 'actor', true),
    action: field(record, 'action', true),
    detail,
    blind: field(record, 'blind', false)!,
  };
  if (encodeLeafText(leaf) !== text) throw new CanonicalEncodingError('not in canonical form');
  return leaf;
}

function passedOverText(passedOver: PassedOver | null): string {
  if (passedOver === null) return 'null';
  return `{"count":${canonicalNumber(passedOver.count, 'passedOver.count')},"reason":${str(passedOver.reason, 'passedOver.reason')}}`;
}

function passedOverOf(value: unknown): PassedOver | null {
  if (value === null) return null;
  if (!isRecord(value) || typeof value.count !== 'number' || typeof value.reason !== 'string') {
    throw new CanonicalEncodingError('passedOver: expected {count, reason} or null');
  }
  return { count: value.count, reason: value.reason };
}

function str(value: unknown, key: string): string {
  if (typeof value !== 'string') throw new CanonicalEncodingError(`${key}: expected a string`);
  return JSON.stringify(value);
}

function strOrNull(value: unknown, key: string): string {
  return value === null || value === undefined ? 'null' : str(value, key);
}

function releasedText(released: readonly unknown[]): string {
  if (!Array.isArray(released)) throw new CanonicalEncodingError('released: expected an array');
  return `[${released.map((f) => str(f, 'released')).join(',')}]`;
}

function field(record: Record<string, unknown>, key: string, nullable: boolean): string | null {
  const value = record[key];
  if (typeof value === 'string' || (nullable && value === null)) return value;
  throw new CanonicalEncodingError(`${key}: expected a string${nullable ? ' or null' : ''}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
