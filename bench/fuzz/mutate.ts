/**
 * Byte-level mutations (the AFL / libFuzzer repertoire, our own code): bit flips, interesting
 * integers, arithmetic, insert / delete / duplicate / copy ranges, dictionary tokens, splices
 * with another corpus entry, and length-field-aware mutations for TLS-style u8/u16/u24
 * vectors: a length set to what remains (or one off), and inserts/deletes that fix up every
 * enclosing length field running to the end of the input (record length, handshake length and
 * fragment_length, the extensions block and the last extension all do in a one-message
 * datagram), so a mutated ClientHello still reaches the parser behind its framing.
 */
import type { Rng } from './rng.js';

export interface MutationContext {
  /** Another corpus entry, for splices (undefined when the corpus has one entry). */
  other?: () => Uint8Array | undefined;
  /** Tokens of the format (magic numbers, keywords). */
  dictionary?: readonly Uint8Array[];
  maxLength: number;
}

const INTERESTING_8 = [0, 1, 2, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000, 0xfefd, 0xfeff, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0xffffff, 0x1000000];

export function insertAt(b: Uint8Array, at: number, ins: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at), at + ins.length);
  return out;
}

export function deleteAt(b: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, at), 0);
  out.set(b.subarray(at + n), at);
  return out;
}

function readUint(b: Uint8Array, at: number, w: number): number {
  let v = 0;
  for (let i = 0; i < w; i++) v = v * 256 + b[at + i]!;
  return v;
}

function writeUint(b: Uint8Array, at: number, w: number, v: number): void {
  for (let i = w - 1; i >= 0; i--) {
    b[at + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/**
 * Candidate length fields (position, width) whose vector runs exactly to the end of `b`:
 * u8 values >= 1 at a position with at least that much after it, u16 and u24 alike.
 */
export function trailingLengthFields(b: Uint8Array): Array<[at: number, width: number]> {
  const out: Array<[number, number]> = [];
  const n = b.length;
  for (let w = 1; w <= 3; w++) {
    for (let p = 0; p + w <= n; p++) {
      const v = readUint(b, p, w);
      if (v >= 1 && p + w + v === n) out.push([p, w]);
    }
  }
  return out;
}

/**
 * The trailing length fields that enclose position `at`, without overlaps (the low byte of a
 * u16 length often looks like a u8 length of the same span: the wider field wins).
 */
function enclosingFields(b: Uint8Array, at: number): Array<[at: number, width: number]> {
  const out: Array<[number, number]> = [];
  const taken = new Set<number>();
  for (const [p, w] of trailingLengthFields(b)
    .filter(([p, w]) => p + w <= at)
    .sort((x, y) => y[1] - x[1])) {
    let free = true;
    for (let i = p; i < p + w; i++) if (taken.has(i)) free = false;
    if (!free) continue;
    for (let i = p; i < p + w; i++) taken.add(i);
    out.push([p, w]);
  }
  return out;
}

/** Inserts (k > 0) or deletes (k < 0) bytes at `at` and moves every enclosing trailing length field by k. */
function resizeWithLengths(b: Uint8Array, at: number, k: number, rng: Rng): Uint8Array {
  const fields = enclosingFields(b, at);
  let out: Uint8Array;
  if (k > 0) out = insertAt(b, at, rng.bytes(k));
  else out = deleteAt(b, at, Math.min(-k, b.length - at));
  const delta = out.length - b.length;
  for (const [p, w] of fields) {
    const v = readUint(out, p, w) + delta;
    if (v >= 0 && v < 2 ** (8 * w)) writeUint(out, p, w, v);
  }
  return out;
}

/** Deletes n bytes at `at` and shrinks every enclosing trailing length field to match (the minimizer's length-aware cut). */
export function deleteWithLengths(b: Uint8Array, at: number, n: number): Uint8Array {
  const fields = enclosingFields(b, at);
  const out = deleteAt(b, at, Math.min(n, b.length - at));
  const delta = out.length - b.length;
  for (const [p, w] of fields) {
    const v = readUint(out, p, w) + delta;
    if (v >= 0) writeUint(out, p, w, v);
  }
  return out;
}

type Mutation = (b: Uint8Array, rng: Rng, ctx: MutationContext) => Uint8Array;

const MUTATIONS: Mutation[] = [
  // bit flip
  (b, rng) => {
    if (b.length === 0) return rng.bytes(1);
    const o = b.slice();
    const i = rng.below(o.length);
    o[i] = o[i]! ^ (1 << rng.below(8));
    return o;
  },
  // random byte
  (b, rng) => {
    if (b.length === 0) return rng.bytes(1);
    const o = b.slice();
    o[rng.below(o.length)] = rng.below(256);
    return o;
  },
  // interesting 8
  (b, rng) => {
    if (b.length === 0) return new Uint8Array([rng.pick(INTERESTING_8)]);
    const o = b.slice();
    o[rng.below(o.length)] = rng.pick(INTERESTING_8);
    return o;
  },
  // interesting 16/32, big or little endian
  (b, rng) => {
    const w = rng.chance(0.6) ? 2 : 4;
    if (b.length < w) return b;
    const o = b.slice();
    const at = rng.below(o.length - w + 1);
    let v = w === 2 ? rng.pick(INTERESTING_16) : rng.pick(INTERESTING_32);
    if (rng.chance(0.25)) {
      // little endian
      for (let i = 0; i < w; i++, v = Math.floor(v / 256)) o[at + i] = v & 0xff;
    } else writeUint(o, at, w, v >>> 0);
    return o;
  },
  // small arithmetic on a byte or a u16
  (b, rng) => {
    if (b.length === 0) return b;
    const o = b.slice();
    const d = rng.range(1, 35) * (rng.chance(0.5) ? 1 : -1);
    if (o.length >= 2 && rng.chance(0.5)) {
      const at = rng.below(o.length - 1);
      writeUint(o, at, 2, (readUint(o, at, 2) + d + 0x10000) & 0xffff);
    } else {
      const at = rng.below(o.length);
      o[at] = (o[at]! + d + 256) & 0xff;
    }
    return o;
  },
  // insert random bytes
  (b, rng, ctx) => {
    const n = rng.range(1, Math.max(1, Math.min(32, ctx.maxLength - b.length)));
    return insertAt(b, rng.below(b.length + 1), rng.bytes(n));
  },
  // insert a run of one byte
  (b, rng) => insertAt(b, rng.below(b.length + 1), new Uint8Array(rng.range(1, 64)).fill(rng.pick(INTERESTING_8))),
  // delete a range
  (b, rng) => {
    if (b.length < 2) return b;
    const at = rng.below(b.length);
    return deleteAt(b, at, rng.range(1, Math.min(b.length - at, rng.chance(0.7) ? 8 : b.length)));
  },
  // duplicate a range in place
  (b, rng) => {
    if (b.length === 0) return b;
    const at = rng.below(b.length);
    const n = rng.range(1, Math.min(b.length - at, 64));
    return insertAt(b, at, b.slice(at, at + n));
  },
  // copy a range over another place
  (b, rng) => {
    if (b.length < 2) return b;
    const from = rng.below(b.length);
    const n = rng.range(1, Math.min(b.length - from, 32));
    const to = rng.below(b.length - n + 1);
    const o = b.slice();
    o.set(b.subarray(from, from + n), to);
    return o;
  },
  // truncate
  (b, rng) => (b.length === 0 ? b : b.slice(0, rng.below(b.length))),
  // dictionary token: insert or overwrite
  (b, rng, ctx) => {
    const d = ctx.dictionary;
    if (!d || d.length === 0) return b;
    const t = rng.pick(d);
    if (rng.chance(0.5) || b.length < t.length) return insertAt(b, rng.below(b.length + 1), t);
    const o = b.slice();
    o.set(t, rng.below(b.length - t.length + 1));
    return o;
  },
  // splice with another corpus entry: head of one, tail of the other, or a chunk inserted
  (b, rng, ctx) => {
    const other = ctx.other?.();
    if (!other || other.length === 0) return b;
    if (rng.chance(0.5)) {
      const cut = rng.below(b.length + 1);
      const from = rng.below(other.length);
      const out = new Uint8Array(cut + other.length - from);
      out.set(b.subarray(0, cut), 0);
      out.set(other.subarray(from), cut);
      return out;
    }
    const from = rng.below(other.length);
    const n = rng.range(1, Math.min(other.length - from, 64));
    return insertAt(b, rng.below(b.length + 1), other.slice(from, from + n));
  },
  // length field: a u8/u16/u24 at a position set to what remains after it, one off, 0 or all ones
  (b, rng) => {
    const w = rng.range(1, 3);
    if (b.length < w) return b;
    const o = b.slice();
    const at = rng.below(b.length - w + 1);
    const rest = b.length - at - w;
    const choices = [rest, rest + 1, rest - 1, 0, 2 ** (8 * w) - 1, rest * 2, rng.below(rest + 1)];
    const v = rng.pick(choices);
    writeUint(o, at, w, Math.max(0, Math.min(v, 2 ** (8 * w) - 1)));
    return o;
  },
  // an existing trailing length field set off by a little
  (b, rng) => {
    const fields = trailingLengthFields(b);
    if (fields.length === 0) return b;
    const [at, w] = rng.pick(fields);
    const o = b.slice();
    const v = readUint(o, at, w) + rng.pick([-2, -1, 1, 2, 0x80, -0x80]);
    writeUint(o, at, w, Math.max(0, Math.min(v, 2 ** (8 * w) - 1)));
    return o;
  },
  // insert or delete inside the innermost vectors, keeping every enclosing length consistent
  (b, rng, ctx) => {
    const fields = trailingLengthFields(b);
    if (fields.length === 0) return b;
    const [p, w] = rng.pick(fields);
    const at = rng.range(p + w, b.length);
    if (rng.chance(0.5) && b.length < ctx.maxLength) return resizeWithLengths(b, at, rng.range(1, 24), rng);
    if (at >= b.length) return b;
    return resizeWithLengths(b, at, -rng.range(1, Math.min(8, b.length - at)), rng);
  },
];

/** Stacked mutations of `input` (one half of the time, else 2, 4 or 8), capped at ctx.maxLength. */
export function mutateBytes(input: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array {
  let b = input;
  const n = rng.chance(0.5) ? 1 : 2 << rng.below(3);
  for (let i = 0; i < n; i++) b = rng.pick(MUTATIONS)(b, rng, ctx);
  return b.length > ctx.maxLength ? b.slice(0, ctx.maxLength) : b;
}
