import { readFileSync } from 'node:fs';
import { fromHex } from '../bytes/util.js';
import { nodeCrypto } from '../crypto/node.js';
import { spkiFromPoint } from '../crypto/p256-spki.js';
import type { P256PrivateKey } from '../crypto/provider.js';
import { ecdheCredentials, spkiFrom, type TrustOptions } from '../dtls/credentials.js';
import type { ClientAuth, OwnEcdheCredentials } from '../dtls/config.js';
import { CipherSuite } from '../dtls/wire/constants.js';
import { UsageError } from './args.js';
import type { Flag } from './flags.js';

/** The credential flags of every DTLS client and server command (`coaps dtls`, `get`..., `serve`). */
export const CREDENTIAL_FLAGS = [
  { name: 'suite', kind: 'string', arg: 'psk|ecdhe', description: 'only this cipher suite: TLS_PSK_WITH_AES_128_CCM_8 or TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (without it: every suite the credentials allow, ECDHE first)' },
  { name: 'key', kind: 'string', arg: 'KEY', description: 'own P-256 private key for ECDHE-ECDSA: PEM or DER (PKCS#8, SEC1), or 64 hex digits of the scalar (tinydtls style)' },
  { name: 'rpk', kind: 'boolean', description: 'with --cert, also offer the key as an RFC 7250 raw public key (without --cert it is always one)' },
  { name: 'cert', kind: 'string', arg: 'CERT.pem', description: 'own X.509 certificate chain for --key (PEM, leaf first)' },
  { name: 'trust', kind: 'list', arg: 'PEER', description: "trust this peer's raw public key: PEM/DER public key or certificate, or hex X‖Y (128 digits) or 04‖X‖Y" },
  { name: 'ca', kind: 'string', arg: 'CA.pem', description: 'trust peer certificates that chain to these CA certificates (PEM)' },
] as const satisfies readonly Flag[];

/** Servers only: with --trust or --ca a client key is requested; this makes it required. */
export const CLIENT_AUTH_FLAG = {
  name: 'require-client-auth',
  kind: 'boolean',
  description: 'refuse clients without a trusted raw public key or certificate (needs --trust or --ca; without it one is only requested)',
} as const satisfies Flag;

export interface CredentialFlags {
  suite?: string | undefined;
  key?: string | undefined;
  rpk?: boolean | undefined;
  trust?: string[] | undefined;
  cert?: string | undefined;
  ca?: string | undefined;
  'require-client-auth'?: boolean | undefined;
}

const HEX = /^[0-9a-fA-F\s]+$/;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`${what}: cannot read ${path}`);
  }
}

/** A private key file: PEM (PKCS#8/SEC1), or 64 hex digits of the P-256 scalar (tinydtls style). */
export function loadPrivateKey(path: string): P256PrivateKey {
  const text = readText(path, '--key').trim();
  try {
    if (HEX.test(text) && text.replace(/\s/g, '').length === 64) return nodeCrypto.p256.privateKeyFromScalar(fromHex(text));
    return nodeCrypto.p256.importPrivateKey(text.includes('-----BEGIN') ? text : new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new UsageError(`--key ${path}: not a P-256 private key (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A trusted raw public key file: PEM/DER SPKI or certificate, or hex of X‖Y (128 digits) or 04‖X‖Y. */
export function loadPublicKey(path: string): Uint8Array {
  const text = readText(path, '--trust').trim();
  const hex = text.replace(/\s/g, '');
  try {
    if (HEX.test(text) && (hex.length === 128 || hex.length === 130)) return spkiFromPoint(fromHex(hex.length === 128 ? '04' + hex : hex));
    return spkiFrom(text.includes('-----BEGIN') ? text : new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new UsageError(`--trust ${path}: not a P-256 public key (${e instanceof Error ? e.message : String(e)})`);
  }
}

export interface ResolvedCredentials {
  suites: number[] | undefined;
  ecdhe: OwnEcdheCredentials | undefined;
  trust: TrustOptions;
  hasTrust: boolean;
  clientAuth: ClientAuth;
}

/** Turns the credential flags into engine options. */
export function resolveCredentialFlags(f: CredentialFlags, hasPsk: boolean): ResolvedCredentials {
  let suites: number[] | undefined;
  if (f.suite !== undefined) {
    if (f.suite === 'psk') suites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
    else if (f.suite === 'ecdhe') suites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8];
    else throw new UsageError(`--suite must be psk or ecdhe, got "${f.suite}"`);
  }
  if (suites?.[0] === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 && !hasPsk) throw new UsageError('--suite psk needs --psk');
  if (f.cert && !f.key) throw new UsageError('--cert needs --key');
  if (f.rpk && !f.key) throw new UsageError('--rpk needs --key');
  const ecdhe = f.key
    ? ecdheCredentials({
        key: loadPrivateKey(f.key),
        ...(f.cert ? { certificate: readText(f.cert, '--cert') } : {}),
        rawPublicKey: f.rpk === true || !f.cert,
      })
    : undefined;
  const trust: TrustOptions = {};
  if (f.trust?.length) trust.rawPublicKeys = f.trust.map((p) => [loadPublicKey(p), p] as [Uint8Array, string]);
  if (f.ca) trust.ca = readText(f.ca, '--ca');
  const hasTrust = !!(trust.rawPublicKeys || trust.ca);
  const clientAuth: ClientAuth = f['require-client-auth'] ? 'required' : hasTrust ? 'optional' : 'none';
  if (clientAuth === 'required' && !hasTrust) throw new UsageError('--require-client-auth needs --trust or --ca');
  return { suites, ecdhe, trust, hasTrust, clientAuth };
}
