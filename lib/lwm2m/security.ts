import type { ConnectOptions } from '../../transports/node-dgram.js';
import { nodeCrypto } from '../crypto/node.js';
import { CipherSuite } from '../dtls/wire/constants.js';
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
export function checkSecurity(s: SecurityConfig, uri: string): void {
  const secure = uri.startsWith('coaps://');
  if (s.mode === 'nosec' ? secure : !secure) throw Lwm2mError.notAcceptable(`URI ${uri} does not match security mode ${s.mode}`);
  if (s.mode === 'psk' && (s.identity.length === 0 || s.key.length === 0 || s.key.length > 64 || s.identity.length > 128)) {
    throw Lwm2mError.notAcceptable('PSK identity or key missing or too long');
  }
  if (s.mode === 'rpk') {
    try {
      dtlsOptions(s);
    } catch {
      throw Lwm2mError.notAcceptable('raw public key credentials do not parse');
    }
  }
}

/** DTLS connect options for an account. */
export function dtlsOptions(s: SecurityConfig): Omit<ConnectOptions, 'host' | 'port'> | undefined {
  switch (s.mode) {
    case 'psk':
      return { psk: { identity: s.identity, key: s.key }, suites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] };
    case 'rpk': {
      const key = s.privateKey.length === 32 ? nodeCrypto.p256.privateKeyFromScalar(s.privateKey) : nodeCrypto.p256.importPrivateKey(s.privateKey);
      return {
        ecdhe: { key, rawPublicKey: true },
        trust: { rawPublicKeys: [[s.serverKey, 'lwm2m-server']] },
        suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
      };
    }
    case 'nosec':
      return undefined;
  }
}
