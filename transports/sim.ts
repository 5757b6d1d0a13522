import type { PeerAddress } from '../lib/dtls/keystore.js';
import { peerKey } from '../lib/dtls/keystore.js';

/**
 * A simulated network on a virtual clock, for tests: seeded loss, duplication, reordering
 * and delay, plus a per-datagram filter to drop chosen datagrams. Nodes are sans-IO
 * engines behind the small {@link SimNode} interface; nothing here touches real time.
 */
export interface SimNode {
  readonly address: PeerAddress;
  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void;
  handleTimeout(now: number): void;
  pollTransmit(): { to: PeerAddress; data: Uint8Array } | undefined;
  pollTimeout(): number | undefined;
}

export interface LinkConditions {
  /** Probability each datagram is lost. */
  loss?: number;
  /** Probability each datagram is delivered twice. */
  duplicate?: number;
  /** Probability a datagram gets an extra delay of up to `reorderMs` (so overtaken). */
  reorder?: number;
  reorderMs?: number;
  /** Base one-way delay, ms. */
  delayMs?: number;
}

export interface SimDatagram {
  /** Index in order of sending, from 0. */
  index: number;
  from: PeerAddress;
  to: PeerAddress;
  data: Uint8Array;
  sentAt: number;
}

/** mulberry32: a small seeded PRNG, enough for reproducible network conditions. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimNetwork {
  now = 0;
  private readonly nodes = new Map<string, SimNode>();
  /** Where a node's datagrams come from when a NAT rebound it (rebind()). */
  private readonly publicAddress = new Map<SimNode, PeerAddress>();
  private inflight: Array<{ at: number; order: number; d: SimDatagram }> = [];
  private sent = 0;
  private order = 0;
  private readonly rand: () => number;
  /** Every datagram sent, in order (for assertions). */
  readonly log: Array<SimDatagram & { dropped: boolean }> = [];

  constructor(
    private readonly link: LinkConditions = {},
    seed = 1,
    /** Return false to drop a datagram (applied before random loss). */
    private readonly filter: (d: SimDatagram) => boolean = () => true,
  ) {
    this.rand = seededRandom(seed);
  }

  add<T extends SimNode>(node: T): T {
    this.nodes.set(peerKey(node.address), node);
    return node;
  }

  /** Takes a node off the network (datagrams to its address are lost from now on). */
  remove(node: SimNode): void {
    const key = peerKey(this.addressOf(node));
    if (this.nodes.get(key) === node) this.nodes.delete(key);
    this.publicAddress.delete(node);
  }

  /**
   * A NAT in front of `node` rebinds: from now on its datagrams come from `to`, datagrams to `to`
   * reach it, and those to the address it had are lost (the NAT forgot that mapping).
   */
  rebind(node: SimNode, to: PeerAddress): void {
    this.remove(node);
    this.nodes.set(peerKey(to), node);
    this.publicAddress.set(node, to);
  }

  /** Where a node's datagrams come from (its address, or the NAT's mapping after rebind()). */
  addressOf(node: SimNode): PeerAddress {
    return this.publicAddress.get(node) ?? node.address;
  }

  /** Runs until `done()` holds or the virtual clock passes `untilMs`. Returns the time reached. */
  run(untilMs: number, done: () => boolean = () => false): number {
    return this.runTo(untilMs, done, false);
  }

  /**
   * Runs what happens before `untilMs` (not at it) and sets the clock to `untilMs`: a test can
   * then act at that instant before the timers due at it.
   */
  runBefore(untilMs: number): number {
    return this.runTo(untilMs, () => false, true);
  }

  private runTo(untilMs: number, done: () => boolean, exclusive: boolean): number {
    for (;;) {
      this.flush();
      if (done()) return this.now;
      const next = this.nextEventTime();
      if (next === undefined || next > untilMs || (exclusive && next === untilMs)) {
        this.now = Math.max(this.now, Math.min(untilMs, next ?? untilMs));
        return this.now;
      }
      this.now = Math.max(this.now, next);
      this.step();
    }
  }

  private nextEventTime(): number | undefined {
    let t = this.inflight[0]?.at;
    for (const n of this.nodes.values()) {
      const nt = n.pollTimeout();
      if (nt !== undefined && (t === undefined || nt < t)) t = nt;
    }
    return t;
  }

  private step(): void {
    while (this.inflight.length > 0 && this.inflight[0]!.at <= this.now) {
      const { d } = this.inflight.shift()!;
      this.nodes.get(peerKey(d.to))?.handleDatagram(this.now, d.from, d.data);
      this.flush();
    }
    for (const n of this.nodes.values()) {
      const t = n.pollTimeout();
      if (t !== undefined && t <= this.now) n.handleTimeout(this.now);
    }
  }

  /** Moves everything the nodes want to send onto the wire. */
  flush(): void {
    for (const n of this.nodes.values()) {
      const from = this.addressOf(n);
      for (let tx = n.pollTransmit(); tx; tx = n.pollTransmit()) this.transmit(from, tx.to, tx.data);
    }
  }

  private transmit(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    const d: SimDatagram = { index: this.sent++, from, to, data, sentAt: this.now };
    const l = this.link;
    const dropped = !this.filter(d) || this.rand() < (l.loss ?? 0);
    this.log.push({ ...d, dropped });
    if (dropped) return;
    const copies = this.rand() < (l.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let at = this.now + (l.delayMs ?? 1);
      if (this.rand() < (l.reorder ?? 0)) at += this.rand() * (l.reorderMs ?? 50);
      this.inflight.push({ at, order: this.order++, d });
    }
    this.inflight.sort((a, b) => a.at - b.at || a.order - b.order);
  }
}
