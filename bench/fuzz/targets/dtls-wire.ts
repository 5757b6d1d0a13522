/**
 * The DTLS wire decoders (lib/dtls/wire/*): the record splitter, the handshake header, every
 * handshake message, the extension block with the negotiation code that reads it. Oracle:
 * only DecodeError escapes a decoder (DtlsError too from the negotiation functions, which
 * refuse with an alert); what decodes re-encodes byte for byte (the formats are canonical,
 * but for an empty extension block, which the encoders leave out) and decodes to the same.
 */
import { DecodeError, Reader } from '../../../lib/bytes/reader.js';
import { nodeCrypto } from '../../../lib/crypto/node.js';
import { pointFromSpki } from '../../../lib/crypto/p256-spki.js';
import { resolveConfig } from '../../../lib/dtls/config.js';
import { DtlsError } from '../../../lib/dtls/errors.js';
import { readServerKeyExchange } from '../../../lib/dtls/handshake/ecdhe.js';
import { answerRecordSize, checkServerHelloExtensions, chooseServerParameters, chosenCertificateTypes, ecdheHelloExtensions, readRecordSize, recordSizeExtensions } from '../../../lib/dtls/handshake/negotiation.js';
import { decodeAlert, encodeAlert } from '../../../lib/dtls/wire/alert.js';
import { decodeCertificateRequest, encodeCertificateRequest } from '../../../lib/dtls/wire/certificate-request.js';
import { decodeCertificate, encodeCertificate, type CertificateMessage } from '../../../lib/dtls/wire/certificate.js';
import { isChangeCipherSpec } from '../../../lib/dtls/wire/change-cipher-spec.js';
import { decodeClientHello, encodeClientHello, type ClientHello } from '../../../lib/dtls/wire/client-hello.js';
import { ContentType, ExtensionType, HandshakeType } from '../../../lib/dtls/wire/constants.js';
import { CertificateType, decodeCertificateTypeChoice, decodeU16List, decodeU8List, encodeU16List, encodeU8List } from '../../../lib/dtls/wire/ec-extensions.js';
import {
  decodeCertificateVerify,
  decodeClientEcdhKeyExchange,
  decodeServerEcdhKeyExchange,
  encodeCertificateVerify,
  encodeClientEcdhKeyExchange,
  encodeServerEcdhKeyExchange,
  encodeServerEcdhParams,
} from '../../../lib/dtls/wire/ecdh-key-exchange.js';
import { decodeExtensions, encodeExtensions, isEmptyRenegotiationInfo, type Extension } from '../../../lib/dtls/wire/extensions.js';
import { decodeFinished } from '../../../lib/dtls/wire/finished.js';
import { decodeHandshakeFragments, encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from '../../../lib/dtls/wire/handshake.js';
import { decodeHelloVerifyRequest, encodeHelloVerifyRequest } from '../../../lib/dtls/wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity } from '../../../lib/dtls/wire/psk-key-exchange.js';
import { encodeRecord, RECORD_HEADER_LENGTH, splitRecords } from '../../../lib/dtls/wire/record.js';
import { decodeServerHello, encodeServerHello, type ServerHello } from '../../../lib/dtls/wire/server-hello.js';
import { Writer } from '../../../lib/bytes/writer.js';
import { parseCertificate, parseSubjectPublicKeyInfo } from '../../../lib/x509/certificate.js';
import { X509Error } from '../../../lib/x509/errors.js';
import { hexHead, sameBytes } from '../canon.js';
import { mutateClientHello, mutateDatagram, mutateServerHello, randomExtension } from '../dtls-mutate.js';
import { handshakeBodies, handshakeRecords, seedDatagrams } from '../dtls-seeds.js';
import { pkiCertificates } from '../fixtures.js';
import type { MutationContext } from '../mutate.js';
import { allowed, inputHash, roundTrip } from '../oracles.js';
import type { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

const DICTIONARY = [
  new Uint8Array([0xfe, 0xfd]),
  new Uint8Array([0xfe, 0xff]),
  new Uint8Array([0xc0, 0xa8]),
  new Uint8Array([0xc0, 0xae]),
  new Uint8Array([0x00, 0xff]),
  new Uint8Array([0x00, 0x17]),
  new Uint8Array([0x00, 0x17, 0x00, 0x00]),
  new Uint8Array([0xff, 0x01, 0x00, 0x01, 0x00]),
  new Uint8Array([0x00, 0x1c, 0x00, 0x02, 0x01, 0x00]),
  new Uint8Array([0x04, 0x03]),
  new Uint8Array([0x16, 0xfe, 0xfd, 0x00, 0x00]),
  new Uint8Array([0x17, 0xfe, 0xfd, 0x00, 0x01]),
  new Uint8Array([0x15, 0xfe, 0xfd]),
  new Uint8Array([0x14, 0xfe, 0xfd]),
  new Uint8Array([0x04]),
];

const serverCfg = resolveConfig({
  crypto: nodeCrypto,
  ecdhe: { key: nodeCrypto.p256.privateKeyFromScalar(new Uint8Array(32).fill(7)), rawPublicKey: true, certificateChain: [new Uint8Array([0x30, 0])] },
  acceptPeerCertificateTypes: [CertificateType.RawPublicKey, CertificateType.X509],
  clientAuth: 'optional',
  recordSizeLimit: 1024,
});
const clientCfg = resolveConfig({
  crypto: nodeCrypto,
  ecdhe: { key: nodeCrypto.p256.privateKeyFromScalar(new Uint8Array(32).fill(9)), rawPublicKey: true },
  acceptPeerCertificateTypes: [CertificateType.RawPublicKey, CertificateType.X509],
  recordSizeLimit: 256,
  maxFragmentLength: 512,
});
/** What an ECDHE client offers (the "offered" side of the client's ServerHello checks). */
const OFFERED: Extension[] = [...ecdheHelloExtensions(clientCfg), ...recordSizeExtensions(clientCfg), { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) }, { type: ExtensionType.renegotiation_info, data: new Uint8Array([0]) }];

/** A decoder target: seeds, optional structure-aware generation/mutation, run. */
function target(t: Omit<FuzzTarget, 'dictionary'> & { dictionary?: readonly Uint8Array[] }): FuzzTarget {
  return { dictionary: DICTIONARY, ...t };
}

/** Whether a hello's encoding can be byte-exact (an empty extension block is dropped by the encoders). */
function helloExact(exts: readonly Extension[]): boolean {
  return exts.length > 0;
}

// --------------------------------------------------------------------------------------- record

const record = target({
  name: 'dtls-record',
  about: 'splitRecords (lib/dtls/wire/record.ts): every record re-encodes to its bytes in the datagram, in order; DecodeError only',
  maxLength: 4096,
  seeds: () => seedDatagrams(),
  mutate: (b, rng, ctx) => mutateDatagram(b, rng, ctx),
  run(b) {
    let records;
    try {
      records = splitRecords(b);
    } catch (e) {
      return allowed(e, DecodeError);
    }
    let last = 0;
    const f: string[] = [`n:${Math.min(records.length, 4)}`];
    for (const r of records) {
      const start = r.fragment.byteOffset - b.byteOffset - RECORD_HEADER_LENGTH;
      if (start < last || r.fragment.buffer !== b.buffer) throw new Violation('record', `record at ${start} overlaps or is not a view of the datagram`);
      const again = encodeRecord(r, r.fragment);
      if (!sameBytes(again, b.subarray(start, start + again.length))) throw new Violation('roundtrip', `record at ${start} re-encodes differently: ${hexHead(again)}`);
      last = start + again.length;
      f.push(`t:${r.type}:${r.epoch > 0 ? 'e' : '0'}:${r.version.toString(16)}`);
    }
    return f;
  },
});

// ------------------------------------------------------------------------------------ handshake

function wrapMutate(body: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array | undefined {
  const d = mutateDatagram(encodeRecord({ type: ContentType.handshake, version: 0xfefd, epoch: 0, sequence: 0 }, body), rng, ctx);
  if (!d) return undefined;
  try {
    const rs = splitRecords(d);
    return rs[0]?.fragment.slice();
  } catch {
    return undefined;
  }
}

const handshake = target({
  name: 'dtls-handshake',
  about: 'decodeHandshakeFragments (handshake.ts): the fragment headers of one record re-encode exactly; DecodeError only',
  maxLength: 2048,
  seeds: () => handshakeRecords(),
  mutate: wrapMutate,
  run(b) {
    let frags;
    try {
      frags = decodeHandshakeFragments(b);
    } catch (e) {
      return allowed(e, DecodeError);
    }
    const out = new Uint8Array(b.length);
    let at = 0;
    const f: string[] = [];
    for (const x of frags) {
      encodeHandshakeHeader(out, at, x.msgType, x.length, x.messageSeq, x.fragmentOffset, x.body.length);
      out.set(x.body, at + HANDSHAKE_HEADER_LENGTH);
      at += HANDSHAKE_HEADER_LENGTH + x.body.length;
      f.push(`m:${x.msgType}:${x.fragmentOffset === 0 && x.body.length === x.length ? 'whole' : 'part'}`);
    }
    if (at !== b.length || !sameBytes(out, b)) throw new Violation('roundtrip', `handshake fragments re-encode differently: ${hexHead(b)}`);
    return f;
  },
});

// ---------------------------------------------------------------------------------------- hellos

function randomClientHello(rng: Rng): ClientHello {
  return {
    clientVersion: rng.chance(0.9) ? 0xfefd : rng.below(0x10000),
    random: rng.bytes(32),
    sessionId: rng.bytes(rng.chance(0.8) ? 0 : rng.below(33)),
    cookie: rng.bytes(rng.chance(0.5) ? 0 : rng.pick([16, 32, rng.below(256)])),
    cipherSuites: Array.from({ length: rng.range(1, 5) }, () => rng.pick([0xc0a8, 0xc0ae, 0x00ff, rng.below(0x10000)])),
    compressionMethods: rng.chance(0.9) ? new Uint8Array([0]) : rng.bytes(rng.range(1, 3)),
    extensions: (() => {
      const seen = new Set<number>();
      const out: Extension[] = [];
      for (let i = rng.below(10); i > 0; i--) {
        const e = randomExtension(rng);
        if (!seen.has(e.type)) {
          seen.add(e.type);
          out.push(e);
        }
      }
      return out;
    })(),
  };
}

function negotiationFeatures(f: string[], run: () => void): void {
  try {
    run();
    f.push('negotiated');
  } catch (e) {
    f.push(allowed(e, DtlsError, DecodeError));
  }
}

const clientHello = target({
  name: 'dtls-client-hello',
  about: 'decodeClientHello + the server\'s chooseServerParameters / answerRecordSize on its extensions; round trip',
  maxLength: 1024,
  seeds: () => handshakeBodies(HandshakeType.client_hello),
  generate: (rng) => encodeClientHello(randomClientHello(rng)),
  mutate(b, rng, ctx) {
    try {
      return encodeClientHello(mutateClientHello(decodeClientHello(b), rng, ctx));
    } catch {
      return undefined;
    }
  },
  run(b) {
    let ch: ClientHello;
    try {
      ch = decodeClientHello(b);
    } catch (e) {
      return allowed(e, DecodeError);
    }
    roundTrip('ClientHello', b, ch, decodeClientHello, encodeClientHello, helloExact(ch.extensions));
    const f = ['ok', ...ch.extensions.map((e) => `ext:${e.type > 0x100 && e.type !== 0xff01 ? 'other' : e.type}`)];
    negotiationFeatures(f, () => {
      const choice = chooseServerParameters(serverCfg, ch.cipherSuites, ch.extensions, true);
      f.push(`suite:${choice.suite.toString(16)}:${choice.serverCertificateType}:${choice.clientCertificateType}`);
    });
    negotiationFeatures(f, () => answerRecordSize(serverCfg, ch.extensions));
    return f;
  },
});

function randomServerHello(rng: Rng): ServerHello {
  const exts: Extension[] = [];
  for (const e of OFFERED) if (rng.chance(0.4)) exts.push(rng.chance(0.8) ? { type: e.type, data: e.type === ExtensionType.server_certificate_type || e.type === ExtensionType.client_certificate_type ? new Uint8Array([rng.pick([0, 2, 1])]) : e.data } : randomExtension(rng));
  return { serverVersion: 0xfefd, random: rng.bytes(32), sessionId: rng.bytes(rng.chance(0.5) ? 0 : 32), cipherSuite: rng.pick([0xc0a8, 0xc0ae, rng.below(0x10000)]), compressionMethod: rng.chance(0.9) ? 0 : rng.below(256), extensions: exts };
}

const serverHello = target({
  name: 'dtls-server-hello',
  about: 'decodeServerHello + the client\'s checkServerHelloExtensions / readRecordSize / chosenCertificateTypes (in the client\'s order); round trip',
  maxLength: 1024,
  seeds: () => handshakeBodies(HandshakeType.server_hello),
  generate: (rng) => encodeServerHello(randomServerHello(rng)),
  mutate(b, rng, ctx) {
    try {
      return encodeServerHello(mutateServerHello(decodeServerHello(b), rng, ctx));
    } catch {
      return undefined;
    }
  },
  run(b) {
    let sh: ServerHello;
    try {
      sh = decodeServerHello(b);
    } catch (e) {
      return allowed(e, DecodeError);
    }
    roundTrip('ServerHello', b, sh, decodeServerHello, encodeServerHello, helloExact(sh.extensions));
    const f = ['ok', ...sh.extensions.map((e) => `ext:${e.type > 0x100 && e.type !== 0xff01 ? 'other' : e.type}`)];
    negotiationFeatures(f, () => {
      checkServerHelloExtensions(sh.extensions, OFFERED);
      readRecordSize(clientCfg, sh.extensions, OFFERED);
      const t = chosenCertificateTypes(sh.extensions, OFFERED);
      f.push(`types:${t.serverCertificateType}:${t.clientCertificateType}`);
    });
    return f;
  },
});

const helloVerifyRequest = target({
  name: 'dtls-hello-verify-request',
  about: 'decodeHelloVerifyRequest: exact round trip, DecodeError only',
  maxLength: 512,
  seeds: () => handshakeBodies(HandshakeType.hello_verify_request),
  generate: (rng) => encodeHelloVerifyRequest({ serverVersion: rng.pick([0xfefd, 0xfeff, rng.below(0x10000)]), cookie: rng.bytes(rng.below(256)) }),
  run(b) {
    try {
      const m = decodeHelloVerifyRequest(b);
      roundTrip('HelloVerifyRequest', b, m, decodeHelloVerifyRequest, encodeHelloVerifyRequest, true);
      return `ok:${m.cookie.length > 32 ? 'long' : 'short'}`;
    } catch (e) {
      return allowed(e, DecodeError);
    }
  },
});

// ---------------------------------------------------------------------------------- certificates

function certificateSeeds(): Uint8Array[] {
  const out = handshakeBodies(HandshakeType.certificate).flatMap((b) => [new Uint8Array([CertificateType.RawPublicKey, ...b]), new Uint8Array([CertificateType.X509, ...b])]);
  const pki = pkiCertificates();
  if (pki.length >= 2) {
    out.push(new Uint8Array([CertificateType.X509, ...encodeCertificate({ type: CertificateType.X509, chain: [pki[0]![1], pki[1]![1]] })]));
    out.push(new Uint8Array([CertificateType.X509, ...encodeCertificate({ type: CertificateType.X509, chain: [] })]));
  }
  return out;
}

const certificate = target({
  name: 'dtls-certificate',
  about: 'decodeCertificate (first byte: the negotiated certificate type) + parseCertificate / parseSubjectPublicKeyInfo of what it carries; exact round trip',
  maxLength: 4096,
  seeds: certificateSeeds,
  run(b) {
    if (b.length === 0) return 'empty';
    const type = b[0]!;
    const body = b.subarray(1);
    let m: CertificateMessage;
    try {
      m = decodeCertificate(body, type);
    } catch (e) {
      return allowed(e, DecodeError);
    }
    roundTrip('Certificate', body, m, (x) => decodeCertificate(x, type), encodeCertificate, true);
    const f = [`ok:${m.type}`];
    if (m.type === CertificateType.RawPublicKey) {
      try {
        parseSubjectPublicKeyInfo(m.spki);
        pointFromSpki(m.spki);
        f.push('spki');
      } catch (e) {
        f.push(allowed(e, DecodeError));
      }
    } else {
      f.push(`chain:${Math.min(m.chain.length, 4)}`);
      for (const der of m.chain) {
        try {
          parseCertificate(der);
          f.push('x509');
        } catch (e) {
          f.push(allowed(e, X509Error));
        }
      }
    }
    return f;
  },
});

const certificateRequest = target({
  name: 'dtls-certificate-request',
  about: 'decodeCertificateRequest: exact round trip, DecodeError only',
  maxLength: 1024,
  seeds: () => handshakeBodies(HandshakeType.certificate_request),
  generate: (rng) =>
    encodeCertificateRequest({
      certificateTypes: Array.from({ length: rng.range(1, 3) }, () => rng.pick([64, 1, 2, rng.below(256)])),
      signatureAlgorithms: Array.from({ length: rng.below(4) }, () => rng.pick([0x0403, 0x0401, rng.below(0x10000)])),
      certificateAuthorities: Array.from({ length: rng.below(3) }, () => rng.bytes(rng.range(1, 40))),
    }),
  run(b) {
    try {
      const m = decodeCertificateRequest(b);
      roundTrip('CertificateRequest', b, m, decodeCertificateRequest, encodeCertificateRequest, true);
      return `ok:${m.certificateAuthorities.length > 0}`;
    } catch (e) {
      return allowed(e, DecodeError);
    }
  },
});

// ----------------------------------------------------------------------------------- key exchange

const SKE_KEY = nodeCrypto.p256.privateKeyFromScalar(new Uint8Array(32).fill(3)).publicKey;

const serverKeyExchange = target({
  name: 'dtls-server-key-exchange',
  about: 'ServerKeyExchange: decodeServerEcdhKeyExchange (exact round trip) and readServerKeyExchange on 1/8 of inputs, the PSK hint (decodePskIdentity)',
  maxLength: 1024,
  seeds: () => handshakeBodies(HandshakeType.server_key_exchange),
  generate: (rng) =>
    rng.chance(0.5)
      ? encodeServerEcdhKeyExchange(encodeServerEcdhParams(rng.chance(0.8) ? new Uint8Array([4, ...rng.bytes(64)]) : rng.bytes(rng.range(1, 80)), rng.chance(0.9) ? 23 : rng.below(0x10000)), {
          algorithm: rng.pick([0x0403, rng.below(0x10000)]),
          signature: rng.bytes(rng.pick([70, 71, 72, rng.below(100)])),
        })
      : encodePskIdentity(rng.bytes(rng.smallLength(140))),
  run(b) {
    const f: string[] = [];
    try {
      const m = decodeServerEcdhKeyExchange(b);
      roundTrip('ServerKeyExchange', b, m, decodeServerEcdhKeyExchange, (x) => encodeServerEcdhKeyExchange(x.params, x.signature), true);
      if (!sameBytes(encodeServerEcdhParams(m.publicKey, m.namedCurve), m.params)) throw new Violation('roundtrip', 'ServerECDHParams re-encode differently');
      f.push(`ecdh:${m.namedCurve === 23}:${m.publicKey.length === 65}`);
      if ((inputHash(b) & 7) === 0) {
        try {
          readServerKeyExchange(nodeCrypto, SKE_KEY, new Uint8Array(32), new Uint8Array(32), b);
        } catch (e) {
          f.push(allowed(e, DtlsError, DecodeError));
        }
      }
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    try {
      const hint = decodePskIdentity(b, 128, 'psk_identity_hint');
      roundTrip('PSK hint', b, hint, (x) => decodePskIdentity(x, 128, 'psk_identity_hint'), encodePskIdentity, true);
      f.push('psk');
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    return f;
  },
});

const clientKeyExchange = target({
  name: 'dtls-client-key-exchange',
  about: 'ClientKeyExchange: decodeClientEcdhKeyExchange and the PSK identity (decodePskIdentity, 128-byte cap); exact round trips',
  maxLength: 512,
  seeds: () => handshakeBodies(HandshakeType.client_key_exchange),
  generate: (rng) => (rng.chance(0.5) ? encodeClientEcdhKeyExchange(rng.chance(0.8) ? new Uint8Array([4, ...rng.bytes(64)]) : rng.bytes(rng.range(1, 80))) : encodePskIdentity(rng.bytes(rng.smallLength(140)))),
  run(b) {
    const f: string[] = [];
    try {
      const p = decodeClientEcdhKeyExchange(b);
      roundTrip('ClientKeyExchange (ECDH)', b, p, decodeClientEcdhKeyExchange, encodeClientEcdhKeyExchange, true);
      f.push(`ecdh:${p.length}`);
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    try {
      const id = decodePskIdentity(b, 128, 'psk_identity');
      roundTrip('ClientKeyExchange (PSK)', b, id, (x) => decodePskIdentity(x, 128, 'psk_identity'), encodePskIdentity, true);
      f.push('psk');
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    return f;
  },
});

const certificateVerify = target({
  name: 'dtls-certificate-verify',
  about: 'decodeCertificateVerify (DigitallySigned): exact round trip, DecodeError only',
  maxLength: 512,
  seeds: () => handshakeBodies(HandshakeType.certificate_verify),
  generate: (rng) => encodeCertificateVerify({ algorithm: rng.pick([0x0403, rng.below(0x10000)]), signature: rng.bytes(rng.pick([70, 71, 72, rng.below(200)])) }),
  run(b) {
    try {
      const m = decodeCertificateVerify(b);
      roundTrip('CertificateVerify', b, m, decodeCertificateVerify, encodeCertificateVerify, true);
      return `ok:${m.algorithm === 0x0403}`;
    } catch (e) {
      return allowed(e, DecodeError);
    }
  },
});

// ----------------------------------------------------------------------- extensions, alerts, ...

function encodeExtensionBlock(exts: readonly Extension[]): Uint8Array {
  const w = new Writer(64);
  if (exts.length === 0) w.u16(0);
  else encodeExtensions(w, exts);
  return w.finish();
}

const extensions = target({
  name: 'dtls-extensions',
  about: 'decodeExtensions and every extension-data decoder (groups, point formats, signature algorithms, certificate types, renegotiation_info), then the server\'s and the client\'s negotiation on them',
  maxLength: 1024,
  seeds: () =>
    [...handshakeBodies(HandshakeType.client_hello), ...handshakeBodies(HandshakeType.server_hello)].flatMap((b) => {
      try {
        const exts = decodeClientHelloExts(b);
        return exts.length ? [encodeExtensionBlock(exts)] : [];
      } catch {
        return [];
      }
    }),
  generate(rng) {
    const exts: Extension[] = [];
    for (let i = rng.below(10); i > 0; i--) exts.push(randomExtension(rng));
    return encodeExtensionBlock(exts);
  },
  run(b) {
    const r = new Reader(b);
    let exts: Extension[];
    try {
      exts = decodeExtensions(r);
      r.end('extensions');
    } catch (e) {
      return allowed(e, DecodeError);
    }
    const f = [`n:${Math.min(exts.length, 8)}`];
    const data = (x: Uint8Array, dec: () => number[], enc: (v: number[]) => Uint8Array, what: string) => {
      try {
        const v = dec();
        if (!sameBytes(enc(v), x)) throw new Violation('roundtrip', `${what} re-encodes differently: ${hexHead(x)}`);
        f.push(`${what}:ok`);
      } catch (e) {
        f.push(allowed(e, DecodeError));
      }
    };
    for (const e of exts) {
      switch (e.type) {
        case ExtensionType.supported_groups:
          data(e.data, () => decodeU16List(e.data, 'supported_groups'), encodeU16List, 'groups');
          break;
        case ExtensionType.signature_algorithms:
          data(e.data, () => decodeU16List(e.data, 'signature_algorithms'), encodeU16List, 'sigalgs');
          break;
        case ExtensionType.ec_point_formats:
          data(e.data, () => decodeU8List(e.data, 'ec_point_formats'), encodeU8List, 'formats');
          break;
        case ExtensionType.client_certificate_type:
        case ExtensionType.server_certificate_type:
          data(e.data, () => decodeU8List(e.data, 'certificate types'), encodeU8List, 'certtypes');
          try {
            decodeCertificateTypeChoice(e.data, 'certificate type');
            f.push('certtype:ok');
          } catch (err) {
            f.push(allowed(err, DecodeError));
          }
          break;
        case ExtensionType.renegotiation_info:
          f.push(`ri:${isEmptyRenegotiationInfo(e.data)}`);
          break;
      }
    }
    negotiationFeatures(f, () => chooseServerParameters(serverCfg, [0xc0ae, 0xc0a8], exts, true));
    negotiationFeatures(f, () => answerRecordSize(serverCfg, exts));
    negotiationFeatures(f, () => {
      checkServerHelloExtensions(exts, OFFERED);
      readRecordSize(clientCfg, exts, OFFERED);
      chosenCertificateTypes(exts, OFFERED);
    });
    return f;
  },
});

function decodeClientHelloExts(b: Uint8Array): Extension[] {
  try {
    return decodeClientHello(b).extensions;
  } catch {
    return decodeServerHello(b).extensions;
  }
}

const alert = target({
  name: 'dtls-alert',
  about: 'decodeAlert (exact round trip), decodeFinished, isChangeCipherSpec: DecodeError only',
  maxLength: 64,
  seeds: () => [new Uint8Array([1, 0]), new Uint8Array([2, 20]), new Uint8Array([1]), new Uint8Array(12), new Uint8Array([1, 2, 3])],
  run(b) {
    const f: string[] = [`ccs:${isChangeCipherSpec(b)}`];
    try {
      const a = decodeAlert(b);
      if (!sameBytes(encodeAlert(a), b)) throw new Violation('roundtrip', `Alert re-encodes differently: ${hexHead(b)}`);
      f.push('alert');
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    try {
      decodeFinished(b);
      f.push('finished');
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    return f;
  },
});

export const DTLS_WIRE_TARGETS: FuzzTarget[] = [
  record,
  handshake,
  clientHello,
  serverHello,
  helloVerifyRequest,
  certificate,
  certificateRequest,
  serverKeyExchange,
  clientKeyExchange,
  certificateVerify,
  extensions,
  alert,
];
