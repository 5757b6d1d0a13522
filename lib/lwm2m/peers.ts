import type { PeerInfo } from './coap-agent.js';

const UNKNOWN: PeerInfo = { address: { address: '?', port: 0 }, identity: undefined };

/**
 * The peers of a server core (its driver's handles: DTLS sessions, or addresses for coap://),
 * reported with peerUp / peerDown: who each is (address, authenticated identity), and a
 * stable id string for the CoAP agent's per-peer state (block-wise transfers, observers).
 */
export class PeerTable<P> {
  private readonly info = new Map<P, PeerInfo>();
  private readonly ids = new Map<P, string>();
  private next = 1;

  up(peer: P, info: PeerInfo): void {
    this.info.set(peer, info);
  }

  /**
   * Forgets a peer. Call it after the agent dropped the peer: the agent finds the peer's
   * block-wise state by its id, and a forgotten peer would get a new one.
   */
  down(peer: P): void {
    this.info.delete(peer);
    this.ids.delete(peer);
  }

  /** Who the peer is, when it is known. */
  get(peer: P): PeerInfo | undefined {
    return this.info.get(peer);
  }

  has(peer: P): boolean {
    return this.info.has(peer);
  }

  /** Who the peer is (an unknown one: address "?", no identity). */
  describe(peer: P): PeerInfo {
    return this.info.get(peer) ?? UNKNOWN;
  }

  /** "peer#n", the same for as long as the peer is known. */
  id(peer: P): string {
    let id = this.ids.get(peer);
    if (!id) this.ids.set(peer, (id = `peer#${this.next++}`));
    return id;
  }
}
