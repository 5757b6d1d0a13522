/**
 * Our X.509 parser (lib/x509/certificate.ts and its parts): a byte-exact vector (offsets from
 * `openssl asn1parse`), the RFC 5280 rules it enforces on certificates built here, and
 * fast-check: mutated or truncated certificates give a Certificate or an X509Error from the
 * parser, and never verify (both providers).
 */
import { randomFillSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { parseCertificate, parseCertificates, parseSubjectPublicKeyInfo, type Certificate } from '../lib/x509/certificate.js';
import { X509Error } from '../lib/x509/errors.js';
import { KeyUsage } from '../lib/x509/extensions.js';
import { decodeNameDer } from '../lib/x509/name.js';
import { verifyChain } from '../lib/x509/verify.js';
import {
  authorityKeyId,
  basicConstraints,
  bits,
  certificate,
  explicit,
  extKeyUsage,
  extension,
  generalizedTime,
  int,
  keyUsage,
  name,
  oid,
  seq,
  signer,
  simpleName,
  str,
  subjectAltName,
  subjectKeyId,
  tlv,
  utcTime,
  type CertSpec,
} from './helpers/x509-builder.js';

const PKI = new URL('./fixtures/pki/', import.meta.url);
const pem = (f: string) => readFileSync(new URL(f, PKI), 'utf8');
const fixture = (n: string) => parseCertificates(pem(`${n}.crt`))[0]!;
const pureCrypto = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCrypto],
  ['pure', pureCrypto],
];

/** The X509Error code `f` throws; fails on success or any other error. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof X509Error) return e.code;
    throw e;
  }
  throw new Error('expected an X509Error');
}

/**
 * A snapshot of test/fixtures/pki/server.crt (the fixtures may be regenerated; this vector may
 * not). `openssl asn1parse -i` of it:
 *     0 SEQUENCE (hl=4 l=494)           Certificate
 *     4  SEQUENCE (hl=4 l=403)          tbsCertificate
 *     8   cont [0] / 10 INTEGER :02      version v3
 *    13   INTEGER (l=20)                serialNumber 273161FA...
 *    35   SEQUENCE (l=10)               signature ecdsa-with-SHA256
 *    47   SEQUENCE (l=46)               issuer O=coaps tests, CN=coaps test CA
 *    95   SEQUENCE (l=30)               validity 250101000000Z .. 450101000000Z
 *   127   SEQUENCE (l=42)               subject O=coaps tests, CN=localhost
 *   171   SEQUENCE (l=89)               subjectPublicKeyInfo id-ecPublicKey prime256v1
 *   262   cont [3] (hl=3 l=146)         extensions
 *   411  SEQUENCE (l=10)                signatureAlgorithm
 *   423  BIT STRING (hl=2 l=73)         signatureValue (unused-bits octet at 425)
 */
const SERVER_CRT = fromHex(
  '308201ee30820193a0030201020214273161fafa66fb9e58bf16a241c06ba780484299300a06082a8648ce3d040302302e31143012060355040a0c0b' +
    '636f6170732074657374733116301406035504030c0d636f6170732074657374204341301e170d3235303130313030303030305a170d343530313031' +
    '3030303030305a302a31143012060355040a0c0b636f6170732074657374733112301006035504030c096c6f63616c686f73743059301306072a8648' +
    'ce3d020106082a8648ce3d03010703420004040fab3f38a788cdde75c1bde47fd477537888251e7683c27a7eba90ba1616eea5cc2c772486e287708a' +
    '7b32b35b0d6d996534badf031f16328eca4ce66995f2a3819230818f300c0603551d130101ff04023000300e0603551d0f0101ff0404030207803013' +
    '0603551d25040c300a06082b06010505070301301a0603551d110413301182096c6f63616c686f737487047f000001301d0603551d0e04160414c9ca' +
    'ed36f1713287c910e3c3a7f01a87f3a7c9ed301f0603551d230418301680149954a00f96309047accb50511518f4836f6141df300a06082a8648ce3d' +
    '0403020349003046022100edde4048420c6e8e5554438de157d534704b6ba9692105cf4005150c4261ed91022100c18de1edba42ed33c99e2391101e' +
    'd8c49859abec1700adc2eafffa9d49f2eedd',
);
const at = (from: number, to: number) => toHex(SERVER_CRT.subarray(from, to));

describe('a byte-exact parse vector (server.crt)', () => {
  const c = parseCertificate(SERVER_CRT);

  it('the signed bytes, the algorithm and the signature are exactly the encoded ones', () => {
    expect(toHex(c.der)).toBe(toHex(SERVER_CRT));
    expect(toHex(c.tbs)).toBe(at(4, 411));
    expect(toHex(c.signatureAlgorithm.der)).toBe(at(411, 423));
    expect(c.signatureAlgorithm).toMatchObject({ oid: '1.2.840.10045.4.3.2', parameters: undefined });
    expect(toHex(c.signature)).toBe(at(426, 498));
    expect(c.signature[0]).toBe(0x30); // an ECDSA-Sig-Value
  });

  it('version, serial, names, validity, key', () => {
    expect(c.version).toBe(3);
    expect(toHex(c.serialNumber)).toBe('273161fafa66fb9e58bf16a241c06ba780484299');
    expect(toHex(c.issuer.der)).toBe(at(47, 95));
    expect(toHex(c.subject.der)).toBe(at(127, 171));
    expect(c.issuer.text).toBe('O=coaps tests\nCN=coaps test CA');
    expect(c.subject.text).toBe('O=coaps tests\nCN=localhost');
    expect(c.subject.rdns).toEqual([
      [{ type: '2.5.4.10', tag: 0x0c, value: 'coaps tests', isString: true }],
      [{ type: '2.5.4.3', tag: 0x0c, value: 'localhost', isString: true }],
    ]);
    expect(c.validity).toEqual({ notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2045, 0, 1) });
    expect(toHex(c.subjectPublicKeyInfo.der)).toBe(at(171, 262));
    expect(c.subjectPublicKeyInfo.algorithm.oid).toBe('1.2.840.10045.2.1');
    expect(c.subjectPublicKeyInfo.namedCurve).toBe('1.2.840.10045.3.1.7');
    expect(toHex(c.subjectPublicKeyInfo.publicKey)).toBe(at(197, 262));
    expect(c.subjectPublicKeyInfo.publicKey[0]).toBe(0x04);
  });

  it('extensions, in order, with criticality and values', () => {
    expect(c.extensions.all.map((e) => [e.oid, e.critical, toHex(e.value)])).toEqual([
      ['2.5.29.19', true, '3000'],
      ['2.5.29.15', true, '03020780'],
      ['2.5.29.37', false, '300a06082b06010505070301'],
      ['2.5.29.17', false, '301182096c6f63616c686f737487047f000001'],
      ['2.5.29.14', false, '0414c9caed36f1713287c910e3c3a7f01a87f3a7c9ed'],
      ['2.5.29.35', false, '301680149954a00f96309047accb50511518f4836f6141df'],
    ]);
    expect(c.extensions.basicConstraints).toEqual({ cA: false, pathLenConstraint: undefined });
    expect([...c.extensions.keyUsage!]).toEqual([KeyUsage.digitalSignature]);
    expect(c.extensions.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(c.extensions.subjectAltName).toEqual({ dnsNames: ['localhost'], ipAddresses: [fromHex('7f000001')] });
    expect(toHex(c.extensions.subjectKeyIdentifier!)).toBe('c9caed36f1713287c910e3c3a7f01a87f3a7c9ed');
    expect(toHex(c.extensions.authorityKeyIdentifier!)).toBe('9954a00f96309047accb50511518f4836f6141df');
  });

  it('owns its bytes: changing the input afterwards changes nothing', () => {
    const input = SERVER_CRT.slice();
    const own = parseCertificate(input);
    input.fill(0);
    expect(toHex(own.der)).toBe(toHex(SERVER_CRT));
    expect(own.subject.text).toBe('O=coaps tests\nCN=localhost');
  });

  it('a raw public key (RFC 7250 SubjectPublicKeyInfo) reads alone', () => {
    const spki = parseSubjectPublicKeyInfo(SERVER_CRT.subarray(171, 262));
    expect(spki.namedCurve).toBe('1.2.840.10045.3.1.7');
    expect(() => parseSubjectPublicKeyInfo(SERVER_CRT)).toThrow();
  });
});

describe('RFC 5280 rules on built certificates', () => {
  const ca = signer('p256');
  const leafKey = signer('p256');
  const base = (o: Partial<CertSpec> = {}): CertSpec => ({ issuer: simpleName('coaps test CA'), subject: simpleName('localhost'), spki: leafKey.spki, ...o });
  const make = (o: Partial<CertSpec> = {}) => certificate(base(o), ca);
  const parse = (o: Partial<CertSpec> = {}) => parseCertificate(make(o));

  it('versions: v1 without extensions, v3 with; extensions before v3, unique IDs in v1 and unknown versions are refused', () => {
    expect(parse({ version: 1 }).version).toBe(1);
    expect(parse({ version: 2 }).version).toBe(2);
    expect(parse({ version: 3, extensions: [basicConstraints(false)] }).extensions.basicConstraints?.cA).toBe(false);
    expect(codeOf(() => parse({ version: 1, extensions: [basicConstraints(false)] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ version: 2, extensions: [basicConstraints(false)] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ version: 4 }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ version: 1, tail: [tlv(0x81, new Uint8Array([0, 1]))] }))).toBe('BAD_CERTIFICATE');
    expect(parse({ version: 2, tail: [tlv(0x81, new Uint8Array([0, 1])), tlv(0x82, new Uint8Array([0, 2]))] }).version).toBe(2);
  });

  it('the two signature algorithm fields must agree (§4.1.1.2)', () => {
    expect(codeOf(() => parse({ innerAlgorithm: seq(oid('1.2.840.10045.4.3.3')) }))).toBe('BAD_CERTIFICATE');
  });

  it('an unknown critical extension is UNSUPPORTED_CERTIFICATE; unknown non-critical ones are kept and ignored (§4.2)', () => {
    const unknown = { oid: '1.3.6.1.4.1.99999.1', value: seq() };
    expect(codeOf(() => parse({ extensions: [{ ...unknown, critical: true }] }))).toBe('UNSUPPORTED_CERTIFICATE');
    // nameConstraints is known to the RFC but not processed here: critical, so refused.
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.30', critical: true, value: seq() }] }))).toBe('UNSUPPORTED_CERTIFICATE');
    expect(parse({ extensions: [unknown] }).extensions.all).toEqual([{ oid: unknown.oid, critical: false, value: seq() }]);
    // Explicitly encoded critical FALSE (a DEFAULT value, not DER, but common): accepted as not critical.
    const explicitFalse = concat(seq(oid(unknown.oid), tlv(0x01, new Uint8Array([0])), tlv(0x04, seq())));
    expect(parse({ tail: [explicit(3, seq(explicitFalse))] }).extensions.all[0]!.critical).toBe(false);
  });

  it('extensions: duplicates, empty lists and inconsistent values are malformed', () => {
    expect(codeOf(() => parse({ extensions: [basicConstraints(false), basicConstraints(false)] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ tail: [explicit(3, seq())] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.19', critical: true, value: seq(int(3)) }] }))).toBe('BAD_CERTIFICATE'); // pathLen without cA
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.19', critical: true, value: seq(tlv(0x01, new Uint8Array([0xff])), tlv(0x02, new Uint8Array([0xff]))) }] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.37', value: seq() }] }))).toBe('BAD_CERTIFICATE'); // empty EKU
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.17', value: seq() }] }))).toBe('BAD_CERTIFICATE'); // empty SAN
    expect(codeOf(() => parse({ extensions: [subjectAltName({ ip: [new Uint8Array(5)] })] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ extensions: [subjectAltName({ other: [tlv(0x89, new Uint8Array(1))] })] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.15', critical: true, value: tlv(0x03, new Uint8Array([8, 0x80])) }] }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ extensions: [{ oid: '2.5.29.19', critical: true, value: concat(seq(), new Uint8Array([0])) }] }))).toBe('BAD_CERTIFICATE');
  });

  it('extensions: basicConstraints, keyUsage (9 bits), EKU, SAN of every GeneralName kind, key identifiers', () => {
    const c = parse({
      extensions: [
        basicConstraints(true, 7),
        keyUsage([KeyUsage.keyCertSign, KeyUsage.decipherOnly]),
        extKeyUsage(['1.3.6.1.5.5.7.3.1', '2.5.29.37.0']),
        subjectAltName({
          dns: ['a.example', '*.b.example'],
          ip: [fromHex('c0000201'), fromHex('20010db8000000000000000000000001')],
          other: [tlv(0x81, utf8('x@example')), tlv(0x86, utf8('coaps://x')), tlv(0x88, oid('1.2.3').subarray(2)), tlv(0xa4, simpleName('dir')), tlv(0xa0, oid('1.2.3'), explicit(0, str(0x0c, 'v')))],
        }),
        subjectKeyId(fromHex('0102')),
        authorityKeyId(fromHex('0304')),
      ],
    });
    expect(c.extensions.basicConstraints).toEqual({ cA: true, pathLenConstraint: 7 });
    expect([...c.extensions.keyUsage!].sort((a, b) => a - b)).toEqual([KeyUsage.keyCertSign, KeyUsage.decipherOnly]);
    expect(c.extensions.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '2.5.29.37.0']);
    expect(c.extensions.subjectAltName!.dnsNames).toEqual(['a.example', '*.b.example']);
    expect(c.extensions.subjectAltName!.ipAddresses.map(toHex)).toEqual(['c0000201', '20010db8000000000000000000000001']);
    expect(toHex(c.extensions.subjectKeyIdentifier!)).toBe('0102');
    expect(toHex(c.extensions.authorityKeyIdentifier!)).toBe('0304');
  });

  it('validity: UTCTime (YY >= 50 is 19YY) and GeneralizedTime, Zulu with seconds only (§4.1.2.5)', () => {
    const validity = (notBefore: Uint8Array, notAfter: Uint8Array) => parse({ notBefore, notAfter }).validity;
    expect(validity(str(0x17, '500101000000Z'), str(0x17, '491231235959Z'))).toEqual({ notBefore: Date.UTC(1950, 0, 1), notAfter: Date.UTC(2049, 11, 31, 23, 59, 59) });
    expect(validity(generalizedTime(new Date('2050-01-01T00:00:00Z')), str(0x18, '99991231235959Z'))).toEqual({
      notBefore: Date.UTC(2050, 0, 1),
      notAfter: Date.UTC(9999, 11, 31, 23, 59, 59),
    });
    // Leap days, month ends, the year 2000 (a leap year) and 2100 (not).
    expect(validity(str(0x17, '000229120000Z'), str(0x18, '21000228000000Z')).notBefore).toBe(Date.UTC(2000, 1, 29, 12));
    expect(validity(str(0x18, '00010101000000Z'), utcTime(new Date(0))).notBefore).toBe(new Date('0001-01-01T00:00:00Z').getTime());
    const bad = ['2501010000Z', '250101000000+0100', '250101000000', '25010100000Z0', '251301000000Z', '250230000000Z', '250431000000Z', '250101240000Z', '250101006000Z', '250101000060Z', '2501010000 0Z', '-50101000000Z'];
    for (const t of bad) expect(codeOf(() => parse({ notBefore: str(0x17, t) })), t).toBe('BAD_CERTIFICATE');
    for (const t of ['20250101000000.5Z', '202501010000Z', '21000229000000Z', '20250101000000+0000']) expect(codeOf(() => parse({ notAfter: str(0x18, t) })), t).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parse({ notBefore: str(0x13, '250101000000Z') }))).toBe('BAD_CERTIFICATE');
  });

  it('names: strings are decoded strictly (UTF-8, BMP, Universal), other types as OpenSSL prints them', () => {
    const n = (v: Uint8Array) => decodeNameDer(name([[['2.5.4.3', v]]]));
    expect(n(str(0x0c, 'h\u00e9\u4e2d\u{1f600}')).rdns[0]![0]!.value).toBe('h\u00e9\u4e2d\u{1f600}');
    expect(n(tlv(0x1e, fromHex('0068 00e9 4e2d'.replace(/ /g, '')))).text).toBe('CN=h\u00e9\u4e2d');
    expect(n(tlv(0x1c, fromHex('0001f600'))).text).toBe('CN=\u{1f600}');
    expect(n(str(0x14, 'caf\u00e9')).text).toBe('CN=caf\u00e9');
    expect(n(tlv(0x03, fromHex('0141'))).rdns[0]![0]).toMatchObject({ value: '@', isString: false });
    for (const bad of ['c0af', 'eda080', 'f4908080', 'e282', 'ff']) expect(() => n(tlv(0x0c, fromHex(bad))), bad).toThrow();
    expect(() => n(tlv(0x1e, fromHex('00')))).toThrow();
    expect(() => n(tlv(0x1e, fromHex('d800')))).toThrow();
    expect(() => n(tlv(0x1c, fromHex('00110000')))).toThrow();
    expect(() => n(tlv(0x02, fromHex('01')))).toThrow(); // an INTEGER value: OpenSSL refuses it too
    expect(() => decodeNameDer(seq(tlv(0x31)))).toThrow(); // an empty RDN
    // Multi-valued RDNs and RFC 2253 escaping, as Node prints them.
    const multi = decodeNameDer(name([[['2.5.4.10', str(0x0c, 'a,b')], ['2.5.4.11', str(0x13, ' u#')]], [['1.2.3.4', str(0x0c, '#x ')]]]));
    expect(multi.text).toBe('O=a\\,b + OU=\\ u#\n1.2.3.4=\\#x\\ ');
  });

  it('the certificate must be one complete SEQUENCE of three fields', () => {
    const good = make();
    expect(codeOf(() => parseCertificate(concat(good, new Uint8Array([0]))))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parseCertificate(good.subarray(0, good.length - 1)))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parseCertificate(new Uint8Array(0)))).toBe('BAD_CERTIFICATE');
    const fields = parseCertificate(good);
    expect(codeOf(() => parseCertificate(seq(fields.tbs, fields.signatureAlgorithm.der)))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parseCertificate(seq(fields.tbs, fields.signatureAlgorithm.der, bits(fields.signature), int(0))))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parseCertificate(seq(fields.tbs, fields.signatureAlgorithm.der, bits(fields.signature, 1))))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => parseCertificate(seq(fields.tbs, fields.signatureAlgorithm.der, bits(fields.signature), extension({ oid: '1.2', value: seq() }))))).toBe('BAD_CERTIFICATE');
  });
});

describe('mutated and truncated certificates (fast-check)', () => {
  const names = readdirSync(new URL('.', PKI)).filter((f) => f.endsWith('.crt')).map((f) => f.slice(0, -4));
  const edit = (len: number) => fc.record({ at: fc.nat({ max: len - 1 }), value: fc.integer({ min: 0, max: 255 }), xor: fc.boolean() });
  const mutate = (valid: Uint8Array, edits: Array<{ at: number; value: number; xor: boolean }>, cut: number | undefined) => {
    const b = valid.slice(0, cut ?? valid.length);
    for (const e of edits) if (e.at < b.length) b[e.at] = e.xor ? b[e.at]! ^ (1 << (e.value & 7)) : e.value;
    return b;
  };

  it('every fixture, mutated or cut anywhere: a Certificate or an X509Error from the parser, nothing else', () => {
    const seen = { ok: 0, error: 0 };
    for (const n of names) {
      const valid = fixture(n).der;
      fc.assert(
        fc.property(fc.array(edit(valid.length), { maxLength: 3 }), fc.option(fc.nat({ max: valid.length }), { nil: undefined }), (edits, cut) => {
          try {
            const c: Certificate = parseCertificate(mutate(valid, edits, cut));
            expect(typeof c.subject.text).toBe('string');
            seen.ok++;
          } catch (e) {
            if (!(e instanceof X509Error)) throw e;
            expect(['BAD_CERTIFICATE', 'UNSUPPORTED_CERTIFICATE']).toContain(e.code);
            seen.error++;
          }
        }),
        { numRuns: 400 },
      );
    }
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.error).toBeGreaterThan(0);
  });

  describe.each(PROVIDERS)('with the %s provider, a changed certificate never verifies', (_, crypto) => {
    const ca = fixture('ca');
    const opts = { crypto, anchors: [ca], purpose: 'serverAuth' as const, clock: 'none' as const };
    const outcome = (chain: Uint8Array[]): string => {
      try {
        verifyChain(chain, opts);
        return 'accepted';
      } catch (e) {
        if (!(e instanceof X509Error)) throw e;
        return e.code;
      }
    };

    it('the unchanged chains verify', () => {
      expect(outcome([fixture('server').der])).toBe('accepted');
      expect(outcome([fixture('leaf-via-int').der, fixture('int').der])).toBe('accepted');
    });

    it('leaf mutated or cut: a typed refusal', () => {
      const valid = fixture('server').der;
      fc.assert(
        fc.property(fc.array(edit(valid.length), { minLength: 1, maxLength: 3 }), fc.option(fc.nat({ max: valid.length - 1 }), { nil: undefined }), (edits, cut) => {
          const b = mutate(valid, edits, cut);
          fc.pre(toHex(b) !== toHex(valid));
          expect(outcome([b])).not.toBe('accepted');
        }),
        { numRuns: 600 },
      );
    });

    it('intermediate mutated: a typed refusal', () => {
      const leaf = fixture('leaf-via-int').der;
      const valid = fixture('int').der;
      fc.assert(
        fc.property(fc.array(edit(valid.length), { minLength: 1, maxLength: 2 }), (edits) => {
          const b = mutate(valid, edits, undefined);
          fc.pre(toHex(b) !== toHex(valid));
          expect(outcome([leaf, b])).not.toBe('accepted');
        }),
        { numRuns: 300 },
      );
    });
  });
});
