import { createPublicKey, X509Certificate } from 'node:crypto';
import type { CryptoProvider, P256PrivateKey } from '../crypto/provider.js';
import { nodeCrypto } from '../crypto/node.js';
import { parseCertificates } from '../x509/verify.js';
import type { OwnEcdheCredentials } from './config.js';
import { DtlsError } from './errors.js';
import { memoryKeyStore, type KeyStore } from './keystore.js';

/** Own ECDHE credentials as a user gives them: PEM or DER, parsed once here (never on a hot path). */
export interface EcdheCredentialOptions {
  /** Private key: PEM (PKCS#8 or SEC1), DER, or an already parsed key. */
  key: string | Uint8Array | P256PrivateKey;
  /** Certificate chain, leaf first: PEM (one or more blocks) or DER certificates. */
  certificate?: string | Uint8Array | Uint8Array[];
  /** Present the key as an RFC 7250 raw public key when the peer accepts it (default true). */
  rawPublicKey?: boolean;
}

export function ecdheCredentials(o: EcdheCredentialOptions | OwnEcdheCredentials, crypto: CryptoProvider = nodeCrypto): OwnEcdheCredentials {
  if (isOwn(o)) return o;
  let key: P256PrivateKey;
  try {
    key = typeof o.key === 'object' && 'publicKey' in o.key ? o.key : crypto.p256.importPrivateKey(o.key as string | Uint8Array);
  } catch (e) {
    throw new DtlsError('INVALID_ARGUMENT', `ecdhe.key is not a P-256 private key: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: OwnEcdheCredentials = { key, rawPublicKey: o.rawPublicKey ?? true };
  if (o.certificate !== undefined) {
    const chain = Array.isArray(o.certificate)
      ? o.certificate.map((d) => new X509Certificate(d))
      : parseCertificates(o.certificate);
    const leafSpki = new Uint8Array(chain[0]!.publicKey.export({ type: 'spki', format: 'der' }));
    if (!equalBytes(leafSpki, key.publicKey.spki)) throw new DtlsError('INVALID_ARGUMENT', 'ecdhe.certificate does not match ecdhe.key');
    out.certificateChain = chain.map((c) => new Uint8Array(c.raw));
  }
  return out;
}

function isOwn(o: EcdheCredentialOptions | OwnEcdheCredentials): o is OwnEcdheCredentials {
  return typeof o.key === 'object' && 'publicKey' in o.key && typeof (o as OwnEcdheCredentials).rawPublicKey === 'boolean' && !('certificate' in o);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** DER SubjectPublicKeyInfo from a PEM public key, a PEM/DER certificate or DER SPKI. */
export function spkiFrom(input: string | Uint8Array): Uint8Array {
  try {
    if (typeof input === 'string' && input.includes('BEGIN CERTIFICATE')) {
      return new Uint8Array(new X509Certificate(input).publicKey.export({ type: 'spki', format: 'der' }));
    }
    const key = typeof input === 'string' ? createPublicKey(input) : createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
    return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  } catch (e) {
    throw new DtlsError('INVALID_ARGUMENT', `not a public key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A key store built from plain options (PEM accepted everywhere). */
export interface TrustOptions {
  psk?: Iterable<[Uint8Array | string, Uint8Array]>;
  /** Trusted raw public keys: PEM/DER, optionally with a name. */
  rawPublicKeys?: Array<string | Uint8Array | [string | Uint8Array, string]>;
  /** Trust anchors for X.509: PEM (one or many) or DER. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  clock?: (() => Date) | 'none';
}

export function keyStore(o: TrustOptions): KeyStore {
  const rpks = o.rawPublicKeys?.map((e, i): [Uint8Array, string] => (Array.isArray(e) ? [spkiFrom(e[0]), e[1]] : [spkiFrom(e), `trusted-key-${i + 1}`]));
  const anchors = o.ca === undefined ? undefined : (Array.isArray(o.ca) ? o.ca : [o.ca]).flatMap((c) => parseCertificates(c));
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
