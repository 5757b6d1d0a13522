/**
 * The oracles the codec targets share: only the module's typed errors may escape, and a value a
 * decoder accepted re-encodes to something that decodes to the same value and encodes to the
 * same bytes again (byte-exact against the input where the format is canonical).
 */
import { canon, hexHead, sameBytes } from './canon.js';
import { errorFeature, Violation } from './target.js';

type ErrorClass = abstract new (...args: any[]) => Error;

/** The feature of an allowed error; anything else is rethrown (a crash). */
export function allowed(e: unknown, ...types: ErrorClass[]): string {
  for (const t of types) if (e instanceof t) return errorFeature(e);
  throw e;
}

/**
 * decode -> encode -> decode: the second decode must succeed and equal the first, the second
 * encode must equal the first; with `exact`, the first encode must equal the input.
 */
export function roundTrip<T>(what: string, input: Uint8Array, first: T, decode: (b: Uint8Array) => T, encode: (m: T) => Uint8Array, exact: boolean): void {
  let b2: Uint8Array;
  try {
    b2 = encode(first);
  } catch (e) {
    throw new Violation('roundtrip', `${what}: a decoded value does not encode (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}); input ${hexHead(input)}`);
  }
  const same = sameBytes(b2, input);
  if (exact && !same) throw new Violation('roundtrip', `${what}: re-encoding differs from the input: ${hexHead(input)} -> ${hexHead(b2)}`);
  // the same bytes decode to the same value (decoders are functions of their input): done
  if (same) return;
  let second: T;
  try {
    second = decode(b2);
  } catch (e) {
    throw new Violation('roundtrip', `${what}: the re-encoding does not decode (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}): ${hexHead(b2)}`);
  }
  const c1 = canon(first), c2 = canon(second);
  if (c1 !== c2) throw new Violation('roundtrip', `${what}: decode(encode(x)) differs from x: ${c1.slice(0, 300)} vs ${c2.slice(0, 300)}`);
  const b3 = encode(second);
  if (!sameBytes(b2, b3)) throw new Violation('roundtrip', `${what}: encoding is not stable: ${hexHead(b2)} then ${hexHead(b3)}`);
}

/** A cheap deterministic hash of an input (to run an expensive oracle on a fixed share of inputs). */
export function inputHash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}
