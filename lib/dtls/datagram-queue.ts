import type { PeerAddress } from './keystore.js';

/**
 * Datagrams waiting for the driver, in order: parallel arrays read from a head index, so a
 * datagram costs no {peer, data} object on the way out.
 */
export class DatagramQueue {
  private peers: PeerAddress[] = [];
  private data: Uint8Array[] = [];
  private head = 0;

  get isEmpty(): boolean {
    return this.head >= this.data.length;
  }

  push(peer: PeerAddress, data: Uint8Array): void {
    this.peers.push(peer);
    this.data.push(data);
  }

  shift(): { peer: PeerAddress; data: Uint8Array } | undefined {
    const i = this.head;
    if (i >= this.data.length) return undefined;
    const t = { peer: this.peers[i]!, data: this.data[i]! };
    this.advance(i);
    return t;
  }

  /**
   * Hands every queued datagram to `send`, in order; datagrams queued by `send` itself
   * (re-entrant calls) are handed over too. If `send` throws, the rest stay queued.
   */
  drain(send: (peer: PeerAddress, data: Uint8Array) => void): void {
    for (let i = this.head; i < this.data.length; i = this.head) {
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
    if (this.head === this.data.length) {
      // drained: start over (keeps the arrays small and packed)
      this.head = 0;
      this.peers.length = 0;
      this.data.length = 0;
    }
  }
}
