import { utf8 } from '../bytes/util.js';
import { defaultCrypto } from '../crypto/default.js';
import type { CheckedPsk, ClientPsk, ConnectionConfig, ConnectionOptions, RetransmissionConfig } from './config.js';
import { DEFAULT_MTU, MAX_PSK_IDENTITY, MAX_PSK_KEY, RETRANSMISSION_PRESETS } from './config.js';
import { DtlsError } from './errors.js';
import { CipherSuite } from './wire/constants.js';

/** Options that need code a small build leaves out (resolveConfig and PskClientConnection in coaps/dtls have it). */
const NOT_BASIC = ['ecdhe', 'acceptPeerCertificateTypes', 'clientAuth', 'publicKeyCache', 'pskHint', 'serverName', 'connectionId', 'cidPadding', 'resume', 'sessionTickets'] as const;

const invalid = (message: string) => new DtlsError('INVALID_ARGUMENT', message);

function int(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  return v;
}

function fn<F>(name: string, v: unknown): F {
  if (typeof v !== 'function') throw invalid(`${name} must be a function`);
  return v as F;
}

function bytes(name: string, v: unknown, min: number, max: number, text: boolean): Uint8Array {
  const b = v instanceof Uint8Array ? v : text && typeof v === 'string' ? utf8(v) : undefined;
  if (!b) throw invalid(`${name} must be bytes (a Uint8Array)${text ? ' or a string (UTF-8)' : ', not text: decode a hex key first (fromHex)'}`);
  if (b.length < min || b.length > max) throw invalid(`${name} must be ${min}..${max} bytes, got ${b.length}`);
  return b;
}

function psk(p: unknown, name: string): CheckedPsk {
  if (typeof p !== 'object' || p === null) throw invalid(`${name} must be { identity, key }`);
  const o = p as Partial<ClientPsk>;
  return { identity: bytes(`${name}.identity`, o.identity, 0, MAX_PSK_IDENTITY, true), key: bytes(`${name}.key`, o.key, 1, MAX_PSK_KEY, false) };
}

function retransmission(opt: unknown): RetransmissionConfig {
  const p = opt === undefined ? {} : typeof opt === 'string' ? RETRANSMISSION_PRESETS[opt as keyof typeof RETRANSMISSION_PRESETS] : typeof opt === 'object' ? opt : undefined;
  if (!p) throw invalid(`retransmission must be 'rfc6347', 'rfc7925' or { initialMs, maxMs, maxRetransmits, restartAfter }`);
  const r: RetransmissionConfig = { ...RETRANSMISSION_PRESETS.rfc6347, ...(p as Partial<RetransmissionConfig>) };
  for (const [k, min, max] of [['initialMs', 1, 3_600_000], ['maxMs', r.initialMs, 3_600_000], ['maxRetransmits', 0, 100], ['restartAfter', 0, 100]] as const) int(`retransmission.${k}`, r[k], 0, min, max);
  return r;
}

/** The integer options: name, default, range (as resolveConfig has them; RFC 8449 §4: record_size_limit 64..2^14). */
const INTEGERS = [
  ['mtu', DEFAULT_MTU, 64, 65507],
  ['maxHandshakeBytes', 16 * 1024, 1024, 1 << 20],
  ['maxEarlyRecords', 8, 0, 1024],
  ['recordSizeLimit', 16384, 64, 16384],
  ['idleTimeoutMs', 0, 0, 2 ** 31 - 1],
] as const;

/**
 * resolveConfig for BasicPskClientConnection (a small device's build): the options a PSK-only
 * client with full handshakes uses, each checked (a typed INVALID_ARGUMENT naming it, before any
 * datagram), with the same defaults and ranges as resolveConfig; an option that needs code this
 * build leaves out (ECDHE, X.509, server, Connection ID, resumption and tickets) is refused
 * unless undefined or false, so that the option checks and codecs for them stay out too.
 */
export function resolveBasicConfig(o: ConnectionOptions = {}): ConnectionConfig {
  if (typeof o !== 'object' || o === null) throw invalid('options must be an object');
  for (const k of NOT_BASIC) {
    const v = o[k];
    if (v !== undefined && v !== false) throw invalid(k === 'resume' ? 'resume: this build has no session resumption (use resolveConfig)' : `${k} needs resolveConfig and PskClientConnection (coaps/dtls)`);
  }
  const crypto = o.crypto ?? defaultCrypto();
  if (typeof crypto !== 'object' || crypto === null || typeof crypto.ccm8Encrypt !== 'function') throw invalid('crypto must be a CryptoProvider (see coaps/crypto)');
  const suites = o.suites ?? [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
  if (!Array.isArray(suites) || !suites.every((s) => s === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 || s === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)) {
    throw invalid('suites must be an array of cipher suites: TLS_PSK_WITH_AES_128_CCM_8, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8');
  }
  const ems = o.requireExtendedMasterSecret ?? false;
  if (typeof ems !== 'boolean') throw invalid('requireExtendedMasterSecret must be true or false');
  const mfl = o.maxFragmentLength;
  if (mfl !== undefined && ![512, 1024, 2048, 4096].includes(mfl)) throw invalid('maxFragmentLength (RFC 6066) must be one of 512, 1024, 2048, 4096');
  const cfg: ConnectionConfig = {
    crypto,
    suites: [...suites],
    acceptPeerCertificateTypes: [],
    clientAuth: 'none',
    publicKeyCache: new Map(),
    retransmission: retransmission(o.retransmission),
    mtu: 0,
    requireExtendedMasterSecret: ems,
    maxHandshakeBytes: 0,
    maxEarlyRecords: 0,
    recordSizeLimit: 0,
    idleTimeoutMs: 0,
    maxIdentityLength: MAX_PSK_IDENTITY,
    cidPadding: 0,
    sessionTickets: false,
  };
  for (const [k, dflt, min, max] of INTEGERS) cfg[k] = int(k, o[k], dflt, min, max);
  if (mfl !== undefined) cfg.maxFragmentLength = mfl;
  const p = o.psk;
  if (p !== undefined) {
    cfg.psk =
      typeof p === 'function'
        ? (hint) => {
            const a = p(hint);
            return a === undefined ? undefined : psk(a, "the psk function's answer");
          }
        : psk(p, 'psk');
  }
  if (o.wallClock !== undefined) cfg.wallClock = fn('wallClock', o.wallClock);
  if (o.keyLog !== undefined) cfg.keyLog = fn('keyLog', o.keyLog);
  return cfg;
}
