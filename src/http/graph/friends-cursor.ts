import { InvalidCursor } from '../../domain/errors.js';

/**
 * The opaque `after` cursor of a friend list: the last friend id of the page, bound to the list's
 * owner so that a cursor of one member's list is refused on another's.
 */
interface CursorPosition {
  readonly owner: string;
  readonly after: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ o: position.owner, a: position.after })).toString('base64url');
}

export function decodeCursor(cursor: string, owner: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursor();
  const { o, a } = parsed as Record<string, unknown>;
  if (typeof o !== 'string' || typeof a !== 'string' || o !== owner) throw new InvalidCursor();
  return { owner: o, after: a };
}
