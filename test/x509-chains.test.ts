/**
 * Chain validation (lib/x509/verify.ts) on certificates built here and signed by node:crypto:
 * CAs with other signature algorithms (P-384, RSA, Ed25519: the node provider verifies them
 * through its optional verifyCertificateSignature, the pure provider refuses them as
 * unsupported, never accepts them), and the path rules (key identifiers, CA flags on anchors
 * and intermediates, pathLenConstraint, loops, depth, leaf key type), with both providers.
 */
import { createECDH, generateKeyPairSync, randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { createPurePskCrypto } from '../lib/crypto/pure-psk.js';
import { verifyPeer } from '../lib/dtls/trust.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { parseCertificate } from '../lib/x509/certificate.js';
import { X509Error } from '../lib/x509/errors.js';
import { verifyChain, type ChainOptions } from '../lib/x509/verify.js';
import {
  authorityKeyId,
  basicConstraints,
  bits,
  certificate,
  derNull,
  extKeyUsage,
  keyUsage,
  oid,
  selfSignedCa,
  seq,
  signer,
  signerFrom,
  simpleName,
  subjectAltName,
  subjectKeyId,
  time,
  type Ext,
  type Signer,
} from './helpers/x509-builder.js';

const pureCrypto = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCrypto],
  ['pure', pureCrypto],
];

const LEAF = signer('p256');
const leafExtensions = (extra: Ext[] = []): Ext[] => [basicConstraints(false), keyUsage([0]), extKeyUsage(['1.3.6.1.5.5.7.3.1']), subjectAltName({ dns: ['localhost'] }), ...extra];
/** A P-256 leaf for "localhost" issued by `by` under the name `issuer`. */
const leaf = (by: Signer, issuer: string, o: { spki?: Uint8Array; extensions?: Ext[] } = {}) =>
  certificate({ issuer: simpleName(issuer), subject: simpleName('localhost'), spki: o.spki ?? LEAF.spki, extensions: o.extensions ?? leafExtensions() }, by);
/** An intermediate CA `cn` issued by `by`. */
const intermediate = (key: Signer, cn: string, by: Signer, issuer: string, extra: Ext[] = [basicConstraints(true), keyUsage([5, 6])]) =>
  certificate({ issuer: simpleName(issuer), subject: simpleName(cn), spki: key.spki, extensions: extra }, by);

function outcome(chain: Uint8Array[], o: ChainOptions): string {
  try {
    verifyChain(chain, o);
    return 'ok';
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    return e.code;
  }
}

describe('signature algorithms of a CA other than ecdsa-with-SHA256 on P-256', () => {
  const sha1Rsa = ((): Signer => {
    const s = signer('rsa');
    return { ...s, algorithm: seq(oid('1.2.840.113549.1.1.5'), derNull()), hash: 'sha1' };
  })();
  const cas: Array<[string, Signer]> = [
    ['ecdsa-with-SHA384 on P-384', signer('p384')],
    ['sha256WithRSAEncryption', signer('rsa')],
    ['sha512WithRSAEncryption', signerFrom(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'sha512')],
    ['Ed25519', signer('ed25519')],
    ['ecdsa-with-SHA384 on P-256', signer('p256', 'sha384')],
  ];

  for (const [label, key] of cas) {
    const root = selfSignedCa(key, `${label} CA`);
    const anchors = [parseCertificate(root)];
    const chain = [leaf(key, `${label} CA`)];
    const opts = (crypto: CryptoProvider): ChainOptions => ({ crypto, anchors, purpose: 'serverAuth', clock: 'none', expectedName: 'localhost' });
    /** The leaf with one bit of its serial number (02 02 12 34) flipped: same names, wrong signature. */
    const tamper = (der: Uint8Array) => {
      const out = der.slice();
      const at = toHex(der).indexOf('02021234') / 2 + 3;
      out[at] = out[at]! ^ 1;
      return out;
    };

    it(`${label}: the node provider verifies it; a changed signed byte is BAD_CERTIFICATE`, () => {
      expect(outcome(chain, opts(nodeCrypto))).toBe('ok');
      expect(outcome([tamper(chain[0]!)], opts(nodeCrypto))).toBe('BAD_CERTIFICATE');
    });

    it(`${label}: the pure provider refuses it as UNSUPPORTED_CERTIFICATE (alert unsupported_certificate), also when tampered`, () => {
      expect(outcome(chain, opts(pureCrypto))).toBe('UNSUPPORTED_CERTIFICATE');
      expect(outcome([tamper(chain[0]!)], opts(pureCrypto))).toBe('UNSUPPORTED_CERTIFICATE');
      const v = verifyPeer({ x509: { anchors, clock: 'none' } }, { kind: 'x509', chain }, { address: '127.0.0.1', port: 1 }, { crypto: pureCrypto, purpose: 'serverAuth' });
      expect(v instanceof Promise ? undefined : !v.ok && v.error.alert).toBe(AlertDescription.unsupported_certificate);
    });
  }

  it('an RSA intermediate below a P-256 root: the pure provider verifies the intermediate, then refuses the leaf', () => {
    const root = signer('p256');
    const rsa = signer('rsa');
    const chain = [leaf(rsa, 'rsa int'), intermediate(rsa, 'rsa int', root, 'root')];
    const anchors = [parseCertificate(selfSignedCa(root, 'root'))];
    expect(outcome(chain, { crypto: nodeCrypto, anchors, purpose: 'serverAuth', clock: 'none' })).toBe('ok');
    expect(outcome(chain, { crypto: pureCrypto, anchors, purpose: 'serverAuth', clock: 'none' })).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('a provider without P-256 (the PSK-only pure provider) refuses even ecdsa-with-SHA256 as unsupported', () => {
    const p256 = signer('p256');
    const anchors = [parseCertificate(selfSignedCa(p256, 'p256 CA'))];
    const pskOnly = createPurePskCrypto((n) => randomFillSync(new Uint8Array(n)));
    expect(outcome([leaf(p256, 'p256 CA')], { crypto: pskOnly, anchors, purpose: 'serverAuth', clock: 'none' })).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('an algorithm neither provider supports (sha1WithRSAEncryption) is UNSUPPORTED_CERTIFICATE with both', () => {
    const anchors = [parseCertificate(selfSignedCa(sha1Rsa, 'sha1 CA'))];
    for (const [, crypto] of PROVIDERS) expect(outcome([leaf(sha1Rsa, 'sha1 CA')], { crypto, anchors, purpose: 'serverAuth', clock: 'none' })).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('parameters and key types must fit the algorithm', () => {
    const rsa = signer('rsa');
    const anchors = [parseCertificate(selfSignedCa(rsa, 'rsa CA'))];
    const o: ChainOptions = { crypto: nodeCrypto, anchors, purpose: 'serverAuth', clock: 'none' };
    // RSA with absent parameters is tolerated; with anything but NULL it is not.
    expect(outcome([leaf({ ...rsa, algorithm: seq(oid('1.2.840.113549.1.1.11')) }, 'rsa CA')], o)).toBe('ok');
    expect(outcome([leaf({ ...rsa, algorithm: seq(oid('1.2.840.113549.1.1.11'), oid('1.2')) }, 'rsa CA')], o)).toBe('BAD_CERTIFICATE');
    // ECDSA with NULL parameters (RFC 5758 §3.2: absent) is refused by both providers.
    const p256 = signer('p256');
    const p256Anchors = [parseCertificate(selfSignedCa(p256, 'p256 CA'))];
    const withNull = leaf({ ...p256, algorithm: seq(oid('1.2.840.10045.4.3.2'), derNull()) }, 'p256 CA');
    expect(outcome([withNull], { ...o, anchors: p256Anchors })).toBe('BAD_CERTIFICATE');
    expect(outcome([withNull], { ...o, anchors: p256Anchors, crypto: pureCrypto })).toBe('UNSUPPORTED_CERTIFICATE');
    // An RSA signature algorithm claimed over a P-256 issuer key.
    const claimed = leaf({ ...p256, algorithm: seq(oid('1.2.840.113549.1.1.11'), derNull()), hash: 'sha256' }, 'p256 CA');
    expect(outcome([claimed], { ...o, anchors: p256Anchors })).toBe('BAD_CERTIFICATE');
  });
});

describe.each(PROVIDERS)('path rules with the %s provider', (_, crypto) => {
  const root = signer('p256');
  const ROOT = selfSignedCa(root, 'root', [subjectKeyId(fromHex('0102030405'))]);
  const anchors = [parseCertificate(ROOT)];
  const o = (x: Partial<ChainOptions> = {}): ChainOptions => ({ crypto, anchors, purpose: 'serverAuth', clock: 'none', ...x });

  it('authority key identifier: matching or absent is fine; a different one means another issuer', () => {
    expect(outcome([leaf(root, 'root', { extensions: leafExtensions([authorityKeyId(fromHex('0102030405'))]) })], o())).toBe('ok');
    expect(outcome([leaf(root, 'root')], o())).toBe('ok');
    expect(outcome([leaf(root, 'root', { extensions: leafExtensions([authorityKeyId(fromHex('0a0b'))]) })], o())).toBe('UNKNOWN_CA');
  });

  it('anchors: a v1 root issues; one marked cA=false or without keyCertSign does not; an anchor is checked for validity', () => {
    const n = simpleName('v1 root');
    const v1 = parseCertificate(certificate({ version: 1, issuer: n, subject: n, spki: root.spki }, root));
    expect(outcome([leaf(root, 'v1 root')], o({ anchors: [v1] }))).toBe('ok');
    const notCa = parseCertificate(certificate({ issuer: simpleName('nc'), subject: simpleName('nc'), spki: root.spki, extensions: [basicConstraints(false)] }, root));
    expect(outcome([leaf(root, 'nc')], o({ anchors: [notCa] }))).toBe('UNKNOWN_CA');
    const noSign = parseCertificate(certificate({ issuer: simpleName('ns'), subject: simpleName('ns'), spki: root.spki, extensions: [basicConstraints(true), keyUsage([0])] }, root));
    expect(outcome([leaf(root, 'ns')], o({ anchors: [noSign] }))).toBe('UNKNOWN_CA');
    const old = parseCertificate(certificate({ issuer: simpleName('old'), subject: simpleName('old'), spki: root.spki, notAfter: time(new Date('2026-01-01Z')), extensions: [basicConstraints(true)] }, root));
    expect(outcome([leaf(root, 'old')], o({ anchors: [old], clock: () => new Date('2030-01-01Z') }))).toBe('CERTIFICATE_EXPIRED');
    expect(outcome([leaf(root, 'old')], o({ anchors: [old], clock: () => new Date('2025-06-01Z') }))).toBe('ok');
  });

  it('intermediates: must be CAs; pathLenConstraint counts the CAs below', () => {
    const a = signer('p256');
    const b = signer('p256');
    expect(outcome([leaf(a, 'A'), intermediate(a, 'A', root, 'root', [keyUsage([5])])], o())).toBe('BAD_CERTIFICATE'); // no basicConstraints
    expect(outcome([leaf(a, 'A'), intermediate(a, 'A', root, 'root', [basicConstraints(false)])], o())).toBe('BAD_CERTIFICATE');
    expect(outcome([leaf(a, 'A'), intermediate(a, 'A', root, 'root', [basicConstraints(true, 0)])], o())).toBe('ok');
    // root -> A (pathLen 1) -> B -> leaf: one CA below A, fine; A with pathLen 0: too many.
    const viaB = (aLen: number) => [leaf(b, 'B'), intermediate(b, 'B', a, 'A'), intermediate(a, 'A', root, 'root', [basicConstraints(true, aLen)])];
    expect(outcome(viaB(1), o())).toBe('ok');
    expect(outcome(viaB(0), o())).toBe('BAD_CERTIFICATE');
    // The anchor's own constraint counts too.
    const limited = parseCertificate(certificate({ issuer: simpleName('root'), subject: simpleName('root'), spki: root.spki, extensions: [basicConstraints(true, 0)] }, root));
    expect(outcome(viaB(1), o({ anchors: [limited] }))).toBe('BAD_CERTIFICATE');
    expect(outcome([leaf(a, 'A'), intermediate(a, 'A', root, 'root')], o({ anchors: [limited] }))).toBe('BAD_CERTIFICATE');
    expect(outcome([leaf(root, 'root')], o({ anchors: [limited] }))).toBe('ok');
  });

  it('loops and long chains end, with UNKNOWN_CA', () => {
    const a = signer('p256');
    const b = signer('p256');
    // A and B certify each other; neither leads to the anchor.
    expect(outcome([leaf(a, 'A'), intermediate(a, 'A', b, 'B'), intermediate(b, 'B', a, 'A')], o())).toBe('UNKNOWN_CA');
    const keys = Array.from({ length: 11 }, () => signer('p256'));
    const chain = [leaf(keys[0]!, 'k0')];
    for (let i = 0; i < 10; i++) chain.push(intermediate(keys[i]!, `k${i}`, keys[i + 1]!, `k${i + 1}`));
    chain.push(intermediate(keys[10]!, 'k10', root, 'root'));
    expect(outcome(chain, o())).toBe('UNKNOWN_CA');
  });

  it('the leaf key must be an uncompressed P-256 point', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const compressed = seq(seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bits(new Uint8Array(ecdh.getPublicKey(null, 'compressed'))));
    expect(outcome([leaf(root, 'root', { spki: compressed })], o())).toBe('UNSUPPORTED_CERTIFICATE');
    expect(outcome([leaf(root, 'root', { spki: signer('p384').spki })], o())).toBe('UNSUPPORTED_CERTIFICATE');
    expect(outcome([leaf(root, 'root', { spki: signer('ed25519').spki })], o())).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('anyExtendedKeyUsage serves either purpose; an unknown critical extension anywhere is UNSUPPORTED_CERTIFICATE', () => {
    const any = leaf(root, 'root', { extensions: [keyUsage([0]), extKeyUsage(['2.5.29.37.0'])] });
    expect(outcome([any], o())).toBe('ok');
    expect(outcome([any], o({ purpose: 'clientAuth' }))).toBe('ok');
    const a = signer('p256');
    const critical = intermediate(a, 'A', root, 'root', [basicConstraints(true), { oid: '1.3.6.1.4.1.99999.7', critical: true, value: seq() }]);
    expect(outcome([leaf(a, 'A'), critical], o())).toBe('UNSUPPORTED_CERTIFICATE');
  });
});
