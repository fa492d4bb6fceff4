import type { StoredAuditEntry } from '../store/audit-rows.js';
import type { AuditEntry } from './audit-entry.js';
import type { AuditBlinding } from './blinding.js';
import { encodeBlindedEntryText } from './canonical-entry-v2.js';
import { encodeEntryText } from './canonical-entry.js';
import { leafHashOfText } from './merkle-hash.js';

/** An entry at its place in the log: stored ones know their form; one being appended is blinded. */
type PlacedEntry = AuditEntry & { readonly format?: 1 | 2 };

export class MissingBlindingKeyError extends Error {
  override readonly name = 'MissingBlindingKeyError';
  constructor() {
    super('blinded audit entries need the blinding key (secrets/audit-blinding.key in the data directory) to be hashed');
  }
}

/**
 * The canonical text of the entry at `leafIndex`: the legacy form for entries written before issue
 * 11, else the blinded form with that index's blinding.
 */
export function canonicalTextAt(entry: PlacedEntry, leafIndex: number, blinding: AuditBlinding | undefined): string {
  if (entry.format === 1) return encodeEntryText(entry);
  if (blinding === undefined) throw new MissingBlindingKeyError();
  return encodeBlindedEntryText(entry, blinding.blind(leafIndex));
}

/** The leaf hash of the entry at `leafIndex`, always recomputed from its content. */
export function leafHashAt(entry: PlacedEntry, leafIndex: number, blinding: AuditBlinding | undefined): Buffer {
  return leafHashOfText(canonicalTextAt(entry, leafIndex, blinding));
}

/** A stored entry's leaf hash (its leaf index is seq - 1). */
export function storedLeafHash(entry: StoredAuditEntry, blinding: AuditBlinding | undefined): Buffer {
  return leafHashAt(entry, entry.seq - 1, blinding);
}
