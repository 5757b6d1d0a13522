import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wireBuffer } from '../lib/bytes/wire-chunks.js';

describe('wire chunks (lib/bytes/wire-chunks.ts)', () => {
  it('hands out zeroed buffers of the asked size that never share a byte', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const bufs = sizes.map((n) => wireBuffer(n));
        bufs.forEach((b, i) => {
          expect(b.length).toBe(sizes[i]);
          expect(b.every((x) => x === 0)).toBe(true);
        });
        // fill each with its own mark, then check nothing was overwritten by another
        bufs.forEach((b, i) => b.fill((i % 255) + 1));
        bufs.forEach((b, i) => expect(b.every((x) => x === (i % 255) + 1)).toBe(true));
      }),
    );
  });

  it('carves small buffers out of one shared chunk, and gives large ones their own', () => {
    const a = wireBuffer(100);
    const b = wireBuffer(100);
    const big = wireBuffer(1500);
    // two small ones in a row share a backing store unless a chunk just filled up
    const c = wireBuffer(100);
    const d = wireBuffer(100);
    expect(a.buffer === b.buffer || b.buffer === c.buffer || c.buffer === d.buffer).toBe(true);
    expect(big.byteLength).toBe(1500);
    expect(big.buffer.byteLength).toBe(1500);
    expect(a.buffer.byteLength).toBe(4096);
  });
});
