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
 * in order: a FIFO read from `head` instead of a heap entry per request; answered exchanges
 * stay in it until they reach the head, where they are skipped.
 */
export class PendingServers<P> {
  private readonly byId = new Map<number, PendingServer<P>>();
  private readonly perPeer = new Map<P, number>();
  private ackQueue: Array<PendingServer<P>> = [];
  private head = 0;

  get size(): number {
    return this.byId.size;
  }

  countOf(peer: P): number {
    return this.perPeer.get(peer) ?? 0;
  }

  get(id: number): PendingServer<P> | undefined {
    return this.byId.get(id);
  }

  add(x: PendingServer<P>): void {
    this.byId.set(x.id, x);
    this.perPeer.set(x.peer, this.countOf(x.peer) + 1);
    if (x.deadline !== undefined) this.scheduleAck(x);
  }

  /** Leaves the set (answered, expired, its peer gone). */
  settle(x: PendingServer<P>): void {
    x.done = true;
    if (this.byId.get(x.id) !== x) return;
    this.byId.delete(x.id);
    const n = this.countOf(x.peer) - 1;
    if (n > 0) this.perPeer.set(x.peer, n);
    else this.perPeer.delete(x.peer);
  }

  dropPeer(peer: P): void {
    if (!this.perPeer.has(peer)) return;
    for (const x of [...this.byId.values()]) if (x.peer === peer) this.settle(x);
  }

  /** The oldest unanswered exchange (the first to expire). */
  oldest(): PendingServer<P> | undefined {
    return this.byId.size === 0 ? undefined : this.byId.values().next().value;
  }

  /** The next live exchange whose empty-ACK deadline is due, taken off the FIFO. */
  dueAck(now: number): PendingServer<P> | undefined {
    const at = this.nextAckDeadline();
    if (at === undefined || at > now) return undefined;
    const x = this.ackQueue[this.head]!;
    this.ackQueue[this.head++] = undefined!;
    return x;
  }

  /** Drops answered (or dropped) exchanges from the head; returns the head's deadline. */
  nextAckDeadline(): number | undefined {
    const q = this.ackQueue;
    let h = this.head;
    while (h < q.length) {
      const x = q[h]!;
      if (x.deadline !== undefined && !x.done && this.byId.get(x.id) === x) break;
      q[h++] = undefined!;
    }
    if (h === q.length) {
      this.ackQueue = [];
      this.head = 0;
      return undefined;
    }
    if (h > 1024 && h * 2 > q.length) {
      this.ackQueue = q.slice(h);
      h = 0;
    }
    this.head = h;
    return this.ackQueue[h]!.deadline;
  }

  private scheduleAck(x: PendingServer<P>): void {
    const q = this.ackQueue;
    const at = x.deadline!;
    let i = q.length;
    // in order unless the clock went backwards: then insert in place
    while (i > this.head && q[i - 1]!.deadline !== undefined && q[i - 1]!.deadline! > at) i--;
    if (i === q.length) q.push(x);
    else q.splice(i, 0, x);
  }
}
