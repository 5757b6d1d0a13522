/**
 * A binary min-heap of (deadline, item) with lazy deletion: an entry is live only while the
 * item's current deadline still equals the entry's. The endpoint pushes a new entry whenever
 * a connection's deadline changes and skips stale ones when they surface.
 */
export class TimerQueue<T> {
  private readonly heap: Array<{ at: number; item: T }> = [];

  constructor(
    private readonly currentDeadline: (item: T) => number | undefined,
    /** Items that may still be live: when the heap outgrows it, stale entries are swept out. */
    private readonly liveCount: () => number = () => 0,
  ) {}

  schedule(item: T, at: number | undefined): void {
    if (at === undefined) return;
    if (this.heap.length > 2 * this.liveCount() + 1024) this.compact();
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** Earliest live deadline. */
  peek(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  /** Removes and returns every live item due at `now`. */
  popDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) return due;
      this.pop();
      due.push(top.item);
    }
  }

  /** Entries held, live or stale (for observability). */
  get size(): number {
    return this.heap.length;
  }

  /** Drops every stale entry and restores the heap order. */
  private compact(): void {
    const live = this.heap.filter((e) => this.currentDeadline(e.item) === e.at);
    this.heap.length = 0;
    live.sort((a, b) => a.at - b.at); // a sorted array is a valid binary heap
    for (const e of live) this.heap.push(e);
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.currentDeadline(top.item) === top.at) return;
      this.pop();
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.at < h[m]!.at) m = l;
      if (r < h.length && h[r]!.at < h[m]!.at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
