/**
 * A binary min-heap of (deadline, item) with lazy deletion: an entry is live only while the
 * item's current deadline still equals the entry's. The endpoint pushes a new entry whenever
 * a connection's deadline changes and skips stale ones when they surface.
 *
 * The heap is two parallel arrays (deadlines, items) rather than an array of {at, item}
 * objects: 16 bytes an entry instead of ~48 (a DtlsEndpoint keeps one per idle session).
 */
export class TimerQueue<T> {
  /** Deadlines, in heap order (numbers only: V8 keeps them unboxed). */
  private ats: number[] = [];
  /** The item of each deadline, at the same index. */
  private items: T[] = [];

  constructor(
    private readonly currentDeadline: (item: T) => number | undefined,
    /** Items that may still be live: when the heap outgrows it, stale entries are swept out. */
    private readonly liveCount: () => number = () => 0,
  ) {}

  schedule(item: T, at: number | undefined): void {
    if (at === undefined) return;
    if (this.ats.length > 2 * this.liveCount() + 1024) this.compact();
    const ats = this.ats;
    const items = this.items;
    // sift up: move parents down until the new entry's place is found
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p]!;
      if (pa <= at) break;
      ats[i] = pa;
      items[i] = items[p]!;
      i = p;
    }
    ats[i] = at;
    items[i] = item;
  }

  /** Earliest live deadline. */
  peek(): number | undefined {
    this.dropStale();
    return this.ats[0];
  }

  /** Removes and returns every live item due at `now`. */
  popDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      if (this.ats.length === 0 || this.ats[0]! > now) return due;
      due.push(this.items[0]!);
      this.pop();
    }
  }

  /** Entries held, live or stale (for observability). */
  get size(): number {
    return this.ats.length;
  }

  /** Drops every stale entry and restores the heap order. */
  private compact(): void {
    const { ats, items } = this;
    const live: number[] = [];
    for (let i = 0; i < ats.length; i++) if (this.currentDeadline(items[i]!) === ats[i]) live.push(i);
    live.sort((a, b) => ats[a]! - ats[b]!); // a sorted array is a valid binary heap
    this.ats = live.map((i) => ats[i]!);
    this.items = live.map((i) => items[i]!);
  }

  private dropStale(): void {
    while (this.ats.length > 0) {
      if (this.currentDeadline(this.items[0]!) === this.ats[0]) return;
      this.pop();
    }
  }

  /** Removes the top entry. */
  private pop(): void {
    const ats = this.ats;
    const items = this.items;
    const at = ats.pop()!;
    const item = items.pop()!;
    const n = ats.length;
    if (n === 0) return;
    // sift the last entry down from the root
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && ats[r]! < ats[l]! ? r : l;
      if (ats[m]! >= at) break;
      ats[i] = ats[m]!;
      items[i] = items[m]!;
      i = m;
    }
    ats[i] = at;
    items[i] = item;
  }
}
