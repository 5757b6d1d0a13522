import { resolveConfig, type ConnectionConfig, type ConnectionOptions } from './config.js';
import { DtlsError } from './errors.js';
import type { KeyStore, PskLookup } from './keystore.js';
import { SessionCache, type SessionCacheOptions } from './session-cache.js';
import { TicketSealer, type TicketOptions } from './session-ticket.js';
import type { SessionStore } from './session-store.js';
import { CertificateType } from './wire/ec-extensions.js';

export interface EndpointOptions extends Omit<ConnectionOptions, 'psk' | 'acceptPeerCertificateTypes' | 'connectionId' | 'sessionTickets' | 'resume'> {
  /** Identity -> key; sync or async (a shorthand for `keyStore.psk`). */
  psk?: PskLookup;
  /** Every credential: PSKs, trusted raw public keys, X.509 trust anchors. */
  keyStore?: KeyStore;
  /** Established sessions at most (a new client beyond it is refused: `handshake-refused`). */
  maxSessions?: number;
  /** Handshakes in progress at most; when full, the one whose peer is silent longest makes room. */
  maxHandshakes?: number;
  /** Handshakes in progress from one IP address at most (the same rule within the address). */
  maxHandshakesPerAddress?: number;
  /** A handshake not finished after this long is dropped (ms). */
  handshakeTimeoutMs?: number;
  /** A key store lookup not answered after this long ends its handshake like a failed one (ms). */
  keyLookupTimeoutMs?: number;
  /** Cookie secret rotation period (ms). */
  cookieRotationMs?: number;
  /**
   * RFC 9146 Connection ID: offered to clients that ask, with a CID of this many bytes (random,
   * unique among the sessions), or `{ length, prefix }` to begin each CID with `prefix` (a worker
   * or node number, for a load balancer). Sessions are then found by CID first, whatever
   * address their records come from.
   */
  connectionId?: number | { length: number; prefix?: Uint8Array };
  /**
   * Session resumption by session ID (RFC 5246 §7.3): a bounded cache of established sessions,
   * offered a 32-byte session_id in every full ServerHello. Default on (1,024 sessions, 24 h);
   * false turns it off.
   */
  sessionCache?: boolean | SessionCacheOptions;
  /**
   * RFC 5077 session tickets, for clients that ask: the session sealed under a rotating key
   * (through the crypto provider), so the server keeps nothing. Default on (24 h); false off.
   * Servers that share tickets (several processes) install the same secret with
   * `endpoint.ticketSecret(secret)`.
   */
  sessionTickets?: boolean | TicketOptions;
  /**
   * Keeps established sessions in a store (memory, Redis: lib/dtls/session-store.ts), so that
   * after a restart, or in another process on the same store, a client's next record (by CID, or
   * from the same address) continues its session without a handshake. Sequence numbers are
   * leased from the store, so no nonce is ever used twice. Several processes may share a store:
   * every write is a compare-and-set, so when another process took a session over, this one's
   * copy ends at its next save, silently (a `failed` event with TAKEN_OVER,
   * `stats.sessionsTakenOver`), and the session goes on there.
   */
  sessionStore?: SessionStore;
  /** How long a stored session lives without use (ms); default the idle timeout (30 min). */
  sessionStoreTtlMs?: number;
  /** Sequence numbers each save to the store reserves (the nonce lease); default 1024. */
  sessionLeaseStep?: number;
  /**
   * An established session that received no record for this long (ms) and has nothing in
   * flight is kept in compact form (~120 bytes in a shared slab instead of ~3 KB of objects,
   * lib/dtls/hibernation.ts) until its next datagram or call wakes it, exactly where it stopped.
   * Default 30,000; 0 turns it off. Sessions of a `sessionStore` never hibernate.
   */
  hibernateAfterMs?: number;
  /** Called when an asynchronous key lookup resolved: the driver should call handleTimeout(now). */
  wake?: () => void;
}

/** RFC 9146: the CIDs a server hands out, checked: `length` bytes, beginning with `prefix`. */
export interface CidSettings {
  length: number;
  prefix: Uint8Array;
}

/** EndpointOptions checked, with their defaults. */
export interface EndpointSettings {
  /** The connections' configuration, with resumption (cache, tickets) and `exportable` for a store. */
  cfg: ConnectionConfig;
  /** The key store (a copy), with `psk` when given as a shorthand. */
  store: KeyStore;
  cid: CidSettings | undefined;
  sessionStore: { store: SessionStore; ttlMs: number; leaseStep: number } | undefined;
  cookieRotationMs: number;
  maxSessions: number;
  maxHandshakes: number;
  maxHandshakesPerAddress: number;
  handshakeTimeoutMs: number;
  keyLookupTimeoutMs: number;
  /** 0: established sessions never hibernate. */
  hibernateAfterMs: number;
}

/** Checks the options (a wrong one throws INVALID_ARGUMENT naming it) and fills in the defaults. */
export function resolveEndpointOptions(opts: EndpointOptions): EndpointSettings {
  if (typeof opts !== 'object' || opts === null) throw new DtlsError('INVALID_ARGUMENT', 'options must be an object');
  const { psk, keyStore, connectionId: _cid, sessionCache, sessionTickets, sessionStore, sessionStoreTtlMs, sessionLeaseStep, hibernateAfterMs, ...rest } = opts;
  const store = checkKeyStore(keyStore);
  if (psk !== undefined) store.psk = psk;
  if (store.psk !== undefined && typeof store.psk !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'psk must be a lookup function (see pskMap)');
  if (!store.psk && !opts.ecdhe) throw new DtlsError('INVALID_ARGUMENT', 'a server needs a psk lookup or ecdhe credentials');
  const accept: number[] = [];
  if (store.rawPublicKey) accept.push(CertificateType.RawPublicKey);
  if (store.x509) accept.push(CertificateType.X509);
  if (opts.clientAuth && opts.clientAuth !== 'none' && accept.length === 0) {
    throw new DtlsError('INVALID_ARGUMENT', 'client authentication needs keyStore.rawPublicKey or keyStore.x509');
  }
  const cfg = resolveConfig({ idleTimeoutMs: 30 * 60_000, ...rest, acceptPeerCertificateTypes: accept });
  let stored: EndpointSettings['sessionStore'];
  if (sessionStore) {
    cfg.exportable = true;
    const ttlMs = positive('sessionStoreTtlMs', sessionStoreTtlMs ?? (cfg.idleTimeoutMs || 30 * 60_000));
    stored = { store: sessionStore, ttlMs, leaseStep: positive('sessionLeaseStep', sessionLeaseStep ?? 1024) };
  }
  const resumption: NonNullable<ConnectionConfig['resumption']> = {};
  if (sessionCache !== false) resumption.cache = new SessionCache(typeof sessionCache === 'object' ? sessionCache : {});
  if (sessionTickets !== false) resumption.tickets = new TicketSealer(cfg.crypto, typeof sessionTickets === 'object' ? sessionTickets : {});
  cfg.resumption = resumption;
  return {
    cfg,
    store,
    sessionStore: stored,
    cookieRotationMs: positive('cookieRotationMs', opts.cookieRotationMs ?? 300_000),
    maxSessions: positive('maxSessions', opts.maxSessions ?? 10_000),
    maxHandshakes: positive('maxHandshakes', opts.maxHandshakes ?? 1_000),
    maxHandshakesPerAddress: positive('maxHandshakesPerAddress', opts.maxHandshakesPerAddress ?? 64),
    handshakeTimeoutMs: positive('handshakeTimeoutMs', opts.handshakeTimeoutMs ?? 30_000),
    keyLookupTimeoutMs: positive('keyLookupTimeoutMs', opts.keyLookupTimeoutMs ?? 10_000),
    cid: checkCidOption(opts.connectionId),
    hibernateAfterMs: hibernateAfterMs === 0 ? 0 : positive('hibernateAfterMs', hibernateAfterMs ?? 30_000),
  };
}

/** The key store, checked: each entry, when present, of the right kind. */
function checkKeyStore(ks: KeyStore | undefined): KeyStore {
  if (ks === undefined) return {};
  if (typeof ks !== 'object' || ks === null) throw new DtlsError('INVALID_ARGUMENT', 'keyStore must be an object (see memoryKeyStore)');
  if (ks.psk !== undefined && typeof ks.psk !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'keyStore.psk must be a lookup function (see pskMap)');
  if (ks.rawPublicKey !== undefined && typeof ks.rawPublicKey !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'keyStore.rawPublicKey must be a function');
  if (ks.x509 !== undefined && (typeof ks.x509 !== 'object' || !Array.isArray(ks.x509.anchors))) throw new DtlsError('INVALID_ARGUMENT', 'keyStore.x509 must be { anchors, clock, authorize? }');
  // the engine reads no clock: certificate validity needs one given (the Node driver gives the system clock)
  if (ks.x509 !== undefined && ks.x509.clock === undefined) throw new DtlsError('INVALID_ARGUMENT', "keyStore.x509.clock is needed: a clock (() => Date), or 'none' for a device without one");
  return { ...ks };
}

function checkCidOption(o: EndpointOptions['connectionId']): CidSettings | undefined {
  if (o === undefined) return undefined;
  const { length, prefix } = typeof o === 'number' ? { length: o, prefix: new Uint8Array(0) } : { length: o.length, prefix: o.prefix ?? new Uint8Array(0) };
  if (!Number.isInteger(length) || length < 1 || length > 255) throw new DtlsError('INVALID_ARGUMENT', 'connectionId length must be 1..255 (a server needs a CID to find sessions by)');
  if (!(prefix instanceof Uint8Array) || prefix.length > length - 2) throw new DtlsError('INVALID_ARGUMENT', 'connectionId prefix must be bytes, at least 2 shorter than the CID (the rest is random)');
  return { length, prefix };
}

function positive(name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new DtlsError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(v)}`);
  return v;
}
