import type { ServerExchange } from './endpoint.js';

/** A request handed to the application, until it is answered, expires or its peer goes. */
export interface PendingServer<P> extends ServerExchange<P> {
  /** When to send an empty ACK if the handler has not answered (CON only). */
  deadline: number | undefined;
  done: boolean;
  /** When it is forgotten unanswered: MAX_TRANSMIT_WAIT after it arrived (the client has given up). */
  expires: number;
}

/**
 * The server exchanges an endpoint waits on the application for: by id, counted per peer (for
 * the caps), in arrival order (which is expiry order: every expiry is arrival + a constant),
 * and by empty-ACK deadline. Those deadlines are all now + emptyAckDelayMs, so they too arrive
 * in order: a FIFO read from `head` instead of a heap entry per request.
 *
 * Laid out for the garbage collector (every request comes through here): the exchanges sit in
 * an array of slots (a freed slot is reused), an exchange's id names its slot (newId()), and the
 * arrival and ACK FIFOs hold ids and deadlines, numbers only: an answered exchange is referenced
 * by nothing here, and no Map is churned.
 * The FIFO once held the exchanges themselves until their empty-ACK deadline (a second after
 * they came, answered or not), and a Map churned by every request keeps what it held reachable
 * across young-generation collections (lib/dtls/endpoint-sessions.ts): every request, its
 * message and its bytes were promoted to the old generation.
 */
export class PendingServers<P> {
  private readonly slots: Array<PendingServer<P> | undefined> = [];
  private readonly freeSlots: number[] = [];
  private seq = 0;
  private count = 0;
  /**
   * Pending exchanges per peer. A peer's count stays (at 0) when its last exchange settles, so
   * that a peer with one request at a time does not add and delete its entry per request (each
   * a new table for the Map); the zeros are swept once they are many.
   */
  private readonly perPeer = new Map<P, number>();
  private zeros = 0;
  /**
   * Ids in arrival order (read from `first` up to `arrived`); settled ones are skipped, and swept
   * out when they pile up. The FIFOs are rewound, not replaced, when they empty (with one
   * request at a time, after each): a new array would grow its backing store again each time,
   * the largest share of what a request allocated here. One that grew past REUSE_UP_TO goes.
   */
  private arrivals: number[] = [];
  private first = 0;
  private arrived = 0;
  /** Empty-ACK deadlines in order, with the id of their exchange (read from `head` up to `acks`). */
  private ackIds: number[] = [];
  private ackAt: number[] = [];
  private head = 0;
  private acks = 0;

  get size(): number {
    return this.count;
  }

  countOf(peer: P): number {
    return this.perPeer.get(peer) ?? 0;
  }

  /** The id of the next exchange, to add() at once: it names a free slot, and a sequence number. */
  newId(): number {
    const slot = this.freeSlots.length > 0 ? this.freeSlots[this.freeSlots.length - 1]! : this.slots.length;
    if (slot >= SLOT_SPAN) throw new RangeError(`more than ${SLOT_SPAN} requests wait for the application (maxPendingRequests bounds them)`);
    this.seq = (this.seq + 1) % SEQ_LIMIT;
    return this.seq * SLOT_SPAN + slot;
  }

  get(id: number): PendingServer<P> | undefined {
    const x = this.slots[id % SLOT_SPAN];
    return x !== undefined && x.id === id ? x : undefined;
  }

  add(x: PendingServer<P>): void {
    const slot = x.id % SLOT_SPAN;
    if (this.freeSlots.length > 0 && this.freeSlots[this.freeSlots.length - 1] === slot) this.freeSlots.pop();
    else if (slot !== this.slots.length) throw new RangeError('PendingServers.add: an id from newId() is added at once');
    this.slots[slot] = x;
    this.count++;
    this.arrivals[this.arrived++] = x.id;
    const n = this.countOf(x.peer);
    if (n === 0 && this.perPeer.has(x.peer)) this.zeros--;
    this.perPeer.set(x.peer, n + 1);
    if (x.deadline !== undefined) this.scheduleAck(x.id, x.deadline);
  }

  /** Leaves the set (answered, expired, its peer gone). */
  settle(x: PendingServer<P>): void {
    x.done = true;
    const slot = x.id % SLOT_SPAN;
    if (this.slots[slot] !== x) return;
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
    this.count--;
    const n = this.countOf(x.peer) - 1;
    this.perPeer.set(x.peer, n);
    if (n === 0 && ++this.zeros > 64 && this.zeros * 2 > this.perPeer.size) {
      for (const [peer, c] of this.perPeer) if (c === 0) this.perPeer.delete(peer);
      this.zeros = 0;
    }
  }

  dropPeer(peer: P): void {
    const n = this.perPeer.get(peer);
    if (n === undefined) return;
    if (n > 0) for (const x of this.slots) if (x !== undefined && x.peer === peer) this.settle(x);
    if (this.perPeer.delete(peer)) this.zeros--;
  }

  /** The oldest unanswered exchange (the first to expire). */
  oldest(): PendingServer<P> | undefined {
    const ids = this.arrivals;
    const n = this.arrived;
    let f = this.first;
    let x: PendingServer<P> | undefined;
    while (f < n && (x = this.get(ids[f]!)) === undefined) f++;
    if (f === n) {
      if (ids.length > REUSE_UP_TO) this.arrivals = [];
      this.first = this.arrived = 0;
      return undefined;
    }
    if (f > 1024 && f * 2 > n) {
      this.arrivals = ids.slice(f, n);
      this.arrived = n - f;
      f = 0;
    } else if (n - f > 2 * this.count + 1024) {
      // an old exchange holds the head while many after it settled: keep the live ones only
      this.arrivals = ids.slice(f, n).filter((id) => this.get(id) !== undefined);
      this.arrived = this.arrivals.length;
      f = 0;
    }
    this.first = f;
    return x;
  }

  /** The next live exchange whose empty-ACK deadline is due, taken off the FIFO. */
  dueAck(now: number): PendingServer<P> | undefined {
    const at = this.nextAckDeadline();
    if (at === undefined || at > now) return undefined;
    return this.get(this.ackIds[this.head++]!);
  }

  /** Drops answered (or dropped) exchanges from the head; returns the head's deadline. */
  nextAckDeadline(): number | undefined {
    const ids = this.ackIds;
    const n = this.acks;
    let h = this.head;
    while (h < n) {
      const x = this.get(ids[h]!);
      if (x !== undefined && x.deadline !== undefined && !x.done) break;
      h++;
    }
    if (h === n) {
      if (ids.length > REUSE_UP_TO) {
        this.ackIds = [];
        this.ackAt = [];
      }
      this.head = this.acks = 0;
      return undefined;
    }
    if (h > 1024 && h * 2 > n) {
      this.ackIds = ids.slice(h, n);
      this.ackAt = this.ackAt.slice(h, n);
      this.acks = n - h;
      h = 0;
    }
    this.head = h;
    return this.ackAt[h]!;
  }

  private scheduleAck(id: number, at: number): void {
    const ids = this.ackIds;
    const ats = this.ackAt;
    const n = this.acks++;
    let i = n;
    // in order unless the clock went backwards: then insert in place
    while (i > this.head && ats[i - 1]! > at) {
      ids[i] = ids[i - 1]!;
      ats[i] = ats[i - 1]!;
      i--;
    }
    ids[i] = id;
    ats[i] = at;
  }
}

/**
 * Slots an id can name (16M: far above the default cap of 10,000 pending requests), and how far
 * its sequence number counts before it wraps (an id is looked up only while its exchange waits,
 * at most MAX_TRANSMIT_WAIT): ids stay below 2^52.
 */
const SLOT_SPAN = 2 ** 24;
/** A FIFO array up to this long is rewound and reused once it empties; a longer one is let go. */
const REUSE_UP_TO = 1024;
const SEQ_LIMIT = 2 ** 28;
