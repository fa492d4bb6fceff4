import { Type, type TLiteral, type TObject, type TSchema, type TString, type TStringOptions, type TUnion } from 'typebox';
import { FIELD_CLASS, FIELDS, OBJECT_FIELDS, type ObjectField } from '../domain/field-catalog.js';
import { FIELD_REASONS } from '../domain/reason-codes.js';

/**
 * Response schemas are the whitelist of what may leave: Fastify serializes with them, so a
 * property that is not named here is dropped, whatever a handler puts in the object.
 */

/** A string from a fixed list; a wrong one is refused with the list in the message. */
export function StringEnum<const T extends readonly string[]>(values: T, description?: string): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(values.map((value) => Type.Literal(value)), description ? { description } : {}) as never;
}

/**
 * Characters refused in text people write (names, labels, reasons, statements): C0 and C1 controls
 * (tab, line feed and carriage return only in multi-line text), line and paragraph separators in a
 * single line, and the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) that
 * make text read differently from what is stored and audited. As JSON Schema patterns (ECMA-262,
 * `u` flag), so that the OpenAPI document says what is refused.
 */
const BIDI_CONTROLS = '\\u202A-\\u202E\\u2066-\\u2069';
const SINGLE_LINE_REFUSED = `\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029${BIDI_CONTROLS}`;
const MULTI_LINE_REFUSED = `\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F${BIDI_CONTROLS}`;

/** Not only white space, and none of the refused characters (linear time: no nested repetition). */
export const SINGLE_LINE_PATTERN = `^(?!\\s*$)[^${SINGLE_LINE_REFUSED}]*$`;
export const MULTI_LINE_PATTERN = `^(?!\\s*$)[^${MULTI_LINE_REFUSED}]*$`;

/** A name, label or short reason: one line of visible text. */
export function SingleLineText(options: TStringOptions & { maxLength: number }): TString {
  return Type.String({ minLength: 1, ...options, pattern: SINGLE_LINE_PATTERN });
}

/** A statement: text with line breaks and tabs, otherwise as SingleLineText. */
export function MultiLineText(options: TStringOptions & { maxLength: number }): TString {
  return Type.String({ minLength: 1, ...options, pattern: MULTI_LINE_PATTERN });
}

export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String(),
        message: Type.String(),
        request_id: Type.String(),
        cause: Type.Optional(Type.String({ description: 'Why, for `agreement_not_in_effect`.' })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'ErrorResponse', additionalProperties: false },
);

const LIST_FIELDS: ReadonlySet<ObjectField> = new Set(['work', 'education', 'events', 'likes', 'photos']);

function valueSchema(field: ObjectField): TSchema {
  return LIST_FIELDS.has(field) ? Type.Array(Type.String()) : Type.String();
}

const reason = Type.Union(FIELD_REASONS.map((code) => Type.Literal(code)));

const withheld = Type.Object(
  Object.fromEntries(OBJECT_FIELDS.map((field) => [field, Type.Optional(reason)])),
  { additionalProperties: false, description: 'Fields asked for but not released, each with the rule that withheld it.' },
);

export const MemberObject: TObject = Type.Object(
  {
    id: Type.String(),
    ...Object.fromEntries(OBJECT_FIELDS.filter((f) => f !== 'id').map((field) => [field, Type.Optional(valueSchema(field))])),
    withheld,
  },
  { $id: 'MemberObject', additionalProperties: false },
);

export const FriendsPage = Type.Object(
  {
    data: Type.Array(Type.Ref('MemberObject')),
    paging: Type.Object(
      { after: Type.Optional(Type.String({ description: 'Opaque cursor of the next page; absent on the last page.' })) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** The field catalog as `fields` takes it: each name with its class (PRODUCT.md §3). */
const FIELDS_DESCRIPTION = 'Comma-separated field names; default `id,name`. An unknown name is 400 `unknown_field`. The catalog: '
  + FIELDS.filter((field) => field !== 'friends').map((field) => `\`${field}\` (${FIELD_CLASS[field]})`).join(', ')
  + '. Sensitive fields about a friend never leave; `friends` is not a field but the permission to read the friend list.';

export const FieldsQuery = Type.Object(
  {
    fields: Type.Optional(Type.String({ maxLength: 1000, description: FIELDS_DESCRIPTION })),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    fields: Type.Optional(Type.String({ maxLength: 1000, description: FIELDS_DESCRIPTION })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
    after: Type.Optional(Type.String({ maxLength: 500, description: 'The `paging.after` cursor of the previous page.' })),
  },
  { additionalProperties: false },
);

export const MemberIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const ERROR_RESPONSES = {
  400: Type.Ref('ErrorResponse'),
  401: Type.Ref('ErrorResponse'),
  403: Type.Ref('ErrorResponse'),
  404: Type.Ref('ErrorResponse'),
} as const;
