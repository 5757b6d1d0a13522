/**
 * RFC 6347 §4.1.2.6 anti-replay: a 64-record sliding window per epoch. `check` is called
 * before authentication, `mark` only after the record authenticated, so a forged record
 * cannot move the window.
 */
export const REPLAY_WINDOW_SIZE = 64;

export class ReplayWindow {
  /** Highest sequence number accepted so far, -1 before the first. */
  private top = -1;
  /** Bit i set: sequence (top - i) was seen. Two 32-bit halves: lo = bits 0..31, hi = 32..63. */
  private lo = 0;
  private hi = 0;

  /** The window as a session store keeps it: the highest number accepted (-1: none) and bit i = (top - i) seen. */
  export(): { top: number; bitmap: bigint } {
    return { top: this.top, bitmap: (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0) };
  }

  /** A window as exported. */
  static from(top: number, bitmap: bigint): ReplayWindow {
    const w = new ReplayWindow();
    w.top = top;
    w.lo = Number(bitmap & 0xffffffffn) | 0;
    w.hi = Number((bitmap >> 32n) & 0xffffffffn) | 0;
    return w;
  }

  /** The bitmap's low and high 32-bit halves (bit i: top - i seen), for a hibernated connection. */
  get lowBits(): number {
    return this.lo;
  }
  get highBits(): number {
    return this.hi;
  }

  /** A window from its highest number and bitmap halves (lowBits, highBits). */
  static fromWords(top: number, lo: number, hi: number): ReplayWindow {
    const w = new ReplayWindow();
    w.top = top;
    w.lo = lo | 0;
    w.hi = hi | 0;
    return w;
  }

  /** The highest sequence number accepted so far (-1 before the first). */
  get highest(): number {
    return this.top;
  }

  /** True when `seq` is new (not seen, and not older than the window). */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    const d = this.top - seq;
    if (d >= REPLAY_WINDOW_SIZE) return false;
    return d < 32 ? (this.lo & (1 << d)) === 0 : (this.hi & (1 << (d - 32))) === 0;
  }

  mark(seq: number): void {
    if (seq > this.top) {
      const shift = this.top < 0 ? REPLAY_WINDOW_SIZE : seq - this.top;
      if (shift >= REPLAY_WINDOW_SIZE) {
        this.lo = 0;
        this.hi = 0;
      } else if (shift >= 32) {
        this.hi = shift === 32 ? this.lo : this.lo << (shift - 32);
        this.lo = 0;
      } else {
        this.hi = (this.hi << shift) | (this.lo >>> (32 - shift));
        this.lo = this.lo << shift;
      }
      this.lo |= 1;
      this.top = seq;
      return;
    }
    const d = this.top - seq;
    if (d >= REPLAY_WINDOW_SIZE) return;
    if (d < 32) this.lo |= 1 << d;
    else this.hi |= 1 << (d - 32);
  }
}
