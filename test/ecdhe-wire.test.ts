/**
 * ECDHE_ECDSA wire structs (certificate.ts, certificate-request.ts, ecdh-key-exchange.ts,
 * ec-extensions.ts): real messages from tinydtls transcript B (and GnuTLS's from F) decode and
 * re-encode to identical bytes, generated values round-trip, and whatever the input, every
 * decoder returns a value or throws DecodeError, nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../lib/bytes/reader.js';
import { concat, fromHex, toHex } from '../lib/bytes/util.js';
import { P256_SPKI_LENGTH, pointFromSpki, spkiFromPoint } from '../lib/crypto/p256-spki.js';
import { decodeCertificate, encodeCertificate, type CertificateMessage } from '../lib/dtls/wire/certificate.js';
import {
  CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN,
  decodeCertificateRequest,
  encodeCertificateRequest,
  type CertificateRequest,
} from '../lib/dtls/wire/certificate-request.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { ContentType, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import {
  CertificateType,
  decodeCertificateTypeChoice,
  decodeU16List,
  decodeU8List,
  EC_POINT_FORMAT_UNCOMPRESSED,
  ECDSA_SECP256R1_SHA256,
  encodeU16List,
  encodeU8List,
  NamedCurve,
} from '../lib/dtls/wire/ec-extensions.js';
import {
  decodeCertificateVerify,
  decodeClientEcdhKeyExchange,
  decodeServerEcdhKeyExchange,
  EC_CURVE_TYPE_NAMED,
  encodeCertificateVerify,
  encodeClientEcdhKeyExchange,
  encodeServerEcdhKeyExchange,
  encodeServerEcdhParams,
  type DigitallySigned,
} from '../lib/dtls/wire/ecdh-key-exchange.js';
import { findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeHandshakeFragments, type HandshakeFragment } from '../lib/dtls/wire/handshake.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { decodeServerHello } from '../lib/dtls/wire/server-hello.js';
import { mutated } from './helpers/bytes.js';
import { readFixture } from './helpers/fixtures.js';
import { transcriptDatagrams, type Dir } from './helpers/tinydtls.js';

/** Every epoch-0 handshake fragment of a transcript (tinydtls and GnuTLS never fragment these). */
function fragments(prefix: string): Array<HandshakeFragment & { dir: Dir }> {
  return transcriptDatagrams(prefix)
    .filter((d) => !d.dropped)
    .flatMap((d) =>
      splitRecords(fromHex(d.hex))
        .filter((r) => r.epoch === 0 && r.type === ContentType.handshake)
        .flatMap((r) => decodeHandshakeFragments(r.fragment).map((f) => ({ ...f, dir: d.dir }))),
    );
}

/** The body of the (first) message of a type in a direction; it must be whole. */
function body(prefix: string, dir: Dir, type: number): Uint8Array {
  const f = fragments(prefix).find((x) => x.dir === dir && x.msgType === type);
  if (!f) throw new Error(`transcript ${prefix}: no ${dir} message of type ${type}`);
  expect(f.fragmentOffset).toBe(0);
  expect(f.body.length).toBe(f.length);
  return f.body;
}

// Real messages from transcript B (tinydtls <-> tinydtls, raw public keys, mutual auth).
const B = {
  serverCertificate: body('B', 's2c', HandshakeType.certificate),
  serverKeyExchange: body('B', 's2c', HandshakeType.server_key_exchange),
  certificateRequest: body('B', 's2c', HandshakeType.certificate_request),
  clientCertificate: body('B', 'c2s', HandshakeType.certificate),
  clientKeyExchange: body('B', 'c2s', HandshakeType.client_key_exchange),
  certificateVerify: body('B', 'c2s', HandshakeType.certificate_verify),
};
// GnuTLS's client messages from transcript F (another implementation's encoder).
const F = {
  serverKeyExchange: body('F', 's2c', HandshakeType.server_key_exchange),
  clientCertificate: body('F', 'c2s', HandshakeType.certificate),
  clientKeyExchange: body('F', 'c2s', HandshakeType.client_key_exchange),
  certificateVerify: body('F', 'c2s', HandshakeType.certificate_verify),
};

const cookieHello = (prefix: string) => {
  const f = fragments(prefix).find((x) => x.msgType === HandshakeType.client_hello && decodeClientHello(x.body).cookie.length > 0)!;
  return decodeClientHello(f.body);
};
const serverHello = (prefix: string) => decodeServerHello(body(prefix, 's2c', HandshakeType.server_hello));
const extData = (exts: Array<{ type: number; data: Uint8Array }>, type: number) => {
  const e = findExtension(exts, type);
  if (!e) throw new Error(`no extension ${type}`);
  return e.data;
};

/** DER of a PEM certificate fixture. */
function pemDer(name: string): Uint8Array {
  const text = readFixture(`pki/${name}`);
  const b64 = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

const TINYDTLS_SERVER_POINT =
  '04d055ee14084d6e0615599db583913e4a3e4526a2704d61f27a4ccfba9758ef9ab418b64afe8030da1ddcf4f42e2f2631d043b1fb03e22f4d17de43f9f9adee70';
const TINYDTLS_CLIENT_POINT =
  '0436dfe2c6f9f2ed29da0a9a8f62684e916375ba10300c28c5e47cfbf25fa58f5271a0d4fcde1ab8785a3c786935a7cfabe93f987209daed0b4fabc36fc772f829';

describe('real messages decode and re-encode byte for byte', () => {
  it('Certificate (RawPublicKey): both tinydtls keys, and GnuTLS\'s encoding of the client key', () => {
    for (const [bytes, pointHex] of [
      [B.serverCertificate, TINYDTLS_SERVER_POINT],
      [B.clientCertificate, TINYDTLS_CLIENT_POINT],
      [F.clientCertificate, TINYDTLS_CLIENT_POINT],
    ] as const) {
      const m = decodeCertificate(bytes, CertificateType.RawPublicKey);
      expect(m.type).toBe(CertificateType.RawPublicKey);
      if (m.type !== CertificateType.RawPublicKey) continue;
      expect(m.spki).toHaveLength(P256_SPKI_LENGTH);
      expect(toHex(pointFromSpki(m.spki))).toBe(pointHex);
      expect(toHex(m.spki)).toBe(toHex(spkiFromPoint(fromHex(pointHex))));
      expect(toHex(encodeCertificate(m))).toBe(toHex(bytes));
      // Read as X.509 the same bytes are a list whose first "certificate" length is garbage.
      expect(() => decodeCertificate(bytes, CertificateType.X509)).toThrow(DecodeError);
    }
    expect(toHex(B.clientCertificate)).toBe(toHex(F.clientCertificate));
  });

  it('Certificate (X.509): a chain of the PKI fixtures round-trips; the empty list is allowed', () => {
    const chain = [pemDer('server.crt'), pemDer('ca.crt')];
    const bytes = encodeCertificate({ type: CertificateType.X509, chain });
    expect(bytes.length).toBe(3 + chain.reduce((n, c) => n + 3 + c.length, 0));
    const m = decodeCertificate(bytes, CertificateType.X509);
    expect(m.type).toBe(CertificateType.X509);
    if (m.type !== CertificateType.X509) return;
    expect(m.chain.map(toHex)).toEqual(chain.map(toHex));
    expect(toHex(encodeCertificate(m))).toBe(toHex(bytes));
    // certificate_list<0..2^24-1>: a client without a certificate sends an empty list.
    expect(decodeCertificate(new Uint8Array([0, 0, 0]), CertificateType.X509)).toEqual({ type: CertificateType.X509, chain: [] });
    // ...but a raw public key may not be empty, nor an ASN.1Cert inside a list.
    expect(() => decodeCertificate(new Uint8Array([0, 0, 0]), CertificateType.RawPublicKey)).toThrow(DecodeError);
    expect(() => decodeCertificate(new Uint8Array([0, 0, 3, 0, 0, 0]), CertificateType.X509)).toThrow(DecodeError);
    // Unknown certificate types are refused.
    expect(() => decodeCertificate(bytes, 1)).toThrow(DecodeError);
  });

  it('Certificate (X.509): a chain of 10 is accepted, 11 is refused', () => {
    const cert = new Uint8Array([0x30, 0x00]);
    const ten = encodeCertificate({ type: CertificateType.X509, chain: Array.from({ length: 10 }, () => cert) });
    const eleven = encodeCertificate({ type: CertificateType.X509, chain: Array.from({ length: 11 }, () => cert) });
    const m = decodeCertificate(ten, CertificateType.X509);
    expect(m.type === CertificateType.X509 ? m.chain.length : -1).toBe(10);
    expect(() => decodeCertificate(eleven, CertificateType.X509)).toThrow(DecodeError);
  });

  it('CertificateRequest: ecdsa_sign, ecdsa_secp256r1_sha256, no authorities', () => {
    const cr = decodeCertificateRequest(B.certificateRequest);
    expect(cr.certificateTypes).toContain(CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN);
    expect(cr.signatureAlgorithms).toContain(ECDSA_SECP256R1_SHA256);
    expect(cr.certificateAuthorities).toEqual([]);
    expect(toHex(encodeCertificateRequest(cr))).toBe(toHex(B.certificateRequest));
  });

  it('CertificateRequest with distinguished names round-trips', () => {
    const cr: CertificateRequest = {
      certificateTypes: [CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, 1],
      signatureAlgorithms: [ECDSA_SECP256R1_SHA256, 0x0401, 0x0804],
      certificateAuthorities: [fromHex('3012311030'), fromHex('30')],
    };
    const bytes = encodeCertificateRequest(cr);
    expect(toHex(bytes)).toBe('024001' + '0006' + '040304010804' + '000a' + '0005' + '3012311030' + '0001' + '30');
    expect(decodeCertificateRequest(bytes)).toEqual(cr);
  });

  it('ServerKeyExchange (tinydtls, both sessions): named secp256r1, 65-byte point, ecdsa/sha256 DER signature', () => {
    for (const bytes of [B.serverKeyExchange, F.serverKeyExchange]) {
      const ske = decodeServerEcdhKeyExchange(bytes);
      expect(ske.namedCurve).toBe(NamedCurve.secp256r1);
      expect(ske.publicKey).toHaveLength(65);
      expect(ske.publicKey[0]).toBe(4);
      expect(ske.signature.algorithm).toBe(ECDSA_SECP256R1_SHA256);
      expect(ske.signature.signature[0]).toBe(0x30); // DER ECDSA-Sig-Value
      expect(toHex(ske.params)).toBe(toHex(encodeServerEcdhParams(ske.publicKey, ske.namedCurve)));
      expect(toHex(ske.params.subarray(0, 4))).toBe('03001741');
      expect(ske.params[0]).toBe(EC_CURVE_TYPE_NAMED);
      expect(toHex(encodeServerEcdhKeyExchange(ske.params, ske.signature))).toBe(toHex(bytes));
    }
  });

  it('ClientKeyExchange (tinydtls and GnuTLS): one 65-byte uncompressed point', () => {
    for (const bytes of [B.clientKeyExchange, F.clientKeyExchange]) {
      const point = decodeClientEcdhKeyExchange(bytes);
      expect(point).toHaveLength(65);
      expect(point[0]).toBe(4);
      expect(toHex(encodeClientEcdhKeyExchange(point))).toBe(toHex(bytes));
    }
  });

  it('CertificateVerify (tinydtls and GnuTLS): ecdsa/sha256 and a DER signature', () => {
    for (const bytes of [B.certificateVerify, F.certificateVerify]) {
      const cv = decodeCertificateVerify(bytes);
      expect(cv.algorithm).toBe(ECDSA_SECP256R1_SHA256);
      expect(cv.signature[0]).toBe(0x30);
      expect(cv.signature[1]).toBe(cv.signature.length - 2);
      expect(toHex(encodeCertificateVerify(cv))).toBe(toHex(bytes));
    }
  });

  it('hello extensions: supported_groups, signature_algorithms, ec_point_formats, certificate type lists and choices', () => {
    for (const prefix of ['B', 'F']) {
      const ch = cookieHello(prefix);
      const groups = extData(ch.extensions, ExtensionType.supported_groups);
      expect(decodeU16List(groups, 'supported_groups')).toEqual([NamedCurve.secp256r1]);
      expect(toHex(encodeU16List(decodeU16List(groups, 'supported_groups')))).toBe(toHex(groups));
      const algs = extData(ch.extensions, ExtensionType.signature_algorithms);
      expect(decodeU16List(algs, 'signature_algorithms')).toContain(ECDSA_SECP256R1_SHA256);
      expect(toHex(encodeU16List(decodeU16List(algs, 'signature_algorithms')))).toBe(toHex(algs));
      const formats = extData(ch.extensions, ExtensionType.ec_point_formats);
      expect(decodeU8List(formats, 'ec_point_formats')).toEqual([EC_POINT_FORMAT_UNCOMPRESSED]);
      expect(toHex(encodeU8List(decodeU8List(formats, 'ec_point_formats')))).toBe(toHex(formats));
      for (const type of [ExtensionType.client_certificate_type, ExtensionType.server_certificate_type]) {
        const offered = extData(ch.extensions, type);
        expect(decodeU8List(offered, 'certificate types')).toEqual([CertificateType.RawPublicKey]);
        expect(toHex(encodeU8List([CertificateType.RawPublicKey]))).toBe(toHex(offered));
        const chosen = extData(serverHello(prefix).extensions, type);
        expect(decodeCertificateTypeChoice(chosen, 'certificate type')).toBe(CertificateType.RawPublicKey);
        expect(toHex(chosen)).toBe('02');
        // The ServerHello form is one byte, not a list: the list form does not decode as a choice.
        expect(() => decodeCertificateTypeChoice(offered, 'certificate type')).toThrow(DecodeError);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** A value or a DecodeError are both fine; anything else fails the property. */
function outcome<T>(decode: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false };
    throw e;
  }
}

interface Codec {
  decode: (b: Uint8Array) => unknown;
  /** Re-encodes a decoded value: every encoding here is canonical, so it must give the input back. */
  encode: (v: never) => Uint8Array;
  valid: Uint8Array[];
}

const CODECS: Record<string, Codec> = {
  'decodeCertificate (RawPublicKey)': {
    decode: (b) => decodeCertificate(b, CertificateType.RawPublicKey),
    encode: (v: CertificateMessage) => encodeCertificate(v),
    valid: [B.serverCertificate, B.clientCertificate],
  },
  'decodeCertificate (X.509)': {
    decode: (b) => decodeCertificate(b, CertificateType.X509),
    encode: (v: CertificateMessage) => encodeCertificate(v),
    valid: [encodeCertificate({ type: CertificateType.X509, chain: [pemDer('leaf-via-int.crt'), pemDer('int.crt')] })],
  },
  decodeCertificateRequest: {
    decode: decodeCertificateRequest,
    encode: (v: CertificateRequest) => encodeCertificateRequest(v),
    valid: [B.certificateRequest, encodeCertificateRequest({ certificateTypes: [64], signatureAlgorithms: [0x0403], certificateAuthorities: [fromHex('3000'), fromHex('31')] })],
  },
  decodeServerEcdhKeyExchange: {
    decode: decodeServerEcdhKeyExchange,
    encode: (v: ReturnType<typeof decodeServerEcdhKeyExchange>) => encodeServerEcdhKeyExchange(v.params, v.signature),
    valid: [B.serverKeyExchange, F.serverKeyExchange],
  },
  decodeClientEcdhKeyExchange: {
    decode: decodeClientEcdhKeyExchange,
    encode: (v: Uint8Array) => encodeClientEcdhKeyExchange(v),
    valid: [B.clientKeyExchange, F.clientKeyExchange],
  },
  decodeCertificateVerify: {
    decode: decodeCertificateVerify,
    encode: (v: DigitallySigned) => encodeCertificateVerify(v),
    valid: [B.certificateVerify, F.certificateVerify],
  },
  decodeU16List: {
    decode: (b) => decodeU16List(b, 'list'),
    encode: (v: number[]) => encodeU16List(v),
    valid: [extData(cookieHello('F').extensions, ExtensionType.signature_algorithms), encodeU16List([0x0403, 0x0503, 0x0603])],
  },
  decodeU8List: {
    decode: (b) => decodeU8List(b, 'list'),
    encode: (v: number[]) => encodeU8List(v),
    valid: [extData(cookieHello('B').extensions, ExtensionType.ec_point_formats), encodeU8List([2, 0, 1])],
  },
  decodeCertificateTypeChoice: {
    decode: (b) => decodeCertificateTypeChoice(b, 'certificate type'),
    encode: (v: number) => new Uint8Array([v]),
    valid: [extData(serverHello('B').extensions, ExtensionType.server_certificate_type)],
  },
};

describe('any bytes -> a value or DecodeError; whatever decodes re-encodes to the same bytes', () => {
  for (const [name, codec] of Object.entries(CODECS)) {
    const check = (b: Uint8Array): boolean => {
      const r = outcome(() => codec.decode(b));
      if (r.ok) expect(toHex(codec.encode(r.value as never)), `${name} re-encodes ${toHex(b)}`).toBe(toHex(b));
      return r.ok;
    };

    it(`${name}: arbitrary bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
          check(b);
        }),
        { numRuns: 1500 },
      );
    });

    it(`${name}: mutated real input (reaches both outcomes)`, () => {
      for (const v of codec.valid) expect(check(v), `${name} decodes its valid vector`).toBe(true);
      const seen = { ok: 0, err: 0 };
      fc.assert(
        fc.property(fc.constantFrom(...codec.valid).chain(mutated), (b) => {
          if (check(b)) seen.ok++;
          else seen.err++;
        }),
        { numRuns: 1500 },
      );
      expect(seen.ok).toBeGreaterThan(0);
      expect(seen.err).toBeGreaterThan(0);
    });
  }

  it('decodeCertificate with any certificate type number: a value only for 0 and 2', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 300 }), fc.constantFrom(B.serverCertificate, new Uint8Array([0, 0, 0]), new Uint8Array(0)), (type, b) => {
        const r = outcome(() => decodeCertificate(b, type));
        if (r.ok) expect([CertificateType.X509, CertificateType.RawPublicKey]).toContain(type);
      }),
      { numRuns: 500 },
    );
  });
});

describe('generated values round-trip through encode and decode', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

  it('Certificate: raw public keys and X.509 chains (up to 10 certificates)', () => {
    fc.assert(
      fc.property(bytes(1, 300), fc.array(bytes(1, 60), { maxLength: 10 }), (spki, chain) => {
        const rpk: CertificateMessage = { type: CertificateType.RawPublicKey, spki };
        expect(decodeCertificate(encodeCertificate(rpk), CertificateType.RawPublicKey)).toEqual(rpk);
        const x: CertificateMessage = { type: CertificateType.X509, chain };
        const enc = encodeCertificate(x);
        expect(decodeCertificate(enc, CertificateType.X509)).toEqual(x);
        expect(enc.length).toBe(3 + chain.reduce((n, c) => n + 3 + c.length, 0));
      }),
      { numRuns: 500 },
    );
  });

  it('CertificateRequest', () => {
    const cr = fc.record({
      certificateTypes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 10 }),
      signatureAlgorithms: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 20 }),
      certificateAuthorities: fc.array(bytes(1, 40), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(cr, (m) => {
        expect(decodeCertificateRequest(encodeCertificateRequest(m))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('ServerKeyExchange, ClientKeyExchange, CertificateVerify', () => {
    const sig = fc.record({ algorithm: fc.integer({ min: 0, max: 0xffff }), signature: bytes(0, 80) });
    fc.assert(
      fc.property(bytes(1, 255), fc.integer({ min: 0, max: 0xffff }), sig, (point, curve, s) => {
        const params = encodeServerEcdhParams(point, curve);
        const ske = decodeServerEcdhKeyExchange(encodeServerEcdhKeyExchange(params, s));
        expect(ske.namedCurve).toBe(curve);
        expect(toHex(ske.publicKey)).toBe(toHex(point));
        expect(toHex(ske.params)).toBe(toHex(params));
        expect(ske.signature).toEqual(s);
        expect(decodeClientEcdhKeyExchange(encodeClientEcdhKeyExchange(point))).toEqual(point);
        expect(decodeCertificateVerify(encodeCertificateVerify(s))).toEqual(s);
      }),
      { numRuns: 500 },
    );
  });

  it('U16 and U8 lists (non-empty, as the RFC vectors require)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 50 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 50 }),
        (u16, u8) => {
          expect(decodeU16List(encodeU16List(u16), 'l')).toEqual(u16);
          expect(decodeU8List(encodeU8List(u8), 'l')).toEqual(u8);
        },
      ),
      { numRuns: 500 },
    );
    // The lower bounds: empty lists and an odd u16 vector do not decode.
    expect(() => decodeU16List(new Uint8Array([0, 0]), 'l')).toThrow(DecodeError);
    expect(() => decodeU16List(new Uint8Array([0, 3, 0, 23, 0]), 'l')).toThrow(DecodeError);
    expect(() => decodeU8List(new Uint8Array([0]), 'l')).toThrow(DecodeError);
    expect(() => decodeCertificateTypeChoice(new Uint8Array(0), 'c')).toThrow(DecodeError);
  });

  it('ServerKeyExchange refuses a curve_type other than named_curve, and trailing bytes everywhere', () => {
    const bad = B.serverKeyExchange.slice();
    bad[0] = 1; // explicit_prime
    expect(() => decodeServerEcdhKeyExchange(bad)).toThrow(DecodeError);
    for (const [name, codec] of Object.entries(CODECS)) {
      for (const v of codec.valid) expect(() => codec.decode(concat(v, new Uint8Array([0]))), name).toThrow(DecodeError);
    }
  });
});
