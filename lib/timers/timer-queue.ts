/**
 * A binary min-heap of (deadline, item) with lazy deletion: an entry is live only while the
 * item's current deadline still equals the entry's. The endpoint pushes a new entry whenever
 * a connection's deadline changes and skips stale ones when they surface.
 *
 * The heap is two parallel arrays (deadlines, items) rather than an array of {at, item}
 * objects: 16 bytes an entry instead of ~48 (a DtlsEndpoint keeps one per idle session).
 *
 * Stale entries are swept out once they outnumber the live items by {@link SLACK}, in place:
 * the arrays are long-lived (old generation), and an item they still point to survives every
 * young-generation collection until the next full one. With a slack of 1,024, each ended
 * handshake stayed reachable for about a thousand schedules and was promoted with all it
 * held; so is any array the heap lets go of while it still points to items (the sweep once
 * built new arrays). Emptied slots are cleared, and the arrays only ever grow.
 */
export class TimerQueue<T> {
  /** Deadlines, in heap order in [0, n) (numbers only: V8 keeps them unboxed). */
  private readonly ats: number[] = [];
  /** The item of each deadline, at the same index; undefined at and past n. */
  private readonly items: Array<T | undefined> = [];
  /** Entries held, live or stale. */
  private n = 0;

  constructor(
    private readonly currentDeadline: (item: T) => number | undefined,
    /** Items that may still be live: when the heap outgrows it, stale entries are swept out. */
    private readonly liveCount: () => number = () => 0,
  ) {}

  schedule(item: T, at: number | undefined): void {
    if (at === undefined) return;
    if (this.n > 2 * this.liveCount() + SLACK) this.compact();
    const ats = this.ats;
    const items = this.items;
    // sift up: move parents down until the new entry's place is found
    let i = this.n++;
    if (i === ats.length) {
      ats.push(at);
      items.push(item);
    }
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p]!;
      if (pa <= at) break;
      ats[i] = pa;
      items[i] = items[p];
      i = p;
    }
    ats[i] = at;
    items[i] = item;
  }

  /** Earliest live deadline. */
  peek(): number | undefined {
    this.dropStale();
    return this.n === 0 ? undefined : this.ats[0];
  }

  /** Removes and returns every live item due at `now`. */
  popDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      if (this.n === 0 || this.ats[0]! > now) return due;
      due.push(this.items[0]!);
      this.pop();
    }
  }

  /** Entries held, live or stale (for observability). */
  get size(): number {
    return this.n;
  }

  /** Drops every stale entry and restores the heap order, in the same arrays. */
  private compact(): void {
    const { ats, items, n } = this;
    const live: number[] = [];
    for (let i = 0; i < n; i++) if (this.currentDeadline(items[i]!) === ats[i]) live.push(i);
    live.sort((a, b) => ats[a]! - ats[b]!); // a sorted array is a valid binary heap
    const keptAts = live.map((i) => ats[i]!);
    const keptItems = live.map((i) => items[i]);
    for (let k = 0; k < keptAts.length; k++) {
      ats[k] = keptAts[k]!;
      items[k] = keptItems[k];
    }
    items.fill(undefined, keptAts.length, n);
    this.n = keptAts.length;
  }

  private dropStale(): void {
    while (this.n > 0) {
      if (this.currentDeadline(this.items[0]!) === this.ats[0]) return;
      this.pop();
    }
  }

  /** Removes the top entry. */
  private pop(): void {
    const ats = this.ats;
    const items = this.items;
    const n = --this.n;
    const at = ats[n]!;
    const item = items[n];
    items[n] = undefined;
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
      items[i] = items[m];
      i = m;
    }
    ats[i] = at;
    items[i] = item;
  }
}

/**
 * Stale entries allowed beyond twice the live items before a sweep. Small, so that an ended
 * session's entries let go of it within a few dozen schedules; a sweep costs O(n log n) once
 * per n / 2 + SLACK schedules.
 */
const SLACK = 64;
