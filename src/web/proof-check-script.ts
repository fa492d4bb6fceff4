import { pageScript } from './page-layout.js';

/**
 * The access history's one script: it checks, in the member's browser and with WebCrypto only,
 * each shown entry's inclusion proof against the signed tree head the page carries (RFC 9162
 * §2.1.3.2: the leaf hash SHA-256(0x00 || entry), the audit path up to the root), and the head's
 * Ed25519 signature over its 70-byte signing input (README, "Verifying a tree head"), then writes
 * "verified" or "failed" in each row. The page works without it: the rows then say "not checked"
 * and the page explains how to check the export offline.
 *
 * It mirrors web/src/audit-proof.ts (the staff console's check; web/ is built apart by Vite and
 * cannot be imported here) and is served as a static file whose SHA-256 the page's
 * Content-Security-Policy names, so no other script can run on the page. Plain ES2020, no imports:
 * what is written here is what the browser runs.
 */
const SOURCE = `'use strict';
(function () {
  var bytes = function (base64) { return Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); }); };

  async function sha256() {
    var parts = Array.prototype.slice.call(arguments);
    var joined = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
    var at = 0;
    parts.forEach(function (part) { joined.set(part, at); at += part.length; });
    return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
  }

  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // RFC 9162 2.1.3.2: the root an audit path leads to from a leaf, or null when it does not fit the size.
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) return null;
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(Uint8Array.of(1), path[i], r);
        if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256(Uint8Array.of(1), r, path[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  function signingInput(head) {
    var input = new Uint8Array(70);
    input.set(new TextEncoder().encode('datapact-tree-head-v1\\n'), 0);
    var view = new DataView(input.buffer);
    view.setBigUint64(22, BigInt(head.size));
    view.setBigUint64(30, BigInt(Date.parse(head.timestamp)));
    input.set(head.root, 38);
    return input;
  }

  async function headSigned(head) {
    try {
      var key = await crypto.subtle.importKey('spki', head.publicKey, { name: 'Ed25519' }, false, ['verify']);
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, head.signature, signingInput(head));
    } catch (error) {
      return false;
    }
  }

  async function included(row, head) {
    var data = row.dataset;
    var leaf = bytes(data.leafHash);
    // A direct entry comes with its bytes: the leaf hash is recomputed from them, not taken on trust.
    if (data.entry && !same(await sha256(Uint8Array.of(0), bytes(data.entry)), leaf)) return false;
    var path = data.auditPath ? data.auditPath.split(' ').map(bytes) : [];
    var root = await rootFromPath(Number(data.leafIndex), head.size, leaf, path);
    return root !== null && same(root, head.root);
  }

  function show(element, ok, text) {
    element.textContent = text;
    element.className = ok ? 'verified' : 'failed';
  }

  async function main() {
    var headElement = document.getElementById('tree-head');
    if (headElement === null) return;
    var d = headElement.dataset;
    var head = {
      size: Number(d.treeSize), root: bytes(d.rootHash), timestamp: d.timestamp,
      signature: bytes(d.signature), publicKey: bytes(d.publicKey),
    };
    var signed = await headSigned(head);
    show(document.getElementById('head-status'), signed, signed
      ? 'Checked in your browser: the tree head is signed by the log\\u2019s key.'
      : 'Checked in your browser: the tree head\\u2019s signature is NOT valid.');
    var rows = document.querySelectorAll('tr[data-leaf-index]');
    for (var i = 0; i < rows.length; i++) {
      var ok = false;
      try { ok = signed && await included(rows[i], head); } catch (error) { ok = false; }
      show(rows[i].querySelector('[data-proof-status]'), ok, ok ? 'verified' : 'failed');
    }
  }

  main();
})();
`;

export const PROOF_CHECK_SCRIPT = pageScript('/privacy/history-proofs.js', SOURCE);
