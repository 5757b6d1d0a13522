/** What the CoAP codec tests share. */
import fc from 'fast-check';
import type { CoapOption } from '../../lib/coap/message.js';

/**
 * Options in wire order from arbitrary option deltas and values (ascending numbers, repeats
 * allowed), stopping before a number would pass 65535.
 */
export function optionsByDeltaArb(delta: fc.Arbitrary<number>, value: fc.Arbitrary<Uint8Array>, maxLength: number): fc.Arbitrary<CoapOption[]> {
  return fc.array(fc.tuple(delta, value), { maxLength }).map((xs) => {
    const out: CoapOption[] = [];
    let n = 0;
    for (const [d, v] of xs) {
      if (n + d > 0xffff) break;
      n += d;
      out.push({ number: n, value: v });
    }
    return out;
  });
}
