/**
 * Credentials from user options (lib/dtls/credentials.ts), now without node:crypto: spkiFrom on
 * our parsers, ecdheCredentials importing keys with the given (or default) provider, and
 * keyStore from PEM/DER, with the shapes the README shows.
 */
import { createPublicKey, generateKeyPairSync, randomFillSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { ecdheCredentials, keyStore, spkiFrom } from '../lib/dtls/credentials.js';
import { DtlsError } from '../lib/dtls/errors.js';

const PKI = new URL('./fixtures/pki/', import.meta.url);
const pem = (f: string) => readFileSync(new URL(f, PKI), 'utf8');
const derOf = (f: string) => new Uint8Array(new X509Certificate(pem(f)).raw);
const nodeSpki = (p: string) => new Uint8Array(createPublicKey(p).export({ type: 'spki', format: 'der' }));
const pureCrypto = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
const isPlainUint8Array = (b: Uint8Array) => Object.getPrototypeOf(b) === Uint8Array.prototype;

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DtlsError) return e.code;
    throw e;
  }
  throw new Error('expected a DtlsError');
}

describe('spkiFrom', () => {
  const expected = toHex(nodeSpki(pem('server.pub')));

  it('reads a PEM public key, a PEM or DER certificate, DER SPKI and PEM given as bytes', () => {
    expect(toHex(spkiFrom(pem('server.pub')))).toBe(expected);
    expect(toHex(spkiFrom(pem('server.crt')))).toBe(expected);
    expect(toHex(spkiFrom(derOf('server.crt')))).toBe(expected);
    expect(toHex(spkiFrom(nodeSpki(pem('server.pub'))))).toBe(expected);
    expect(toHex(spkiFrom(new TextEncoder().encode(pem('server.pub'))))).toBe(expected);
    expect(isPlainUint8Array(spkiFrom(pem('server.pub')))).toBe(true);
  });

  it('anything else is INVALID_ARGUMENT: other key types, private keys, garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(codeOf(() => spkiFrom(rsa))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => spkiFrom(pem('rsa-server.crt')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => spkiFrom(pem('server.key')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => spkiFrom('not a key'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => spkiFrom(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => spkiFrom(new Uint8Array(0)))).toBe('INVALID_ARGUMENT');
  });
});

describe('ecdheCredentials', () => {
  it('with the pure provider: PEM key and PEM chain, the leaf matching the key', () => {
    const c = ecdheCredentials({ key: pem('leaf-via-int.key'), certificate: pem('leaf-via-int.crt') + pem('int.crt') }, pureCrypto);
    expect(c.certificateChain?.map(toHex)).toEqual([toHex(derOf('leaf-via-int.crt')), toHex(derOf('int.crt'))]);
    expect(c.certificateChain?.every(isPlainUint8Array)).toBe(true);
    expect(toHex(c.key.publicKey.spki)).toBe(toHex(nodeSpki(pem('leaf-via-int.crt'))));
    expect(c.rawPublicKey).toBe(true);
    // The key is the pure provider's own: it signs.
    expect(pureCrypto.p256.sign(c.key, new Uint8Array([1])).length).toBeGreaterThan(60);
  });

  it('with the default provider (node here), DER certificates as an array or alone', () => {
    const a = ecdheCredentials({ key: pem('server.key'), certificate: [derOf('server.crt')], rawPublicKey: false });
    const b = ecdheCredentials({ key: pem('server.key'), certificate: derOf('server.crt') }, nodeCrypto);
    expect(a.certificateChain?.map(toHex)).toEqual([toHex(derOf('server.crt'))]);
    expect(b.certificateChain?.map(toHex)).toEqual([toHex(derOf('server.crt'))]);
    expect(a.rawPublicKey).toBe(false);
    // Already parsed credentials pass through.
    expect(ecdheCredentials(a)).toBe(a);
  });

  it('refuses a certificate for another key, a bad certificate and a bad key', () => {
    expect(codeOf(() => ecdheCredentials({ key: pem('server.key'), certificate: pem('client.crt') }, pureCrypto))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ecdheCredentials({ key: pem('server.key'), certificate: 'no certificate' }, pureCrypto))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ecdheCredentials({ key: pem('server.key'), certificate: [new Uint8Array([0x30, 0x00])] }, pureCrypto))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ecdheCredentials({ key: pem('rsa-server.key') }, pureCrypto))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ecdheCredentials({ key: pem('rsa-server.key') }, nodeCrypto))).toBe('INVALID_ARGUMENT');
  });
});

describe('keyStore', () => {
  it('raw public keys (PEM/DER, named or numbered) and anchors (PEM, DER, several)', () => {
    const ks = keyStore({ rawPublicKeys: [pem('server.pub'), [derOf('client.crt'), 'the client']], ca: [pem('ca.crt') + pem('other-ca.crt'), derOf('int.crt')], clock: 'none' });
    expect(ks.rawPublicKey?.(nodeSpki(pem('server.pub')), { address: '::1', port: 1 })).toBe('trusted-key-1');
    expect(ks.rawPublicKey?.(nodeSpki(pem('client.pub')), { address: '::1', port: 1 })).toBe('the client');
    expect(ks.x509?.anchors.map((a) => a.subject.text)).toEqual(['ca.crt', 'other-ca.crt', 'int.crt'].map((f) => new X509Certificate(pem(f)).subject));
    expect(ks.x509?.clock).toBe('none');
  });

  it('a bad anchor is INVALID_ARGUMENT naming the option', () => {
    const e = (() => {
      try {
        keyStore({ ca: 'nothing', clock: 'none' });
      } catch (x) {
        return x as DtlsError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('INVALID_ARGUMENT');
    expect(e?.message).toMatch(/^ca: /);
  });
});
