import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import type { AuditEntry } from './audit-entry.js';

/**
 * The canonical byte form of an audit entry of the legacy (unblinded) log: the bytes its Merkle leaf
 * hash covers (issue 5). Entries written since issue 11 use canonical-entry-v2.ts.
 *
 * Compact JSON, UTF-8, no whitespace, with
 * - the top-level keys always present, in the order of the `AuditEntry` interface (ENTRY_KEYS);
 * - `at` as an ISO-8601 UTC string with milliseconds (`2026-11-29T13:00:00.000Z`);
 * - absent optional fields (`actor`, `action`, `detail`) as `null`;
 * - `released` in its given order (the order is part of what was recorded);
 * - object keys inside `withheld` and `detail` (at every depth) sorted by UTF-16 code units,
 *   arrays kept in order.
 *
 * Two entries encode to the same bytes exactly when they are the same entry, whatever the key
 * order or the presence of `undefined` optional fields in the input objects. `decodeEntry`
 * accepts only canonical bytes, so an auditor can re-encode what they decoded and get the bytes
 * that were hashed.
 */
export const ENTRY_KEYS = [
  'at',
  'requestId',
  'appId',
  'partnerId',
  'agreementId',
  'agreementVersion',
  'rulesVersion',
  'tokenMemberId',
  'subjectMemberId',
  'purpose',
  'outcome',
  'code',
  'released',
  'withheld',
  'actor',
  'action',
  'detail',
] as const satisfies readonly (keyof AuditEntry)[];

// Compile-time check that ENTRY_KEYS lists every key of AuditEntry (but `passedOver`, which came
// with the blinded form of issue 11, canonical-entry-v2.ts: this form is the legacy log's).
type MissingKey = Exclude<keyof AuditEntry, (typeof ENTRY_KEYS)[number] | 'passedOver'>;
const everyKeyListed: [MissingKey] extends [never] ? true : MissingKey = true;
void everyKeyListed;

const OUTCOMES: readonly AuditEntry['outcome'][] = ['released', 'withheld', 'denied', 'staff_action', 'served'];

export class CanonicalEncodingError extends Error {
  override readonly name = 'CanonicalEncodingError';
}

/** The canonical UTF-8 bytes of an entry. Throws CanonicalEncodingError on a value JSON cannot carry exactly. */
export function encodeEntry(entry: AuditEntry): Buffer {
  return Buffer.from(canonicalText(entry), 'utf8');
}

/**
 * The canonical form as a string (its UTF-8 is `encodeEntry`'s bytes), for a verifier that
 * writes it straight into the buffer it hashes.
 */
export function encodeEntryText(entry: AuditEntry): string {
  return canonicalText(entry);
}

/** The entry that `encodeEntry` turned into these bytes. Throws CanonicalEncodingError on anything else. */
export function decodeEntry(bytes: Uint8Array): AuditEntry {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CanonicalEncodingError(`not JSON: ${(error as Error).message}`);
  }
  const entry = entryFromJson(parsed);
  // Canonical form is unique: anything that does not re-encode byte for byte is rejected
  // (other key order, whitespace, escapes, number spellings, unsorted maps).
  if (canonicalText(entry) !== text) throw new CanonicalEncodingError('not in canonical form');
  return entry;
}

/** `"key":` for every key, made once: the encoder runs for every entry appended and verified. */
const KEY_PREFIXES = ENTRY_KEYS.map((key) => `${JSON.stringify(key)}:`);
const SUBJECT_AT = ENTRY_KEYS.indexOf('subjectMemberId');
/** The keys before the subject: who asked, under which agreement, when. */
const HEAD_KEYS = ENTRY_KEYS.slice(0, SUBJECT_AT);
/** The keys after it: the decision. */
const TAIL_KEYS = ENTRY_KEYS.slice(SUBJECT_AT + 1);
const TAIL_PREFIXES = KEY_PREFIXES.slice(SUBJECT_AT + 1);

function canonicalText(entry: AuditEntry): string {
  const subject = canonicalField(entry, 'subjectMemberId');
  return `${headText(entry)},${KEY_PREFIXES[SUBJECT_AT]}${subject},${tailText(entry)}}`;
}

// A request's entries come in runs that differ only in their subject (a page of friends, one
// entry each): the text before the subject, and the text after it, are kept from the entry
// before while every value they are made of is the same. Values are copied, not referenced, so
// an object changed in place after it was encoded is never mistaken for the same.
let headValues: unknown[] | undefined;
let headCache = '';
let tailValues: TailValues | undefined;
let tailCache = '';

/** `{"at":...` up to the subject, without a trailing comma. */
function headText(entry: AuditEntry): string {
  if (headValues !== undefined && HEAD_KEYS.every((key, i) => entry[key] === headValues![i])) return headCache;
  let text = '{';
  for (let i = 0; i < HEAD_KEYS.length; i++) text += (i > 0 ? ',' : '') + KEY_PREFIXES[i]! + canonicalField(entry, HEAD_KEYS[i]!);
  // Every head value that encodes is a string, a number or null: comparing with === is exact.
  headValues = HEAD_KEYS.map((key) => entry[key]);
  headCache = text;
  return text;
}

/** The values the tail is made of, when they can be compared cheaply (no staff action's detail). */
interface TailValues {
  readonly purpose: string | null;
  readonly outcome: string;
  readonly code: string | null;
  readonly released: readonly unknown[];
  readonly withheld: ReadonlyMap<string, unknown>;
  readonly actor: string | null | undefined;
  readonly action: string | null | undefined;
}

/** From `"purpose":` to the end of `detail`, without the closing brace. */
function tailText(entry: AuditEntry): string {
  if (tailValues !== undefined && sameTail(entry, tailValues)) return tailCache;
  let text = '';
  for (let i = 0; i < TAIL_KEYS.length; i++) text += (i > 0 ? ',' : '') + TAIL_PREFIXES[i]! + canonicalField(entry, TAIL_KEYS[i]!);
  tailValues = entry.detail == null ? tailValuesOf(entry) : undefined;
  tailCache = text;
  return text;
}

function tailValuesOf(entry: AuditEntry): TailValues | undefined {
  if (!Array.isArray(entry.released)) return undefined;
  const withheld = new Map<string, unknown>();
  for (const key of Object.keys(entry.withheld)) {
    const reason = (entry.withheld as Record<string, unknown>)[key];
    if (typeof reason !== 'string') return undefined; // a nested value: not worth comparing
    withheld.set(key, reason);
  }
  const { purpose, outcome, code, actor, action } = entry;
  return { purpose, outcome, code, released: [...entry.released], withheld, actor, action };
}

function sameTail(entry: AuditEntry, last: TailValues): boolean {
  return entry.detail == null && entry.purpose === last.purpose && entry.outcome === last.outcome && entry.code === last.code &&
    entry.actor === last.actor && entry.action === last.action && sameList(entry.released, last.released) &&
    sameRecord(entry.withheld, last.withheld);
}

function sameList(list: readonly unknown[], last: readonly unknown[]): boolean {
  if (!Array.isArray(list) || list.length !== last.length) return false;
  for (let i = 0; i < list.length; i++) if (list[i] !== last[i]) return false;
  return true;
}

function sameRecord(record: object, last: ReadonlyMap<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(record) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(record);
  if (keys.length !== last.size) return false;
  for (const key of keys) if ((record as Record<string, unknown>)[key] !== last.get(key)) return false;
  return true;
}

function canonicalField(entry: AuditEntry, key: (typeof ENTRY_KEYS)[number]): string {
  switch (key) {
    case 'at':
      return JSON.stringify(instantToIso(entry.at));
    case 'agreementVersion':
      return entry.agreementVersion === null ? 'null' : canonicalNumber(entry.agreementVersion, key);
    case 'released':
      return releasedText(entry.released);
    case 'withheld':
      return canonicalJson(entry.withheld, key);
    case 'detail':
      return entry.detail == null ? 'null' : canonicalJson(entry.detail, key);
    case 'actor':
    case 'action':
      return entry[key] == null ? 'null' : stringValue(entry[key], key);
    case 'rulesVersion':
    case 'requestId':
    case 'outcome':
      return stringValue(entry[key], key);
    default:
      return entry[key] === null ? 'null' : stringValue(entry[key], key);
  }
}

/** JSON.stringify(string) would escape none of these, so quoting is enough (the common case: ids, codes). */
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function stringValue(value: unknown, key: string): string {
  if (typeof value !== 'string') throw new CanonicalEncodingError(`${key}: expected a string`);
  return PLAIN_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

function releasedText(released: readonly unknown[]): string {
  let text = '[';
  for (let i = 0; i < released.length; i++) text += (i > 0 ? ',' : '') + stringValue(released[i], 'released');
  return `${text}]`;
}

export function canonicalNumber(value: unknown, key: string): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CanonicalEncodingError(`${key}: expected a finite number`);
  }
  return JSON.stringify(Object.is(value, -0) ? 0 : value);
}

// The entries of one request share their instant: its ISO form is made once.
let lastInstant = Number.NaN;
let lastIso = '';

export function instantToIso(at: unknown): string {
  if (at === lastInstant) return lastIso;
  if (typeof at !== 'number' || !Number.isInteger(at)) throw new CanonicalEncodingError('at: expected an integer instant (ms)');
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw new CanonicalEncodingError('at: out of range');
  const iso = date.toISOString();
  // Years outside 0000..9999 get a signed 6-digit form; keep the format fixed instead.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso)) throw new CanonicalEncodingError('at: outside years 0000..9999');
  lastInstant = at;
  lastIso = iso;
  return iso;
}

/** JSON with object keys sorted at every depth; `undefined` object members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return canonicalNumber(value, path);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new CanonicalEncodingError(`${path}: expected a plain object`);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new CanonicalEncodingError(`${path}: a ${typeof value} has no JSON form`);
  }
}

function entryFromJson(json: unknown): AuditEntry {
  if (!isRecord(json)) throw new CanonicalEncodingError('expected an object');
  const keys = Object.keys(json);
  if (keys.length !== ENTRY_KEYS.length || keys.some((k, i) => k !== ENTRY_KEYS[i])) {
    throw new CanonicalEncodingError('keys differ from the canonical list');
  }
  const at = typeof json.at === 'string' ? Date.parse(json.at) : Number.NaN;
  if (!Number.isInteger(at)) throw new CanonicalEncodingError('at: expected an ISO-8601 instant');
  const outcome = json.outcome;
  if (typeof outcome !== 'string' || !OUTCOMES.includes(outcome as AuditEntry['outcome'])) {
    throw new CanonicalEncodingError('outcome: unknown value');
  }
  const released = json.released;
  if (!Array.isArray(released) || !released.every((f) => typeof f === 'string')) {
    throw new CanonicalEncodingError('released: expected an array of strings');
  }
  const withheld = json.withheld;
  if (!isRecord(withheld) || !Object.values(withheld).every((r) => typeof r === 'string')) {
    throw new CanonicalEncodingError('withheld: expected a map of strings');
  }
  const detail = json.detail;
  if (detail !== null && !isRecord(detail)) throw new CanonicalEncodingError('detail: expected an object or null');
  const version = json.agreementVersion;
  if (version !== null && typeof version !== 'number') throw new CanonicalEncodingError('agreementVersion: expected a number or null');
  return {
    at,
    requestId: str(json, 'requestId'),
    appId: strOrNull(json, 'appId'),
    partnerId: strOrNull(json, 'partnerId'),
    agreementId: strOrNull(json, 'agreementId'),
    agreementVersion: version,
    rulesVersion: str(json, 'rulesVersion'),
    tokenMemberId: strOrNull(json, 'tokenMemberId'),
    subjectMemberId: strOrNull(json, 'subjectMemberId'),
    purpose: strOrNull(json, 'purpose'),
    outcome: outcome as AuditEntry['outcome'],
    code: strOrNull(json, 'code'),
    // Field names are not checked against today's catalog: old entries must stay readable.
    released: released as Field[],
    withheld: withheld as Partial<Record<Field, WithheldReason>>,
    actor: strOrNull(json, 'actor'),
    action: strOrNull(json, 'action'),
    detail,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(json: Record<string, unknown>, key: string): string {
  const value = json[key];
  if (typeof value !== 'string') throw new CanonicalEncodingError(`${key}: expected a string`);
  return value;
}

function strOrNull(json: Record<string, unknown>, key: string): string | null {
  const value = json[key];
  if (value !== null && typeof value !== 'string') throw new CanonicalEncodingError(`${key}: expected a string or null`);
  return value;
}
