import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { COOKIE_LENGTH, CookieJar } from '../lib/dtls/cookie.js';
import type { ClientHello } from '../lib/dtls/wire/client-hello.js';

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
const withCookie = (h: Omit<ClientHello, 'cookie' | 'extensions'>, cookie: Uint8Array): ClientHello => ({ ...h, cookie, extensions: [] });

describe('stateless cookies (RFC 6347 §4.2.1, lib/dtls/cookie.ts)', () => {
  it('a cookie verifies for its peer and ClientHello, and for no other peer or changed field', () => {
    fc.assert(
      fc.property(hello, peer, peer, fc.integer({ min: 0, max: 31 }), (h, a, b, at) => {
        const jar = new CookieJar(nodeCrypto);
        const c = jar.make(0, a, withCookie(h, new Uint8Array(0)));
        expect(c.length).toBe(COOKIE_LENGTH);
        expect(jar.verify(1, a, withCookie(h, c))).toBe(true);
        if (b !== a) expect(jar.verify(1, b, withCookie(h, c))).toBe(false);
        const random = h.random.slice();
        random[at]! ^= 1;
        expect(jar.verify(1, a, withCookie({ ...h, random }, c))).toBe(false);
        expect(jar.verify(1, a, withCookie({ ...h, cipherSuites: [...h.cipherSuites, 0xc0a8] }, c))).toBe(false);
        const bad = c.slice();
        bad[at % COOKIE_LENGTH]! ^= 0x80;
        expect(jar.verify(1, a, withCookie(h, bad))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('the same input gives the same cookie, whatever was made in between (the shared input buffer holds nothing over)', () => {
    fc.assert(
      fc.property(hello, hello, peer, peer, (h1, h2, a, b) => {
        const jar = new CookieJar(nodeCrypto);
        const c1 = jar.make(0, a, withCookie(h1, new Uint8Array(0)));
        jar.make(0, b, withCookie(h2, new Uint8Array(0)));
        expect(jar.make(0, a, withCookie(h1, new Uint8Array(0)))).toEqual(c1);
      }),
      { numRuns: 100 },
    );
  });

  it('a cookie outlives one rotation of the secret, not two', () => {
    const jar = new CookieJar(nodeCrypto, 1000);
    const h = { clientVersion: 0xfefd, random: new Uint8Array(32).fill(7), sessionId: new Uint8Array(0), cipherSuites: [0xc0a8], compressionMethods: new Uint8Array([0]) };
    const c = jar.make(0, '127.0.0.1:5684', withCookie(h, new Uint8Array(0)));
    expect(jar.verify(1500, '127.0.0.1:5684', withCookie(h, c))).toBe(true); // rotated once: the previous secret still counts
    expect(jar.verify(2600, '127.0.0.1:5684', withCookie(h, c))).toBe(false); // rotated twice
  });
});
