import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256Key, Sha256, sha256 } from '../lib/crypto/sha256.js';
import { toHex } from '../lib/bytes/util.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('JS SHA-256 and HMAC-SHA256', () => {
  it('FIPS 180-4 vectors', () => {
    expect(toHex(sha256(enc('')))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(enc('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('RFC 4231 test case 2 (key shorter than a block) and 6 (key longer than a block)', () => {
    expect(toHex(new HmacSha256Key(enc('Jefe')).mac(enc('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(toHex(new HmacSha256Key(new Uint8Array(131).fill(0xaa)).mac(enc('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it('matches node:crypto on random inputs split at random points', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat({ max: 600 }), { maxLength: 5 }), (data, cuts) => {
        const h = new Sha256();
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const end = Math.min(c, data.length);
          if (end > at) h.update(data.subarray(at, end));
          at = Math.max(at, end);
        }
        h.update(data.subarray(at));
        const want = createHash('sha256').update(data).digest('hex');
        // digest() leaves the state usable, clone() forks it
        return toHex(h.digest()) === want && toHex(h.clone().digest()) === want && toHex(sha256(data)) === want;
      }),
      { numRuns: 1500 },
    );
  });

  it('HMAC matches node:crypto for keys of every size class', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        const k = new HmacSha256Key(key);
        const want = createHmac('sha256', key).update(data).digest('hex');
        // a prepared key gives the same MAC every time, also for data given in parts
        return toHex(k.mac(data)) === want && toHex(k.mac(data.subarray(0, 7), data.subarray(7))) === want;
      }),
      { numRuns: 1500 },
    );
  });
});
