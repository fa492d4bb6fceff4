import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { canonicalTextAt } from '../../audit/entry-leaf.js';
import { BadRequest, NotFound } from '../../domain/errors.js';
import { DAY_MS, type Instant } from '../../domain/time.js';
import { AUDIT_OUTCOMES, type AuditEntryFilter, type AuditFilter, type DailyAuditCount } from '../../store/audit-query-repository.js';
import type { StoredAuditEntry } from '../../store/audit-rows.js';
import type { AppContext } from '../app.js';
import { InclusionQuery, InclusionView } from '../audit/audit-schemas.js';
import { decodeCursor, encodeCursor } from '../owner-cursor.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, DateTime, NullableString, StringEnum, iso, security } from './admin-schemas.js';

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 500;
/** Daily counts without `from`: this many UTC days up to `to` (by default, up to the end of today). */
export const COUNTS_DEFAULT_DAYS = 30;
/** The longest window of daily counts: a year, leap day included. */
export const COUNTS_MAX_DAYS = 366;

const Id = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 200, description }));
const InstantParam = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));

const filterProperties = {
  partner_id: Id('Only entries about this partner (an unknown id finds nothing).'),
  app_id: Id('Only entries about this app.'),
  agreement_id: Id('Only entries under this agreement (any version).'),
  from: InstantParam('ISO-8601 instant with a time zone (`2026-05-01T00:00:00Z`); entries at or after it.'),
  to: InstantParam('ISO-8601 instant with a time zone; entries before it (exclusive).'),
  outcome: Type.Optional(StringEnum(AUDIT_OUTCOMES, 'released, withheld, denied or staff_action')),
};

const EntriesQuery = Type.Object({
  ...filterProperties,
  member_id: Id('Only entries about this member (the subject) or made with their token (`token_member_id`).'),
  request_id: Id('Only the entries of this request (its `x-request-id`, or a staff action\'s request).'),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_MAX_LIMIT, default: AUDIT_DEFAULT_LIMIT })),
  after: Type.Optional(Type.String({ maxLength: 500, description: 'The `paging.after` cursor of the previous page (same filters).' })),
}, { additionalProperties: false });

const CountsQuery = Type.Object(filterProperties, { additionalProperties: false });

const AuditEntryView = Type.Object({
  seq: Type.Integer({ minimum: 1, description: 'Position in the log, from 1' }),
  leaf_index: Type.Integer({ minimum: 0, description: 'The Merkle tree leaf of the entry: seq - 1' }),
  at: DateTime,
  request_id: Type.String(),
  app_id: NullableString(),
  partner_id: NullableString(),
  agreement_id: NullableString(),
  agreement_version: Type.Union([Type.Integer(), Type.Null()]),
  rules_version: Type.String(),
  purpose: NullableString(),
  outcome: StringEnum(AUDIT_OUTCOMES),
  code: NullableString({ description: "The refusal's error code, why a subject was left out, or a staff action's name" }),
  token_member_id: NullableString(),
  subject_member_id: NullableString(),
  released: Type.Array(Type.String()),
  withheld: Type.Record(Type.String(), Type.String(), { description: 'Field to the reason it was withheld' }),
  actor: NullableString({ description: 'A staff action\'s staff id, or `system`' }),
  action: NullableString(),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  passed_over: Type.Union([
    Type.Object({ count: Type.Integer({ minimum: 0 }), reason: Type.String() }, { additionalProperties: false }),
    Type.Null(),
  ], { description: "On a request's entry: how many friends its scan passed over, and why" }),
}, { additionalProperties: false });

const StaffInclusionView = Type.Object({
  ...InclusionView.properties,
  entry: AuditEntryView,
  canonical_entry: Type.String({
    description: 'The bytes the leaf hash covers (base64): SHA-256(0x00 || bytes) is `leaf_hash`. A blinded entry carries its '
      + '`blind` and a commitment to the token\'s member in place of the id.',
  }),
}, { additionalProperties: false });

const EntriesPage = Type.Object({
  data: Type.Array(AuditEntryView),
  paging: Type.Object({
    after: Type.Optional(Type.String({ description: 'Pass as `after` for the next (older) page; absent on the last page.' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const countProperties = {
  served: Type.Integer(),
  released: Type.Integer(),
  withheld: Type.Integer(),
  denied: Type.Integer(),
  staff_action: Type.Integer(),
  total: Type.Integer(),
};

const DailyCounts = Type.Object({
  from: DateTime,
  to: DateTime,
  data: Type.Array(Type.Object({
    day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day' }),
    ...countProperties,
  }, { additionalProperties: false }), { description: 'Every UTC day the window touches, oldest first, zeros included' }),
  totals: Type.Object(countProperties, { additionalProperties: false }),
}, { additionalProperties: false });

type FilterQuery = Static<typeof CountsQuery>;

function instant(value: string | undefined, name: 'from' | 'to'): Instant | undefined {
  if (value === undefined) return undefined;
  const parsed = Date.parse(value);
  // The format check lets a leap second (23:59:60) through; Date does not.
  if (!Number.isFinite(parsed)) throw new BadRequest('invalid_parameter', `querystring/${name} is not an instant: ${value}.`);
  // `at` is compared as text, which orders instants only within years 0000 to 9999 (UTC).
  if (iso(parsed).length !== 24) throw new BadRequest('invalid_parameter', `querystring/${name} must fall within the years 0000 to 9999 (UTC).`);
  return parsed;
}

function filterOf(query: FilterQuery, defaults: { from?: Instant; to?: Instant } = {}): AuditFilter {
  const from = instant(query.from, 'from') ?? defaults.from;
  const to = instant(query.to, 'to') ?? defaults.to;
  if (from !== undefined && to !== undefined && from >= to) {
    throw new BadRequest('invalid_parameter', `querystring/from (${iso(from)}) must be before querystring/to (${iso(to)}).`);
  }
  return {
    ...(query.partner_id === undefined ? {} : { partnerId: query.partner_id }),
    ...(query.app_id === undefined ? {} : { appId: query.app_id }),
    ...(query.agreement_id === undefined ? {} : { agreementId: query.agreement_id }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(query.outcome === undefined ? {} : { outcome: query.outcome }),
  };
}

/** A cursor works only with the filters it was given for: another query's cursor would skip or repeat silently. */
function cursorOwner(filter: AuditEntryFilter): string {
  const { partnerId, appId, agreementId, from, to, outcome, memberId, requestId } = filter;
  const canonical = JSON.stringify([partnerId ?? null, appId ?? null, agreementId ?? null, from ?? null, to ?? null, outcome ?? null,
    ...(memberId === undefined && requestId === undefined ? [] : [memberId ?? null, requestId ?? null])]);
  return `audit:${createHash('sha256').update(canonical).digest('base64url').slice(0, 22)}`;
}

/** The daily-count window: `to` defaults to the end of today (UTC), `from` to `COUNTS_DEFAULT_DAYS` before `to`. */
function countWindow(query: FilterQuery, now: Instant): AuditFilter & { from: Instant; to: Instant } {
  const to = instant(query.to, 'to') ?? Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const filter = filterOf(query, { to, from: to - COUNTS_DEFAULT_DAYS * DAY_MS });
  const from = filter.from!;
  if (to - from > COUNTS_MAX_DAYS * DAY_MS) {
    throw new BadRequest('invalid_parameter', `The window from ${iso(from)} to ${iso(to)} is longer than ${COUNTS_MAX_DAYS} days; ask for a shorter one.`);
  }
  return { ...filter, from, to };
}

function entryView(record: StoredAuditEntry): Static<typeof AuditEntryView> {
  return {
    seq: record.seq,
    leaf_index: record.seq - 1,
    at: iso(record.at),
    request_id: record.requestId,
    app_id: record.appId,
    partner_id: record.partnerId,
    agreement_id: record.agreementId,
    agreement_version: record.agreementVersion,
    rules_version: record.rulesVersion,
    purpose: record.purpose,
    outcome: record.outcome,
    code: record.code,
    token_member_id: record.tokenMemberId,
    subject_member_id: record.subjectMemberId,
    released: [...record.released],
    withheld: { ...record.withheld } as Record<string, string>,
    actor: record.actor ?? null,
    action: record.action ?? null,
    detail: record.detail == null ? null : { ...record.detail },
    passed_over: record.passedOver == null ? null : { ...record.passedOver },
  };
}

type Counts = Static<typeof DailyCounts>['totals'];

/** Every UTC day from `from` to `to` (exclusive), with the counts found or zeros, and their totals. */
function dailySeries(from: Instant, to: Instant, found: readonly DailyAuditCount[]): { data: Array<Counts & { day: string }>; totals: Counts } {
  const byDay = new Map(found.map((c) => [c.day, c]));
  const totals: Counts = { served: 0, released: 0, withheld: 0, denied: 0, staff_action: 0, total: 0 };
  const data: Array<Counts & { day: string }> = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
    const key = iso(day).slice(0, 10);
    const c = byDay.get(key);
    const row = { day: key, served: c?.served ?? 0, released: c?.released ?? 0, withheld: c?.withheld ?? 0, denied: c?.denied ?? 0, staff_action: c?.staffAction ?? 0, total: c?.total ?? 0 };
    for (const k of Object.keys(totals) as Array<keyof Counts>) totals[k] += row[k];
    data.push(row);
  }
  return { data, totals };
}

/**
 * The audit log as staff read it (issue 5): entries filtered by partner, app, agreement, window and
 * outcome, and their counts per UTC day. Every staff role may read it. Registered inside the
 * /admin/v1 scope (staff authentication).
 */
export const adminAuditRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, clock } = context;
  const tags = ['admin: audit'];
  const blinded = store.audit.withBlinding(context.audit.blinding);
  const { proofs } = context.checkpoints;

  app.get('/audit/inclusion', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'An entry with its inclusion proof against a signed tree head (staff only: entries are blinded and not public)',
      description: 'The entry, the canonical bytes its leaf hash covers (with its blinding), and the audit path to the head of '
        + '`tree_size` (default: the latest). Only sizes a kept head signed are served.',
      tags, security,
      querystring: InclusionQuery,
      response: { 200: StaffInclusionView, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { leaf_index: index, tree_size: size } = request.query;
    const proof = await proofs.inclusion(index, size);
    const entry = (await blinded.bySeq([index + 1])).get(index + 1);
    if (entry === undefined) throw new NotFound(`The log has no entry at leaf index ${index}.`);
    return {
      leaf_index: index,
      tree_size: proof.size,
      leaf_hash: proof.leafHash.toString('base64'),
      audit_path: proof.path.map((hash) => hash.toString('base64')),
      entry: entryView(entry),
      canonical_entry: Buffer.from(canonicalTextAt(entry, index, context.audit.blinding), 'utf8').toString('base64'),
    };
  });

  app.get('/audit/entries', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Audit entries, newest first, filtered by member, request, partner, app, agreement, window [from, to) and outcome',
      description: `Paged by \`limit\` (1 to ${AUDIT_MAX_LIMIT}, default ${AUDIT_DEFAULT_LIMIT}) and the \`paging.after\` cursor, `
        + 'which only works with the filters it was given for. Unknown ids find nothing (no 404).',
      tags, security,
      querystring: EntriesQuery,
      response: { 200: EntriesPage, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { member_id: memberId, request_id: requestId } = request.query;
    const filter: AuditEntryFilter = {
      ...filterOf(request.query),
      ...(memberId === undefined ? {} : { memberId }),
      ...(requestId === undefined ? {} : { requestId }),
    };
    const owner = cursorOwner(filter);
    const { limit = AUDIT_DEFAULT_LIMIT, after } = request.query;
    const beforeSeq = after === undefined ? null : decodeCursor(after, owner, 'sequence');
    const { records, hasMore } = await store.auditQueries.page(filter, limit, beforeSeq);
    const last = records[records.length - 1];
    return { data: records.map(entryView), paging: hasMore && last ? { after: encodeCursor(owner, last.seq) } : {} };
  });

  app.get('/audit/daily-counts', {
    onRequest: requirePermission('read'),
    schema: {
      summary: 'Audit entries counted per UTC day and outcome, with the same filters',
      description: `The window is [from, to): \`to\` defaults to the end of today (UTC), \`from\` to ${COUNTS_DEFAULT_DAYS} days before \`to\`; `
        + `it may be at most ${COUNTS_MAX_DAYS} days long. Every day it touches is listed, zeros included.`,
      tags, security,
      querystring: CountsQuery,
      response: { 200: DailyCounts, ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const filter = countWindow(request.query, clock());
    const found = await store.auditQueries.dailyCounts(filter);
    return { from: iso(filter.from), to: iso(filter.to), ...dailySeries(filter.from, filter.to, found) };
  });
};
