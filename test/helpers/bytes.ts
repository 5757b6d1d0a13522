/** Byte patterns and mutations the tests share. */
import fc from 'fast-check';
import { concat } from '../../lib/bytes/util.js';

/** Every byte from `from` to `to` inclusive (the RFC 3610 vectors use counting patterns). */
export function counting(from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from + 1);
  for (let i = 0; i < out.length; i++) out[i] = from + i;
  return out;
}

/** A copy of `b` with bit `bit` (0 = the low bit of the first byte) flipped. */
export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  out[bit >> 3] = out[bit >> 3]! ^ (1 << (bit & 7));
  return out;
}

/** `valid` with up to four bytes flipped or overwritten, then maybe cut short, then extended. */
export function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.nat({ max: Math.max(0, valid.length - 1) }), value: fc.integer({ min: 0, max: 255 }), xor: fc.boolean() });
  return fc
    .record({
      edits: fc.array(edit, { maxLength: 4 }),
      cut: fc.option(fc.nat({ max: valid.length }), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ edits, cut, tail }) => {
      const b = valid.slice();
      for (const e of edits) if (e.at < b.length) b[e.at] = e.xor ? b[e.at]! ^ (1 << (e.value & 7)) : e.value;
      return concat(b.subarray(0, cut ?? b.length), tail);
    });
}
