import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { COOKIE_LENGTH, CookieJar } from '../lib/dtls/cookie.js';
import { encodeClientHello, type ClientHello } from '../lib/dtls/wire/client-hello.js';
import { clientHelloParamsEnd } from '../lib/dtls/wire/client-hello-layout.js';
import { toHex } from '../lib/bytes/util.js';
import { ContentType, DTLS_1_0, DTLS_1_2, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments, encodeHandshake } from '../lib/dtls/wire/handshake.js';
import { decodeHelloVerifyRequest, encodeHelloVerifyRequest, helloVerifyRequestRecord } from '../lib/dtls/wire/hello-verify-request.js';
import { encodeRecord, splitRecords } from '../lib/dtls/wire/record.js';

const hello = fc.record({
  clientVersion: fc.constantFrom(0xfefd, 0xfeff),
  random: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  sessionId: fc.uint8Array({ maxLength: 32 }),
  cipherSuites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 400 }),
  compressionMethods: fc.uint8Array({ minLength: 1, maxLength: 4 }),
});
const peer = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `[${a}]:${p}`),
);
type Params = Omit<ClientHello, 'cookie' | 'extensions'>;
const body = (h: Params, cookie: Uint8Array = new Uint8Array(0), extensions: ClientHello['extensions'] = []) => encodeClientHello({ ...h, cookie, extensions });
/** A cookie for the hello `h` (made from its body, as the endpoint does), copied out of the jar's shared array. */
const make = (jar: CookieJar, now: number, peer: string, h: Params, extensions: ClientHello['extensions'] = []) => {
  const b = body(h, undefined, extensions);
  return jar.make(now, peer, b, clientHelloParamsEnd(b)).slice();
};
const verify = (jar: CookieJar, now: number, peer: string, h: Params, cookie: Uint8Array) => {
  const b = body(h, cookie);
  return jar.verify(now, peer, b, clientHelloParamsEnd(b));
};

describe('stateless cookies (RFC 6347 §4.2.1, lib/dtls/cookie.ts)', () => {
  it('a cookie verifies for its peer and ClientHello, and for no other peer or changed field', () => {
    fc.assert(
      fc.property(hello, peer, peer, fc.integer({ min: 0, max: 31 }), (h, a, b, at) => {
        const jar = new CookieJar(nodeCrypto);
        const c = make(jar, 0, a, h);
        expect(c.length).toBe(COOKIE_LENGTH);
        expect(verify(jar, 1, a, h, c)).toBe(true);
        if (b !== a) expect(verify(jar, 1, b, h, c)).toBe(false);
        const random = h.random.slice();
        random[at]! ^= 1;
        expect(verify(jar, 1, a, { ...h, random }, c)).toBe(false);
        expect(verify(jar, 1, a, { ...h, cipherSuites: [...h.cipherSuites, 0xc0a8] }, c)).toBe(false);
        const bad = c.slice();
        bad[at % COOKIE_LENGTH]! ^= 0x80;
        expect(verify(jar, 1, a, h, bad)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('the same input gives the same cookie, whatever was made in between (the shared input buffer holds nothing over)', () => {
    fc.assert(
      fc.property(hello, hello, peer, peer, (h1, h2, a, b) => {
        const jar = new CookieJar(nodeCrypto);
        const c1 = make(jar, 0, a, h1);
        make(jar, 0, b, h2);
        expect(make(jar, 0, a, h1)).toEqual(c1);
      }),
      { numRuns: 100 },
    );
  });

  it('a provider whose HMAC key has only mac() (no macInto) makes the same cookies', () => {
    const fixed = { ...nodeCrypto, random: (n: number) => new Uint8Array(n).fill(0x5a) };
    const plain = {
      ...fixed,
      hmacSha256Key: (k: Uint8Array) => {
        const key = nodeCrypto.hmacSha256Key(k); // now: the jar wipes the raw secret once it has its key
        return { mac: (...d: Uint8Array[]) => key.mac(...d) };
      },
    };
    fc.assert(
      fc.property(hello, peer, (h, a) => {
        const mine = make(new CookieJar(fixed), 0, a, h);
        const theirs = make(new CookieJar(plain), 0, a, h);
        expect(toHex(theirs)).toBe(toHex(mine));
        const again = make(new CookieJar(fixed), 0, a, { ...h, clientVersion: h.clientVersion ^ 2 });
        expect(toHex(mine)).not.toBe(toHex(again));
      }),
      { numRuns: 100 },
    );
  });

  it('a cookie covers the parameters, not the extensions (a client may change those), and only a 16-byte cookie verifies', () => {
    const ext = fc.array(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 4 }).map((es) => es.filter((e, i) => es.findIndex((x) => x.type === e.type) === i));
    fc.assert(
      fc.property(hello, peer, ext, ext, fc.uint8Array({ maxLength: 40 }), (h, a, e1, e2, other) => {
        const jar = new CookieJar(nodeCrypto);
        const c = make(jar, 0, a, h, e1);
        expect(toHex(make(jar, 0, a, h, e2))).toBe(toHex(c));
        const b = body(h, c, e2);
        expect(jar.verify(1, a, b, clientHelloParamsEnd(b))).toBe(true);
        if (other.length !== COOKIE_LENGTH) expect(verify(jar, 1, a, h, other)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('a cookie outlives one rotation of the secret, not two', () => {
    const jar = new CookieJar(nodeCrypto, 1000);
    const h = { clientVersion: 0xfefd, random: new Uint8Array(32).fill(7), sessionId: new Uint8Array(0), cipherSuites: [0xc0a8], compressionMethods: new Uint8Array([0]) };
    const c = make(jar, 0, '127.0.0.1:5684', h);
    expect(verify(jar, 1500, '127.0.0.1:5684', h, c)).toBe(true); // rotated once: the previous secret still counts
    expect(verify(jar, 2600, '127.0.0.1:5684', h, c)).toBe(false); // rotated twice
  });
});

describe('the HelloVerifyRequest record (helloVerifyRequestRecord)', () => {
  it('a known record, byte for byte: DTLS 1.0 record header with the ClientHello sequence number, message_seq mirrored, server_version DTLS 1.2', () => {
    const cookie = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const r = helloVerifyRequestRecord(0x0102_0304_0506, 0x0708, cookie);
    expect(toHex(r)).toBe(
      '16' + 'feff' + '0000' + '010203040506' + '001f' + // record: handshake, DTLS 1.0, epoch 0, seq, length 31
        '03' + '000013' + '0708' + '000000' + '000013' + // hello_verify_request, length 19, message_seq, whole
        'fefd' + '10' + 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
    );
  });

  it('any sequence numbers and cookie: the bytes of the general encoders, and it decodes back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 255 }), (seq, msgSeq, cookie) => {
        const r = helloVerifyRequestRecord(seq, msgSeq, cookie);
        const general = encodeRecord({ type: ContentType.handshake, version: DTLS_1_0, epoch: 0, sequence: seq }, encodeHandshake(HandshakeType.hello_verify_request, msgSeq, encodeHelloVerifyRequest({ serverVersion: DTLS_1_2, cookie })));
        expect(toHex(r)).toBe(toHex(general));
        const [rec] = splitRecords(r);
        expect(rec!.sequence).toBe(seq);
        const [f] = decodeHandshakeFragments(rec!.fragment);
        expect(f!.messageSeq).toBe(msgSeq);
        const hvr = decodeHelloVerifyRequest(f!.body);
        expect(hvr.serverVersion).toBe(DTLS_1_2);
        expect(toHex(hvr.cookie)).toBe(toHex(cookie));
      }),
    );
  });
});
