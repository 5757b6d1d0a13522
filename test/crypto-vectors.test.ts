/**
 * Known-answer tests for the node:crypto provider and the TLS 1.2 PRF, plus the
 * empty-ciphertext CCM trap (DESIGN.md "Known trap").
 *
 * Vectors:
 * - RFC 3610 §8 Packet Vectors #1..#3 (AES-128, M = 8, L = 2, so 13-byte nonces), for the
 *   reference CCM (test/helpers/rfc3610.ts).
 * - The TLS 1.2 PRF (P_SHA256) vector posted to the IETF TLS WG list
 *   (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html).
 * - RFC 4231 §4.2 / §4.3 HMAC-SHA-256 test cases 1 and 2.
 * - FIPS 180-2 SHA-256("abc").
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { prf } from '../lib/crypto/prf.js';
import { CCM8_TAG_LENGTH } from '../lib/crypto/provider.js';
import { openRecord, sealRecord, type TrafficKeys } from '../lib/dtls/record/ccm8-cipher.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { ContentType, DTLS_1_2 } from '../lib/dtls/wire/constants.js';
import { flipBit } from './helpers/bytes.js';
import { RFC3610_AAD, RFC3610_KEY, RFC3610_VECTORS } from './helpers/rfc3610.js';

const c = nodeCrypto;

/**
 * An independent AES-CCM (RFC 3610 §2) with M = 8 built from AES-128-ECB blocks: the
 * reference for the cases node's CCM mode handles specially (empty plaintext).
 */
function referenceCcm8(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  const E = (block: Uint8Array): Uint8Array => new Uint8Array(ecb.update(block));
  const L = 15 - nonce.length;
  const b0 = new Uint8Array(16);
  b0[0] = (aad.length > 0 ? 0x40 : 0) | (((8 - 2) / 2) << 3) | (L - 1);
  b0.set(nonce, 1);
  for (let i = 0, n = pt.length; i < L; i++, n = Math.floor(n / 256)) b0[15 - i] = n & 0xff;
  const pad = (b: Uint8Array): Uint8Array => concat(b, new Uint8Array((16 - (b.length % 16)) % 16));
  const aadBlock = aad.length > 0 ? pad(concat(new Uint8Array([aad.length >> 8, aad.length & 0xff]), aad)) : new Uint8Array(0);
  const macInput = concat(b0, aadBlock, pad(pt));
  let x: Uint8Array = new Uint8Array(16);
  for (let off = 0; off < macInput.length; off += 16) {
    const blk = macInput.slice(off, off + 16);
    for (let i = 0; i < 16; i++) blk[i] = blk[i]! ^ x[i]!;
    x = E(blk);
  }
  const ctr = (i: number): Uint8Array => {
    const a = new Uint8Array(16);
    a[0] = L - 1;
    a.set(nonce, 1);
    for (let j = 0, n = i; j < L; j++, n = Math.floor(n / 256)) a[15 - j] = n & 0xff;
    return E(a);
  };
  const out = new Uint8Array(pt.length + 8);
  for (let off = 0; off < pt.length; off += 16) {
    const s = ctr(off / 16 + 1);
    for (let i = 0; i < 16 && off + i < pt.length; i++) out[off + i] = pt[off + i]! ^ s[i]!;
  }
  const s0 = ctr(0);
  for (let i = 0; i < 8; i++) out[pt.length + i] = x[i]! ^ s0[i]!;
  return out;
}

// node:crypto against the RFC 3610 vectors, with every rejection, is in crypto-conformance.test.ts
// (run against every provider); here they check the reference CCM the cases below rely on.
describe('the reference CCM_8: RFC 3610 packet vectors (13-byte nonce, 8-byte tag)', () => {
  for (const v of RFC3610_VECTORS) {
    it(`${v.name}: the reference CCM used below agrees with the RFC`, () => {
      expect(toHex(referenceCcm8(RFC3610_KEY, v.nonce, RFC3610_AAD, v.plaintext))).toBe(toHex(concat(v.ciphertext, v.tag)));
    });
  }
});

describe('AES-128-CCM_8 with the DTLS 12-byte nonce', () => {
  it('round-trips arbitrary plaintext and rejects a single flipped bit anywhere', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 13 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        (key, nonce, aad, pt, bitSeed) => {
          const sealed = c.ccm8Encrypt(key, nonce, aad, pt);
          expect(toHex(sealed)).toBe(toHex(referenceCcm8(key, nonce, aad, pt)));
          const back = c.ccm8Decrypt(key, nonce, aad, sealed);
          expect(back && toHex(back)).toBe(toHex(pt));
          expect(c.ccm8Decrypt(key, nonce, aad, flipBit(sealed, bitSeed % (sealed.length * 8)))).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Known trap: an empty ciphertext with a forged tag', () => {
  const key = fromHex('000102030405060708090a0b0c0d0e0f');
  const nonce = fromHex('a0a1a2a3a4a5a6a7a8a9aaab');
  const aad = fromHex('00010000000000000017fefd0000');

  it('a genuine empty-plaintext seal is the 8-byte CCM tag and round-trips', () => {
    const sealed = c.ccm8Encrypt(key, nonce, aad, new Uint8Array(0));
    expect(sealed.length).toBe(CCM8_TAG_LENGTH);
    expect(toHex(sealed)).toBe(toHex(referenceCcm8(key, nonce, aad, new Uint8Array(0))));
    const pt = c.ccm8Decrypt(key, nonce, aad, sealed);
    expect(pt).toBeInstanceOf(Uint8Array);
    expect(pt!.length).toBe(0);
  });

  it('a genuine empty-plaintext tag (from the reference CCM) opens, also as a view into a larger datagram', () => {
    const tag = referenceCcm8(key, nonce, aad, new Uint8Array(0));
    expect(c.ccm8Decrypt(key, nonce, aad, tag)?.length).toBe(0);
    const datagram = concat(fromHex('deadbeef'), tag, fromHex('cafebabe'));
    const view = datagram.subarray(4, 4 + CCM8_TAG_LENGTH);
    expect(c.ccm8Decrypt(key, nonce, aad, view)?.length).toBe(0);
    // The genuine tag is bound to its key, nonce and AAD.
    expect(c.ccm8Decrypt(key, nonce, flipBit(aad, 0), view)).toBeUndefined();
    expect(c.ccm8Decrypt(key, flipBit(nonce, 0), aad, view)).toBeUndefined();
  });

  it('rejects a forged tag from crypto.randomBytes(8) (a pooled Buffer)', () => {
    for (let i = 0; i < 200; i++) {
      expect(c.ccm8Decrypt(key, nonce, aad, randomBytes(8))).toBeUndefined();
    }
  });

  it('rejects a forged tag in a fresh Uint8Array and an all-zero tag', () => {
    expect(c.ccm8Decrypt(key, nonce, aad, new Uint8Array(8))).toBeUndefined();
    expect(c.ccm8Decrypt(key, nonce, aad, new Uint8Array(8).fill(0xff))).toBeUndefined();
    expect(c.ccm8Decrypt(key, nonce, aad, Uint8Array.from(randomBytes(8)))).toBeUndefined();
  });

  it('rejects a forged tag that is a subarray of a larger datagram', () => {
    const genuine = referenceCcm8(key, nonce, aad, new Uint8Array(0));
    for (let i = 0; i < 50; i++) {
      const datagram = randomBytes(64);
      const view = datagram.subarray(21, 29);
      if (toHex(view) === toHex(genuine)) continue;
      expect(c.ccm8Decrypt(key, nonce, aad, view)).toBeUndefined();
    }
  });

  it('rejects every single-bit change of a genuine empty-plaintext tag', () => {
    const genuine = referenceCcm8(key, nonce, aad, new Uint8Array(0));
    for (let bit = 0; bit < 64; bit++) {
      expect(c.ccm8Decrypt(key, nonce, aad, flipBit(genuine, bit))).toBeUndefined();
    }
  });

  describe('through openRecord (an empty application_data record)', () => {
    const keys: TrafficKeys = { key, iv: fromHex('01020304') };
    const header = { type: ContentType.application_data, version: DTLS_1_2, epoch: 1, sequence: 7 };
    // Built by hand (RFC 6655 nonce, RFC 5246 §6.2.3.3 AAD) with the reference CCM.
    const seqNum = fromHex('0001000000000007');
    const tag = referenceCcm8(keys.key, concat(keys.iv, seqNum), concat(seqNum, fromHex('17fefd0000')), new Uint8Array(0));
    const record = concat(fromHex('17fefd0001000000000007'), fromHex('0010'), seqNum, tag);
    const [rec] = splitRecords(record);

    it('the genuine record opens to empty plaintext', () => {
      expect(rec).toMatchObject({ ...header, length: 16 });
      expect(openRecord(c, keys, rec!, rec!.fragment)?.length).toBe(0);
    });

    it('sealRecord produces exactly that record', () => {
      expect(toHex(sealRecord(c, keys, header, new Uint8Array(0)))).toBe(toHex(record));
    });

    it('the same record with a forged tag does not open', () => {
      const forgeries = [randomBytes(8), new Uint8Array(8), new Uint8Array(8).fill(0xa5), flipBit(tag, 63)];
      for (const forged of forgeries) {
        if (toHex(forged) === toHex(tag)) continue;
        const bad = record.slice();
        bad.set(forged, 13 + 8);
        const [r] = splitRecords(bad);
        expect(openRecord(c, keys, r!, r!.fragment)).toBeUndefined();
      }
    });

    it('the genuine tag under a different sequence number, epoch or type does not open', () => {
      expect(openRecord(c, keys, { ...rec!, sequence: 8 }, rec!.fragment)).toBeUndefined();
      expect(openRecord(c, keys, { ...rec!, epoch: 2 }, rec!.fragment)).toBeUndefined();
      expect(openRecord(c, keys, { ...rec!, type: ContentType.alert }, rec!.fragment)).toBeUndefined();
    });
  });
});

describe('TLS 1.2 PRF with SHA-256', () => {
  const secret = fromHex('9bbe436ba940f017b17652849a71db35');
  const seed = fromHex('a0ba9f936cda311827a6f796ffd5198c');
  const expected =
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a' +
    '6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab' +
    '4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701' +
    '87347b66';

  it('matches the published 100-byte test vector ("test label")', () => {
    expect(toHex(prf(c, secret, 'test label', seed, 100))).toBe(expected);
  });

  it('shorter outputs are prefixes (lengths around the 32-byte block boundary)', () => {
    for (const n of [0, 1, 12, 31, 32, 33, 40, 48, 64, 99]) {
      expect(toHex(prf(c, secret, 'test label', seed, n))).toBe(expected.slice(0, 2 * n));
    }
  });

  it('depends on the label', () => {
    expect(toHex(prf(c, secret, 'test labex', seed, 100))).not.toBe(expected);
  });

  it('any secret, label, seed and length: the bytes of RFC 5246 §5 as node:crypto computes them, whatever ran before (its buffers are shared between calls)', () => {
    const hmac = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha256', k).update(d).digest());
    const reference = (k: Uint8Array, label: string, sd: Uint8Array, n: number): string => {
      const ls = concat(utf8(label), sd);
      let a = hmac(k, ls);
      let out = '';
      while (out.length < 2 * n) {
        out += toHex(hmac(k, concat(a, ls)));
        a = hmac(k, a);
      }
      return out.slice(0, 2 * n);
    };
    const args = fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.string({ maxLength: 24 }), fc.uint8Array({ maxLength: 80 }), fc.nat(130));
    fc.assert(
      fc.property(args, args, ([k, label, sd, n], [k2, label2, sd2, n2]) => {
        prf(c, k2, label2, sd2, n2); // another call first: nothing of it may carry over
        expect(toHex(prf(c, k, label, sd, n))).toBe(reference(k, label, sd, n));
      }),
      { numRuns: 200 },
    );
  });

  it('a seed in two parts gives the bytes of the joined seed, with more labels than it keeps', () => {
    const args = fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.string({ maxLength: 24 }), fc.uint8Array({ maxLength: 80 }), fc.nat(80), fc.nat(130));
    fc.assert(
      fc.property(args, ([k, label, sd, cut, n]) => {
        const at = Math.min(cut, sd.length);
        expect(toHex(prf(c, k, label, sd.slice(0, at), n, sd.slice(at)))).toBe(toHex(prf(c, k, label, sd, n)));
      }),
      { numRuns: 200 },
    );
  });

  it('a provider whose HMAC key has only mac() (no macInto) gives the same bytes', () => {
    const plain = { ...c, hmacSha256Key: (k: Uint8Array) => ({ mac: (...d: Uint8Array[]) => c.hmacSha256Key(k).mac(...d) }) };
    for (const n of [0, 1, 31, 32, 33, 100]) {
      expect(toHex(prf(plain, secret, 'test label', seed, n))).toBe(expected.slice(0, 2 * n));
    }
  });
});

describe('HMAC-SHA-256 (RFC 4231) and SHA-256', () => {
  it('RFC 4231 test case 1', () => {
    const key = new Uint8Array(20).fill(0x0b);
    expect(toHex(c.hmacSha256(key, utf8('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  });

  it('RFC 4231 test case 2, also with the data given in several parts', () => {
    const want = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    expect(toHex(c.hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(want);
    expect(toHex(c.hmacSha256(utf8('Jefe'), utf8('what do ya '), utf8(''), utf8('want for nothing?')))).toBe(want);
  });

  it('SHA-256("abc") one-shot and incremental; digest() leaves the state usable; clone() forks', () => {
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(toHex(c.sha256(utf8('abc')))).toBe(want);
    const h = c.createSha256().update(utf8('a')).update(utf8('b'));
    const fork = h.clone();
    expect(toHex(h.digest())).toBe(toHex(c.sha256(utf8('ab'))));
    expect(toHex(h.update(utf8('c')).digest())).toBe(want);
    expect(toHex(fork.digest())).toBe(toHex(c.sha256(utf8('ab'))));
  });

  it('random(n) returns n bytes that differ between calls', () => {
    const a = c.random(32), b = c.random(32);
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(b));
  });
});
