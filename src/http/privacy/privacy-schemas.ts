import { TreeHeadView } from '../audit/audit-schemas.js';
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FastifySchemaCompiler } from 'fastify';
import { AUDIENCES } from '../../domain/audience.js';
import { BadRequest, UnknownField } from '../../domain/errors.js';
import { FIELDS, OBJECT_FIELDS } from '../../domain/field-catalog.js';
import { GRANT_END_REASONS } from '../../domain/grant.js';
import { PURPOSES } from '../../domain/purposes.js';
import { StringEnum } from '../schemas.js';

/**
 * Schemas of the privacy center's JSON API (members, with their session cookie). As everywhere,
 * the response schemas are the whitelist of what may leave.
 */

const AudienceSchema = StringEnum(AUDIENCES, '`public`, `friends` or `only_me`.');

const FieldName = StringEnum(FIELDS);

export const PrivacySettings = Type.Object(
  {
    platform_enabled: Type.Boolean({ description: 'Off: no app or partner gets anything about you, not even through friends.' }),
    share_via_friends: Type.Boolean({ description: 'Let apps and devices that your friends use see what you share with friends.' }),
    audiences: Type.Object(
      Object.fromEntries(OBJECT_FIELDS.map((field) => [field, AudienceSchema])),
      { additionalProperties: false, description: 'Who may see each field; `id`, `name` and `picture` are always public.' },
    ),
    csrf_token: Type.String({ description: 'Send it back as the `x-csrf-token` header with PATCH and DELETE.' }),
  },
  { additionalProperties: false },
);
export type PrivacySettings = Static<typeof PrivacySettings>;

export const PrivacyPatch = Type.Object(
  {
    platform_enabled: Type.Optional(Type.Boolean()),
    share_via_friends: Type.Optional(Type.Boolean()),
    audiences: Type.Optional(Type.Object(
      Object.fromEntries(OBJECT_FIELDS.map((field) => [field, Type.Optional(AudienceSchema)])),
      {
        additionalProperties: false,
        description: 'Fields to change; the others keep their audience. `id`, `name` and `picture` cannot be changed (400 `field_not_editable`).',
      },
    )),
  },
  { additionalProperties: false },
);
export type PrivacyPatch = Static<typeof PrivacyPatch>;

export const MemberApp = Type.Object(
  {
    grant_id: Type.String(),
    app: Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false }),
    partner: Type.Object(
      { name: Type.String({ description: 'Legal name.' }), country: Type.String({ description: 'ISO 3166-1 alpha-2.' }) },
      { additionalProperties: false },
    ),
    purpose: StringEnum(PURPOSES),
    member_fields: Type.Array(FieldName, { description: 'What you consented to share about yourself.' }),
    friend_fields: Type.Array(FieldName, { description: 'What you consented to share about friends who allow it.' }),
    granted_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When you (or the app) revoked it; null when it has not been revoked.',
    }),
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('ended')], {
      description: '`revoked`: by you in the privacy center, or by the app; `expired`: unused for 90 days, the app must ask for '
        + 'consent again; `ended`: the agreement with the app\'s partner wound down (its access ended).',
    }),
    ended_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it stopped working; null while active.' }),
    end_reason: Type.Union([StringEnum(GRANT_END_REASONS), Type.Null()], {
      description: 'Why it stopped working: `member_revoked`, `token_revoked` (the app revoked its token), `unused_90_days` '
        + 'or `access_ended`; null while active.',
    }),
  },
  { additionalProperties: false },
);
export type MemberApp = Static<typeof MemberApp>;

export const MemberApps = Type.Object({ data: Type.Array(MemberApp) }, { additionalProperties: false });

/** An entry's place in the signed audit log (README, "Verifying the audit log"). */
export const EntryProof = Type.Object(
  {
    leaf_index: Type.Integer({ minimum: 0 }),
    leaf_hash: Type.String({ description: 'SHA-256(0x00 || canonical entry), base64.' }),
    audit_path: Type.Array(Type.String(), { description: 'RFC 9162 inclusion proof against tree_head, lowest sibling first, base64.' }),
    canonical_entry: Type.Optional(Type.String({
      description: 'For `direct` entries only: the canonical entry bytes (base64), so you can recompute leaf_hash. '
        + 'A `friend` entry names the friend, so only its hash is shown.',
    })),
  },
  { additionalProperties: false },
);

/** One release of data about the member. Deliberately without the token's member or the request id: for `friend`, that would name the friend. */
export const AccessHistoryItem = Type.Object(
  {
    at: Type.String({ format: 'date-time' }),
    app: Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false }),
    partner: Type.Object(
      { id: Type.String(), legal_name: Type.String(), country: Type.String({ description: 'ISO 3166-1 alpha-2.' }) },
      { additionalProperties: false },
    ),
    agreement: Type.Union([
      Type.Object({ id: Type.String(), version: Type.Integer() }, { additionalProperties: false }),
      Type.Null(),
    ], { description: 'The agreement and its version the data was released under.' }),
    purpose: Type.Union([StringEnum(PURPOSES), Type.Null()]),
    fields: Type.Array(FieldName, { description: 'The fields released about you.' }),
    via: Type.Union([Type.Literal('direct'), Type.Literal('friend')], {
      description: '`direct`: through your own consent (your token); `friend`: through a friend who uses the app (the friend is not named).',
    }),
    proof: Type.Optional(Type.Union([EntryProof, Type.Null()], {
      description: 'With `proof=true`: the inclusion proof against `tree_head`; null for an entry newer than the latest signed head.',
    })),
  },
  { additionalProperties: false },
);
export type AccessHistoryItem = Static<typeof AccessHistoryItem>;

export const AccessHistoryPage = Type.Object(
  {
    data: Type.Array(AccessHistoryItem),
    tree_head: Type.Optional(Type.Union([TreeHeadView, Type.Null()], {
      description: 'With `proof=true`: the latest signed tree head the proofs are against (null while none is signed).',
    })),
    paging: Type.Object(
      { after: Type.Optional(Type.String({ description: 'Pass as `after` for the next (older) page; absent on the last page.' })) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const HistoryFilterProperties = {
  app_id: Type.Optional(Type.String({ maxLength: 100, description: 'Only releases to this app.' })),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'From this date (2026-06-01) or date-time on.' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'Before this date-time; a date includes that whole day.' })),
};

export const AccessHistoryQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
    after: Type.Optional(Type.String({ maxLength: 500, description: 'The `paging.after` cursor of the previous page (with the same filters).' })),
    ...HistoryFilterProperties,
    proof: Type.Optional(Type.Boolean({
      description: '`true` attaches to each entry its inclusion proof against the latest signed tree head.',
    })),
  },
  { additionalProperties: false },
);


export const HistoryPageQuery = Type.Object(
  { after: Type.Optional(Type.String({ maxLength: 500 })), ...HistoryFilterProperties },
  { additionalProperties: false },
);

export const HistoryDownloadQuery = Type.Object(HistoryFilterProperties, { additionalProperties: false });

const NamedTarget = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false });

export const FriendExclusionsBody = Type.Object(
  {
    apps: Type.Array(NamedTarget, { description: 'Apps kept out; `name` is the app\'s name and its partner\'s.' }),
    partners: Type.Array(NamedTarget, { description: 'Partners kept out (every app of theirs); `name` is the legal name.' }),
  },
  { additionalProperties: false },
);

export const ExclusionParams = Type.Object(
  {
    kind: Type.Union([Type.Literal('apps'), Type.Literal('partners')]),
    id: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);

export const DeletionRequestView = Type.Object(
  {
    id: Type.String(),
    member_id: Type.String(),
    partner_id: Type.String(),
    requested_at: Type.String({ format: 'date-time' }),
    confirm_by: Type.String({ format: 'date-time', description: 'Thirty days after the request: unconfirmed by then, staff follow it up.' }),
    confirmed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the partner confirmed the deletion.' }),
    state: Type.Union([Type.Literal('waiting'), Type.Literal('overdue'), Type.Literal('confirmed')]),
  },
  { additionalProperties: false },
);

export const DeletionRequestList = Type.Object({ data: Type.Array(DeletionRequestView) }, { additionalProperties: false });

export const DeletionRequestBody = Type.Object(
  { partner_id: Type.String({ minLength: 1, maxLength: 100, description: 'A partner one of whose apps you consented to.' }) },
  { additionalProperties: false },
);

export const PermissionParams = Type.Object(
  { appId: Type.String({ minLength: 1, maxLength: 100 }), permission: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const AppIdParams = Type.Object({ appId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

/**
 * A strict validator for JSON bodies: no type coercion (the app's Ajv coerces, so `"false"` or
 * `null` would pass for a boolean), and errors with product codes: a name outside the catalog
 * under `audiences` is `unknown_field`, anything else `invalid_parameter`.
 */
// `any`: Fastify types a route's compiler by that route's own schema.
export const strictBodyValidator: FastifySchemaCompiler<any> = ({ schema }) => {
  const check = Compile(schema as TSchema);
  return (value: unknown) => {
    if (check.Check(value)) return { value };
    const errors = check.Errors(value);
    const first = errors[0];
    const path = first?.instancePath ?? '';
    // A property `additionalProperties: false` forbids is reported at its own path, as `schema is false`.
    if (first?.schemaPath === '#/properties/audiences/additionalProperties' && path.startsWith('/audiences/')) {
      const name = path.slice('/audiences/'.length).slice(0, 100);
      return { error: new UnknownField(`Unknown field '${name}': audiences are set for fields of the catalog.`) };
    }
    if (first?.keyword === 'boolean' && first.schemaPath.endsWith('/additionalProperties')) {
      const at = path.lastIndexOf('/');
      return { error: new BadRequest('invalid_parameter', `body${path.slice(0, at).replaceAll('/', '.')} has an unknown property \`${path.slice(at + 1, at + 101)}\`.`) };
    }
    const allowed = errors.filter((e) => e.keyword === 'const' && e.instancePath === path).map((e) => String((e.params as { allowedValue: unknown }).allowedValue));
    const message = allowed.length > 1 ? `must be one of: ${allowed.join(', ')}` : first?.message ?? 'invalid';
    return { error: new BadRequest('invalid_parameter', `body${path.replaceAll('/', '.')}: ${message}`) };
  };
};
