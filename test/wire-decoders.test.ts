/**
 * Wire structs: real bytes (tinydtls transcript A, and the OpenSSL / GnuTLS hellos in the
 * other transcripts) decode and re-encode to identical bytes; and no decoder ever throws
 * anything but DecodeError, whatever the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, Reader } from '../lib/bytes/reader.js';
import { concat, fromHex, toHex } from '../lib/bytes/util.js';
import { decodeAlert, encodeAlert } from '../lib/dtls/wire/alert.js';
import { clientHelloParamsEnd, helloCookieAt } from '../lib/dtls/wire/client-hello-layout.js';
import { decodeClientHello, encodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { AlertDescription, AlertLevel, CipherSuite, ContentType, DTLS_1_0, DTLS_1_2, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeExtensions, encodeExtensions, findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeFinished } from '../lib/dtls/wire/finished.js';
import { decodeHandshakeFragments, encodeHandshake, fragmentAt, HANDSHAKE_HEADER_LENGTH, readFragment } from '../lib/dtls/wire/handshake.js';
import { decodeHelloVerifyRequest, encodeHelloVerifyRequest } from '../lib/dtls/wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../lib/dtls/wire/psk-key-exchange.js';
import { encodeRecord, RECORD_HEADER_LENGTH, splitRecords } from '../lib/dtls/wire/record.js';
import { decodeServerHello, encodeServerHello } from '../lib/dtls/wire/server-hello.js';
import { Writer } from '../lib/bytes/writer.js';
import { mutated } from './helpers/bytes.js';
import { transcriptDatagrams, transcriptFiles } from './helpers/tinydtls.js';

// Transcript A (tinydtls client <-> tinydtls server, PSK), first datagrams of the handshake.
const A = transcriptDatagrams('A').map((d) => fromHex(d.hex));
const A_CLIENT_HELLO = A[0]!; // ClientHello without cookie, one record
const A_HVR = A[1]!;
const A_CLIENT_HELLO_COOKIE = A[2]!;
const A_SERVER_HELLO = A[3]!;
const A_SERVER_HELLO_DONE = A[4]!;
const A_CKE = A[5]!;

/** The only record of a datagram, and the only handshake fragment in it. */
function singleHandshake(datagram: Uint8Array) {
  const records = splitRecords(datagram);
  expect(records).toHaveLength(1);
  const fragments = decodeHandshakeFragments(records[0]!.fragment);
  expect(fragments).toHaveLength(1);
  return { record: records[0]!, fragment: fragments[0]! };
}

describe('byte-exact round trips of real messages (transcript A)', () => {
  it('record header: splitRecords then encodeRecord gives the datagram back', () => {
    for (const d of A) {
      const records = splitRecords(d);
      const rebuilt = concat(...records.map((r) => encodeRecord(r, r.fragment)));
      expect(toHex(rebuilt)).toBe(toHex(d));
    }
    const [r] = splitRecords(A_CLIENT_HELLO);
    expect(r).toMatchObject({ type: ContentType.handshake, version: DTLS_1_0, epoch: 0, sequence: 0, length: A_CLIENT_HELLO.length - RECORD_HEADER_LENGTH });
  });

  it('handshake header: decode then encodeHandshake gives the record body back', () => {
    for (const d of [A_CLIENT_HELLO, A_HVR, A_CLIENT_HELLO_COOKIE, A_SERVER_HELLO, A_SERVER_HELLO_DONE, A_CKE]) {
      const { record, fragment } = singleHandshake(d);
      expect(fragment.fragmentOffset).toBe(0);
      expect(fragment.body.length).toBe(fragment.length);
      expect(toHex(encodeHandshake(fragment.msgType, fragment.messageSeq, fragment.body))).toBe(toHex(record.fragment));
    }
  });

  it('ClientHello (without and with cookie)', () => {
    const first = singleHandshake(A_CLIENT_HELLO).fragment;
    expect(first).toMatchObject({ msgType: HandshakeType.client_hello, messageSeq: 0 });
    const ch = decodeClientHello(first.body);
    expect(ch.clientVersion).toBe(DTLS_1_2);
    expect(toHex(ch.random)).toBe('5b6ef76866bf4882830d2daf0eacbdabe6c0a4677f28d99e701e0982c48fb310');
    expect(ch.sessionId.length).toBe(0);
    expect(ch.cookie.length).toBe(0);
    expect(ch.cipherSuites).toEqual([CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV]);
    expect(Array.from(ch.compressionMethods)).toEqual([0]);
    expect(ch.extensions).toEqual([{ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) }]);
    expect(toHex(encodeClientHello(ch))).toBe(toHex(first.body));

    const second = singleHandshake(A_CLIENT_HELLO_COOKIE).fragment;
    const ch2 = decodeClientHello(second.body);
    expect(second.messageSeq).toBe(1);
    expect(toHex(ch2.cookie)).toBe('5bf5b4813eda970647bcaeaa0cc52ea6');
    expect(toHex(ch2.random)).toBe(toHex(ch.random));
    expect(toHex(encodeClientHello(ch2))).toBe(toHex(second.body));
  });

  it('HelloVerifyRequest', () => {
    const { fragment } = singleHandshake(A_HVR);
    expect(fragment.msgType).toBe(HandshakeType.hello_verify_request);
    const hvr = decodeHelloVerifyRequest(fragment.body);
    expect(hvr.serverVersion).toBe(DTLS_1_2);
    expect(toHex(hvr.cookie)).toBe('5bf5b4813eda970647bcaeaa0cc52ea6');
    expect(toHex(encodeHelloVerifyRequest(hvr))).toBe(toHex(fragment.body));
  });

  it('ServerHello and the empty ServerHelloDone', () => {
    const { fragment } = singleHandshake(A_SERVER_HELLO);
    expect(fragment.msgType).toBe(HandshakeType.server_hello);
    const sh = decodeServerHello(fragment.body);
    expect(sh.serverVersion).toBe(DTLS_1_2);
    expect(toHex(sh.random)).toBe('d30ad89099b8c379653945045cf3e508a5505445be5d1e4849b1c617a0646d7d');
    expect(sh.cipherSuite).toBe(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8);
    expect(sh.compressionMethod).toBe(0);
    expect(findExtension(sh.extensions, ExtensionType.extended_master_secret)).toBeDefined();
    expect(toHex(encodeServerHello(sh))).toBe(toHex(fragment.body));

    const done = singleHandshake(A_SERVER_HELLO_DONE).fragment;
    expect(done).toMatchObject({ msgType: HandshakeType.server_hello_done, length: 0, messageSeq: 2 });
  });

  it('ClientKeyExchange (PSK identity) and the PSK premaster secret', () => {
    const { fragment } = singleHandshake(A_CKE);
    expect(fragment.msgType).toBe(HandshakeType.client_key_exchange);
    const identity = decodePskIdentity(fragment.body, 128, 'psk_identity');
    expect(new TextDecoder().decode(identity)).toBe('Client_identity');
    expect(toHex(encodePskIdentity(identity))).toBe(toHex(fragment.body));
    expect(() => decodePskIdentity(fragment.body, 14, 'psk_identity')).toThrow(DecodeError);
    // RFC 4279 §2: uint16 N, N zeros, uint16 N, psk.
    expect(toHex(pskPremasterSecret(fromHex('73656372657450534b')))).toBe('0009' + '00'.repeat(9) + '0009' + '73656372657450534b');
  });

  it('Alert, Finished and an extensions block', () => {
    for (const a of [
      { level: AlertLevel.warning, description: AlertDescription.close_notify },
      { level: AlertLevel.fatal, description: AlertDescription.handshake_failure },
    ]) {
      expect(decodeAlert(encodeAlert(a))).toEqual(a);
    }
    expect(toHex(encodeAlert(decodeAlert(fromHex('0228'))))).toBe('0228');
    expect(() => decodeAlert(fromHex('02'))).toThrow(DecodeError);
    expect(() => decodeAlert(fromHex('022800'))).toThrow(DecodeError);
    expect(decodeFinished(new Uint8Array(12)).length).toBe(12);
    expect(() => decodeFinished(new Uint8Array(11))).toThrow(DecodeError);

    const block = fromHex('0009' + '0017' + '0000' + 'ff01' + '0001' + '00');
    const exts = decodeExtensions(new Reader(block));
    expect(exts.map((e) => e.type)).toEqual([ExtensionType.extended_master_secret, ExtensionType.renegotiation_info]);
    const w = new Writer();
    encodeExtensions(w, exts);
    expect(toHex(w.finish())).toBe(toHex(block));
    expect(() => decodeExtensions(new Reader(fromHex('0008' + '0017' + '0000' + '0017' + '0000')))).toThrow(/duplicate/);
  });

  it('splitRecords recovers every whole record of a packed datagram and drops a truncated tail', () => {
    const rec = fc.record({
      type: fc.constantFrom(20, 21, 22, 23, 99),
      version: fc.constantFrom(DTLS_1_2, DTLS_1_2, DTLS_1_0, 0x0303),
      epoch: fc.integer({ min: 0, max: 0xffff }),
      sequence: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      body: fc.uint8Array({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(rec, { minLength: 1, maxLength: 6 }), fc.nat({ max: 60 }), (records, cut) => {
        const encoded = records.map((r) => encodeRecord(r, r.body));
        const truncate = Math.min(cut, encoded[encoded.length - 1]!.length);
        const all = concat(...encoded);
        const datagram = all.subarray(0, all.length - truncate);
        const expected = records
          .slice(0, truncate > 0 ? -1 : undefined)
          .filter((r) => r.version === DTLS_1_2 || r.version === DTLS_1_0)
          .map((r) => ({ type: r.type, version: r.version, epoch: r.epoch, sequence: r.sequence, length: r.body.length, fragment: r.body }));
        if (expected.length === 0 && datagram.length > 0 && datagram.length < RECORD_HEADER_LENGTH) {
          expect(() => splitRecords(datagram)).toThrow(DecodeError);
        } else {
          expect(splitRecords(datagram)).toEqual(expected);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('handshake fragments may not run past the message length', () => {
    // msg_type certificate, length 16, message_seq 0, then offset/fragment_length.
    const at = (offset: number, n: number) =>
      concat(fromHex('0b0000100000'), fromHex(offset.toString(16).padStart(6, '0') + n.toString(16).padStart(6, '0')), new Uint8Array(n));
    expect(decodeHandshakeFragments(at(11, 5))).toMatchObject([{ fragmentOffset: 11, length: 16 }]);
    expect(() => decodeHandshakeFragments(at(12, 5))).toThrow(DecodeError);
    expect(() => decodeHandshakeFragments(at(0, 17))).toThrow(DecodeError);
    // Two fragments in one record, the second cut short.
    expect(() => decodeHandshakeFragments(concat(at(0, 8), at(8, 8).subarray(0, 19)))).toThrow(DecodeError);
  });

  it('readFragment, in place: the fields and bytes a Reader reads field by field, and refuses exactly what that refuses', () => {
    /** The RFC 6347 §4.2.2 header read with a Reader, as a reference. */
    const reference = (data: Uint8Array) => {
      const r = new Reader(data);
      const out: Array<{ msgType: number; length: number; messageSeq: number; fragmentOffset: number; body: string }> = [];
      while (r.remaining > 0) {
        const msgType = r.u8(), length = r.u24(), messageSeq = r.u16(), fragmentOffset = r.u24(), n = r.u24();
        if (fragmentOffset + n > length) throw new DecodeError('past the message');
        out.push({ msgType, length, messageSeq, fragmentOffset, body: toHex(r.bytes(n)) });
      }
      return out;
    };
    const fragments = fc
      .array(fc.tuple(fc.nat(255), fc.nat(40), fc.nat(3), fc.nat(40), fc.uint8Array({ maxLength: 40 })), { maxLength: 4 })
      .map((fs) => concat(...fs.map(([t, len, seq, off, body]) => concat(new Uint8Array([t, 0, 0, len, 0, seq, 0, 0, off, 0, 0, body.length]), body))));
    fc.assert(
      fc.property(fc.oneof(fragments, fragments.chain((b) => mutated(b.length > 0 ? b : new Uint8Array(1)))), (data) => {
        let want;
        try {
          want = reference(data);
        } catch {
          want = undefined;
        }
        const f = fragmentAt();
        const got = [];
        try {
          for (let at = 0; at < data.length; ) {
            at = readFragment(data, at, f);
            got.push({ msgType: f.msgType, length: f.length, messageSeq: f.messageSeq, fragmentOffset: f.fragmentOffset, body: toHex(f.data.subarray(f.bodyAt, f.bodyAt + f.bodyLength)) });
          }
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          expect(want).toBeUndefined();
          return;
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('every hello in every tinydtls transcript (tinydtls, OpenSSL, GnuTLS) round-trips', () => {
    let hellos = 0;
    for (const f of transcriptFiles()) {
      for (const d of transcriptDatagrams(f.split('_')[0]!)) {
        for (const r of splitRecords(fromHex(d.hex))) {
          if (r.epoch !== 0 || r.type !== ContentType.handshake) continue;
          for (const h of decodeHandshakeFragments(r.fragment)) {
            if (h.fragmentOffset !== 0 || h.body.length !== h.length) continue;
            const codec =
              h.msgType === HandshakeType.client_hello
                ? (b: Uint8Array) => encodeClientHello(decodeClientHello(b))
                : h.msgType === HandshakeType.server_hello
                  ? (b: Uint8Array) => encodeServerHello(decodeServerHello(b))
                  : h.msgType === HandshakeType.hello_verify_request
                    ? (b: Uint8Array) => encodeHelloVerifyRequest(decodeHelloVerifyRequest(b))
                    : undefined;
            if (!codec) continue;
            expect(toHex(codec(h.body)), `${f} ${d.dir} msg_type ${h.msgType}`).toBe(toHex(h.body));
            hellos++;
          }
        }
      }
    }
    expect(hellos).toBeGreaterThanOrEqual(30);
  });
});

/** Runs a decoder: a value or a DecodeError are both fine; anything else fails the property. */
function outcome(decode: () => unknown): 'ok' | 'decode-error' {
  try {
    decode();
    return 'ok';
  } catch (e) {
    if (e instanceof DecodeError) return 'decode-error';
    throw e;
  }
}

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  splitRecords,
  decodeHandshakeFragments,
  decodeClientHello,
  decodeServerHello,
  decodeHelloVerifyRequest,
  decodePskIdentity: (b) => decodePskIdentity(b, 128, 'psk_identity'),
  decodeAlert,
  decodeFinished,
  decodeExtensions: (b) => decodeExtensions(new Reader(b)),
};

describe('decoders only ever throw DecodeError', () => {
  for (const [name, decode] of Object.entries(DECODERS)) {
    it(`${name}: arbitrary bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
          outcome(() => decode(b));
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('splitRecords and decodeHandshakeFragments results are consistent with their headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        if (outcome(() => splitRecords(b)) === 'ok') {
          for (const r of splitRecords(b)) {
            expect(r.fragment.length).toBe(r.length);
            expect([DTLS_1_0, DTLS_1_2]).toContain(r.version);
            expect(r.fragment.buffer).toBe(b.buffer);
          }
        }
        if (outcome(() => decodeHandshakeFragments(b)) === 'ok') {
          const frags = decodeHandshakeFragments(b);
          for (const f of frags) expect(f.fragmentOffset + f.body.length).toBeLessThanOrEqual(f.length);
          expect(frags.reduce((n, f) => n + HANDSHAKE_HEADER_LENGTH + f.body.length, 0)).toBe(b.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  // Mutations of valid messages get past the first length checks into the deeper paths.
  const chRecord = A_CLIENT_HELLO_COOKIE;
  const chHandshake = splitRecords(chRecord)[0]!.fragment;
  const chBody = decodeHandshakeFragments(chHandshake)[0]!.body;
  const opensslHello = transcriptDatagrams('D')
    .flatMap((d) => splitRecords(fromHex(d.hex)))
    .filter((r) => r.epoch === 0 && r.type === ContentType.handshake)
    .flatMap((r) => decodeHandshakeFragments(r.fragment))
    .find((f) => f.msgType === HandshakeType.client_hello && decodeClientHello(f.body).cookie.length > 0)!.body;
  const shBody = decodeHandshakeFragments(splitRecords(A_SERVER_HELLO)[0]!.fragment)[0]!.body;
  const hvrBody = decodeHandshakeFragments(splitRecords(A_HVR)[0]!.fragment)[0]!.body;
  const ckeBody = decodeHandshakeFragments(splitRecords(A_CKE)[0]!.fragment)[0]!.body;

  const cases: Array<[string, Uint8Array, (b: Uint8Array) => unknown]> = [
    ['decodeClientHello (tinydtls hello)', chBody, decodeClientHello],
    ['decodeClientHello (OpenSSL hello)', opensslHello, decodeClientHello],
    ['decodeHandshakeFragments (ClientHello message)', chHandshake, decodeHandshakeFragments],
    ['splitRecords (ClientHello datagram, two records)', concat(chRecord, A_SERVER_HELLO), splitRecords],
    ['decodeServerHello', shBody, decodeServerHello],
    ['decodeHelloVerifyRequest', hvrBody, decodeHelloVerifyRequest],
    ['decodePskIdentity', ckeBody, (b) => decodePskIdentity(b, 128, 'psk_identity')],
  ];
  for (const [name, valid, decode] of cases) {
    it(`${name}: mutated valid input (reaches both outcomes)`, () => {
      expect(outcome(() => decode(valid))).toBe('ok');
      const seen = { ok: 0, 'decode-error': 0 };
      fc.assert(
        fc.property(mutated(valid), (b) => {
          seen[outcome(() => decode(b))]++;
        }),
        { numRuns: 2000 },
      );
      expect(seen.ok).toBeGreaterThan(0);
      expect(seen['decode-error']).toBeGreaterThan(0);
    });
  }

  it('whatever ClientHello decodes re-encodes to something that decodes to the same value', () => {
    // Not byte identity: an empty extensions block (00 00) decodes to [] and re-encodes to nothing.
    fc.assert(
      fc.property(mutated(chBody), (b) => {
        let ch;
        try {
          ch = decodeClientHello(b);
        } catch (e) {
          if (e instanceof DecodeError) return;
          throw e;
        }
        expect(decodeClientHello(encodeClientHello(ch))).toEqual(ch);
      }),
      { numRuns: 2000 },
    );
  });

  it('the ClientHello layout (clientHelloParamsEnd): accepts exactly what a full decode accepts (bar duplicate extensions), and finds where its fields are', () => {
    const cookieless = encodeClientHello({ ...decodeClientHello(chBody), cookie: new Uint8Array(0) });
    const seen = { ok: 0, 'decode-error': 0 };
    fc.assert(
      fc.property(fc.oneof(mutated(cookieless), mutated(chBody)), (b) => {
        const full = outcome(() => decodeClientHello(b));
        const end = clientHelloParamsEnd(b);
        seen[end >= 0 ? 'ok' : 'decode-error']++;
        if (full === 'ok') {
          const ch = decodeClientHello(b);
          const cookieAt = 2 + 32 + 1 + ch.sessionId.length;
          expect(helloCookieAt(b)).toBe(cookieAt);
          expect(b[cookieAt]).toBe(ch.cookie.length);
          expect(end).toBe(cookieAt + 1 + ch.cookie.length + 2 + 2 * ch.cipherSuites.length + 1 + ch.compressionMethods.length);
        } else if (end >= 0) {
          // only a duplicate extension type passes the framing check and fails the full decode
          expect(() => decodeClientHello(b)).toThrow(/duplicate extension/);
        }
      }),
      { numRuns: 3000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen['decode-error']).toBeGreaterThan(0);
  });

  it('the ClientHello layout on hellos built field by field, each length true or off by a little: accepted exactly when a full decode accepts', () => {
    const len = (n: number) => fc.oneof(fc.constant(n), fc.integer({ min: Math.max(0, n - 2), max: n + 2 }));
    const field = (min: number, max: number, width: 1 | 2) =>
      fc.uint8Array({ minLength: min, maxLength: max }).chain((d) => len(d.length).map((n) => concat(width === 1 ? new Uint8Array([n & 0xff]) : new Uint8Array([n >> 8, n & 0xff]), d)));
    const extension = fc.tuple(fc.integer({ min: 0, max: 0xffff }), field(0, 6, 2)).map(([t, d]) => concat(new Uint8Array([t >> 8, t & 0xff]), d));
    const extensions = fc.oneof(
      fc.constant(new Uint8Array(0)),
      fc.array(extension, { maxLength: 3 }).chain((es) => {
        const block = concat(...es);
        return len(block.length).map((n) => concat(new Uint8Array([n >> 8, n & 0xff]), block));
      }),
    );
    const hello = fc
      .tuple(fc.uint8Array({ minLength: 34, maxLength: 34 }), fc.oneof(field(0, 2, 1), field(31, 34, 1)), field(0, 20, 1), field(0, 9, 2), field(0, 3, 1), extensions, fc.uint8Array({ maxLength: 2 }))
      .map(([head, sid, cookie, suites, comp, ext, tail]) => concat(head, sid, cookie, suites, comp, ext, tail.length === 2 ? tail : new Uint8Array(0)));
    const seen = { ok: 0, bad: 0 };
    fc.assert(
      fc.property(hello, (b) => {
        const full = outcome(() => decodeClientHello(b));
        const end = clientHelloParamsEnd(b);
        seen[end >= 0 ? 'ok' : 'bad']++;
        if (full === 'ok') expect(end).toBeGreaterThan(0);
        else if (end >= 0) expect(() => decodeClientHello(b)).toThrow(/duplicate extension/);
      }),
      { numRuns: 5000 },
    );
    expect(seen.ok).toBeGreaterThan(10); // ~2% of these hellos are well framed
    expect(seen.bad).toBeGreaterThan(1000);
  });

  it('an empty extensions block is accepted and not re-encoded', () => {
    const ch = decodeClientHello(chBody);
    const noExt = encodeClientHello({ ...ch, extensions: [] });
    expect(decodeClientHello(concat(noExt, fromHex('0000'))).extensions).toEqual([]);
    expect(toHex(encodeClientHello(decodeClientHello(concat(noExt, fromHex('0000')))))).toBe(toHex(noExt));
  });
});
