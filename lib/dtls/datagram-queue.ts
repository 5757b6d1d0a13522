import type { PeerAddress } from './keystore.js';

/** A drained queue whose arrays grew past this many slots lets them go (a burst does not pin them). */
const REUSE_UP_TO = 1024;

/**
 * Datagrams waiting for the driver, in order: parallel arrays read from a head index up to
 * `n`, so a datagram costs no {peer, data} object on the way out. Drained, the arrays are
 * rewound, not truncated: `length = 0` drops an array's backing store, and the next push
 * allocates a new one (once per answer, with one request at a time).
 */
export class DatagramQueue {
  private peers: PeerAddress[] = [];
  private data: Uint8Array[] = [];
  private head = 0;
  private n = 0;

  get isEmpty(): boolean {
    return this.head >= this.n;
  }

  push(peer: PeerAddress, data: Uint8Array): void {
    this.peers[this.n] = peer;
    this.data[this.n++] = data;
  }

  shift(): { peer: PeerAddress; data: Uint8Array } | undefined {
    const i = this.head;
    if (i >= this.n) return undefined;
    const t = { peer: this.peers[i]!, data: this.data[i]! };
    this.advance(i);
    return t;
  }

  /**
   * Hands every queued datagram to `send`, in order; datagrams queued by `send` itself
   * (re-entrant calls) are handed over too. If `send` throws, the rest stay queued.
   */
  drain(send: (peer: PeerAddress, data: Uint8Array) => void): void {
    for (let i = this.head; i < this.n; i = this.head) {
      const peer = this.peers[i]!;
      const data = this.data[i]!;
      this.advance(i);
      send(peer, data);
    }
  }

  private advance(i: number): void {
    this.peers[i] = undefined!;
    this.data[i] = undefined!;
    this.head = i + 1;
    if (this.head === this.n) {
      // drained: start over (the slots are cleared already)
      this.head = this.n = 0;
      if (this.data.length > REUSE_UP_TO) {
        this.peers = [];
        this.data = [];
      }
    }
  }
}
