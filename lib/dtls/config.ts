import type { CryptoProvider, P256PrivateKey, P256PublicKey } from '../crypto/provider.js';
import { CipherSuite } from './wire/constants.js';
import { defaultCrypto } from '../crypto/default.js';
import { DtlsError } from './errors.js';
import { arrayOf, booleanOption, bytesOption, functionOption, integerOption, oneOf, stringOption } from './option-checks.js';
import { CertificateType } from './wire/ec-extensions.js';
import { decodeClientResumption, type ClientResumption } from './resumption.js';
import type { SessionCache } from './session-cache.js';
import type { SessionSlab } from './session-slab.js';
import type { TicketSealer } from './session-ticket.js';

/** RFC 6347 §4.2.4 retransmission timer settings. */
export interface RetransmissionConfig {
  /** First timeout, ms. */
  initialMs: number;
  /** The timeout doubles after each expiry up to this cap, ms. */
  maxMs: number;
  /** Retransmissions of one flight before the handshake fails with HANDSHAKE_TIMEOUT. */
  maxRetransmits: number;
  /**
   * Client: when its last flight (…ChangeCipherSpec, Finished) is still unanswered after this
   * many retransmissions, it starts over once with a fresh ClientHello instead of waiting out
   * the rest (a server that lost our Finished, or never re-sends its own, as tinydtls does).
   * 0: never.
   */
  restartAfter: number;
}

/** Presets: RFC 6347 §4.2.4.1 (1 s initial) and the RFC 7925 §11 constrained profile (9 s initial). */
export const RETRANSMISSION_PRESETS = {
  rfc6347: { initialMs: 1000, maxMs: 60_000, maxRetransmits: 6, restartAfter: 2 },
  rfc7925: { initialMs: 9000, maxMs: 60_000, maxRetransmits: 4, restartAfter: 2 },
} as const satisfies Record<string, RetransmissionConfig>;

/** A PSK as the client presents it. */
export interface ClientPsk {
  /** The identity: bytes, or text (sent as UTF-8). At most 128 bytes. */
  identity: Uint8Array | string;
  /** The key: bytes (1..64), never text: decode a hex key first (fromHex). */
  key: Uint8Array;
}

/** The client's PSK: fixed, or chosen from the server's identity hint. */
export type ClientPskOption = ClientPsk | ((hint: Uint8Array | undefined) => ClientPsk | undefined);

/** A PSK after checking: bytes both. */
export interface CheckedPsk {
  identity: Uint8Array;
  key: Uint8Array;
}

/** Our own credentials for TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8. */
export interface OwnEcdheCredentials {
  key: P256PrivateKey;
  /** X.509 chain, leaf first (DER); without it only a raw public key can be presented. */
  certificateChain?: Uint8Array[];
  /** Whether we may present the key as an RFC 7250 raw public key. */
  rawPublicKey: boolean;
}

export type ClientAuth = 'none' | 'optional' | 'required';

export interface ConnectionConfig {
  crypto: CryptoProvider;
  /** Cipher suites, in order of preference (the server's order decides). */
  suites: number[];
  /** Own ECDHE credentials (required to offer or choose the ECDHE suite). */
  ecdhe?: OwnEcdheCredentials;
  /** Certificate types we accept from the peer, in order of preference (RFC 7250 values). */
  acceptPeerCertificateTypes: number[];
  /** Server: whether to send CertificateRequest and whether a certificate is required. */
  clientAuth: ClientAuth;
  /** Parsed peer public keys by SPKI hex (parsing costs more than a verify). Shared per endpoint. */
  publicKeyCache: Map<string, P256PublicKey>;
  retransmission: RetransmissionConfig;
  /** Largest datagram we send (UDP payload bytes). */
  mtu: number;
  /** Offer and require extended_master_secret (RFC 7627). Offered always; required when true. */
  requireExtendedMasterSecret: boolean;
  /** Cap on bytes buffered for handshake reassembly per handshake. */
  maxHandshakeBytes: number;
  /** Records of a future epoch held until its keys are active. */
  maxEarlyRecords: number;
  /**
   * Largest record plaintext we accept, announced with record_size_limit (RFC 8449) when below
   * 2^14; a small device sets it (e.g. 256) to live with small buffers.
   */
  recordSizeLimit: number;
  /** Client: also offer max_fragment_length (RFC 6066; 512, 1024, 2048 or 4096) for peers without RFC 8449. */
  maxFragmentLength?: 512 | 1024 | 2048 | 4096;
  /** Fail an established connection with no traffic from the peer for this long; 0 disables. */
  idleTimeoutMs: number;
  /** Largest PSK identity accepted or sent. */
  maxIdentityLength: number;
  /** Client: the PSK, checked (a function's answer is checked when it is called). */
  psk?: CheckedPsk | ((hint: Uint8Array | undefined) => CheckedPsk | undefined);
  /** Client, X.509: the DNS name or IP address the server certificate must carry. */
  serverName?: string;
  /** Server: the PSK identity hint sent in ServerKeyExchange (omitted when undefined). */
  pskHint?: Uint8Array;
  /** Opt-in NSS key log (`CLIENT_RANDOM <random> <master secret>`), for Wireshark. */
  keyLog?: (line: string) => void;
  /**
   * RFC 9146 Connection ID, client: the CID to ask the server to put in its records (empty: we
   * will send one when asked, but need none). Undefined: not offered. (A server's CID is chosen
   * per connection by its endpoint.)
   */
  connectionId?: Uint8Array;
  /** RFC 9146 §4: pad each tls12_cid record's DTLSInnerPlaintext to a multiple of this (0: none). */
  cidPadding: number;
  /** Client: a session to resume (RFC 5246 §7.3, RFC 5077), offered when it may be. */
  resume?: ClientResumption;
  /** Client: ask the server for a session ticket (RFC 5077 §3.2). */
  sessionTickets: boolean;
  /** Server: the session cache and ticket sealer its endpoint shares between connections. */
  resumption?: { cache?: SessionCache; tickets?: TicketSealer };
  /** Milliseconds since the epoch, for lifetimes that outlive a process (resumption, tickets); the driver gives it. */
  wallClock?: () => number;
  /** Keep what a session store's snapshot needs (the master secret) once connected. */
  exportable?: boolean;
  /**
   * Server: where idle established connections hibernate (the endpoint's slab, shared by its
   * sessions), and after how long; the endpoint sets it. Undefined: they never do. Here rather
   * than on each connection: a field of a connection costs every idle session 8 bytes.
   */
  hibernation?: Hibernation;
}

/** Where connections hibernate (the endpoint's), and after how long idle. */
export interface Hibernation {
  readonly slab: SessionSlab;
  /** Milliseconds without a record from the peer after which an established connection hibernates. */
  readonly afterMs: number;
}

export const MAX_PSK_IDENTITY = 128;
export const MAX_PSK_KEY = 64;

/** IPv6 minimum MTU (1280) less the IPv6 and UDP headers. Every PSK flight fits unfragmented. */
export const DEFAULT_MTU = 1232;

export type RetransmissionOption = keyof typeof RETRANSMISSION_PRESETS | Partial<RetransmissionConfig>;

export interface ConnectionOptions {
  crypto?: CryptoProvider;
  suites?: number[];
  ecdhe?: OwnEcdheCredentials;
  acceptPeerCertificateTypes?: number[];
  clientAuth?: ClientAuth;
  publicKeyCache?: Map<string, P256PublicKey>;
  retransmission?: RetransmissionOption;
  mtu?: number;
  requireExtendedMasterSecret?: boolean;
  maxHandshakeBytes?: number;
  maxEarlyRecords?: number;
  recordSizeLimit?: number;
  maxFragmentLength?: 512 | 1024 | 2048 | 4096;
  idleTimeoutMs?: number;
  psk?: ClientPskOption;
  /** Server: the PSK identity hint (bytes or UTF-8 text). */
  pskHint?: Uint8Array | string;
  serverName?: string;
  keyLog?: (line: string) => void;
  /**
   * Client, RFC 9146 Connection ID: `true` to offer it (asking for no CID in the server's
   * records: the client keeps its socket), a length to ask for a random CID of that many bytes,
   * or the CID itself. The server answers with the CID it wants in ours, and uses it to find the
   * session whatever address our records come from (a NAT rebinding). Servers: see the
   * endpoint's `connectionId`.
   */
  connectionId?: boolean | number | Uint8Array;
  /** RFC 9146 §4: pad the DTLSInnerPlaintext of tls12_cid records to a multiple of this many bytes (0: none). */
  cidPadding?: number;
  /**
   * Client: resume this session with an abbreviated handshake (RFC 5246 §7.3): what a previous
   * connection's `resumption` gave (the blob, or decoded). Holds a secret: store it like a key.
   * If the server does not take it, a full handshake follows.
   */
  resume?: Uint8Array | ClientResumption;
  /** Client: ask for an RFC 5077 session ticket (default false: resumption by session ID). */
  sessionTickets?: boolean;
  /**
   * A wall clock (milliseconds since the epoch) for lifetimes that outlive a process: resumable
   * sessions and tickets. The engine never reads one itself; the Node driver gives Date.now.
   * Without one, the connection's own clock is used.
   */
  wallClock?: () => number;
}

export function resolveRetransmission(opt: RetransmissionOption | undefined): RetransmissionConfig {
  if (opt === undefined) return { ...RETRANSMISSION_PRESETS.rfc6347 };
  if (typeof opt === 'string') {
    const p = RETRANSMISSION_PRESETS[opt];
    if (!p) throw new DtlsError('INVALID_ARGUMENT', `unknown retransmission preset ${String(opt)}`);
    return { ...p };
  }
  if (typeof opt !== 'object' || opt === null) throw new DtlsError('INVALID_ARGUMENT', `retransmission must be 'rfc6347', 'rfc7925' or { initialMs, maxMs, maxRetransmits }`);
  const r = { ...RETRANSMISSION_PRESETS.rfc6347, ...opt };
  integerOption('retransmission.initialMs', r.initialMs, 1, 3_600_000);
  integerOption('retransmission.maxMs', r.maxMs, r.initialMs, 3_600_000);
  integerOption('retransmission.maxRetransmits', r.maxRetransmits, 0, 100);
  integerOption('retransmission.restartAfter', r.restartAfter, 0, 100);
  return r;
}

function decodeResumeOption(b: Uint8Array): ClientResumption {
  try {
    return decodeClientResumption(b);
  } catch (e) {
    throw new DtlsError('INVALID_ARGUMENT', `resume: not a resumption blob (${e instanceof Error ? e.message : String(e)})`);
  }
}

const SUITES = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] as const;

/** A client PSK checked: the identity bytes or text (UTF-8), the key bytes. */
export function checkClientPsk(p: unknown, name = 'psk'): CheckedPsk {
  if (typeof p !== 'object' || p === null) throw new DtlsError('INVALID_ARGUMENT', `${name} must be { identity, key }`);
  const o = p as { identity?: unknown; key?: unknown };
  return {
    identity: bytesOption(`${name}.identity`, o.identity, { text: true, max: MAX_PSK_IDENTITY }),
    key: bytesOption(`${name}.key`, o.key, { min: 1, max: MAX_PSK_KEY }),
  };
}

function checkPskOption(o: ClientPskOption): CheckedPsk | ((hint: Uint8Array | undefined) => CheckedPsk | undefined) {
  if (typeof o !== 'function') return checkClientPsk(o);
  return (hint) => {
    const p = o(hint);
    return p === undefined ? undefined : checkClientPsk(p, 'the psk function\'s answer');
  };
}

/** The configuration from the options, every one checked (a typed INVALID_ARGUMENT naming it otherwise). */
export function resolveConfig(o: ConnectionOptions = {}): ConnectionConfig {
  if (typeof o !== 'object' || o === null) throw new DtlsError('INVALID_ARGUMENT', 'options must be an object');
  const opt = <T>(v: T | undefined, dflt: T, check: (name: string, v: unknown) => T, name: string): T => (v === undefined ? dflt : check(name, v));
  const int = (min: number, max: number) => (name: string, v: unknown) => integerOption(name, v, min, max);
  const crypto = o.crypto ?? defaultCrypto();
  if (typeof crypto !== 'object' || crypto === null || typeof crypto.ccm8Encrypt !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'crypto must be a CryptoProvider (see coaps/crypto)');
  const cfg: ConnectionConfig = {
    crypto,
    // Default preference: ECDHE (forward secrecy) first. Each side still needs the
    // credentials for a suite before it offers or chooses it (handshake/negotiation.ts).
    suites: opt(o.suites, [...SUITES], (n, v) => arrayOf(n, v, (m, x) => oneOf(m, x, SUITES)), 'suites'),
    acceptPeerCertificateTypes: opt(o.acceptPeerCertificateTypes, [], (n, v) => arrayOf(n, v, (m, x) => oneOf(m, x, [CertificateType.X509, CertificateType.RawPublicKey])), 'acceptPeerCertificateTypes'),
    clientAuth: opt(o.clientAuth, 'none', (n, v) => oneOf(n, v, ['none', 'optional', 'required'] as const), 'clientAuth'),
    publicKeyCache: o.publicKeyCache ?? new Map(),
    retransmission: resolveRetransmission(o.retransmission),
    mtu: opt(o.mtu, DEFAULT_MTU, int(64, 65507), 'mtu'),
    requireExtendedMasterSecret: opt(o.requireExtendedMasterSecret, false, booleanOption, 'requireExtendedMasterSecret'),
    maxHandshakeBytes: opt(o.maxHandshakeBytes, 16 * 1024, int(1024, 1 << 20), 'maxHandshakeBytes'),
    maxEarlyRecords: opt(o.maxEarlyRecords, 8, int(0, 1024), 'maxEarlyRecords'),
    // RFC 8449 §4: 64..2^14
    recordSizeLimit: opt(o.recordSizeLimit, 16384, int(64, 16384), 'recordSizeLimit'),
    idleTimeoutMs: opt(o.idleTimeoutMs, 0, int(0, 2 ** 31 - 1), 'idleTimeoutMs'),
    maxIdentityLength: MAX_PSK_IDENTITY,
    cidPadding: opt(o.cidPadding, 0, int(0, 256), 'cidPadding'),
    sessionTickets: opt(o.sessionTickets, false, booleanOption, 'sessionTickets'),
  };
  if (o.wallClock !== undefined) cfg.wallClock = functionOption<() => number>('wallClock', o.wallClock);
  if (o.resume !== undefined) {
    cfg.resume = o.resume instanceof Uint8Array ? decodeResumeOption(o.resume) : o.resume;
  }
  if (o.connectionId !== undefined && o.connectionId !== false) {
    const c = o.connectionId;
    cfg.connectionId = c === true ? new Uint8Array(0) : typeof c === 'number' ? crypto.random(integerOption('connectionId', c, 0, 255)) : bytesOption('connectionId', c, { max: 255 });
  }
  if (o.maxFragmentLength !== undefined) cfg.maxFragmentLength = oneOf('maxFragmentLength (RFC 6066)', o.maxFragmentLength, [512, 1024, 2048, 4096] as const);
  if (o.ecdhe !== undefined) {
    if (typeof o.ecdhe !== 'object' || o.ecdhe === null || typeof o.ecdhe.key !== 'object' || !o.ecdhe.key?.publicKey) {
      throw new DtlsError('INVALID_ARGUMENT', 'ecdhe must be { key, certificateChain?, rawPublicKey } with a parsed key (see ecdheCredentials)');
    }
    cfg.ecdhe = o.ecdhe;
  }
  if (o.psk !== undefined) cfg.psk = checkPskOption(o.psk);
  if (o.pskHint !== undefined) cfg.pskHint = bytesOption('pskHint', o.pskHint, { text: true, max: 65535 });
  if (o.serverName !== undefined) cfg.serverName = stringOption('serverName', o.serverName);
  if (o.keyLog !== undefined) cfg.keyLog = functionOption<(line: string) => void>('keyLog', o.keyLog);
  return cfg;
}
