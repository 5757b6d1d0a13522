/**
 * X.509 path validation (lib/x509/verify.ts) with both crypto providers, the certificate
 * extensions our parser reads (lib/x509/certificate.ts, extensions.ts) and the trust decision
 * (lib/dtls/trust.ts verifyPeer) on the test PKI in test/fixtures/pki (make-pki.sh: P-256,
 * ECDSA-SHA256, every certificate valid 2025-01-01 .. 2045-01-01).
 */
import { createPublicKey, randomFillSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBitString, decodeOid, DerReader, readOne, Tag } from '../lib/bytes/der.js';
import { concat, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { keyStore } from '../lib/dtls/credentials.js';
import { memoryKeyStore, type KeyStore, type PeerAddress } from '../lib/dtls/keystore.js';
import { verifyPeer, type PeerCredential, type PeerVerdict, type VerifyContext } from '../lib/dtls/trust.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { certificateFingerprint, parseCertificate, type Certificate } from '../lib/x509/certificate.js';
import { X509Error } from '../lib/x509/errors.js';
import { KeyUsage } from '../lib/x509/extensions.js';
import { parseCertificates, verifyChain, type ChainOptions } from '../lib/x509/verify.js';
import { systemClock, withSystemClock } from '../transports/node-dgram.js';
import { keyStore as nodeKeyStore } from '../lib/entry/dtls.js';
import { readFixture } from './helpers/fixtures.js';

const pem = (name: string) => readFixture(`pki/${name}`);
const cert = (name: string): Certificate => parseCertificates(pem(`${name}.crt`))[0]!;
const der = (name: string) => cert(name).der;
/** node:crypto's view of a fixture, to check the fixtures and our results independently. */
const nodeCert = (name: string) => new X509Certificate(pem(`${name}.crt`));
/** DER SubjectPublicKeyInfo of a PEM public key file (server.pub, client.pub). */
const spkiOf = (name: string) => new Uint8Array(createPublicKey(pem(name)).export({ type: 'spki', format: 'der' }));
const pureCrypto = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCrypto],
  ['pure', pureCrypto],
];
const fingerprintOf = (name: string) => nodeCert(name).fingerprint256.replace(/:/g, '').toLowerCase();

const ca = cert('ca');
const otherCa = cert('other-ca');
const int = cert('int');
const IN_VALIDITY = () => new Date('2030-06-01T00:00:00Z');

const server = der('server');
const client = der('client');
const stranger = der('stranger');
const leafViaInt = der('leaf-via-int');
const intDer = der('int');
const rsaServer = der('rsa-server');
const notca = der('notca');
const leafViaNotca = der('leaf-via-notca');
const leafViaServer = der('leaf-via-server');
const plain = der('plain');

/** The X509Error (or, for the key store helpers, DtlsError) `f` throws; fails if it returns or throws anything else. */
function errorOf(f: () => unknown): X509Error | DtlsError {
  try {
    f();
  } catch (e) {
    if (e instanceof X509Error || e instanceof DtlsError) return e;
    throw e;
  }
  throw new Error('expected an X509Error, but it returned');
}
const codeOf = (f: () => unknown): string => errorOf(f).code;

/** The alert a DTLS peer would see for this chain and these options (through verifyPeer). */
function alertOf(chain: Uint8Array[], o: ChainOptions): number | undefined {
  const store: KeyStore = { x509: { anchors: o.anchors, ...(o.clock !== undefined ? { clock: o.clock } : {}) } };
  const v = verifyPeer(store, { kind: 'x509', chain }, { address: '127.0.0.1', port: 5684 }, { crypto: o.crypto, purpose: o.purpose, ...(o.expectedName !== undefined ? { expectedName: o.expectedName } : {}) });
  if (v instanceof Promise || v.ok) throw new Error('expected a synchronous refusal');
  return v.error.alert;
}

describe('the fixtures are what make-pki.sh promises', () => {
  it('P-256 keys, CA flags, validity 2025-01-01 .. 2045-01-01', () => {
    const names = ['ca', 'server', 'client', 'other-ca', 'stranger', 'int', 'leaf-via-int', 'notca', 'leaf-via-notca', 'leaf-via-server', 'plain', 'int2', 'leaf-via-int2'];
    for (const name of names) {
      const c = nodeCert(name);
      expect(c.publicKey.asymmetricKeyType, name).toBe('ec');
      expect(c.publicKey.asymmetricKeyDetails?.namedCurve, name).toBe('prime256v1');
      expect(new Date(c.validFrom).toISOString(), name).toBe('2025-01-01T00:00:00.000Z');
      expect(new Date(c.validTo).toISOString(), name).toBe('2045-01-01T00:00:00.000Z');
    }
    expect(nodeCert('rsa-server').publicKey.asymmetricKeyType).toBe('rsa');
    expect([nodeCert('ca').ca, nodeCert('other-ca').ca, nodeCert('int').ca]).toEqual([true, true, true]);
    expect([nodeCert('server').ca, nodeCert('notca').ca, nodeCert('plain').ca]).toEqual([false, false, false]);
    expect(nodeCert('server').checkIssued(nodeCert('ca'))).toBe(true);
    expect(nodeCert('leaf-via-int').checkIssued(nodeCert('int'))).toBe(true);
    expect(nodeCert('stranger').checkIssued(nodeCert('other-ca'))).toBe(true);
  });

  it('server.pub is the SPKI of server.key, and our provider reads the PEM private key to the same public key', () => {
    const spki = spkiOf('server.pub');
    expect(toHex(nodeCrypto.p256.importPrivateKey(pem('server.key')).publicKey.spki)).toBe(toHex(spki));
    expect(toHex(nodeCrypto.p256.importPublicKey(spki).spki)).toBe(toHex(spki));
    expect(toHex(new Uint8Array(nodeCert('server').publicKey.export({ type: 'spki', format: 'der' })))).toBe(toHex(spki));
    expect(toHex(cert('server').subjectPublicKeyInfo.der)).toBe(toHex(spki));
    // And the key signs what the certificate's key verifies.
    const key = nodeCrypto.p256.importPrivateKey(pem('server.key'));
    const data = new TextEncoder().encode('coaps');
    expect(nodeCrypto.p256.verify(nodeCrypto.p256.importPublicKey(spki), data, nodeCrypto.p256.sign(key, data))).toBe(true);
  });
});

describe.each(PROVIDERS)('verifyChain with the %s crypto provider', (providerName, crypto) => {
  const serverOpts = (o: Partial<ChainOptions> = {}): ChainOptions => ({ crypto, anchors: [ca], purpose: 'serverAuth', clock: IN_VALIDITY, ...o });

  it('accepts the server chain for serverAuth, by DNS name, by IP address, and without a name', () => {
    for (const expectedName of ['localhost', 'LOCALHOST', '127.0.0.1', undefined]) {
      const opts = serverOpts();
      if (expectedName !== undefined) opts.expectedName = expectedName;
      const v = verifyChain([server], opts);
      expect(v.subject).toContain('CN=localhost');
      expect(v.subject).toBe(nodeCert('server').subject);
      expect(certificateFingerprint(crypto, v.leaf)).toBe(fingerprintOf('server'));
      expect(toHex(v.spki)).toBe(toHex(spkiOf('server.pub')));
      expect(v.path.map((c) => c.subject.text)).toEqual([nodeCert('server').subject, nodeCert('ca').subject]);
    }
  });

  it('accepts the client chain for clientAuth', () => {
    const v = verifyChain([client], { crypto, anchors: [ca], purpose: 'clientAuth', clock: IN_VALIDITY, expectedName: 'client.example' });
    expect(v.subject).toContain('CN=client.example');
  });

  it('a name the certificate does not carry -> CERTIFICATE_UNKNOWN (alert certificate_unknown)', () => {
    for (const expectedName of ['example.com', 'client.example', 'localhost.evil', '127.0.0.2', '::1']) {
      expect(codeOf(() => verifyChain([server], serverOpts({ expectedName }))), expectedName).toBe('CERTIFICATE_UNKNOWN');
    }
    expect(alertOf([server], serverOpts({ expectedName: 'example.com' }))).toBe(AlertDescription.certificate_unknown);
  });

  it('a chain to an unknown CA -> UNKNOWN_CA, with or without that CA in the chain', () => {
    expect(codeOf(() => verifyChain([stranger], serverOpts({ expectedName: 'localhost' })))).toBe('UNKNOWN_CA');
    expect(codeOf(() => verifyChain([stranger, der('other-ca')], serverOpts()))).toBe('UNKNOWN_CA');
    // Trusting the other CA instead turns the same chain valid, and ours unknown.
    expect(verifyChain([stranger], serverOpts({ anchors: [otherCa] })).subject).toContain('CN=localhost');
    expect(codeOf(() => verifyChain([server], serverOpts({ anchors: [otherCa] })))).toBe('UNKNOWN_CA');
    expect(codeOf(() => verifyChain([server], serverOpts({ anchors: [] })))).toBe('UNKNOWN_CA');
  });

  it('outside the validity period by the injected clock -> CERTIFICATE_EXPIRED; inside it, accepted', () => {
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: () => new Date('2050-01-01') })))).toBe('CERTIFICATE_EXPIRED');
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: () => new Date('2000-01-01') })))).toBe('CERTIFICATE_EXPIRED');
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: () => new Date('2045-01-01T00:00:01Z') })))).toBe('CERTIFICATE_EXPIRED');
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: () => new Date('2024-12-31T23:59:59Z') })))).toBe('CERTIFICATE_EXPIRED');
    // The boundaries themselves are inside (RFC 5280 §4.1.2.5: "on or after notBefore, on or before notAfter").
    expect(verifyChain([server], serverOpts({ clock: () => new Date('2025-01-01T00:00:00Z') })).leaf).toBeDefined();
    expect(verifyChain([server], serverOpts({ clock: () => new Date('2045-01-01T00:00:00Z') })).leaf).toBeDefined();
    // The intermediate and the anchor are checked as well as the leaf.
    expect(codeOf(() => verifyChain([leafViaInt, intDer], serverOpts({ clock: () => new Date('2050-01-01') })))).toBe('CERTIFICATE_EXPIRED');
    expect(alertOf([server], serverOpts({ clock: () => new Date('2050-01-01') }))).toBe(AlertDescription.certificate_expired);
  });

  describe('with the system clock moved to 2050', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    it("the engine never reads the clock: no clock is INVALID_ARGUMENT; the Node side supplies the system clock; clock 'none' skips validity checks", () => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2050-01-01T00:00:00Z'));
      const noClock = errorOf(() => verifyChain([server], { crypto, anchors: [ca], purpose: 'serverAuth' }));
      expect(noClock.code).toBe('INVALID_ARGUMENT');
      expect(noClock.message).toContain('a function returning the current Date');
      expect(noClock.message).toContain("'none'");
      // The Node driver's default is the system clock, as it always was.
      expect(codeOf(() => verifyChain([server], { crypto, anchors: [ca], purpose: 'serverAuth', clock: systemClock }))).toBe('CERTIFICATE_EXPIRED');
      expect(verifyChain([server], { crypto, anchors: [ca], purpose: 'serverAuth', clock: 'none' }).subject).toContain('CN=localhost');
      expect(verifyChain([leafViaInt, intDer], { crypto, anchors: [ca], purpose: 'serverAuth', clock: 'none', expectedName: 'localhost' }).leaf).toBeDefined();
      // 'none' does not skip anything else.
      expect(codeOf(() => verifyChain([stranger], { crypto, anchors: [ca], purpose: 'serverAuth', clock: 'none' }))).toBe('UNKNOWN_CA');
      expect(codeOf(() => verifyChain([server], { crypto, anchors: [ca], purpose: 'serverAuth', clock: 'none', expectedName: 'example.com' }))).toBe('CERTIFICATE_UNKNOWN');
    });
  });

  it('a clock that does not return a valid Date -> INVALID_ARGUMENT', () => {
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: () => new Date(NaN) })))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => verifyChain([server], serverOpts({ clock: (() => 0) as unknown as () => Date })))).toBe('INVALID_ARGUMENT');
  });

  it('extendedKeyUsage: a clientAuth certificate used for serverAuth (and vice versa) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([client], serverOpts()))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(codeOf(() => verifyChain([server], serverOpts({ purpose: 'clientAuth' })))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(alertOf([client], serverOpts())).toBe(AlertDescription.unsupported_certificate);
    expect(alertOf([stranger], serverOpts())).toBe(AlertDescription.unknown_ca);
  });

  it('a leaf without keyUsage / extendedKeyUsage is good for either purpose', () => {
    expect(verifyChain([plain], serverOpts({ expectedName: 'localhost' })).leaf).toBeDefined();
    expect(verifyChain([plain], serverOpts({ purpose: 'clientAuth' })).leaf).toBeDefined();
  });

  it('a non-P-256 leaf (RSA, signed by the P-256 CA) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([rsaServer], serverOpts({ expectedName: 'localhost' })))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(errorOf(() => verifyChain([rsaServer], serverOpts())).message).toContain('not P-256');
  });

  it('a CA certificate as the leaf (keyUsage without digitalSignature) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([der('ca')], serverOpts()))).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('a chain through the intermediate works with [leaf, int], in either order of the extra certificates', () => {
    const v = verifyChain([leafViaInt, intDer], serverOpts({ expectedName: 'localhost' }));
    expect(certificateFingerprint(crypto, v.leaf)).toBe(fingerprintOf('leaf-via-int'));
    expect(v.leaf.issuer.text).toContain('CN=coaps intermediate CA');
    expect(v.path.map((c) => c.subject.text)).toEqual(['leaf-via-int', 'int', 'ca'].map((n) => nodeCert(n).subject));
    // Unrelated extra certificates are ignored.
    expect(verifyChain([leafViaInt, der('other-ca'), intDer], serverOpts()).leaf).toBeDefined();
    // Trusting the intermediate itself also works without sending it.
    expect(verifyChain([leafViaInt], serverOpts({ anchors: [int] })).leaf).toBeDefined();
  });

  it('...and fails with UNKNOWN_CA without the intermediate', () => {
    expect(codeOf(() => verifyChain([leafViaInt], serverOpts({ expectedName: 'localhost' })))).toBe('UNKNOWN_CA');
    expect(codeOf(() => verifyChain([leafViaInt, server], serverOpts()))).toBe('UNKNOWN_CA');
  });

  it('a three-level chain that respects every pathLenConstraint validates (leaf-via-int2 with int2 trusted directly)', () => {
    const leafViaInt2 = der('leaf-via-int2');
    expect(verifyChain([leafViaInt2], serverOpts({ anchors: [cert('int2')], expectedName: 'localhost' })).leaf).toBeDefined();
    // Without int2 there is no path at all.
    expect(codeOf(() => verifyChain([leafViaInt2, intDer], serverOpts()))).toBe('UNKNOWN_CA');
  });

  // RFC 5280 §4.2.1.9, §6.1.4 (l)/(m): int.crt has pathlen:0, so a CA below it (int2) must be
  // refused, as OpenSSL does ("path length constraint exceeded").
  it('a CA below an intermediate with pathlen:0 is refused ([leaf-via-int2, int2, int] to ca)', () => {
    const code = codeOf(() => verifyChain([der('leaf-via-int2'), der('int2'), intDer], serverOpts({ expectedName: 'localhost' })));
    expect(code).toBe('BAD_CERTIFICATE');
    // while a leaf directly below int (no CA below it) is fine
    expect(verifyChain([leafViaInt, intDer], serverOpts({ expectedName: 'localhost' })).leaf).toBeDefined();
  });

  it('a leaf whose issuer is not a CA fails', () => {
    // notca: CA:false but keyUsage keyCertSign: OpenSSL's checkIssued accepts it; basicConstraints must refuse it.
    expect(codeOf(() => verifyChain([leafViaNotca, notca], serverOpts()))).toBe('BAD_CERTIFICATE');
    // server.crt as issuer: keyUsage digitalSignature only, so it is not even accepted as an issuer.
    expect(['UNKNOWN_CA', 'BAD_CERTIFICATE']).toContain(codeOf(() => verifyChain([leafViaServer, server], serverOpts())));
    // Without the non-CA in the chain: simply no path.
    expect(codeOf(() => verifyChain([leafViaNotca], serverOpts()))).toBe('UNKNOWN_CA');
  });

  it('a leaf whose signature does not verify is refused', () => {
    // Flip a byte of the signature value (the last bytes of the DER).
    const bad = server.slice();
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 0x01;
    const code = codeOf(() => verifyChain([bad], serverOpts()));
    expect(['UNKNOWN_CA', 'BAD_CERTIFICATE']).toContain(code);
    // Every single-bit flip in the signed part or the signature is refused, never accepted.
    const tbs = parseCertificate(server).tbs;
    for (let bit = 0; bit < server.length * 8; bit += 37) {
      const flipped = server.slice();
      flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
      let r: string;
      try {
        verifyChain([flipped], serverOpts());
        r = 'accepted';
      } catch (e) {
        if (!(e instanceof X509Error)) throw e;
        r = e.code;
      }
      // A flip outside the TBS and the signature (in the outer headers or the algorithm) may leave an equal certificate: none here does.
      expect(r, `bit ${bit} (tbs ${tbs.length} bytes)`).not.toBe('accepted');
    }
  });

  it('no certificate or one that does not parse -> BAD_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([], serverOpts()))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyChain([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], serverOpts()))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyChain([server.subarray(0, 100)], serverOpts()))).toBe('BAD_CERTIFICATE');
  });

  it('parseCertificates reads one or many PEM blocks and DER, and refuses text without a certificate', () => {
    expect(parseCertificates(pem('server.crt') + pem('ca.crt')).map((c) => c.subject.text)).toEqual([nodeCert('server').subject, nodeCert('ca').subject]);
    expect(certificateFingerprint(crypto, parseCertificates(server)[0]!)).toBe(fingerprintOf('server'));
    // PEM text given as bytes, as node:crypto's X509Certificate accepted it.
    expect(parseCertificates(new TextEncoder().encode(pem('server.crt')))[0]!.subject.text).toBe(nodeCert('server').subject);
    expect(codeOf(() => parseCertificates('no certificate here'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseCertificates('-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----'))).toBe('BAD_CERTIFICATE');
  });
});

/** The keyUsage bits our parser reads (undefined when the extension is absent). */
const keyUsageBits = (b: Uint8Array): ReadonlySet<number> | undefined => parseCertificate(b).extensions.keyUsage;

describe('keyUsage and the extensions our parser reads (lib/x509/extensions.ts)', () => {
  it('reads the fixtures: CA keyCertSign+cRLSign, server digitalSignature, notca both, plain none', () => {
    expect([...keyUsageBits(der('ca'))!].sort()).toEqual([KeyUsage.keyCertSign, 6]);
    expect(keyUsageBits(der('ca'))!.has(KeyUsage.keyCertSign)).toBe(true);
    expect(keyUsageBits(der('ca'))!.has(KeyUsage.digitalSignature)).toBe(false);
    expect([...keyUsageBits(server)!]).toEqual([KeyUsage.digitalSignature]);
    expect([...keyUsageBits(client)!]).toEqual([KeyUsage.digitalSignature]);
    expect([...keyUsageBits(intDer)!].sort()).toEqual([KeyUsage.keyCertSign, 6]);
    expect([...keyUsageBits(notca)!].sort()).toEqual([KeyUsage.digitalSignature, KeyUsage.keyCertSign]);
    expect(keyUsageBits(plain)).toBeUndefined();
    // RSA leaf: same extension layout, same reader.
    expect([...keyUsageBits(rsaServer)!]).toEqual([KeyUsage.digitalSignature]);
  });

  it('agrees with walking the DER by hand: the keyUsage extension value is a BIT STRING', () => {
    // Walk to the extension with the DER primitives alone and check the OID and encoding.
    const tbs = new DerReader(readOne(server, Tag.SEQUENCE).value).next(Tag.SEQUENCE);
    const fields = new DerReader(tbs.value);
    let exts;
    while (!fields.done) {
      const f = fields.next();
      if (f.tag === 0xa3) exts = f;
    }
    const list = new DerReader(readOne(exts!.value, Tag.SEQUENCE).value);
    const found = new Map<string, Uint8Array>();
    while (!list.done) {
      const e = new DerReader(list.next(Tag.SEQUENCE).value);
      const oid = decodeOid(e.next(Tag.OID).value);
      e.optional(Tag.BOOLEAN);
      found.set(oid, e.next(Tag.OCTET_STRING).value);
    }
    expect([...found.keys()]).toContain('2.5.29.15'); // keyUsage
    expect([...found.keys()]).toContain('2.5.29.37'); // extendedKeyUsage
    expect([...found.keys()]).toContain('2.5.29.17'); // subjectAltName
    const bits = decodeBitString(readOne(found.get('2.5.29.15')!, Tag.BIT_STRING).value);
    expect(bits.bytes[0]! & 0x80).toBe(0x80); // digitalSignature
    expect(parseCertificate(server).extensions.all.map((e) => e.oid)).toEqual([...found.keys()]);
    expect(decodeOid(new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]))).toBe('1.2.840.10045.3.1.7');
  });

  it('reads basicConstraints, extendedKeyUsage and subjectAltName of the fixtures', () => {
    expect(cert('ca').extensions.basicConstraints).toEqual({ cA: true, pathLenConstraint: undefined });
    expect(cert('int').extensions.basicConstraints).toEqual({ cA: true, pathLenConstraint: 0 });
    expect(cert('server').extensions.basicConstraints).toEqual({ cA: false, pathLenConstraint: undefined });
    expect(cert('plain').extensions.basicConstraints).toBeUndefined();
    expect(cert('server').extensions.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert('client').extensions.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert('server').extensions.subjectAltName).toEqual({ dnsNames: ['localhost'], ipAddresses: [new Uint8Array([127, 0, 0, 1])] });
    expect(cert('ca').extensions.all.filter((e) => e.critical).map((e) => e.oid)).toEqual(['2.5.29.19', '2.5.29.15']);
    // The authority key identifier of each leaf is its issuer's subject key identifier.
    expect(toHex(cert('server').extensions.authorityKeyIdentifier!)).toBe(toHex(cert('ca').extensions.subjectKeyIdentifier!));
    expect(toHex(cert('leaf-via-int').extensions.authorityKeyIdentifier!)).toBe(toHex(cert('int').extensions.subjectKeyIdentifier!));
  });

  /** Parses and reads keyUsage: a value or an X509Error are fine; anything else fails. */
  function outcome(b: Uint8Array): 'ok' | 'decode-error' {
    try {
      const v = keyUsageBits(b);
      if (v !== undefined) for (const bit of v) expect(Number.isInteger(bit) && bit >= 0).toBe(true);
      return 'ok';
    } catch (e) {
      if (e instanceof X509Error) return 'decode-error';
      throw e;
    }
  }

  it('random bytes: a value or an X509Error, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        outcome(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a SEQUENCE header: a value or an X509Error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        outcome(concat(new Uint8Array([0x30, 0x81, b.length]), b));
      }),
      { numRuns: 2000 },
    );
  });

  for (const name of ['server', 'ca', 'plain']) {
    it(`mutated ${name}.crt DER: a value or an X509Error (reaches both)`, () => {
      const valid = der(name);
      const seen = { ok: 0, 'decode-error': 0 };
      const edit = fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }), xor: fc.boolean() });
      fc.assert(
        fc.property(fc.array(edit, { maxLength: 4 }), fc.option(fc.nat({ max: valid.length }), { nil: undefined }), (edits, cut) => {
          const b = valid.slice(0, cut ?? valid.length);
          for (const e of edits) if (e.at < b.length) b[e.at] = e.xor ? b[e.at]! ^ (1 << (e.value & 7)) : e.value;
          seen[outcome(b)]++;
        }),
        { numRuns: 2000 },
      );
      expect(seen.ok).toBeGreaterThan(0);
      expect(seen['decode-error']).toBeGreaterThan(0);
    });
  }

  it('mutations inside the keyUsage extension only: a value or an X509Error', () => {
    // Locate the keyUsage extension's bytes in server.crt and mutate only there.
    const hex = toHex(server);
    const at = hex.indexOf('0603551d0f') / 2; // OID 2.5.29.15
    expect(at).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.nat({ max: 11 }), fc.integer({ min: 0, max: 255 }), (off, value) => {
        const b = server.slice();
        b[at + off] = value;
        outcome(b);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('verifyPeer (lib/dtls/trust.ts) with memoryKeyStore', () => {
  const peer: PeerAddress = { address: '127.0.0.1', port: 5684 };
  const asClient: VerifyContext = { crypto: nodeCrypto, purpose: 'serverAuth', expectedName: 'localhost' };
  const asPureClient: VerifyContext = { crypto: pureCrypto, purpose: 'serverAuth', expectedName: 'localhost' };
  const asServer: VerifyContext = { crypto: nodeCrypto, purpose: 'clientAuth' };
  const serverSpki = spkiOf('server.pub');
  const clientSpki = spkiOf('client.pub');
  const rpk = (spki: Uint8Array): PeerCredential => ({ kind: 'rpk', spki });
  const x509 = (...chain: Uint8Array[]): PeerCredential => ({ kind: 'x509', chain });

  const sync = (v: PeerVerdict | Promise<PeerVerdict>): PeerVerdict => {
    expect(v).not.toBeInstanceOf(Promise);
    return v as PeerVerdict;
  };
  const failCode = (v: PeerVerdict) => {
    expect(v.ok).toBe(false);
    return v.ok ? undefined : v.error.code;
  };

  it('rpk: a trusted raw public key is accepted with its name and SHA-256 fingerprint', () => {
    const store = memoryKeyStore({ rawPublicKeys: [[serverSpki, 'the server']] });
    const v = sync(verifyPeer(store, rpk(serverSpki), peer, asClient));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(toHex(v.spki)).toBe(toHex(serverSpki));
    expect(v.identity).toEqual({ kind: 'rpk', spki: serverSpki, fingerprint: toHex(nodeCrypto.sha256(serverSpki)), name: 'the server' });
  });

  it('rpk: an untrusted key -> CERTIFICATE_UNKNOWN; a store without raw keys -> UNSUPPORTED_CERTIFICATE', () => {
    const store = memoryKeyStore({ rawPublicKeys: [[serverSpki, 'the server']] });
    expect(failCode(sync(verifyPeer(store, rpk(clientSpki), peer, asServer)))).toBe('CERTIFICATE_UNKNOWN');
    // A one-bit different key is a different key.
    const near = serverSpki.slice();
    near[near.length - 1] = near[near.length - 1]! ^ 1;
    expect(failCode(sync(verifyPeer(store, rpk(near), peer, asServer)))).toBe('CERTIFICATE_UNKNOWN');
    expect(failCode(sync(verifyPeer(memoryKeyStore({ anchors: [ca], clock: 'none' }), rpk(serverSpki), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(failCode(sync(verifyPeer(memoryKeyStore({}), rpk(serverSpki), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('rpk: asynchronous trust callbacks (accept, refuse, reject)', async () => {
    const accept: KeyStore = { rawPublicKey: async (spki) => (toHex(spki) === toHex(clientSpki) ? true : undefined) };
    const v = verifyPeer(accept, rpk(clientSpki), peer, asServer);
    expect(v).toBeInstanceOf(Promise);
    const ok = await v;
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.identity).toMatchObject({ kind: 'rpk', name: undefined });
    expect(failCode(await verifyPeer(accept, rpk(serverSpki), peer, asServer))).toBe('CERTIFICATE_UNKNOWN');
    const broken: KeyStore = { rawPublicKey: () => Promise.reject(new Error('database down')) };
    const verdict = await verifyPeer(broken, rpk(clientSpki), peer, asServer);
    // a key store that fails is the server's trouble (internal_error), not an untrusted peer
    expect(failCode(verdict)).toBe('KEY_STORE_FAILURE');
    if (!verdict.ok) expect(verdict.error.message).toContain('database down');
    // A callback that throws synchronously is a verdict too, not an exception.
    const throwing: KeyStore = {
      rawPublicKey: () => {
        throw new Error('boom');
      },
    };
    const thrown = sync(verifyPeer(throwing, rpk(clientSpki), peer, asServer));
    expect(failCode(thrown)).toBe('KEY_STORE_FAILURE');
    if (!thrown.ok) expect((thrown.error.cause as Error).message).toBe('boom');
  });

  it('x509: a valid chain is accepted; the verdict carries the leaf key and the subject', () => {
    const store = memoryKeyStore({ anchors: [ca], clock: IN_VALIDITY });
    const v = sync(verifyPeer(store, x509(server), peer, asClient));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(toHex(v.spki)).toBe(toHex(serverSpki));
    // The identity reads exactly as node:crypto's X509Certificate.subject did.
    expect(v.identity).toEqual({ kind: 'x509', subject: nodeCert('server').subject, fingerprint: toHex(nodeCrypto.sha256(server)), name: undefined });
    expect(sync(verifyPeer(store, x509(client), peer, asServer)).ok).toBe(true);
    expect(sync(verifyPeer(store, x509(leafViaInt, intDer), peer, asClient)).ok).toBe(true);
    // The same verdict with the pure provider.
    const pure = sync(verifyPeer(store, x509(server), peer, asPureClient));
    expect(pure).toEqual(v);
  });

  it('x509: each chain failure becomes a verdict with the chain error code', () => {
    const store = memoryKeyStore({ anchors: [ca], clock: IN_VALIDITY });
    expect(failCode(sync(verifyPeer(store, x509(stranger), peer, asClient)))).toBe('UNKNOWN_CA');
    expect(failCode(sync(verifyPeer(store, x509(server), peer, { ...asClient, expectedName: 'example.com' })))).toBe('CERTIFICATE_UNKNOWN');
    expect(failCode(sync(verifyPeer(store, x509(client), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(failCode(sync(verifyPeer(store, x509(rsaServer), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(failCode(sync(verifyPeer(store, x509(leafViaInt), peer, asClient)))).toBe('UNKNOWN_CA');
    expect(failCode(sync(verifyPeer(store, x509(new Uint8Array([1, 2, 3])), peer, asClient)))).toBe('BAD_CERTIFICATE');
    expect(failCode(sync(verifyPeer(store, x509(), peer, asClient)))).toBe('BAD_CERTIFICATE');
    const expired = memoryKeyStore({ anchors: [ca], clock: () => new Date('2050-01-01') });
    expect(failCode(sync(verifyPeer(expired, x509(server), peer, asClient)))).toBe('CERTIFICATE_EXPIRED');
    const noX509 = memoryKeyStore({ rawPublicKeys: [[serverSpki, 's']] });
    expect(failCode(sync(verifyPeer(noX509, x509(server), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('x509 failures map to the alerts the peer sees', () => {
    const store = memoryKeyStore({ anchors: [ca], clock: IN_VALIDITY });
    const alert = (v: PeerVerdict) => (v.ok ? undefined : v.error.alert);
    expect(alert(sync(verifyPeer(store, x509(stranger), peer, asClient)))).toBe(AlertDescription.unknown_ca);
    expect(alert(sync(verifyPeer(store, x509(server), peer, { ...asClient, expectedName: 'example.com' })))).toBe(AlertDescription.certificate_unknown);
    expect(alert(sync(verifyPeer(store, x509(client), peer, asClient)))).toBe(AlertDescription.unsupported_certificate);
    expect(alert(sync(verifyPeer(store, x509(new Uint8Array([1, 2, 3])), peer, asClient)))).toBe(AlertDescription.bad_certificate);
    const expired = memoryKeyStore({ anchors: [ca], clock: () => new Date('2050-01-01') });
    expect(alert(sync(verifyPeer(expired, x509(server), peer, asClient)))).toBe(AlertDescription.certificate_expired);
  });

  it('x509: a hand-built store without a clock is a verdict INVALID_ARGUMENT; the Node driver fills in the system clock', () => {
    const bare: KeyStore = { x509: { anchors: [ca] } };
    const v = sync(verifyPeer(bare, x509(server), peer, asClient));
    expect(failCode(v)).toBe('INVALID_ARGUMENT');
    expect(sync(verifyPeer(withSystemClock(bare), x509(server), peer, asClient)).ok).toBe(true);
    expect(withSystemClock({ ca: pem('ca.crt') }).x509?.clock).toBe(systemClock);
    expect(withSystemClock({ ca: pem('ca.crt'), clock: 'none' }).x509?.clock).toBe('none');
  });

  it('key stores: anchors without a clock are INVALID_ARGUMENT in the engine; coaps/dtls keyStore defaults to the system clock', () => {
    expect(codeOf(() => memoryKeyStore({ anchors: [ca] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => keyStore({ ca: pem('ca.crt') }))).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => keyStore({ ca: pem('ca.crt') })).message).toContain("'none'");
    expect(keyStore({ ca: pem('ca.crt'), clock: 'none' }).x509?.anchors.length).toBe(1);
    expect(nodeKeyStore({ ca: pem('ca.crt') }).x509?.clock).toBe(systemClock);
    // Raw public keys alone need no clock.
    expect(keyStore({ rawPublicKeys: [pem('server.pub')] }).rawPublicKey).toBeDefined();
  });

  it("x509: the store's clock 'none' skips validity; authorize may refuse or name the peer", async () => {
    const none = memoryKeyStore({ anchors: [ca], clock: 'none' });
    expect(sync(verifyPeer(none, x509(server), peer, asClient)).ok).toBe(true);
    const named: KeyStore = { x509: { anchors: [ca], clock: IN_VALIDITY, authorize: (chain) => (chain.subject.includes('CN=client.example') ? 'device-17' : false) } };
    const v = sync(verifyPeer(named, x509(client), peer, asServer));
    expect(v.ok && v.identity.kind === 'x509' ? v.identity.name : undefined).toBe('device-17');
    expect(failCode(sync(verifyPeer(named, x509(plain), peer, asServer)))).toBe('CERTIFICATE_UNKNOWN');
    const asyncNamed: KeyStore = { x509: { anchors: [ca], clock: IN_VALIDITY, authorize: async () => 'later' } };
    const av = await verifyPeer(asyncNamed, x509(client), peer, asServer);
    expect(av.ok && av.identity.kind === 'x509' ? av.identity.name : undefined).toBe('later');
  });

  it('the anchors come from PEM text via parseCertificates, like a user config would', () => {
    const anchors: Certificate[] = parseCertificates(pem('other-ca.crt') + pem('ca.crt'));
    const store = memoryKeyStore({ anchors, clock: IN_VALIDITY });
    expect(sync(verifyPeer(store, x509(server), peer, asClient)).ok).toBe(true);
    expect(sync(verifyPeer(store, x509(stranger), peer, asClient)).ok).toBe(true);
  });
});
