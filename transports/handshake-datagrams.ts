import type { PeerAddress } from '../lib/dtls/keystore.js';
import { DatagramQueue } from '../lib/dtls/datagram-queue.js';

/**
 * Datagrams that start with a handshake record, held back to the check phase of the event
 * loop (setImmediate) and handed on a few per turn, in arrival order. Records of established
 * sessions read in the same poll phase go first, so a flood of ECDHE_ECDSA handshakes (each a
 * signature and an ECDH computation: hundreds of microseconds of one core) delays an
 * established session's record by at most `perTurn` handshakes, not by every handshake datagram
 * the socket had queued (bench/ecdhe-flood.ts). Beyond `max` waiting, new ones are dropped, as
 * a full receive buffer would drop them: UDP, the peer retransmits (RFC 6347 §4.2.4).
 */
export class HandshakeDatagrams {
  private readonly waiting = new DatagramQueue();
  private count = 0;
  private armed = false;
  private readonly run = (): void => {
    this.armed = false;
    for (let i = 0; i < this.perTurn; i++) {
      const d = this.waiting.shift();
      if (!d) break;
      this.count--;
      this.handle(d.peer, d.data);
    }
    if (this.count > 0) this.arm();
  };

  constructor(
    private readonly handle: (peer: PeerAddress, data: Uint8Array) => void,
    readonly perTurn = 1,
    readonly max = 1024,
  ) {}

  /** Datagrams waiting now. */
  get size(): number {
    return this.count;
  }

  /** Queues a datagram; false if it was dropped (the queue is full). */
  add(peer: PeerAddress, data: Uint8Array): boolean {
    if (this.count >= this.max) return false;
    this.waiting.push(peer, data);
    this.count++;
    this.arm();
    return true;
  }

  /** Forgets every waiting datagram (the socket closed). */
  clear(): void {
    while (this.waiting.shift());
    this.count = 0;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.run);
  }
}
