/**
 * Use order and free list of numbered slots, as two typed arrays of links: the least recently
 * used slot first. It holds no object per slot, so a cache built on it (session-cache.ts)
 * gives the garbage collector nothing to trace or copy per entry.
 */
export class SlotLru {
  private prev: Int32Array;
  private next: Int32Array;
  /** Least and most recently used slot, -1 when none is in use. */
  private oldest = -1;
  private newest = -1;
  /** Slots never used are capacity..; freed ones are chained through `next` from here. */
  private freeHead = -1;
  private fresh = 0;
  private used = 0;

  constructor(private capacity: number) {
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  get size(): number {
    return this.used;
  }

  /** Slots that can be in use before grow() is needed. */
  get limit(): number {
    return this.capacity;
  }

  /** The least recently used slot in use, or -1. */
  get first(): number {
    return this.oldest;
  }

  /** The slot used after `slot` (towards the most recent), or -1. */
  after(slot: number): number {
    return this.next[slot]!;
  }

  /** More slots (existing slots keep their numbers). */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    const prev = new Int32Array(capacity);
    const next = new Int32Array(capacity);
    prev.set(this.prev);
    next.set(this.next);
    this.prev = prev;
    this.next = next;
    this.capacity = capacity;
  }

  /** A free slot, now the most recently used; -1 when every slot is in use. */
  take(): number {
    let slot = this.freeHead;
    if (slot >= 0) this.freeHead = this.next[slot]!;
    else if (this.fresh < this.capacity) slot = this.fresh++;
    else return -1;
    this.used++;
    this.append(slot);
    return slot;
  }

  /** Makes `slot` (in use) the most recently used. */
  touch(slot: number): void {
    if (slot === this.newest) return;
    this.unlink(slot);
    this.append(slot);
  }

  /** Frees `slot` (in use). */
  release(slot: number): void {
    this.unlink(slot);
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.used--;
  }

  private append(slot: number): void {
    this.prev[slot] = this.newest;
    this.next[slot] = -1;
    if (this.newest >= 0) this.next[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.oldest = n;
    if (n >= 0) this.prev[n] = p;
    else this.newest = p;
  }
}
