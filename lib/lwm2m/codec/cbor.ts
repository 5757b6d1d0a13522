/**
 * A small, strict CBOR codec (RFC 8949).
 *
 * Decoding accepts every well-formed item: major types 0-7, definite and indefinite lengths,
 * any argument width (non-preferred encodings included), half/single/double floats. It
 * rejects what is not well-formed or not valid: reserved additional information (28-30), a
 * misplaced break, indefinite lengths on integers/tags/simple values, indefinite string
 * chunks of another type, text that is not UTF-8, two-byte simple values below 32, duplicate
 * map keys, trailing bytes, nesting beyond a cap, and the contents of tags 0-5 that do not
 * match RFC 8949 §3.4. It never reads past the end of the input and checks every length
 * against the bytes left before allocating anything. Every failure is a `CborError`.
 *
 * Data model:
 *   - integers: `number` when safe (|n| <= 2^53-1), `bigint` otherwise (major types 0/1 reach
 *     -2^64 .. 2^64-1; tags 2/3 (bignums) decode to the same number/bigint).
 *   - floats: `number`, or `CborFloat` with `{ floats: 'wrap' }` (keeps 1.0 apart from 1).
 *   - byte strings `Uint8Array`, text strings `string`, arrays `CborItem[]`,
 *     maps `Map<CborItem, CborItem>` (wire order kept), false/true/null/undefined as such,
 *     other simple values `CborSimple`, other tags `CborTag`.
 *
 * Encoding is the preferred serialization of RFC 8949 §4.1: definite lengths, the shortest
 * argument, and floats in the shortest of half/single/double that keeps the value exactly
 * (NaN as f97e00). A `number` that is a safe integer (and not -0) is encoded as an integer,
 * any other number as a float; `CborFloat` forces a float. bigints outside 64 bits become
 * tag 2/3 bignums. Map keys keep their insertion order unless `{ sortKeys: true }` asks for
 * the bytewise order of RFC 8949 §4.2.1 (core deterministic encoding).
 */

export class CborError extends Error {
  override readonly name = 'CborError';
  constructor(
    message: string,
    /** Byte offset where decoding failed, when known. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

/** A float that must be encoded (or was decoded) as a CBOR float, even when integral. */
export class CborFloat {
  constructor(readonly value: number) {}
}

/** A tag other than the bignums 2/3 (which decode to bigint). */
export class CborTag {
  constructor(
    readonly tag: number | bigint,
    readonly value: CborItem,
  ) {}
}

/** A simple value other than false (20), true (21), null (22) and undefined (23). */
export class CborSimple {
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 255 || (value >= 20 && value <= 31)) {
      throw new CborError(`simple value ${value} is reserved or out of range`);
    }
  }
}

export type CborMap = Map<CborItem, CborItem>;
export type CborItem =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborFloat
  | CborTag
  | CborSimple
  | CborItem[]
  | CborMap;

export interface CborDecodeOptions {
  /** Maximum nesting of arrays, maps and tags (default 64). */
  maxDepth?: number;
  /** 'number' (default): floats decode to number; 'wrap': to CborFloat. */
  floats?: 'number' | 'wrap';
}

export interface CborEncodeOptions {
  /** Sort map keys by their encoded bytes (RFC 8949 §4.2.1) instead of insertion order. */
  sortKeys?: boolean;
  /** Maximum nesting (default 64); deeper (or cyclic) input throws CborError. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 64;
const TWO_64 = 1n << 64n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decode exactly one CBOR item occupying all of `bytes`. */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions = {}): CborItem {
  const { item, end } = decodeCborPrefix(bytes, 0, options);
  if (end !== bytes.length) throw new CborError(`${bytes.length - end} trailing byte(s) after the CBOR item`, end);
  return item;
}

/** Decode one item starting at `offset`; returns it and the offset just after it. */
export function decodeCborPrefix(bytes: Uint8Array, offset = 0, options: CborDecodeOptions = {}): { item: CborItem; end: number } {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) throw new CborError('offset out of range');
  const d = new Decoder(bytes, offset, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.floats === 'wrap');
  const item = d.item(0);
  return { item, end: d.pos };
}

const BREAK = Symbol('break');

class Decoder {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly maxDepth: number,
    readonly wrapFloats: boolean,
  ) {}

  private fail(msg: string, at = this.pos): never {
    throw new CborError(msg, at);
  }

  private need(n: number): void {
    if (n > this.b.length - this.pos) this.fail(`truncated: ${n} byte(s) needed, ${this.b.length - this.pos} left`);
  }

  private u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  private uN(n: 1 | 2 | 4 | 8): number | bigint {
    this.need(n);
    const b = this.b;
    let p = this.pos;
    this.pos += n;
    if (n === 1) return b[p]!;
    if (n === 2) return (b[p]! << 8) | b[p + 1]!;
    if (n === 4) return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    let v = 0n;
    for (const end = p + 8; p < end; p++) v = (v << 8n) | BigInt(b[p]!);
    return v <= MAX_SAFE ? Number(v) : v;
  }

  /** The argument for additional information `ai` (0-27); -1 for indefinite (31). */
  private arg(ai: number, start: number): number | bigint {
    if (ai < 24) return ai;
    if (ai === 24) return this.uN(1);
    if (ai === 25) return this.uN(2);
    if (ai === 26) return this.uN(4);
    if (ai === 27) return this.uN(8);
    if (ai === 31) return -1;
    return this.fail(`reserved additional information ${ai}`, start);
  }

  /** A length: must fit in the remaining input (`unit` bytes at least per element). */
  private length(a: number | bigint, unit: number, start: number): number {
    const left = this.b.length - this.pos;
    if (typeof a === 'bigint' || a > left / unit) this.fail(`length ${a} exceeds the ${left} byte(s) left`, start);
    return a;
  }

  item(depth: number): CborItem {
    const v = this.itemOrBreak(depth);
    if (v === BREAK) this.fail('unexpected break', this.pos - 1);
    return v;
  }

  private itemOrBreak(depth: number): CborItem | typeof BREAK {
    const start = this.pos;
    const ib = this.u8();
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0: {
        const a = this.arg(ai, start);
        if (a === -1) this.fail('indefinite length on an integer', start);
        return a;
      }
      case 1: {
        const a = this.arg(ai, start);
        if (a === -1) this.fail('indefinite length on an integer', start);
        return typeof a === 'number' && a < Number.MAX_SAFE_INTEGER ? -1 - a : normInt(-1n - BigInt(a));
      }
      case 2:
      case 3: {
        const a = this.arg(ai, start);
        if (a === -1) return this.indefiniteString(major, depth, start);
        const n = this.length(a, 1, start);
        const chunk = this.b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return major === 2 ? chunk.slice() : this.text(chunk, start);
      }
      case 4: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const a = this.arg(ai, start);
        const out: CborItem[] = [];
        if (a === -1) {
          for (;;) {
            const v = this.itemOrBreak(depth + 1);
            if (v === BREAK) return out;
            out.push(v);
          }
        }
        const n = this.length(a, 1, start);
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const a = this.arg(ai, start);
        const out: CborMap = new Map();
        const seen = new Set<string>();
        const entry = (k: CborItem, keyAt: number): void => {
          const id = keyId(k);
          if (seen.has(id) || out.has(k)) this.fail('duplicate map key', keyAt);
          seen.add(id);
          out.set(k, this.item(depth + 1));
        };
        if (a === -1) {
          for (;;) {
            const keyAt = this.pos;
            const k = this.itemOrBreak(depth + 1);
            if (k === BREAK) return out;
            entry(k, keyAt);
          }
        }
        const n = this.length(a, 2, start);
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos;
          entry(this.item(depth + 1), keyAt);
        }
        return out;
      }
      case 6: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const tag = this.arg(ai, start);
        if (tag === -1) this.fail('indefinite length on a tag', start);
        const content = this.item(depth + 1);
        return checkTag(tag, content, start);
      }
      default: {
        // major 7
        if (ai < 20) return new CborSimple(ai);
        switch (ai) {
          case 20:
            return false;
          case 21:
            return true;
          case 22:
            return null;
          case 23:
            return undefined;
          case 24: {
            const v = this.u8();
            if (v < 32) this.fail(`two-byte simple value ${v} (< 32) is not well-formed`, start);
            return new CborSimple(v);
          }
          case 25:
            return this.float(halfToNumber(this.uN(2) as number));
          case 26: {
            this.need(4);
            const f = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getFloat32(0);
            this.pos += 4;
            return this.float(f);
          }
          case 27: {
            this.need(8);
            const f = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getFloat64(0);
            this.pos += 8;
            return this.float(f);
          }
          case 31:
            return BREAK;
          default:
            return this.fail(`reserved additional information ${ai}`, start);
        }
      }
    }
  }

  private float(f: number): number | CborFloat {
    return this.wrapFloats ? new CborFloat(f) : f;
  }

  private text(chunk: Uint8Array, at: number): string {
    try {
      return utf8Decoder.decode(chunk);
    } catch {
      return this.fail('text string is not valid UTF-8', at);
    }
  }

  private indefiniteString(major: number, depth: number, start: number): Uint8Array | string {
    if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
    const parts: Uint8Array[] = [];
    const texts: string[] = [];
    let total = 0;
    for (;;) {
      const at = this.pos;
      const ib = this.u8();
      if (ib === 0xff) break;
      if (ib >> 5 !== major) this.fail('indefinite-length string chunk of another major type', at);
      const a = this.arg(ib & 0x1f, at);
      if (a === -1) this.fail('nested indefinite-length string chunk', at);
      const n = this.length(a, 1, at);
      const chunk = this.b.subarray(this.pos, this.pos + n);
      this.pos += n;
      if (major === 3) texts.push(this.text(chunk, at)); // each chunk must be valid UTF-8 by itself
      else parts.push(chunk);
      total += n;
    }
    if (major === 3) return texts.join('');
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function normInt(v: bigint): number | bigint {
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

let unencodableKeys = 0;

/** Identity of a map key for duplicate detection: its preferred encoding. */
function keyId(k: CborItem): string {
  let bytes: Uint8Array;
  try {
    // nesting is already bounded by the decoder's cap
    bytes = encodeCbor(k, { maxDepth: Number.MAX_SAFE_INTEGER });
  } catch {
    // unreachable for decoded keys (their text is valid UTF-8); never call two such keys equal
    return `?${unencodableKeys++}`;
  }
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return s;
}

/** Validity of tags 0-5 (RFC 8949 §3.4); bignums become integers. */
function checkTag(tag: number | bigint, content: CborItem, at: number): CborItem {
  switch (tag) {
    case 0:
      if (typeof content !== 'string') throw new CborError('tag 0 (date/time string) needs a text string', at);
      break;
    case 1:
      if (!isIntItem(content) && !isFloatItem(content)) throw new CborError('tag 1 (epoch time) needs an integer or a float', at);
      break;
    case 2:
    case 3: {
      if (!(content instanceof Uint8Array)) throw new CborError(`tag ${tag} (bignum) needs a byte string`, at);
      let v = 0n;
      for (const x of content) v = (v << 8n) | BigInt(x);
      return normInt(tag === 2 ? v : -1n - v);
    }
    case 4:
    case 5: {
      if (!Array.isArray(content) || content.length !== 2) throw new CborError(`tag ${tag} needs an array [exponent, mantissa]`, at);
      const [e, m] = content;
      if (!isIntItem(e) || !isIntItem(m)) throw new CborError(`tag ${tag} needs an integer exponent and an integer mantissa`, at);
      break;
    }
  }
  return new CborTag(tag, content);
}

function isIntItem(x: CborItem): x is number | bigint {
  return typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x) && !Object.is(x, -0) && Number.isSafeInteger(x));
}

function isFloatItem(x: CborItem): boolean {
  return x instanceof CborFloat || typeof x === 'number';
}

// ---------------------------------------------------------------------------------------------
// Floats

/** IEEE 754 binary16 bits -> number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** number -> binary16 bits when the value is exactly representable, else undefined. */
export function numberToHalf(v: number): number | undefined {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  if (a > 65504) return undefined;
  if (a < 2 ** -14) {
    // subnormal: a = m * 2^-24, m in 1..1023
    const m = a * 2 ** 24;
    return Number.isInteger(m) ? sign | m : undefined;
  }
  const exp = Math.floor(Math.log2(a));
  // log2 may be off by one near powers of two; correct it.
  let e = exp;
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const m = a / 2 ** e - 1; // in [0, 1)
  const frac = m * 1024;
  if (!Number.isInteger(frac)) return undefined;
  return sign | ((e + 15) << 10) | frac;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encode one item in preferred serialization. */
export function encodeCbor(item: CborItem, options: CborEncodeOptions = {}): Uint8Array {
  const e = new Encoder(options.sortKeys ?? false, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  e.item(item, 0);
  return e.finish();
}

class Encoder {
  private buf = new Uint8Array(64);
  private len = 0;
  constructor(
    readonly sortKeys: boolean,
    readonly maxDepth: number,
  ) {}

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  private byte(x: number): void {
    this.grow(1);
    this.buf[this.len++] = x;
  }

  private bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Head with the shortest argument. `a` is a non-negative integer < 2^64. */
  private head(major: number, a: number | bigint): void {
    const m = major << 5;
    if (typeof a === 'number' && a < 24) return this.byte(m | a);
    const n = typeof a === 'bigint' ? a : BigInt(a);
    if (n < 24n) return this.byte(m | Number(n));
    if (n < 0x100n) {
      this.byte(m | 24);
      this.byte(Number(n));
    } else if (n < 0x10000n) {
      this.byte(m | 25);
      const x = Number(n);
      this.byte(x >> 8);
      this.byte(x & 0xff);
    } else if (n < 0x100000000n) {
      this.byte(m | 26);
      const x = Number(n);
      this.byte(x >>> 24);
      this.byte((x >>> 16) & 0xff);
      this.byte((x >>> 8) & 0xff);
      this.byte(x & 0xff);
    } else {
      this.byte(m | 27);
      for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((n >> s) & 0xffn));
    }
  }

  private integer(v: bigint): void {
    if (v >= 0n && v < TWO_64) return this.head(0, v);
    if (v < 0n && v >= -TWO_64) return this.head(1, -1n - v);
    // bignum
    const neg = v < 0n;
    let mag = neg ? -1n - v : v;
    const out: number[] = [];
    while (mag > 0n) {
      out.unshift(Number(mag & 0xffn));
      mag >>= 8n;
    }
    this.head(6, neg ? 3 : 2);
    this.head(2, out.length);
    this.bytes(Uint8Array.from(out));
  }

  private float(v: number): void {
    const h = numberToHalf(v);
    if (h !== undefined) {
      this.byte(0xf9);
      this.byte(h >> 8);
      this.byte(h & 0xff);
      return;
    }
    if (Object.is(Math.fround(v), v)) {
      this.grow(5);
      this.buf[this.len] = 0xfa;
      new DataView(this.buf.buffer, this.buf.byteOffset + this.len + 1, 4).setFloat32(0, v);
      this.len += 5;
      return;
    }
    this.grow(9);
    this.buf[this.len] = 0xfb;
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len + 1, 8).setFloat64(0, v);
    this.len += 9;
  }

  item(x: CborItem, depth: number): void {
    if (depth > this.maxDepth) throw new CborError(`nesting deeper than ${this.maxDepth} (or cyclic)`);
    switch (typeof x) {
      case 'number':
        if (Number.isSafeInteger(x) && !Object.is(x, -0)) {
          if (x >= 0) this.head(0, x);
          else this.head(1, -1 - x);
        } else this.float(x);
        return;
      case 'bigint':
        return this.integer(x);
      case 'string': {
        if (!isWellFormed(x)) throw new CborError('text contains a lone surrogate (not encodable as UTF-8)');
        const b = utf8Encoder.encode(x);
        this.head(3, b.length);
        return this.bytes(b);
      }
      case 'boolean':
        return this.byte(x ? 0xf5 : 0xf4);
      case 'undefined':
        return this.byte(0xf7);
      case 'object':
        break;
      default:
        throw new CborError(`cannot encode a ${typeof x}`);
    }
    if (x === null) return this.byte(0xf6);
    if (x instanceof Uint8Array) {
      this.head(2, x.length);
      return this.bytes(x);
    }
    if (x instanceof CborFloat) {
      if (typeof x.value !== 'number') throw new CborError('CborFloat needs a number');
      return this.float(x.value);
    }
    if (x instanceof CborSimple) {
      if (x.value < 24) return this.byte(0xe0 | x.value);
      this.byte(0xf8);
      return this.byte(x.value);
    }
    if (x instanceof CborTag) {
      const t = x.tag;
      if (typeof t === 'number' ? !Number.isSafeInteger(t) || t < 0 : t < 0n || t >= TWO_64) throw new CborError(`bad tag number ${t}`);
      this.head(6, t);
      return this.item(x.value, depth + 1);
    }
    if (Array.isArray(x)) {
      this.head(4, x.length);
      for (const v of x) this.item(v, depth + 1);
      return;
    }
    if (x instanceof Map) {
      this.head(5, x.size);
      if (!this.sortKeys) {
        for (const [k, v] of x) {
          this.item(k, depth + 1);
          this.item(v, depth + 1);
        }
        return;
      }
      const entries = [...x].map(([k, v]) => {
        const e = new Encoder(true, this.maxDepth - depth - 1);
        e.item(k, 0);
        return { k: e.finish(), v };
      });
      entries.sort((a, b) => compareBytes(a.k, b.k));
      for (let i = 1; i < entries.length; i++) {
        if (compareBytes(entries[i - 1]!.k, entries[i]!.k) === 0) throw new CborError('duplicate map key');
      }
      for (const { k, v } of entries) {
        this.bytes(k);
        this.item(v, depth + 1);
      }
      return;
    }
    throw new CborError(`cannot encode object ${Object.prototype.toString.call(x)}`);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** True when `s` has no unpaired surrogate (String.prototype.isWellFormed, Node 20+). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
