import { looksLikePem, readPem } from '../bytes/pem.js';
import { DecodeError } from '../bytes/reader.js';
import { equal, latin1 } from '../bytes/util.js';
import { defaultCrypto } from '../crypto/default.js';
import { pointFromSpki } from '../crypto/p256-spki.js';
import type { CryptoProvider, P256PrivateKey } from '../crypto/provider.js';
import { parseCertificate, parseCertificates, parseSubjectPublicKeyInfo, type Certificate } from '../x509/certificate.js';
import { X509Error } from '../x509/errors.js';
import type { Clock } from '../x509/verify.js';
import type { OwnEcdheCredentials } from './config.js';
import { DtlsError } from './errors.js';
import { memoryKeyStore, missingClock, type KeyStore } from './keystore.js';

/** Own ECDHE credentials as a user gives them: PEM or DER, parsed once here (never on a hot path). */
export interface EcdheCredentialOptions {
  /** Private key: PEM (PKCS#8 or SEC1), DER, or an already parsed key. */
  key: string | Uint8Array | P256PrivateKey;
  /** Certificate chain, leaf first: PEM (one or more blocks) or DER certificates. */
  certificate?: string | Uint8Array | Uint8Array[];
  /** Present the key as an RFC 7250 raw public key when the peer accepts it (default true). */
  rawPublicKey?: boolean;
}

/**
 * Parses own ECDHE credentials. The key is imported by `crypto` (default: the registered
 * default provider, lib/crypto/default.ts); the leaf certificate must carry the key's public key.
 */
export function ecdheCredentials(o: EcdheCredentialOptions | OwnEcdheCredentials, crypto?: CryptoProvider): OwnEcdheCredentials {
  if (isOwn(o)) return o;
  let key: P256PrivateKey;
  try {
    key = typeof o.key === 'object' && 'publicKey' in o.key ? o.key : (crypto ?? defaultCrypto()).p256.importPrivateKey(o.key as string | Uint8Array);
  } catch (e) {
    throw new DtlsError('INVALID_ARGUMENT', `ecdhe.key is not a P-256 private key: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: OwnEcdheCredentials = { key, rawPublicKey: o.rawPublicKey ?? true };
  if (o.certificate !== undefined) {
    const certificate = o.certificate;
    const chain = asArgument('ecdhe.certificate', () => (Array.isArray(certificate) ? certificate.flatMap((d) => parseCertificates(d)) : parseCertificates(certificate)));
    if (!equal(chain[0]!.subjectPublicKeyInfo.der, key.publicKey.spki)) throw new DtlsError('INVALID_ARGUMENT', 'ecdhe.certificate does not match ecdhe.key');
    out.certificateChain = chain.map((c) => c.der.slice());
  }
  return out;
}

function isOwn(o: EcdheCredentialOptions | OwnEcdheCredentials): o is OwnEcdheCredentials {
  return typeof o.key === 'object' && 'publicKey' in o.key && typeof (o as OwnEcdheCredentials).rawPublicKey === 'boolean' && !('certificate' in o);
}

/** Runs a parse of user input; its errors become INVALID_ARGUMENT naming the option. */
function asArgument<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof X509Error || e instanceof DecodeError) throw new DtlsError('INVALID_ARGUMENT', `${what}: ${e.message}`);
    throw e;
  }
}

/**
 * DER SubjectPublicKeyInfo of a P-256 key, from a PEM public key ("PUBLIC KEY"), a PEM or DER
 * certificate, or DER SubjectPublicKeyInfo. INVALID_ARGUMENT for anything else.
 */
export function spkiFrom(input: string | Uint8Array): Uint8Array {
  return asArgument('not a P-256 public key', () => {
    let der: Uint8Array;
    if (typeof input === 'string' || looksLikePem(input)) {
      const block = readPem(typeof input === 'string' ? input : latin1(input)).find((b) => b.label === 'PUBLIC KEY' || b.label === 'CERTIFICATE');
      if (!block) throw new DecodeError('no PEM PUBLIC KEY or CERTIFICATE block');
      der = block.label === 'CERTIFICATE' ? parseCertificate(block.der).subjectPublicKeyInfo.der : block.der;
    } else {
      der = isSpki(input) ? input : parseCertificate(input).subjectPublicKeyInfo.der;
    }
    parseSubjectPublicKeyInfo(der);
    pointFromSpki(der);
    return der.slice();
  });
}

/** Whether DER bytes are a SubjectPublicKeyInfo (rather than a certificate). */
function isSpki(der: Uint8Array): boolean {
  try {
    parseSubjectPublicKeyInfo(der);
    return true;
  } catch {
    return false;
  }
}

/** A key store built from plain options (PEM accepted everywhere). */
export interface TrustOptions {
  psk?: Iterable<[Uint8Array | string, Uint8Array]>;
  /** Trusted raw public keys: PEM/DER, optionally with a name. */
  rawPublicKeys?: Array<string | Uint8Array | [string | Uint8Array, string]>;
  /** Trust anchors for X.509: PEM (one or many) or DER. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /**
   * The clock for certificate validity: required with `ca` (the engine never reads the wall
   * clock), or 'none' to skip validity checks on a device without a clock. The Node drivers
   * (createServer, connect, coaps/dtls's keyStore) default it to the system clock.
   */
  clock?: Clock;
}

export function keyStore(o: TrustOptions): KeyStore {
  const rpks = o.rawPublicKeys?.map((e, i): [Uint8Array, string] => (Array.isArray(e) ? [spkiFrom(e[0]), e[1]] : [spkiFrom(e), `trusted-key-${i + 1}`]));
  let anchors: Certificate[] | undefined;
  if (o.ca !== undefined) {
    if (o.clock === undefined) throw missingClock();
    const ca = o.ca;
    anchors = asArgument('ca', () => (Array.isArray(ca) ? ca : [ca]).flatMap((c) => parseCertificates(c)));
  }
  return memoryKeyStore({
    ...(o.psk ? { psk: o.psk } : {}),
    ...(rpks ? { rawPublicKeys: rpks } : {}),
    ...(anchors ? { anchors } : {}),
    ...(o.clock !== undefined ? { clock: o.clock } : {}),
  });
}

export function isKeyStore(o: KeyStore | TrustOptions): o is KeyStore {
  return typeof (o as KeyStore).rawPublicKey === 'function' || typeof (o as KeyStore).psk === 'function' || (typeof (o as KeyStore).x509 === 'object' && o !== null && 'anchors' in ((o as KeyStore).x509 ?? {}));
}
