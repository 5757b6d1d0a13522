import type { CryptoProvider, P256PrivateKey, P256PublicKey } from '../crypto/provider.js';
import { CipherSuite } from './wire/constants.js';
import { defaultCrypto } from '../crypto/default.js';
import { DtlsError } from './errors.js';

/** RFC 6347 §4.2.4 retransmission timer settings. */
export interface RetransmissionConfig {
  /** First timeout, ms. */
  initialMs: number;
  /** The timeout doubles after each expiry up to this cap, ms. */
  maxMs: number;
  /** Retransmissions of one flight before the handshake fails with HANDSHAKE_TIMEOUT. */
  maxRetransmits: number;
}

/** Presets: RFC 6347 §4.2.4.1 (1 s initial) and the RFC 7925 §11 constrained profile (9 s initial). */
export const RETRANSMISSION_PRESETS = {
  rfc6347: { initialMs: 1000, maxMs: 60_000, maxRetransmits: 6 },
  rfc7925: { initialMs: 9000, maxMs: 60_000, maxRetransmits: 4 },
} as const satisfies Record<string, RetransmissionConfig>;

/** A PSK as the client presents it. */
export interface ClientPsk {
  identity: Uint8Array;
  key: Uint8Array;
}

/** The client's PSK: fixed, or chosen from the server's identity hint. */
export type ClientPskOption = ClientPsk | ((hint: Uint8Array | undefined) => ClientPsk | undefined);

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
  /** Client: the PSK. */
  psk?: ClientPskOption;
  /** Client, X.509: the DNS name or IP address the server certificate must carry. */
  serverName?: string;
  /** Server: the PSK identity hint sent in ServerKeyExchange (omitted when undefined). */
  pskHint?: Uint8Array;
  /** Opt-in NSS key log (`CLIENT_RANDOM <random> <master secret>`), for Wireshark. */
  keyLog?: (line: string) => void;
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
  pskHint?: Uint8Array;
  serverName?: string;
  keyLog?: (line: string) => void;
}

export function resolveRetransmission(opt: RetransmissionOption | undefined): RetransmissionConfig {
  if (opt === undefined) return { ...RETRANSMISSION_PRESETS.rfc6347 };
  if (typeof opt === 'string') {
    const p = RETRANSMISSION_PRESETS[opt];
    if (!p) throw new DtlsError('INVALID_ARGUMENT', `unknown retransmission preset ${String(opt)}`);
    return { ...p };
  }
  const r = { ...RETRANSMISSION_PRESETS.rfc6347, ...opt };
  if (!(r.initialMs > 0 && r.maxMs >= r.initialMs && r.maxRetransmits >= 0)) {
    throw new DtlsError('INVALID_ARGUMENT', 'retransmission: need 0 < initialMs <= maxMs and maxRetransmits >= 0');
  }
  return r;
}

export function resolveConfig(o: ConnectionOptions = {}): ConnectionConfig {
  const mtu = o.mtu ?? DEFAULT_MTU;
  if (!(Number.isInteger(mtu) && mtu >= 64 && mtu <= 65507)) throw new DtlsError('INVALID_ARGUMENT', `mtu ${mtu} outside 64..65507`);
  if (o.psk && typeof o.psk !== 'function') checkPsk(o.psk);
  // Default preference: ECDHE (forward secrecy) first. Each side still needs the
  // credentials for a suite before it offers or chooses it (handshake/negotiation.ts).
  const suites = o.suites ?? [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
  const cfg: ConnectionConfig = {
    crypto: o.crypto ?? defaultCrypto(),
    suites,
    acceptPeerCertificateTypes: o.acceptPeerCertificateTypes ?? [],
    clientAuth: o.clientAuth ?? 'none',
    publicKeyCache: o.publicKeyCache ?? new Map(),
    retransmission: resolveRetransmission(o.retransmission),
    mtu,
    requireExtendedMasterSecret: o.requireExtendedMasterSecret ?? false,
    maxHandshakeBytes: o.maxHandshakeBytes ?? 16 * 1024,
    maxEarlyRecords: o.maxEarlyRecords ?? 8,
    recordSizeLimit: o.recordSizeLimit ?? 16384,
    idleTimeoutMs: o.idleTimeoutMs ?? 0,
    maxIdentityLength: MAX_PSK_IDENTITY,
  };
  if (!(Number.isInteger(cfg.recordSizeLimit) && cfg.recordSizeLimit >= 64 && cfg.recordSizeLimit <= 16384)) {
    throw new DtlsError('INVALID_ARGUMENT', 'recordSizeLimit must be 64..16384 (RFC 8449)');
  }
  if (o.maxFragmentLength !== undefined) {
    if (![512, 1024, 2048, 4096].includes(o.maxFragmentLength)) throw new DtlsError('INVALID_ARGUMENT', 'maxFragmentLength must be 512, 1024, 2048 or 4096 (RFC 6066)');
    cfg.maxFragmentLength = o.maxFragmentLength;
  }
  if (o.ecdhe) cfg.ecdhe = o.ecdhe;
  if (o.psk) cfg.psk = o.psk;
  if (o.pskHint) cfg.pskHint = o.pskHint;
  if (o.serverName !== undefined) cfg.serverName = o.serverName;
  if (o.keyLog) cfg.keyLog = o.keyLog;
  return cfg;
}

export function checkPsk(p: ClientPsk): void {
  if (p.identity.length > MAX_PSK_IDENTITY) throw new DtlsError('INVALID_ARGUMENT', `PSK identity longer than ${MAX_PSK_IDENTITY} bytes`);
  if (p.key.length === 0 || p.key.length > MAX_PSK_KEY) throw new DtlsError('INVALID_ARGUMENT', `PSK key must be 1..${MAX_PSK_KEY} bytes`);
}
