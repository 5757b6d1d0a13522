import { defaultCrypto } from '../crypto/default.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { ConnectionOptions } from '../dtls/config.js';
import { memoryKeyStore, type KeyStore } from '../dtls/keystore.js';
import { CipherSuite } from '../dtls/wire/constants.js';
import { CertificateType } from '../dtls/wire/ec-extensions.js';
import { Lwm2mError } from './errors.js';
import { SecurityMode } from './objects.js';
import type { ObjectStore } from './object-store.js';
import type { Value } from './types.js';

/** Credentials of one server account, as the client's Security instance holds them. */
export type SecurityConfig =
  | { mode: 'psk'; identity: Uint8Array; key: Uint8Array }
  /** key: the client's private key (PKCS#8/SEC1 DER or the 32-byte scalar); serverKey: the server's SPKI. */
  | { mode: 'rpk'; publicKey: Uint8Array; privateKey: Uint8Array; serverKey: Uint8Array }
  | { mode: 'nosec' };

const bytes = (v: Value | undefined) => (v instanceof Uint8Array ? v : new Uint8Array(0));

/** Reads a Security instance's credentials (/0/x/2 mode, /3 identity or public key, /4 server key, /5 secret). */
export function securityOf(store: ObjectStore, instanceId: number): SecurityConfig {
  const mode = store.get([0, instanceId, 2]);
  switch (mode) {
    case SecurityMode.PSK:
      return { mode: 'psk', identity: bytes(store.get([0, instanceId, 3])), key: bytes(store.get([0, instanceId, 5])) };
    case SecurityMode.RPK:
      return { mode: 'rpk', publicKey: bytes(store.get([0, instanceId, 3])), privateKey: bytes(store.get([0, instanceId, 5])), serverKey: bytes(store.get([0, instanceId, 4])) };
    case SecurityMode.NO_SEC:
      return { mode: 'nosec' };
    default:
      throw Lwm2mError.notAcceptable(`security mode ${String(mode)} of /0/${instanceId} is not supported`);
  }
}

/** The Security instance resources for an account (what a bootstrap server writes). */
export function securityResources(s: SecurityConfig): Array<[number, Value]> {
  switch (s.mode) {
    case 'psk':
      return [[2, SecurityMode.PSK], [3, s.identity], [4, new Uint8Array(0)], [5, s.key]];
    case 'rpk':
      return [[2, SecurityMode.RPK], [3, s.publicKey], [4, s.serverKey], [5, s.privateKey]];
    case 'nosec':
      return [[2, SecurityMode.NO_SEC], [3, new Uint8Array(0)], [4, new Uint8Array(0)], [5, new Uint8Array(0)]];
  }
}

/** Checks that an account's credentials are usable; throws Lwm2mError 4.06 otherwise. */
export function checkSecurity(s: SecurityConfig, uri: string, crypto?: CryptoProvider): void {
  const secure = uri.startsWith('coaps://');
  if (s.mode === 'nosec' ? secure : !secure) throw Lwm2mError.notAcceptable(`URI ${uri} does not match security mode ${s.mode}`);
  if (s.mode === 'psk' && (s.identity.length === 0 || s.key.length === 0 || s.key.length > 64 || s.identity.length > 128)) {
    throw Lwm2mError.notAcceptable('PSK identity or key missing or too long');
  }
  if (s.mode === 'rpk') {
    try {
      dtlsCredentials(s, crypto ?? defaultCrypto());
    } catch {
      throw Lwm2mError.notAcceptable('raw public key credentials do not parse');
    }
  }
}

/**
 * What a DTLS client needs for an account, as lib/dtls takes it: the connection options
 * (PSK, or our ECDHE key presented as a raw public key, and the one suite of the mode) and
 * the key store that judges the server (its raw public key, /0/x/4).
 */
export interface DtlsCredentials {
  connection: Pick<ConnectionOptions, 'psk' | 'ecdhe' | 'suites' | 'acceptPeerCertificateTypes'>;
  trust: KeyStore;
}

/** DTLS credentials for an account (undefined for NoSec); parses RPK keys with `crypto`. */
export function dtlsCredentials(s: SecurityConfig, crypto: CryptoProvider): DtlsCredentials | undefined {
  switch (s.mode) {
    case 'psk':
      return { connection: { psk: { identity: s.identity, key: s.key }, suites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] }, trust: {} };
    case 'rpk': {
      const key = s.privateKey.length === 32 ? crypto.p256.privateKeyFromScalar(s.privateKey) : crypto.p256.importPrivateKey(s.privateKey);
      return {
        connection: { ecdhe: { key, rawPublicKey: true }, suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8], acceptPeerCertificateTypes: [CertificateType.RawPublicKey] },
        trust: memoryKeyStore({ rawPublicKeys: [[s.serverKey, 'lwm2m-server']] }),
      };
    }
    case 'nosec':
      return undefined;
  }
}
