import { EMPTY_BYTES } from './util.js';
import { ON_HEAP_BYTES } from './wire-chunks.js';

/**
 * A bounds-checked big-endian reader over a Uint8Array view. Every read that would run
 * past the end throws a {@link DecodeError}; `end()` rejects trailing bytes.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(message: string) {
    super(message);
  }
}

export class Reader {
  private pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly limit = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.limit - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.limit - this.pos < n) throw new DecodeError(`truncated ${what}: need ${n} byte(s), have ${this.limit - this.pos}`);
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.buf, p = this.pos;
    this.pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }
  u24(what = 'u24'): number {
    this.need(3, what);
    const b = this.buf, p = this.pos;
    this.pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }
  /** 32-bit unsigned integer (never negative). */
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }
  /** 48-bit unsigned integer, exact as a JS number (< 2^53). */
  u48(what = 'u48'): number {
    this.need(6, what);
    const b = this.buf, p = this.pos;
    this.pos += 6;
    return ((b[p]! << 8) | b[p + 1]!) * 0x1_0000_0000 + (((b[p + 2]! << 24) | (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!) >>> 0);
  }
  /**
   * The next n bytes: a copy of up to {@link ON_HEAP_BYTES} bytes, a view (no copy) of more; one
   * shared empty array for none.
   *
   * In V8 a view of a small byte array (64 bytes or less, kept on the heap) moves that array's
   * bytes off the heap: ~0.2 us to make, and a backing store that every young-generation
   * collection sweeps. A copy of a few bytes costs about what a view of a large array does
   * (~30 ns against ~25), and keeps no large buffer alive. Callers never write through what they read.
   */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const b = this.buf, p = this.pos;
    this.pos += n;
    if (n > ON_HEAP_BYTES) return b.subarray(p, p + n);
    if (n === 0) return EMPTY_BYTES;
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = b[p + i]!;
    return v;
  }
  /** Steps over the next n bytes (they must be there). */
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  /** opaque x<floor..ceil> with a 1-byte length. */
  vec8(what: string, min = 0, max = 255): Uint8Array {
    const n = this.u8(what + ' length');
    if (n < min || n > max) throw new DecodeError(`${what}: length ${n} outside ${min}..${max}`);
    return this.bytes(n, what);
  }
  /** opaque x<floor..ceil> with a 2-byte length. */
  vec16(what: string, min = 0, max = 0xffff): Uint8Array {
    const n = this.u16(what + ' length');
    if (n < min || n > max) throw new DecodeError(`${what}: length ${n} outside ${min}..${max}`);
    return this.bytes(n, what);
  }
  /** Throws unless every byte has been consumed. */
  end(what: string): void {
    if (this.pos !== this.limit) throw new DecodeError(`${what}: ${this.limit - this.pos} trailing byte(s)`);
  }
}
