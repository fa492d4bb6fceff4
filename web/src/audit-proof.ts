/**
 * Checks an audit entry's inclusion in the log in the browser, with WebCrypto only: the leaf hash
 * of its canonical bytes (RFC 9162: SHA-256(0x00 || entry)), the audit path up to the root of a
 * signed tree head (RFC 9162 §2.1.3.2), and the head's Ed25519 signature over its 70-byte input
 * (README, "Verifying a tree head") under the log's published key. Nothing here trusts the server's
 * word that it checked.
 */

export interface Head { tree_size: number; root_hash: string; timestamp: string; signature: string }
export interface Inclusion { leaf_index: number; tree_size: number; leaf_hash: string; audit_path: string[]; canonical_entry: string }

const bytes = (base64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) { joined.set(part, at); at += part.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The root an audit path leads to from a leaf, or null when the path does not fit the tree's size. */
async function rootFromPath(index: number, size: number, leaf: Uint8Array, path: Uint8Array[]): Promise<Uint8Array | null> {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

function signingInput(head: Head): Uint8Array<ArrayBuffer> {
  const input = new Uint8Array(70);
  input.set(new TextEncoder().encode('datapact-tree-head-v1\n'), 0);
  const view = new DataView(input.buffer);
  view.setBigUint64(22, BigInt(head.tree_size));
  view.setBigUint64(30, BigInt(Date.parse(head.timestamp)));
  input.set(bytes(head.root_hash), 38);
  return input;
}

export interface ProofCheck { leafMatches: boolean; pathLeadsToRoot: boolean; signatureValid: boolean }

export async function checkInclusion(inclusion: Inclusion, head: Head, publicKeyPem: string): Promise<ProofCheck> {
  const leaf = await sha256(Uint8Array.of(0), bytes(inclusion.canonical_entry));
  const leafMatches = same(leaf, bytes(inclusion.leaf_hash));
  const root = await rootFromPath(inclusion.leaf_index, inclusion.tree_size, leaf, inclusion.audit_path.map(bytes));
  const pathLeadsToRoot = inclusion.tree_size === head.tree_size && root !== null && same(root, bytes(head.root_hash));
  const der = bytes(publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''));
  const key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
  const signatureValid = await crypto.subtle.verify({ name: 'Ed25519' }, key, bytes(head.signature), signingInput(head));
  return { leafMatches, pathLeadsToRoot, signatureValid };
}
