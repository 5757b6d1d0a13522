import { latin1 } from '../bytes/util.js';
import { MAX_PSK_IDENTITY, MAX_PSK_KEY } from './config.js';
import { bytesOption } from './option-checks.js';
import type { Certificate } from '../x509/certificate.js';
import { NO_CLOCK, type Clock, type VerifiedChain } from '../x509/verify.js';
import { DtlsError } from './errors.js';

/** Where a datagram came from. */
export interface PeerAddress {
  address: string;
  port: number;
  /** Optional; the Node drivers leave it out (a session keeps its peer object: 8 bytes each). An IPv6 address has a colon. */
  family?: 'IPv4' | 'IPv6';
}

export function peerKey(p: PeerAddress): string {
  return `${p.address}|${p.port}`;
}

export type MaybePromise<T> = T | Promise<T>;

/**
 * The authenticated identity of the peer, exposed on every session for the layers above to
 * authorize: the PSK identity, the raw public key (with its SHA-256 fingerprint and the name
 * the key store gave it), or the certificate subject.
 */
export type PeerIdentity =
  | { kind: 'psk'; identity: Uint8Array }
  | { kind: 'rpk'; spki: Uint8Array; fingerprint: string; name: string | undefined }
  | { kind: 'x509'; subject: string; fingerprint: string; name: string | undefined }
  /** A server that did not ask for (or did not get) a client certificate. */
  | { kind: 'anonymous' };

/**
 * The server's peer-identity -> key lookup (DESIGN.md): called only after the cookie
 * verified, may answer synchronously or with a promise (a database, a bootstrap store).
 * `undefined` means "unknown identity"; the handshake then fails exactly like a wrong key.
 */
export type PskLookup = (identity: Uint8Array, peer: PeerAddress) => MaybePromise<Uint8Array | undefined>;

/**
 * One key store for every credential. Each entry is optional; a store without one refuses
 * that kind of credential. Every callback may be asynchronous and is consulted only after
 * the cookie exchange.
 */
export interface KeyStore {
  /** PSK identity -> key (undefined: unknown). */
  psk?: PskLookup;
  /**
   * Raw public key (DER SubjectPublicKeyInfo, RFC 7250) -> the peer's name if trusted,
   * `true` if trusted without a name, undefined/false if not.
   */
  rawPublicKey?: (spki: Uint8Array, peer: PeerAddress) => MaybePromise<string | boolean | undefined>;
  /** X.509: chains are validated to these anchors; `authorize` may refuse or name the peer. */
  x509?: {
    /** Trust anchors, parsed once (parseCertificates). */
    anchors: readonly Certificate[];
    /**
     * Validity clock: a function returning the current time, or 'none' for a device without a
     * clock (validity periods are then not checked). Required: the engine never reads the wall
     * clock. The Node drivers (createServer, connect) fill in the system clock when it is missing.
     */
    clock?: Clock;
    authorize?: (chain: VerifiedChain, peer: PeerAddress) => MaybePromise<string | boolean | undefined>;
  };
}

/** A plain map of identity -> key as a lookup. Identities are compared as bytes. */
export function pskMap(entries: Iterable<[Uint8Array | string, Uint8Array]>): PskLookup {
  const m = new Map<string, Uint8Array>();
  let i = 0;
  for (const [id, key] of entries) {
    const identity = bytesOption(`pskMap entry ${i} identity`, id, { text: true, max: MAX_PSK_IDENTITY });
    m.set(latin1(identity), bytesOption(`pskMap entry ${i} key`, key, { min: 1, max: MAX_PSK_KEY }));
    i++;
  }
  // keyed by one char per byte: one string per lookup (one lookup a handshake), no hex array
  return (identity) => m.get(latin1(identity));
}

/**
 * In-memory key store: PSKs, trusted raw public keys (DER SPKI -> name) and trust anchors.
 * Anchors need a clock (or 'none'): INVALID_ARGUMENT otherwise.
 */
export function memoryKeyStore(o: {
  psk?: Iterable<[Uint8Array | string, Uint8Array]>;
  rawPublicKeys?: Iterable<[Uint8Array, string]>;
  anchors?: readonly Certificate[];
  clock?: Clock;
}): KeyStore {
  if (o.anchors && o.clock === undefined) throw missingClock();
  const store: KeyStore = {};
  if (o.psk) store.psk = pskMap(o.psk);
  if (o.rawPublicKeys) {
    const keys = new Map<string, string>();
    for (const [spki, name] of o.rawPublicKeys) keys.set(latin1(spki), name);
    store.rawPublicKey = (spki) => keys.get(latin1(spki));
  }
  if (o.anchors && o.clock !== undefined) store.x509 = { anchors: o.anchors, clock: o.clock };
  return store;
}

/** The error for X.509 trust anchors without a clock. */
export function missingClock(): DtlsError {
  return new DtlsError('INVALID_ARGUMENT', `trust anchors without a clock: ${NO_CLOCK}`);
}
