/**
 * pskMap (lib/dtls/keystore.ts): identities are compared as bytes, through a string key of one
 * char per byte (latin1() of lib/bytes/util.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../lib/bytes/util.js';
import { MAX_PSK_IDENTITY } from '../lib/dtls/config.js';
import { pskMap } from '../lib/dtls/keystore.js';

const peer = { address: '127.0.0.1', port: 1 };

describe('pskMap', () => {
  it('any set of identities: each finds its own key, any other byte string none (longer ones included)', () => {
    const identity = fc.uint8Array({ minLength: 1, maxLength: MAX_PSK_IDENTITY });
    const key = fc.uint8Array({ minLength: 1, maxLength: 64 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(identity, key), { selector: ([id]) => toHex(id), maxLength: 20 }), fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 10 }), (entries, others) => {
        const lookup = pskMap(entries);
        const byHex = new Map(entries.map(([id, k]) => [toHex(id), k]));
        for (const [id, k] of entries) expect(toHex(lookup(id.slice(), peer) as Uint8Array)).toBe(toHex(k));
        for (const o of others) {
          const want = byHex.get(toHex(o));
          const got = lookup(o, peer) as Uint8Array | undefined;
          expect(got && toHex(got)).toBe(want && toHex(want));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an identity and the hex text of another are different identities', () => {
    const id = Uint8Array.from({ length: 130 }, (_, i) => i);
    const hexText = new TextEncoder().encode(toHex(id.subarray(0, 64)));
    const lookup = pskMap([[id.subarray(0, 64), new Uint8Array([1])]]);
    expect(lookup(hexText, peer)).toBeUndefined();
    expect(lookup(Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), peer)).toBeUndefined();
  });
});
