import { peerKey, type PeerAddress } from '../lib/dtls/keystore.js';
import { DatagramQueue } from '../lib/dtls/datagram-queue.js';
import { ContentType } from '../lib/dtls/wire/constants.js';

/**
 * Datagrams that start with a handshake record, held back to the check phase of the event
 * loop (setImmediate) and handed on a few per turn, in arrival order. Records of established
 * sessions read in the same poll phase go first, so a flood of ECDHE_ECDSA handshakes (each a
 * signature and an ECDH computation: hundreds of microseconds of one core) delays an
 * established session's record by at most `perTurn` handshakes, not by every handshake datagram
 * the socket had queued (bench/ecdhe-flood.ts). A peer's datagrams keep their order: while one
 * of its datagrams waits, every later one from it waits too (a flight split over datagrams, a
 * ChangeCipherSpec or application data right after a Finished). Beyond `max` waiting, new ones
 * are dropped, as a full receive buffer would drop them: UDP, the peer retransmits (RFC 6347
 * §4.2.4).
 */
export class HandshakeDatagrams {
  private readonly waiting = new DatagramQueue();
  private count = 0;
  /** Datagrams waiting per peer (peerKey), to keep each peer's order. */
  private readonly perPeer = new Map<string, number>();
  private armed = false;
  private readonly run = (): void => {
    this.armed = false;
    for (let i = 0; i < this.perTurn; i++) {
      const d = this.waiting.shift();
      if (!d) break;
      this.count--;
      const key = peerKey(d.peer);
      const left = (this.perPeer.get(key) ?? 1) - 1;
      if (left > 0) this.perPeer.set(key, left);
      else this.perPeer.delete(key);
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

  /**
   * Takes a received datagram: 'now' when it should be handled at once (it does not start with
   * a handshake record and nothing of its peer waits), 'later' when it waits, 'dropped' when
   * it would have to wait and the queue is full.
   */
  offer(peer: PeerAddress, data: Uint8Array): 'now' | 'later' | 'dropped' {
    let key: string | undefined;
    if (data[0] !== ContentType.handshake) {
      if (this.count === 0) return 'now';
      key = peerKey(peer);
      if (!this.perPeer.has(key)) return 'now';
    }
    if (this.count >= this.max) return 'dropped';
    key ??= peerKey(peer);
    this.perPeer.set(key, (this.perPeer.get(key) ?? 0) + 1);
    this.waiting.push(peer, data);
    this.count++;
    this.arm();
    return 'later';
  }

  /** Forgets every waiting datagram (the socket closed). */
  clear(): void {
    while (this.waiting.shift());
    this.count = 0;
    this.perPeer.clear();
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.run);
  }
}
