import { toHex } from '../bytes/util.js';

/** Where a datagram came from. */
export interface PeerAddress {
  address: string;
  port: number;
  family?: 'IPv4' | 'IPv6';
}

export function peerKey(p: PeerAddress): string {
  return `${p.address}|${p.port}`;
}

/**
 * The server's peer-identity -> key lookup (DESIGN.md): called only after the cookie
 * verified, may answer synchronously or with a promise (a database, a bootstrap store).
 * `undefined` means "unknown identity"; the handshake then fails exactly like a wrong key.
 */
export type PskLookup = (identity: Uint8Array, peer: PeerAddress) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/** A plain map of identity -> key as a lookup. Identities are compared as bytes. */
export function pskMap(entries: Iterable<[Uint8Array | string, Uint8Array]>): PskLookup {
  const m = new Map<string, Uint8Array>();
  for (const [id, key] of entries) m.set(typeof id === 'string' ? toHex(new TextEncoder().encode(id)) : toHex(id), key);
  return (identity) => m.get(toHex(identity));
}
