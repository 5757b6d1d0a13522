/**
 * X.509 path validation (lib/x509/verify.ts), the DER keyUsage reader (lib/x509/der.ts) and the
 * trust decision (lib/dtls/trust.ts verifyPeer) on the test PKI in test/fixtures/pki
 * (make-pki.sh: P-256, ECDSA-SHA256, every certificate valid 2025-01-01 .. 2045-01-01).
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DecodeError } from '../lib/bytes/reader.js';
import { concat, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { memoryKeyStore, type KeyStore, type PeerAddress } from '../lib/dtls/keystore.js';
import { verifyPeer, type PeerCredential, type PeerVerdict, type VerifyContext } from '../lib/dtls/trust.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { children, KeyUsage, keyUsageBits, oidToString, readTlv } from '../lib/x509/der.js';
import { parseCertificates, verifyChain, type ChainOptions } from '../lib/x509/verify.js';
import { readFixture } from './helpers/fixtures.js';

const pem = (name: string) => readFixture(`pki/${name}`);
const cert = (name: string) => parseCertificates(pem(`${name}.crt`))[0]!;
const der = (name: string) => new Uint8Array(cert(name).raw);
/** DER SubjectPublicKeyInfo of a PEM public key file (server.pub, client.pub). */
const spkiOf = (name: string) => new Uint8Array(createPublicKey(pem(name)).export({ type: 'spki', format: 'der' }));

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

const serverOpts = (o: Partial<ChainOptions> = {}): ChainOptions => ({ anchors: [ca], purpose: 'serverAuth', clock: IN_VALIDITY, ...o });

/** The DtlsError `f` throws; fails if it returns or throws anything else. */
function errorOf(f: () => unknown): DtlsError {
  try {
    f();
  } catch (e) {
    if (e instanceof DtlsError) return e;
    throw e;
  }
  throw new Error('expected a DtlsError, but it returned');
}
const codeOf = (f: () => unknown): string => errorOf(f).code;

describe('the fixtures are what make-pki.sh promises', () => {
  it('P-256 keys, CA flags, validity 2025-01-01 .. 2045-01-01', () => {
    const names = ['ca', 'server', 'client', 'other-ca', 'stranger', 'int', 'leaf-via-int', 'notca', 'leaf-via-notca', 'leaf-via-server', 'plain', 'int2', 'leaf-via-int2'];
    for (const name of names) {
      const c = cert(name);
      expect(c.publicKey.asymmetricKeyType, name).toBe('ec');
      expect(c.publicKey.asymmetricKeyDetails?.namedCurve, name).toBe('prime256v1');
      expect(new Date(c.validFrom).toISOString(), name).toBe('2025-01-01T00:00:00.000Z');
      expect(new Date(c.validTo).toISOString(), name).toBe('2045-01-01T00:00:00.000Z');
    }
    expect(cert('rsa-server').publicKey.asymmetricKeyType).toBe('rsa');
    expect([ca.ca, otherCa.ca, int.ca]).toEqual([true, true, true]);
    expect([cert('server').ca, cert('notca').ca, cert('plain').ca]).toEqual([false, false, false]);
    expect(cert('server').checkIssued(ca)).toBe(true);
    expect(cert('leaf-via-int').checkIssued(int)).toBe(true);
    expect(cert('stranger').checkIssued(otherCa)).toBe(true);
  });

  it('server.pub is the SPKI of server.key, and our provider reads the PEM private key to the same public key', () => {
    const spki = spkiOf('server.pub');
    expect(toHex(nodeCrypto.p256.importPrivateKey(pem('server.key')).publicKey.spki)).toBe(toHex(spki));
    expect(toHex(nodeCrypto.p256.importPublicKey(spki).spki)).toBe(toHex(spki));
    expect(toHex(new Uint8Array(cert('server').publicKey.export({ type: 'spki', format: 'der' })))).toBe(toHex(spki));
    // And the key signs what the certificate's key verifies.
    const key = nodeCrypto.p256.importPrivateKey(pem('server.key'));
    const data = new TextEncoder().encode('coaps');
    expect(nodeCrypto.p256.verify(nodeCrypto.p256.importPublicKey(spki), data, nodeCrypto.p256.sign(key, data))).toBe(true);
  });
});

describe('verifyChain', () => {
  it('accepts the server chain for serverAuth, by DNS name, by IP address, and without a name', () => {
    for (const expectedName of ['localhost', 'LOCALHOST', '127.0.0.1', undefined]) {
      const opts = serverOpts();
      if (expectedName !== undefined) opts.expectedName = expectedName;
      const v = verifyChain([server], opts);
      expect(v.subject).toContain('CN=localhost');
      expect(v.leaf.fingerprint256).toBe(cert('server').fingerprint256);
      expect(toHex(new Uint8Array(v.publicKey.export({ type: 'spki', format: 'der' })))).toBe(toHex(spkiOf('server.pub')));
    }
  });

  it('accepts the client chain for clientAuth', () => {
    const v = verifyChain([client], { anchors: [ca], purpose: 'clientAuth', clock: IN_VALIDITY, expectedName: 'client.example' });
    expect(v.subject).toContain('CN=client.example');
  });

  it('a name the certificate does not carry -> CERTIFICATE_UNKNOWN (alert certificate_unknown)', () => {
    for (const expectedName of ['example.com', 'client.example', 'localhost.evil', '127.0.0.2', '::1']) {
      expect(codeOf(() => verifyChain([server], serverOpts({ expectedName }))), expectedName).toBe('CERTIFICATE_UNKNOWN');
    }
    expect(errorOf(() => verifyChain([server], serverOpts({ expectedName: 'example.com' }))).alert).toBe(AlertDescription.certificate_unknown);
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
    expect(errorOf(() => verifyChain([server], serverOpts({ clock: () => new Date('2050-01-01') }))).alert).toBe(AlertDescription.certificate_expired);
  });

  describe('with the system clock moved to 2050', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    it("the default clock is the system clock; clock 'none' skips validity checks", () => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2050-01-01T00:00:00Z'));
      expect(codeOf(() => verifyChain([server], { anchors: [ca], purpose: 'serverAuth' }))).toBe('CERTIFICATE_EXPIRED');
      expect(verifyChain([server], { anchors: [ca], purpose: 'serverAuth', clock: 'none' }).subject).toContain('CN=localhost');
      expect(verifyChain([leafViaInt, intDer], { anchors: [ca], purpose: 'serverAuth', clock: 'none', expectedName: 'localhost' }).leaf).toBeDefined();
      // 'none' does not skip anything else.
      expect(codeOf(() => verifyChain([stranger], { anchors: [ca], purpose: 'serverAuth', clock: 'none' }))).toBe('UNKNOWN_CA');
      expect(codeOf(() => verifyChain([server], { anchors: [ca], purpose: 'serverAuth', clock: 'none', expectedName: 'example.com' }))).toBe('CERTIFICATE_UNKNOWN');
    });
  });

  it('extendedKeyUsage: a clientAuth certificate used for serverAuth (and vice versa) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([client], serverOpts()))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(codeOf(() => verifyChain([server], serverOpts({ purpose: 'clientAuth' })))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(errorOf(() => verifyChain([client], serverOpts())).alert).toBe(AlertDescription.unsupported_certificate);
    expect(errorOf(() => verifyChain([stranger], serverOpts())).alert).toBe(AlertDescription.unknown_ca);
  });

  it('a leaf without keyUsage / extendedKeyUsage is good for either purpose', () => {
    expect(verifyChain([plain], serverOpts({ expectedName: 'localhost' })).leaf).toBeDefined();
    expect(verifyChain([plain], serverOpts({ purpose: 'clientAuth' })).leaf).toBeDefined();
  });

  it('a non-P-256 leaf (RSA) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([rsaServer], serverOpts({ expectedName: 'localhost' })))).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('a CA certificate as the leaf (keyUsage without digitalSignature) -> UNSUPPORTED_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([der('ca')], serverOpts()))).toBe('UNSUPPORTED_CERTIFICATE');
  });

  it('a chain through the intermediate works with [leaf, int], in either order of the extra certificates', () => {
    const v = verifyChain([leafViaInt, intDer], serverOpts({ expectedName: 'localhost' }));
    expect(v.leaf.fingerprint256).toBe(cert('leaf-via-int').fingerprint256);
    expect(v.leaf.issuer).toContain('CN=coaps intermediate CA');
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
  });

  it('no certificate or one that does not parse -> BAD_CERTIFICATE', () => {
    expect(codeOf(() => verifyChain([], serverOpts()))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyChain([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], serverOpts()))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyChain([server.subarray(0, 100)], serverOpts()))).toBe('BAD_CERTIFICATE');
  });

  it('parseCertificates reads one or many PEM blocks and DER, and refuses text without a certificate', () => {
    expect(parseCertificates(pem('server.crt') + pem('ca.crt')).map((c) => c.subject)).toEqual([cert('server').subject, ca.subject]);
    expect(parseCertificates(server)[0]!.fingerprint256).toBe(cert('server').fingerprint256);
    expect(codeOf(() => parseCertificates('no certificate here'))).toBe('INVALID_ARGUMENT');
  });
});

describe('keyUsageBits (lib/x509/der.ts)', () => {
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

  it('agrees with OpenSSL-independent DER walking: the keyUsage extension value is a BIT STRING', () => {
    // Walk to the extension by hand with the same primitives and check the OID and encoding.
    const tbs = children(readTlv(server, 0).contents)[0]!;
    const exts = children(children(tbs.contents).find((t) => t.tag === 0xa3)!.contents)[0]!;
    const oids = children(exts.contents).map((e) => oidToString(children(e.contents)[0]!.contents));
    expect(oids).toContain('2.5.29.15'); // keyUsage
    expect(oids).toContain('2.5.29.37'); // extendedKeyUsage
    expect(oids).toContain('2.5.29.17'); // subjectAltName
    expect(oidToString(new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]))).toBe('1.2.840.10045.3.1.7');
  });

  /** Runs keyUsageBits: a value or a DecodeError are fine; anything else fails. */
  function outcome(b: Uint8Array): 'ok' | 'decode-error' {
    try {
      const v = keyUsageBits(b);
      if (v !== undefined) for (const bit of v) expect(Number.isInteger(bit) && bit >= 0).toBe(true);
      return 'ok';
    } catch (e) {
      if (e instanceof DecodeError) return 'decode-error';
      throw e;
    }
  }

  it('random bytes: a value or a DecodeError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        outcome(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a SEQUENCE header: a value or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        outcome(concat(new Uint8Array([0x30, 0x81, b.length]), b));
      }),
      { numRuns: 2000 },
    );
  });

  for (const name of ['server', 'ca', 'plain']) {
    it(`mutated ${name}.crt DER: a value or a DecodeError (reaches both)`, () => {
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

  it('mutations inside the keyUsage extension only: a value or a DecodeError, and the unmutated bits otherwise', () => {
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
    expect(failCode(sync(verifyPeer(memoryKeyStore({ anchors: [ca] }), rpk(serverSpki), peer, asClient)))).toBe('UNSUPPORTED_CERTIFICATE');
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
    expect(failCode(verdict)).toBe('CERTIFICATE_UNKNOWN');
    if (!verdict.ok) expect(verdict.error.message).toContain('database down');
    // A callback that throws synchronously is a verdict too, not an exception.
    const throwing: KeyStore = {
      rawPublicKey: () => {
        throw new Error('boom');
      },
    };
    expect(sync(verifyPeer(throwing, rpk(clientSpki), peer, asServer)).ok).toBe(false);
  });

  it('x509: a valid chain is accepted; the verdict carries the leaf key and the subject', () => {
    const store = memoryKeyStore({ anchors: [ca], clock: IN_VALIDITY });
    const v = sync(verifyPeer(store, x509(server), peer, asClient));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(toHex(v.spki)).toBe(toHex(serverSpki));
    expect(v.identity).toEqual({ kind: 'x509', subject: cert('server').subject, fingerprint: toHex(nodeCrypto.sha256(server)), name: undefined });
    expect(sync(verifyPeer(store, x509(client), peer, asServer)).ok).toBe(true);
    expect(sync(verifyPeer(store, x509(leafViaInt, intDer), peer, asClient)).ok).toBe(true);
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
    const anchors: X509Certificate[] = parseCertificates(pem('other-ca.crt') + pem('ca.crt'));
    const store = memoryKeyStore({ anchors, clock: IN_VALIDITY });
    expect(sync(verifyPeer(store, x509(server), peer, asClient)).ok).toBe(true);
    expect(sync(verifyPeer(store, x509(stranger), peer, asClient)).ok).toBe(true);
  });
});
