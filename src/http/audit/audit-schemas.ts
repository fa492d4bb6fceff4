import { Type, type Static } from 'typebox';
import type { StoredTreeHead } from '../../store/audit-repository.js';
import { treeHeadToJson } from '../../audit/tree-head.js';

const Base64Hash = Type.String({ description: 'A SHA-256 hash, standard base64 (RFC 4648 §4).' });
const Size = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const TreeHeadView = Type.Object({
  tree_size: Size,
  root_hash: Base64Hash,
  timestamp: Type.String({ format: 'date-time', description: 'When it was signed: ISO 8601 UTC with milliseconds.' }),
  signature: Type.String({ description: 'Ed25519 over the 70-byte signing input (README, "Verifying the audit log"), base64.' }),
  key_id: Type.String({ description: 'Lowercase hex SHA-256 of the public key (DER SubjectPublicKeyInfo).' }),
}, { additionalProperties: false });
export type TreeHeadView = Static<typeof TreeHeadView>;

export function treeHeadView(head: StoredTreeHead): TreeHeadView {
  return { ...treeHeadToJson(head), key_id: head.keyId };
}

/** For the endpoints without parameters: a client asking for, say, `tree-head?tree_size=3` must not get another size in silence. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** The proof endpoints' numeric query parameters (ConsistencyQuery, InclusionQuery). */
export const ConsistencyQuery = Type.Object({
  from: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The older tree size.' }),
  to: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The newer tree size, at most the latest signed head\'s.' }),
}, { additionalProperties: false });

export const ConsistencyView = Type.Object({
  from: Size,
  to: Size,
  proof: Type.Array(Base64Hash, { description: 'RFC 9162 §2.1.4 PROOF(from, D[0:to]); empty when from is 0 or equals to.' }),
}, { additionalProperties: false });

export const InclusionQuery = Type.Object({
  leaf_index: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The entry\'s leaf index (its sequence number minus one).' }),
  tree_size: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Default: the latest signed head\'s.' })),
}, { additionalProperties: false });

export const InclusionView = Type.Object({
  leaf_index: Size,
  tree_size: Size,
  leaf_hash: Base64Hash,
  audit_path: Type.Array(Base64Hash, { description: 'RFC 9162 §2.1.3 PATH(leaf_index, D[0:tree_size]), lowest sibling first.' }),
}, { additionalProperties: false });

export function base64(hashes: readonly Buffer[]): string[] {
  return hashes.map((h) => h.toString('base64'));
}
