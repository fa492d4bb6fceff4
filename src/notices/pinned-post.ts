import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { forbiddenAddressKind } from '../domain/partner-urls.js';

/** One address a name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to its addresses (the system resolver by default; tests inject their own). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** The webhook's host is, or resolves to, an address the platform does not call. */
export class AddressRefused extends Error {
  override readonly name = 'AddressRefused';
}

export interface PinnedPost {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly resolve: Resolver;
  /** Development: a receiver on this machine (loopback) may be called. */
  readonly allowLoopback: boolean;
}

/** The address to connect to: every address the host has must be public, else the request is not made. */
async function checkedAddress(url: URL, resolve: Resolver, allowLoopback: boolean): Promise<ResolvedAddress> {
  const bare = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = ipaddr.isValid(bare);
  const addresses = literal ? [{ address: bare, family: ipaddr.parse(bare).kind() === 'ipv6' ? 6 : 4 }] : await resolve(url.hostname);
  if (addresses.length === 0) throw new AddressRefused(`${url.hostname} has no address.`);
  for (const { address } of addresses) {
    const kind = forbiddenAddressKind(address, allowLoopback);
    if (kind !== null) throw new AddressRefused(`refused: ${literal ? `${address} is` : `${url.hostname} resolves to ${address},`} ${kind}.`);
  }
  return addresses[0]!;
}

/**
 * POSTs `body` to `url` and answers the response's status (the body is not read), without following
 * redirects. The host is resolved once and checked (see `forbiddenAddressKind`); the connection then goes
 * to that very address (`lookup` is pinned), so a name that resolves to a public address for the
 * check and to a private one a moment later (DNS rebinding) cannot redirect the request. TLS still
 * checks the certificate against the host name.
 */
export async function postPinned(request: PinnedPost): Promise<number> {
  const url = new URL(request.url);
  const signal = AbortSignal.timeout(request.timeoutMs);
  const pinned = await checkedAddress(url, request.resolve, request.allowLoopback);
  signal.throwIfAborted();
  const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const outgoing = client.request(url, { method: 'POST', headers: request.headers, lookup: pinnedLookup, signal }, (response) => {
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
