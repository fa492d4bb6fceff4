import { UnknownField } from '../../domain/errors.js';
import { isField, maskOf, type Field, type FieldMask } from '../../domain/field-catalog.js';

const DEFAULT_FIELDS: readonly Field[] = ['id', 'name'];

/** Parses `fields=a,b,c` into a mask; an unknown name, or the `friends` edge, is a 400. */
export function requestedFields(param: string | undefined): FieldMask {
  if (param === undefined) return maskOf(DEFAULT_FIELDS);
  const fields: Field[] = [];
  for (const raw of param.split(',')) {
    const name = raw.trim();
    if (!isField(name)) {
      throw new UnknownField(`Unknown field '${name}'. Fields are the names of the field catalog, comma-separated.`);
    }
    if (name === 'friends') {
      throw new UnknownField("'friends' is not a field of a member object: read the friend list at /v1/me/friends.");
    }
    fields.push(name);
  }
  return maskOf(fields);
}
