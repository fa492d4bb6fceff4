import { InvalidCursor } from '../domain/errors.js';

/**
 * An opaque `after` cursor: a position in a member's list (the last friend id of a page, the last
 * audit sequence number of an access-history page), bound to that member so that a cursor of one
 * member's list is refused on another's.
 */
export type CursorPosition = string | number;

export function encodeCursor(owner: string, after: CursorPosition): string {
  return Buffer.from(JSON.stringify({ o: owner, a: after })).toString('base64url');
}

/** The position, when the cursor is well formed, belongs to `owner` and holds a position of `kind`. */
export function decodeCursor(cursor: string, owner: string, kind: 'string'): string;
export function decodeCursor(cursor: string, owner: string, kind: 'sequence'): number;
export function decodeCursor(cursor: string, owner: string, kind: 'string' | 'sequence'): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursor();
  const { o, a } = parsed as Record<string, unknown>;
  if (o !== owner) throw new InvalidCursor();
  if (kind === 'string' && typeof a === 'string') return a;
  if (kind === 'sequence' && typeof a === 'number' && Number.isSafeInteger(a) && a >= 1) return a;
  throw new InvalidCursor();
}
