/** Byte patterns the crypto tests share. */

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
