import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addRange, covers } from '../lib/dtls/byte-ranges.js';

describe('byte ranges (lib/dtls/byte-ranges.ts: what arrived of a fragmented message)', () => {
  it('any ranges added in any order: sorted, disjoint, not touching, and exactly their union', () => {
    const range = fc.tuple(fc.nat(60), fc.nat(60)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
    fc.assert(
      fc.property(fc.array(range, { maxLength: 12 }), (added) => {
        const ranges: Array<[number, number]> = [];
        const got = new Array<boolean>(61).fill(false);
        for (const [s, e] of added) {
          addRange(ranges, s, e);
          for (let i = s; i < e; i++) got[i] = true;
        }
        const have = new Array<boolean>(61).fill(false);
        ranges.forEach(([s, e], k) => {
          expect(s).toBeLessThan(e);
          if (k > 0) expect(s).toBeGreaterThan(ranges[k - 1]![1]); // a gap between neighbours
          for (let i = s; i < e; i++) have[i] = true;
        });
        expect(have).toEqual(got);
        // covers(n): the union is exactly [0, n)
        const n = got.filter(Boolean).length;
        if (n > 0) expect(covers(ranges, n)).toBe(got.every((b, i) => b === i < n));
        expect(covers(ranges, n + 1)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
