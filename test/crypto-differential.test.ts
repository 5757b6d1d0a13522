/**
 * The pure-JS AES-128-CCM_8 (lib/crypto/pure/ccm.ts) against OpenSSL (node:crypto), byte for
 * byte, on random records: random keys, nonces, AAD and plaintext lengths 0..300. Each side
 * seals, the seals must be equal, and each side opens the other's output; a tampered record
 * must be refused by both. Keys repeat (the pure provider caches key schedules per key buffer)
 * and pooled key buffers are sometimes rewritten in place (a stale schedule would show here).
 *
 * The node provider itself sends small records through the JS CCM and larger ones through
 * OpenSSL (lib/crypto/node.ts, setJsCcmBelow): the last block checks it against OpenSSL alone
 * on records just below, at and above the switch (fast-check), wherever the switch is set.
 *
 * Seeded, so a failure is reproducible: COAPS_DIFF_SEED=<n> picks another seed.
 */
import { randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../lib/bytes/util.js';
import { nodeCrypto, opensslCcm8, setJsCcmBelow } from '../lib/crypto/node.js';
import { createPureCrypto } from '../lib/crypto/pure.js';

const pure = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
/** OpenSSL alone, whatever the size (the node provider's JS/OpenSSL switch left out). */
const openssl = { ccm8Encrypt: opensslCcm8.encrypt, ccm8Decrypt: opensslCcm8.decrypt };
const SEED = Number(process.env.COAPS_DIFF_SEED ?? 0x5eed_cc8);

/** xorshift128+ style 32-bit generator (test data only). */
function rng(seed: number): { u32(): number; below(n: number): number; fill(b: Uint8Array): Uint8Array } {
  let a = seed | 0 || 1, b = 0x9e3779b9, c = 0x243f6a88, d = 0xb7e15162;
  const u32 = () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return d;
  };
  for (let i = 0; i < 16; i++) u32();
  return {
    u32,
    below: (n) => u32() % n,
    fill(buf) {
      for (let i = 0; i < buf.length; i++) buf[i] = u32() & 0xff;
      return buf;
    },
  };
}

/** Bytes of length n, sometimes as a view into a larger buffer (as records are, in datagrams). */
function bytes(r: ReturnType<typeof rng>, n: number): Uint8Array {
  if (r.below(4) !== 0) return r.fill(new Uint8Array(n));
  const pre = r.below(9);
  const big = r.fill(new Uint8Array(pre + n + r.below(9)));
  return big.subarray(pre, pre + n);
}

function mismatch(what: string, i: number, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): string {
  return `${what} at record ${i} (seed ${SEED}): key ${toHex(key)} nonce ${toHex(nonce)} aad ${toHex(aad)} pt ${toHex(pt)}`;
}

describe('pure AES-128-CCM_8 vs OpenSSL (node:crypto), byte for byte', () => {
  it('10,000 random records (12-byte nonce, AAD and plaintext 0..300 bytes): equal seals, each opens the other, tampering refused by both', () => {
    const r = rng(SEED);
    const pool = Array.from({ length: 8 }, () => r.fill(new Uint8Array(16)));
    const RECORDS = 10_000;
    let opened = 0, tamperedRefused = 0, emptyPlaintexts = 0;
    const t0 = performance.now();
    for (let i = 0; i < RECORDS; i++) {
      let key: Uint8Array;
      const k = r.below(8);
      if (k < 4) {
        key = pool[r.below(pool.length)]!;
        if (r.below(50) === 0) r.fill(key); // rewritten in place: must not reuse a stale schedule
      } else {
        key = bytes(r, 16);
      }
      const nonce = bytes(r, 12);
      const aad = bytes(r, r.below(5) === 0 ? 0 : r.below(301));
      const ptLen = r.below(6) === 0 ? r.below(17) : r.below(301);
      const pt = bytes(r, ptLen);
      if (ptLen === 0) emptyPlaintexts++;

      const a = pure.ccm8Encrypt(key, nonce, aad, pt);
      const b = openssl.ccm8Encrypt(key, nonce, aad, pt);
      if (a.length !== b.length || toHex(a) !== toHex(b)) expect.fail(mismatch('seal differs', i, key, nonce, aad, pt));

      const viaPure = pure.ccm8Decrypt(key, nonce, aad, b);
      const viaNode = openssl.ccm8Decrypt(key, nonce, aad, a);
      if (!viaPure || toHex(viaPure) !== toHex(pt)) expect.fail(mismatch('pure does not open node output', i, key, nonce, aad, pt));
      if (!viaNode || toHex(viaNode) !== toHex(pt)) expect.fail(mismatch('node does not open pure output', i, key, nonce, aad, pt));
      opened++;

      // One flipped bit somewhere in ciphertext ‖ tag, or in the AAD.
      const bad = a.slice();
      const badAad = aad.slice();
      if (aad.length > 0 && r.below(4) === 0) {
        const bit = r.below(aad.length * 8);
        badAad[bit >> 3] = badAad[bit >> 3]! ^ (1 << (bit & 7));
      } else {
        const bit = r.below(bad.length * 8);
        bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7));
      }
      if (pure.ccm8Decrypt(key, nonce, badAad, bad) !== undefined) expect.fail(mismatch('pure accepted a tampered record', i, key, nonce, aad, pt));
      if (openssl.ccm8Decrypt(key, nonce, badAad, bad) !== undefined) expect.fail(mismatch('node accepted a tampered record', i, key, nonce, aad, pt));
      tamperedRefused++;
    }
    const ms = performance.now() - t0;
    expect(opened).toBe(RECORDS);
    expect(tamperedRefused).toBe(RECORDS);
    expect(emptyPlaintexts).toBeGreaterThan(50);
    console.log(`crypto-differential: ${RECORDS} records in ${ms.toFixed(0)} ms (seed ${SEED})`);
  });

  it('every nonce length CCM allows (7..13 bytes, L = 8..2) and long AAD agree with node:crypto', () => {
    const r = rng(SEED ^ 0x1234);
    for (let i = 0; i < 700; i++) {
      const key = r.fill(new Uint8Array(16));
      const nonce = r.fill(new Uint8Array(7 + (i % 7)));
      const aad = r.fill(new Uint8Array(i % 50 === 0 ? 0xff00 + r.below(300) : r.below(64)));
      const pt = r.fill(new Uint8Array(i % 70 === 0 ? 2000 + r.below(3000) : r.below(100)));
      const a = pure.ccm8Encrypt(key, nonce, aad, pt);
      const b = openssl.ccm8Encrypt(key, nonce, aad, pt);
      if (toHex(a) !== toHex(b)) expect.fail(`seal differs: nonce length ${nonce.length}, aad ${aad.length}, pt ${pt.length} (seed ${SEED})`);
      expect(toHex(pure.ccm8Decrypt(key, nonce, aad, b)!)).toBe(toHex(pt));
    }
  });
});

describe('the node provider (JS CCM below the switch, OpenSSL above) vs OpenSSL alone', () => {
  const DEFAULT_SWITCH = 256;
  afterEach(() => setJsCcmBelow(DEFAULT_SWITCH));

  /** Seal and open through the provider and through OpenSSL: equal bytes, each opens the other, a flipped bit refused. */
  function agree(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, flip: number): void {
    const a = nodeCrypto.ccm8Encrypt(key, nonce, aad, pt);
    const b = openssl.ccm8Encrypt(key, nonce, aad, pt);
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(nodeCrypto.ccm8Decrypt(key, nonce, aad, b)!)).toBe(toHex(pt));
    expect(toHex(openssl.ccm8Decrypt(key, nonce, aad, a)!)).toBe(toHex(pt));
    const bad = a.slice();
    const bit = flip % (bad.length * 8);
    bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7));
    expect(nodeCrypto.ccm8Decrypt(key, nonce, aad, bad)).toBeUndefined();
    expect(openssl.ccm8Decrypt(key, nonce, aad, bad)).toBeUndefined();
  }

  const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
  const aad = fc.uint8Array({ maxLength: 29 });

  it('records of the default switch -3..+3 bytes and at random sizes, with reused and rewritten keys', () => {
    const keys = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: DEFAULT_SWITCH - 3, max: DEFAULT_SWITCH + 3 }), fc.integer({ min: 0, max: 600 })),
        fc.option(key, { nil: undefined }),
        fc.nat(1),
        nonce,
        aad,
        fc.nat(),
        fc.boolean(),
        (len, fresh, which, n, ad, flip, rewrite) => {
          // a record layer keeps its key buffers: the provider caches their schedules, and a
          // buffer rewritten in place (a wipe, a new epoch's keys) must not reuse a stale one
          const k = fresh ?? keys[which]!;
          if (rewrite && !fresh) k[0] = (k[0]! + 1) & 0xff;
          agree(k, n, ad, new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff), flip);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('wherever the switch is set (0 = OpenSSL for every record), records one byte either side of it agree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: -1, max: 1 }), key, nonce, aad, fc.nat(), (sw, d, k, n, ad, flip) => {
        setJsCcmBelow(sw);
        agree(k, n, ad, new Uint8Array(Math.max(0, sw + d)).fill(0x5a), flip);
      }),
      { numRuns: 300 },
    );
  });

  it('an empty record with a forged tag is refused on both sides of the switch (the node:crypto empty-ciphertext trap)', () => {
    const k = new Uint8Array(16).fill(9), n = new Uint8Array(12).fill(3), ad = new Uint8Array(13).fill(1);
    for (const sw of [0, DEFAULT_SWITCH]) {
      setJsCcmBelow(sw);
      const sealed = nodeCrypto.ccm8Encrypt(k, n, ad, new Uint8Array(0));
      expect(toHex(sealed)).toBe(toHex(openssl.ccm8Encrypt(k, n, ad, new Uint8Array(0))));
      expect(nodeCrypto.ccm8Decrypt(k, n, ad, sealed)?.length).toBe(0);
      const forged = sealed.slice();
      forged[0] = forged[0]! ^ 1;
      expect(nodeCrypto.ccm8Decrypt(k, n, ad, forged)).toBeUndefined();
    }
  });

  it('setJsCcmBelow takes a non-negative integer', () => {
    expect(() => setJsCcmBelow(-1)).toThrow(RangeError);
    expect(() => setJsCcmBelow(1.5)).toThrow(RangeError);
  });
});
