/**
 * A growable big-endian writer with length back-patching: `vec16(() => ...)` writes a
 * 2-byte placeholder, runs the body, then patches in the body's length.
 */
export class Writer {
  private buf: Uint8Array;
  private pos = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  get length(): number {
    return this.pos;
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf); // whole: a view of a small array would move it off the V8 heap
    this.buf = next;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u24(v: number): this {
    this.room(3);
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u48(v: number): this {
    this.room(6);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.u16(hi);
    const lo = v >>> 0;
    this.buf[this.pos++] = lo >>> 24;
    this.buf[this.pos++] = (lo >>> 16) & 0xff;
    this.buf[this.pos++] = (lo >>> 8) & 0xff;
    this.buf[this.pos++] = lo & 0xff;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  private patched(width: 1 | 2 | 3, max: number, body: (w: this) => void): this {
    this.room(width);
    const at = this.pos;
    this.pos += width;
    body(this);
    const n = this.pos - at - width;
    if (n > max) throw new RangeError(`vector of ${n} bytes exceeds ${max}`);
    for (let i = width - 1, v = n; i >= 0; i--, v >>>= 8) this.buf[at + i] = v & 0xff;
    return this;
  }
  vec8(body: (w: this) => void): this {
    return this.patched(1, 0xff, body);
  }
  vec16(body: (w: this) => void): this {
    return this.patched(2, 0xffff, body);
  }
  vec24(body: (w: this) => void): this {
    return this.patched(3, 0xffffff, body);
  }
  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
  /** A view of what was written (no copy), valid until the next write or wipe(). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
  /** Zeroes what was written (it held secrets) and starts over. */
  wipe(): void {
    this.buf.fill(0);
    this.pos = 0;
  }
}
